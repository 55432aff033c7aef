"""The data layer: one DuckDB connection per process over a data folder, a cursor per query.

DuckDB refuses `read_only=True` for an in-memory database, and the tables live in
Parquet files, so the connection is in-memory. Locked down (the app and exports), it
holds a copy of the published tables and then has no file access at all: nothing can be
read from or written to disk, and the settings cannot be changed back. The app keys its
cached connection by data version, so a new publish gets a new connection. Without
lockdown (tests, tools) it has views over the published Parquet instead.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from measures.data import config, store
from measures.paths import QUERIES_DIR

STAGING_DIR = QUERIES_DIR / "staging"
QUERY_NAME = re.compile(r"^[a-z0-9_]+$")


def _areas(force: config.Force) -> pd.DataFrame:
    """Every CSP and force of England and Wales (config.areas), with the configured force's local names."""
    names = {a.code: a.name for a in force.csps}
    frame = config.areas().copy()
    frame["area_name"] = frame["area_code"].map(names).fillna(frame["area_name"])
    return frame


def _area_population() -> pd.DataFrame:
    """Mid-year residents by CSP and by force (the sum of its CSPs), one row per area and year."""
    residents = config.csp_population()[["csp_code", "year", "residents"]]
    owners = config.districts().query("csp_code != ''").drop_duplicates("csp_code")[["csp_code", "pfa_code"]]
    csps = residents.rename(columns={"csp_code": "area_code", "residents": "population"})
    forces = (residents.merge(owners, on="csp_code").groupby(["pfa_code", "year"], as_index=False)["residents"].sum()
              .rename(columns={"pfa_code": "area_code", "residents": "population"}))
    return pd.concat([csps, forces], ignore_index=True).astype({"year": "int64", "population": "int64"})


def connect(data_dir: Path, lockdown: bool = True) -> duckdb.DuckDBPyConnection:
    """A connection with a view per published table plus the reference views."""
    data_dir = Path(data_dir).resolve()
    con = duckdb.connect(":memory:")
    force = config.load_force()
    con.register("areas_frame", _areas(force))
    con.execute("create table areas as select * from areas_frame")
    con.unregister("areas_frame")
    con.register("population_frame", _area_population())
    con.execute("create table area_population as select * from population_frame")
    con.unregister("population_frame")
    current = store.current_dir(data_dir)
    if current is not None and lockdown:
        # Locked down: the published tables are read into memory once (13 MiB for the default
        # data), so DuckDB then needs no file access at all. Allowing the data folder instead
        # would let `COPY ... TO '<data>/current/x.parquet' (use_tmp_file false)` overwrite
        # published files (checked on duckdb 2.0).
        _load_published_tables(con, data_dir)
    elif current is not None:  # not locked down: views over the Parquet, through the `current` link
        for parquet in sorted(current.glob("*.parquet")):
            path = str(data_dir / store.CURRENT / parquet.name).replace("'", "''")
            con.execute(f"create view {parquet.stem} as select * from read_parquet('{path}')")
    _create_staging_views(con)
    if lockdown:
        con.execute("set enable_external_access = false")  # no file, network or extension access from here on
        con.execute("set lock_configuration = true")
    return con


def _load_published_tables(con: duckdb.DuckDBPyConnection, data_dir: Path, attempts: int = 5) -> None:
    """Every table from one published version, even if a publish swaps `current` and prunes the old
    version meanwhile: the version's files are opened first (a few milliseconds), and an open file
    stays readable after it is removed, so only a publish inside that moment means another try."""
    for attempt in range(attempts):
        version = (data_dir / store.CURRENT).resolve()
        with ExitStack() as opened:
            try:
                handles = [(parquet.stem, opened.enter_context(open(parquet, "rb")))
                           for parquet in sorted(version.glob("*.parquet"))]
            except FileNotFoundError:  # pruned between listing and opening: read the newer version
                if attempt == attempts - 1:
                    raise
                continue
            for name, handle in handles:
                con.register("incoming_table", pq.read_table(handle))
                con.execute(f"create or replace table {name} as select * from incoming_table")
                con.unregister("incoming_table")
        return


def _create_staging_views(con: duckdb.DuckDBPyConnection) -> None:
    """queries/staging/<name>.sql as views (dbt's staging models: a step several queries share, written once),
    each where the tables its header names ('-- Reads: a, b') are there."""
    present = tables(con)
    for path in sorted(STAGING_DIR.glob("*.sql")):
        sql = path.read_text()
        reads = re.search(r"^-- Reads: (.+)$", sql, re.MULTILINE)
        if reads is None:
            raise ValueError(f"{path}: a staging model names the tables it reads ('-- Reads: a, b')")
        if {name.strip() for name in reads.group(1).split(",")} <= present:
            con.execute(f"create view {path.stem} as {sql}")


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.cursor().execute("select table_name from information_schema.tables").fetchall()}


@lru_cache(maxsize=64)
def load_sql(name: str) -> str:
    """The text of queries/<name>.sql; names come from an allow-list, never from users."""
    if not QUERY_NAME.match(name) or not (QUERIES_DIR / f"{name}.sql").is_file():
        raise KeyError(f"no query named {name!r}")
    return (QUERIES_DIR / f"{name}.sql").read_text()


def query(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> pd.DataFrame:
    """Run queries/<name>.sql with bound parameters, on its own cursor (thread-safe)."""
    sql = load_sql(name)
    code = re.sub(r"--[^\n]*", "", sql)  # comments may mention parameters by name
    wanted = set(re.findall(r"\$([a-z_][a-z0-9_]*)", code))
    bound = {k: v for k, v in (params or {}).items() if k in wanted}
    missing = wanted - set(bound)
    if missing:
        raise KeyError(f"query {name} needs parameters {sorted(missing)}")
    return con.cursor().execute(sql, bound).df()
