"""Proven reoffending (MoJ geographical data tool layout) -> cohorts by district and CSP.

Contract: docs/input-contracts.md, "Reoffending". Quarterly cohorts by local authority
district, adult and juvenile. Every row is checked before anything is written. Districts
that are not districts of the configured force are kept in the force's unassigned bucket
and reported by code; aggregate areas (counties, forces, regions, countries, CSPs) are
refused because they would count the same offenders twice. Loading a cohort again
(the same quarter and offender type) replaces it. A cohort that has not ended (cohort_end after
today) is refused, and so is a count beyond the residents of the district's CSP (the rates'
denominator, contract.residents_table): a quarter's offenders cannot outnumber its residents.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa

from measures.data import config, store
from measures.data.ingest import IngestReport, find_files
from measures.data.ingest.contract import (
    AREA_CODE,
    FIRST_DAY,
    ceiling_check,
    connect,
    count_sql,
    coverage,
    force_area_lookup,
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

SUPPORTS_ILLUSTRATIVE = True
COLUMNS = ["geography_code", "geography_name", "adult_juvenile", "cohort_start", "cohort_end",
           "offenders", "reoffenders", "reoffences"]
FILE_PATTERN = "reoffending*.csv"
WHAT = "reoffending (MoJ proven reoffending, quarterly cohorts by district)"
TABLE = "reoffending_cohorts"
# ONS code prefixes of areas made of districts: a row for one counts its districts twice.
AGGREGATE_PREFIXES = {
    "E10": "a county", "E11": "a metropolitan county", "E12": "a region", "E92": "a country",
    "W92": "a country", "K04": "England and Wales", "E23": "a police force area", "W15": "a police force area",
    "E22": "a CSP", "W22": "a CSP",
}
SCHEMA = pa.schema([
    ("cohort_start", pa.date32()), ("cohort_end", pa.date32()), ("lad_code", pa.string()),
    ("area_code", pa.string()), ("adult_juvenile", pa.string()), ("offenders", pa.int64()),
    ("reoffenders", pa.int64()), ("reoffences", pa.int64()), ("illustrative", pa.bool_()),
])


def aggregate_check(column: str) -> tuple[str, str]:
    cases = " ".join(f"when '{prefix}' then '{what}'" for prefix, what in AGGREGATE_PREFIXES.items())
    return (
        f"left({column}, 3) in {tuple(AGGREGATE_PREFIXES)}",
        (f"'{column} ' || {shown(column)} || ' is ' || case left({column}, 3) {cases} end "
        "|| ', not a district: give districts only (an area and its districts would count twice)'"),
    )


def _date(column: str) -> str:
    value = f"trim({column})"
    return f"case when length({value}) = 10 then try_strptime({value}, '%Y-%m-%d')::date end"


def _typed(con: duckdb.DuckDBPyConnection, force: config.Force) -> None:
    con.execute("create or replace table force_areas(code varchar, csp_code varchar, level varchar)")
    con.executemany("insert into force_areas values (?, ?, ?)", force_area_lookup(force))
    # A cohort's counts cannot exceed its district's residents (its CSP's, from the rates' table; the force's
    # for a district in no lookup).
    fallback = residents_table(con, force)
    con.execute(
        f"""create or replace table typed as
            select raw.rowid as rn, file_no,
                   nullif(trim(geography_code), '') as lad_code,
                   lower(nullif(trim(adult_juvenile), '')) as adult_juvenile,
                   nullif(trim(cohort_start), '') as start_raw, {_date('cohort_start')} as cohort_start,
                   nullif(trim(cohort_end), '') as end_raw, {_date('cohort_end')} as cohort_end,
                   nullif(trim(offenders), '') as offenders_raw, {count_sql('offenders')} as offenders,
                   nullif(trim(reoffenders), '') as reoffenders_raw, {count_sql('reoffenders')} as reoffenders,
                   nullif(trim(reoffences), '') as reoffences_raw, {count_sql('reoffences')} as reoffences,
                   coalesce(a.residents, {fallback}) as residents,
                   coalesce(a.residents_of, '{force.code}') as residents_of
            from raw left join area_residents a on a.code = nullif(trim(geography_code), '')"""
    )


def _validate(con: duckdb.DuckDBPyConnection) -> None:
    today = dt.date.today()
    whole = "is not a whole number of 0 or more"
    refuse_first(con, "typed", [
        ("lad_code is null", "'geography_code is empty'"),
        (f"not regexp_full_match(lad_code, '{AREA_CODE[1:-1]}')",
         f"'geography_code ' || {shown('lad_code')} || ' is not an ONS district code (like E06000052)'"),
        aggregate_check("lad_code"),
        ("adult_juvenile is null or adult_juvenile not in ('adult', 'juvenile')",
         f"'adult_juvenile ' || {shown('adult_juvenile')} || ' is not adult or juvenile'"),
        ("cohort_start is null", f"'cohort_start ' || {shown('start_raw')} || ' is not a date as YYYY-MM-DD'"),
        ("day(cohort_start) <> 1 or month(cohort_start) not in (1, 4, 7, 10)",
         (f"'cohort_start ' || {shown('start_raw')} || ' is not the first day of a quarter "
         "(cohorts are quarterly: 1 January, 1 April, 1 July or 1 October)'")),
        (f"cohort_start < date '{FIRST_DAY}' or cohort_start > date '{today}'",
         f"'cohort_start ' || {shown('start_raw')} || ' is out of range (2000 to today)'"),
        ("cohort_end is null", f"'cohort_end ' || {shown('end_raw')} || ' is not a date as YYYY-MM-DD'"),
        ("cohort_end <> last_day(cohort_start + interval 2 month)",
         (f"'cohort_end ' || {shown('end_raw')} || ' is not the last day of the quarter starting ' || start_raw "
         "|| ' (expected ' || strftime(last_day(cohort_start + interval 2 month), '%Y-%m-%d') || ')'")),
        (f"cohort_end > date '{today}'",
         f"'cohort_end ' || {shown('end_raw')} || ' is in the future: a cohort is counted once it has ended'"),
        ceiling_check("offenders_raw", "offenders", "offenders in a quarter's cohort are at most its residents"),
        ceiling_check("reoffenders_raw", "reoffenders", "at most one a resident"),
        ceiling_check("reoffences_raw", "reoffences", "at most one a resident in a quarter's cohort"),
        ("offenders is null", f"'offenders ' || {shown('offenders_raw')} || ' {whole}'"),
        ("reoffenders is null", f"'reoffenders ' || {shown('reoffenders_raw')} || ' {whole}'"),
        ("reoffences is null", f"'reoffences ' || {shown('reoffences_raw')} || ' {whole}'"),
        ("reoffenders > offenders",
         "'reoffenders (' || reoffenders || ') is more than offenders (' || offenders || ')'"),
        ("reoffences < reoffenders",
         ("'reoffences (' || reoffences || ') is fewer than reoffenders (' || reoffenders "
         "|| '): each reoffender has at least one'")),
    ])
    refuse_duplicates(con, "typed", ["lad_code", "adult_juvenile", "cohort_start"],
                      "the cohort (geography_code, adult_juvenile, cohort_start)")


def ingest(paths: list[Path], data_dir: Path, illustrative: bool = False) -> IngestReport:
    files = find_files(paths, FILE_PATTERN)
    force = config.load_force()
    con = connect()
    read_strict(con, files, COLUMNS, WHAT)
    _typed(con, force)
    _validate(con)
    unassigned = config.unassigned_code(force.code)
    con.execute(
        f"""create or replace table new_cohorts as
            select t.cohort_start, t.cohort_end, t.lad_code,
                   coalesce(a.csp_code, '{unassigned}') as area_code,
                   t.adult_juvenile, t.offenders, t.reoffenders, t.reoffences,
                   {'true' if illustrative else 'false'} as illustrative,
                   a.csp_code is null as unknown_area
            from typed t left join force_areas a on a.code = t.lad_code and a.level = 'district'"""
    )

    def build(staging: Path, current: Path | None) -> dict:
        con.execute("create or replace view new_rows as select * exclude (unknown_area) from new_cohorts")
        table = merge_periods(con, current, TABLE, "new_rows", ["cohort_start", "adult_juvenile"],
                              ["cohort_start", "adult_juvenile", "lad_code"])
        write_table(staging, TABLE, table, SCHEMA)
        return {TABLE: {
            **source_note(illustrative, "proven reoffending cohorts"),
            "notes": "quarterly cohorts by district (lad_code) and CSP (area_code), adult and juvenile: "
                     "offenders in the cohort, those with a proven reoffence within a year, and their reoffences",
            "illustrative": bool(any(table.column("illustrative").to_pylist())),
            "coverage": coverage(table, "cohort_start", force.code),
        }}

    store.publish(data_dir, build)
    return _report(con, files, force, illustrative)


def _report(con: duckdb.DuckDBPyConnection, files: list[Path], force: config.Force, illustrative: bool) -> IngestReport:
    rows, cohorts, first, last, offenders = one(
        con, "select count(*), count(distinct cohort_start), min(cohort_start), max(cohort_end), sum(offenders) "
        "from new_cohorts")
    report = IngestReport("reoffending", files=len(files), rows=rows)
    kind = " (illustrative)" if illustrative else ""
    report.lines.append(f"  {force.name}: {cohorts} quarterly cohort(s) {first:%Y-%m-%d}..{last:%Y-%m-%d}, "
                        f"{offenders:,} offenders{kind}; loaded cohorts replace any published for the same "
                        "quarter and offender type")
    unknown = con.execute(
        """select lad_code, count(*), sum(offenders) from new_cohorts where unknown_area
           group by 1 order by 3 desc, 1"""
    ).fetchall()
    if unknown:
        report.lines.append(
            f"  geography_code not a district of {force.name} (kept as unassigned): "
            + "; ".join(f"{code} ({n} rows, {people:,} offenders)" for code, n, people in unknown))
    return report
