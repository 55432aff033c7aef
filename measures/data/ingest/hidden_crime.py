"""Hidden-crime extract (month, area, strand, count) -> monthly counts by CSP and strand.

Contract: docs/input-contracts.md, "Hidden-crime extract". Areas may be CSPs or districts
of the configured force (a district counts in its CSP); an empty area_code is a record
with no area. Both, and codes that are not areas of the force, are kept in the force's
unassigned bucket and reported. Every row is checked before anything is written. Loading
a month and strand again replaces it. A month's count for an area beyond its residents (its CSP's,
from the rates' denominator: contract.residents_table; the force's where there is no area) is refused.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa

from measures.core import registry
from measures.data import config, store
from measures.data.ingest import IngestError, IngestReport, find_files
from measures.data.ingest.contract import (
    AREA_CODE,
    FIRST_DAY,
    ceiling_check,
    connect,
    count_sql,
    coverage,
    force_area_lookup,
    locate,
    merge_periods,
    one,
    read_strict,
    refuse_duplicates,
    refuse_first,
    residents_table,
    shown,
    source_note,
    write_table,
)
from measures.data.ingest.reoffending import AGGREGATE_PREFIXES

SUPPORTS_ILLUSTRATIVE = True
COLUMNS = ["month", "area_code", "strand", "count"]
FILE_PATTERN = "hidden_crime*.csv"
WHAT = "hidden-crime extract"
TABLE = "hidden_crime_monthly"


def strands() -> tuple[str, ...]:
    """The strands a file may give: the members of the registry's hidden_crime family (read on each call)."""
    return tuple(registry.variant_values("hidden_crime"))


STRANDS = strands()  # as the registry stood at import; ingest reads strands()
SCHEMA = pa.schema([
    ("month", pa.date32()), ("area_code", pa.string()), ("strand", pa.string()), ("count", pa.int64()),
    ("illustrative", pa.bool_()),
])


def _typed(con: duckdb.DuckDBPyConnection, force: config.Force) -> None:
    con.execute("create or replace table force_areas(code varchar, csp_code varchar, level varchar)")
    con.executemany("insert into force_areas values (?, ?, ?)", force_area_lookup(force))
    month = "trim(month)"
    # A month's records for an area cannot exceed its residents (a district: its CSP's; no area or an area
    # in no lookup: the force's).
    fallback = residents_table(con, force)
    con.execute(
        f"""create or replace table typed as
            select raw.rowid as rn, file_no,
                   nullif({month}, '') as month_raw,
                   case when regexp_full_match({month}, '[0-9]{{4}}-(0[1-9]|1[0-2])(-01)?')
                        then strptime(left({month}, 7) || '-01', '%Y-%m-%d')::date end as month,
                   nullif(trim(area_code), '') as area_code,
                   nullif(trim(strand), '') as strand,
                   nullif(trim(count), '') as count_raw,
                   {count_sql('count')} as count,
                   coalesce(a.residents, {fallback}) as residents,
                   coalesce(a.residents_of, '{force.code}') as residents_of
            from raw left join area_residents a on a.code = nullif(trim(area_code), '')"""
    )


def _validate(con: duckdb.DuckDBPyConnection) -> None:
    this_month = dt.date.today().replace(day=1)
    refuse_first(con, "typed", [
        ("month is null", f"'month ' || {shown('month_raw')} || ' is not a month as YYYY-MM'"),
        (f"month < date '{FIRST_DAY}' or month > date '{this_month}'",
         f"'month ' || {shown('month_raw')} || ' is out of range (2000 to this month)'"),
        (f"area_code is not null and not regexp_full_match(area_code, '{AREA_CODE[1:-1]}')",
         (f"'area_code ' || {shown('area_code')} || ' is not an ONS CSP or district code (like E22000356) "
         "or empty'")),
        _aggregate_check(),
        # The registry allows only lower-case letters, digits and _ in a strand, so quoting is enough.
        (f"strand is null or strand not in ({', '.join(repr(s) for s in strands())})",
         f"'strand ' || {shown('strand')} || ' is not one of {', '.join(strands())}'"),
        ceiling_check("count_raw", "count", "at most one record a resident a month"),
        ("count is null", f"'count ' || {shown('count_raw')} || ' is not a whole number of 0 or more'"),
    ])
    refuse_duplicates(con, "typed", ["month", "area_code", "strand"], "the month, area_code and strand")
    # A CSP given both as itself and through its districts would count twice.
    both = con.execute(
        """with rows as (
               select t.rn, t.month, t.strand, a.csp_code, a.level
               from typed t join force_areas a on a.code = t.area_code)
           select max(rn) filter (where level = 'district'), csp_code, strftime(month, '%Y-%m'), strand
           from rows group by month, strand, csp_code
           having count(distinct level) > 1 order by 1 limit 1"""
    ).fetchone()
    if both:
        file, line = locate(con, both[0])
        raise IngestError(file, f"{both[3]} {both[2]} is given for CSP {both[1]} and for its districts; "
                                "give each area once, as the CSP or as its districts", line=line)


def _aggregate_check() -> tuple[str, str]:
    # CSP codes are allowed here (E22, W22); counties, forces, regions and countries are not.
    prefixes = {p: w for p, w in AGGREGATE_PREFIXES.items() if p not in ("E22", "W22")}
    cases = " ".join(f"when '{prefix}' then '{what}'" for prefix, what in prefixes.items())
    return (
        f"left(area_code, 3) in {tuple(prefixes)}",
        (f"'area_code ' || {shown('area_code')} || ' is ' || case left(area_code, 3) {cases} end "
        "|| ': give CSPs or districts (records with no area: leave area_code empty)'"),
    )


def ingest(paths: list[Path], data_dir: Path, illustrative: bool = False) -> IngestReport:
    files = find_files(paths, FILE_PATTERN)
    force = config.load_force()
    con = connect()
    read_strict(con, files, COLUMNS, WHAT)
    _typed(con, force)
    _validate(con)
    unassigned = config.unassigned_code(force.code)
    con.execute(
        f"""create or replace table mapped as
            select t.month, t.area_code as given_code, t.strand, t.count,
                   coalesce(a.csp_code, '{unassigned}') as area_code,
                   case when t.area_code is null then 'no area'
                        when a.csp_code is null then 'unknown area' end as unassigned_reason
            from typed t left join force_areas a on a.code = t.area_code"""
    )
    con.execute(
        f"""create or replace table new_monthly as
            select month, area_code, strand, sum(count)::bigint as count,
                   {'true' if illustrative else 'false'} as illustrative
            from mapped group by month, area_code, strand"""
    )

    def build(staging: Path, current: Path | None) -> dict:
        table = merge_periods(con, current, TABLE, "new_monthly", ["month", "strand"], ["month", "strand", "area_code"])
        write_table(staging, TABLE, table, SCHEMA)
        return {TABLE: {
            **source_note(illustrative, WHAT),
            "notes": "records a month by CSP (or the force's unassigned bucket) and strand: " + ", ".join(strands())
                     + "; strands overlap (child sexual abuse is also in sexual offences)",
            "illustrative": bool(any(table.column("illustrative").to_pylist())),
            "coverage": coverage(table, "month", force.code),
        }}

    store.publish(data_dir, build)
    return _report(con, files, force, illustrative)


def _report(con: duckdb.DuckDBPyConnection, files: list[Path], force: config.Force, illustrative: bool) -> IngestReport:
    rows, months, first, last, records = one(
        con, "select count(*), count(distinct month), min(month), max(month), sum(count) from mapped")
    report = IngestReport("hidden-crime", files=len(files), rows=rows)
    kind = " (illustrative)" if illustrative else ""
    report.lines.append(f"  {force.name}: {months} month(s) {first:%Y-%m}..{last:%Y-%m}, {records:,} records{kind}; "
                        "loaded months replace any published for the same month and strand")
    for strand, total in con.execute("select strand, sum(count) from mapped group by 1 order by 1").fetchall():
        report.lines.append(f"  {strand}: {total:,}")
    no_area = one(con, "select count(*), coalesce(sum(count), 0) from mapped where unassigned_reason = 'no area'")
    if no_area[0]:
        report.lines.append(f"  no area_code (counted as unassigned): {no_area[0]:,} rows, {no_area[1]:,} records")
    unknown = con.execute(
        """select given_code, count(*), sum(count) from mapped where unassigned_reason = 'unknown area'
           group by 1 order by 3 desc, 1"""
    ).fetchall()
    if unknown:
        report.lines.append(
            f"  area_code not a CSP or district of {force.name} (kept as unassigned): "
            + "; ".join(f"{code} ({n} rows, {total:,} records)" for code, n, total in unknown))
    return report
