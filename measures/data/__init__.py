"""Data and ingest: the force's configuration, the versioned data folder and its atomic publish, the
DuckDB connection, the ingest adapters (one table of sources), demo data and the browser upload flow.
"""
