"""Rendering: charts (Plotly, SVG), boundaries for maps, the chart parts of the measure pages and
the briefing pack (HTML and PDF). No Streamlit here.
"""
