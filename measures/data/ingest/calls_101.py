"""101 call records (one row per call) -> monthly counts and waits by caller CSP.

Contract: docs/input-contracts.md, "101 call records". Every file is read with DuckDB's
strict CSV reader and every row checked before anything is written; the first problem
found (in file order) is refused with the file, the line and the value. Calls whose
caller CSP is empty, or not a CSP (or district) of the configured force, are kept in the
force's unassigned bucket and reported by code. Loading a month again replaces that
month: nothing is counted twice."""

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
    connect,
    coverage,
    file_months,
    force_area_lookup,
    merge_periods,
    one,
    read_strict,
    refuse_duplicates,
    refuse_first,
    shown,
    source_note,
    write_table,
)

SUPPORTS_ILLUSTRATIVE = True
COLUMNS = ["call_id", "received_at", "answered_at", "ended_at", "outcome", "queue", "caller_csp_code"]
FILE_PATTERN = "calls_101*.csv"
WHAT = "101 call records"
OUTCOMES = ("answered", "abandoned", "call_back")
MONTHLY_TABLE = "calls_101_monthly"
WEEKDAY_HOUR_TABLE = "calls_101_weekday_hour"
# Calls answered within N minutes, for each N a measure or a Plan target asks about (the table has one
# count column per N: answered_within_<N>min).
ANSWERED_WITHIN_MINUTES = (10, 20)

MONTHLY_SCHEMA = pa.schema([
    ("month", pa.date32()), ("area_code", pa.string()), ("calls", pa.int64()), ("answered", pa.int64()),
    ("abandoned", pa.int64()), ("call_back", pa.int64()),
    *((f"answered_within_{minutes}min", pa.int64()) for minutes in ANSWERED_WITHIN_MINUTES),
    ("wait_minutes_sum", pa.float64()), ("wait_minutes_sumsq", pa.float64()), ("illustrative", pa.bool_()),
])
WEEKDAY_HOUR_SCHEMA = pa.schema([
    ("month", pa.date32()), ("weekday", pa.int8()), ("hour", pa.int8()), ("calls", pa.int64()),
    ("answered", pa.int64()), ("wait_minutes_sum", pa.float64()), ("illustrative", pa.bool_()),
])


# --------------------------------------------------------------------------- 101 calls

def _timestamp(column: str) -> str:
    """SQL parsing exactly YYYY-MM-DDTHH:MM:SS (or a space for the T); NULL otherwise."""
    value = f"trim({column})"
    return (f"case when length({value}) = 19 "
            f"then try_strptime({value}, ['%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S']) end")


# Values are parsed as they are read; the text is kept only where it does not parse, for
# the message. Keeps a load of millions of calls to a few hundred MB.
PROJECTION = ", ".join([
    "nullif(trim(call_id), '') as call_id",
    *(f"{_timestamp(c)} as {name}, case when {name} is null then nullif(trim({c}), '') end as {name}_bad"
      for c, name in (("received_at", "received"), ("answered_at", "answered"), ("ended_at", "ended"))),
    "nullif(trim(outcome), '') as outcome",
    "nullif(trim(queue), '') as queue",
    "nullif(trim(caller_csp_code), '') as csp",
])


def _typed(con: duckdb.DuckDBPyConnection, files: list[Path], force: config.Force) -> None:
    con.execute("create or replace table file_months(file_no usmallint, name_month date)")
    con.executemany("insert into file_months values (?, ?)", file_months(files))
    con.execute("create or replace table force_areas(code varchar, csp_code varchar, level varchar)")
    con.executemany("insert into force_areas values (?, ?, ?)", force_area_lookup(force))
    text = "coalesce({0}_bad, strftime({0}, '%Y-%m-%dT%H:%M:%S'))"
    con.execute(
        f"""create or replace view typed as
            select r.rowid as rn, r.*, f.name_month,
                   {text.format('received')} as received_raw,
                   {text.format('answered')} as answered_raw,
                   {text.format('ended')} as ended_raw
            from raw r join file_months f using (file_no)"""
    )


def _validate(con: duckdb.DuckDBPyConnection) -> None:
    today = dt.date.today()
    stamp = "as YYYY-MM-DDTHH:MM:SS (local time, no offset)"
    refuse_first(con, "typed", [
        ("call_id is null", "'call_id is empty'"),
        ("received is null", f"'received_at ' || {shown('received_raw')} || ' is not a date and time {stamp}'"),
        (f"received < date '{FIRST_DAY}' or received::date > date '{today}'",
         f"'received_at ' || {shown('received_raw')} || ' is out of range (2000 to today)'"),
        ("name_month is not null and date_trunc('month', received)::date <> name_month",
         (f"'received_at ' || {shown('received_raw')} || ' is not in ' || strftime(name_month, '%Y-%m') "
         "|| ', the month in the file name'")),
        (f"outcome is null or outcome not in {OUTCOMES}",
         f"'outcome ' || {shown('outcome')} || ' is not one of answered, abandoned, call_back'"),
        ("outcome = 'answered' and answered_raw is null", "'an answered call has no answered_at'"),
        ("outcome <> 'answered' and answered_raw is not null",
         "'a call with outcome ' || outcome || ' has an answered_at (only answered calls have one)'"),
        ("answered_raw is not null and answered is null",
         f"'answered_at ' || {shown('answered_raw')} || ' is not a date and time {stamp}'"),
        ("ended is null", f"'ended_at ' || {shown('ended_raw')} || ' is not a date and time {stamp}'"),
        ("answered < received", "'answered_at is before received_at'"),
        ("ended < coalesce(answered, received)",
         "'ended_at is before ' || case when answered is null then 'received_at' else 'answered_at' end"),
        ("ended - received > interval 1 day", "'the call lasts more than a day (received_at to ended_at)'"),
        ("queue is null", "'queue is empty'"),
        (f"csp is not null and not regexp_full_match(csp, '{AREA_CODE[1:-1]}')",
         f"'caller_csp_code ' || {shown('csp')} || ' is not an ONS area code (like E22000356) or empty'"),
    ])
    refuse_duplicates(con, "typed", ["call_id"], "call_id")


def _aggregate(con: duckdb.DuckDBPyConnection, force: config.Force, illustrative: bool) -> None:
    # Waits are summed in whole seconds (exact integers), then turned into minutes: a
    # floating-point sum in parallel would differ in its last bits from run to run, and the
    # same input must give byte-identical tables.
    unassigned = config.unassigned_code(force.code)
    con.execute(
        f"""create or replace table mapped as
            select t.outcome, t.received, t.csp, date_trunc('month', received)::date as month,
                   coalesce(a.csp_code, '{unassigned}') as area_code,
                   case when t.csp is null then 'no caller CSP'
                        when a.csp_code is null then 'unknown area' end as unassigned_reason,
                   date_diff('second', received, answered) as wait_s
            from typed t left join force_areas a on a.code = t.csp"""
    )
    flag = "true" if illustrative else "false"
    within = ", ".join(f"count(*) filter (where outcome = 'answered' and wait_s <= {minutes * 60}) "
                       f"as answered_within_{minutes}min" for minutes in ANSWERED_WITHIN_MINUTES)
    con.execute(
        f"""create or replace table new_monthly as
            select month, area_code, count(*) as calls,
                   count(*) filter (where outcome = 'answered') as answered,
                   count(*) filter (where outcome = 'abandoned') as abandoned,
                   count(*) filter (where outcome = 'call_back') as call_back,
                   {within},
                   coalesce(sum(wait_s), 0)::double / 60 as wait_minutes_sum,
                   coalesce(sum(wait_s::hugeint * wait_s), 0)::double / 3600 as wait_minutes_sumsq,
                   {flag} as illustrative
            from mapped group by month, area_code"""
    )
    con.execute(
        f"""create or replace table new_weekday_hour as
            select month, (isodow(received) - 1)::tinyint as weekday, hour(received)::tinyint as hour,
                   count(*) as calls,
                   count(*) filter (where outcome = 'answered') as answered,
                   coalesce(sum(wait_s), 0)::double / 60 as wait_minutes_sum,
                   {flag} as illustrative
            from mapped group by all"""
    )


def ingest(paths: list[Path], data_dir: Path, illustrative: bool = False) -> IngestReport:
    files = find_files(paths, FILE_PATTERN)
    force = config.load_force()
    con = connect()
    read_strict(con, files, COLUMNS, WHAT, PROJECTION)
    _typed(con, files, force)
    _validate(con)
    _aggregate(con, force, illustrative)

    def build(staging: Path, current: Path | None) -> dict:
        monthly = merge_periods(con, current, MONTHLY_TABLE, "new_monthly", ["month"], ["month", "area_code"])
        write_table(staging, MONTHLY_TABLE, monthly, MONTHLY_SCHEMA)
        by_hour = merge_periods(con, current, WEEKDAY_HOUR_TABLE, "new_weekday_hour", ["month"],
                                ["month", "weekday", "hour"])
        write_table(staging, WEEKDAY_HOUR_TABLE, by_hour, WEEKDAY_HOUR_SCHEMA)
        notes = ("one row per month and caller CSP (or the force's unassigned bucket); waits are minutes from "
                 "received_at to answered_at of answered calls")
        return {
            table: {**source_note(illustrative, WHAT), "notes": note,
                    "illustrative": bool(any(data.column("illustrative").to_pylist())),
                    "coverage": coverage(data, "month", force.code)}
            for table, data, note in (
                (MONTHLY_TABLE, monthly, notes),
                (WEEKDAY_HOUR_TABLE, by_hour, "force-wide calls by month, weekday (0 = Monday) and hour"),
            )
        }

    store.publish(data_dir, build)
    return _report(con, files, force, illustrative)


def _report(con: duckdb.DuckDBPyConnection, files: list[Path], force: config.Force, illustrative: bool) -> IngestReport:
    total, months, first, last, answered, abandoned, call_back = one(
        con, """select count(*), count(distinct month), min(month), max(month),
                  count(*) filter (where outcome = 'answered'), count(*) filter (where outcome = 'abandoned'),
                  count(*) filter (where outcome = 'call_back') from mapped""")
    report = IngestReport("calls-101", files=len(files), rows=total)
    kind = " (illustrative)" if illustrative else ""
    report.lines.append(f"  {force.name}: {months} month(s) {first:%Y-%m}..{last:%Y-%m}{kind}; loaded months "
                        "replace any published for the same months")
    report.lines.append(f"  answered {answered:,} ({answered / total:.1%}), abandoned {abandoned:,} "
                        f"({abandoned / total:.1%}), call back {call_back:,} ({call_back / total:.1%})")
    no_csp = one(con, "select count(*) from mapped where unassigned_reason = 'no caller CSP'")[0]
    if no_csp:
        report.lines.append(f"  no caller CSP (counted as unassigned): {no_csp:,} ({no_csp / total:.1%})")
    unknown = con.execute(
        "select csp, count(*) from mapped where unassigned_reason = 'unknown area' group by 1 order by 2 desc, 1"
    ).fetchall()
    if unknown:
        report.lines.append(
            f"  caller_csp_code not a CSP or district of {force.name} (kept as unassigned): "
            + "; ".join(f"{code} ({calls:,} calls)" for code, calls in unknown))
    return report
