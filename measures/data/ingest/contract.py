"""What the contract-style ingests share (101 calls, reoffending, hidden crime).

Strict reading of every file with DuckDB's CSV reader, row checks that name the file and
line of the first bad row, merging of reloaded periods with the published table, and
writing tables into the staging folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from measures.data import config, store
from measures.data.ingest import IngestError, check_text_header
from measures.data.ingest.csv_errors import csv_error

FIRST_DAY = dt.date(2000, 1, 1)
# An ONS area code: a letter and eight digits (E22000356).
AREA_CODE = "^[EWSNK][0-9]{8}$"


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    return con


def read_strict(con: duckdb.DuckDBPyConnection, files: list[Path], columns: list[str], what: str,
                projection: str = "* exclude (filename)") -> None:
    """Check every header, then load every file with DuckDB's strict CSV reader (all
    columns VARCHAR) into table `raw`: `file_no` (1-based, see table `files`) and
    `projection` of the CSV columns (e.g. values parsed at once, which keeps large loads
    small). Rows keep file order, so `rowid` follows it. Files with a header and no rows
    are refused."""
    for file in files:
        check_text_header(file, columns, what)
    con.execute("create or replace table files(file_no usmallint, filename varchar)")
    con.executemany("insert into files values (?, ?)", [(i, str(f)) for i, f in enumerate(files, start=1)])
    options = {
        "header": True, "auto_detect": False, "strict_mode": True, "delim": ",", "quote": '"', "escape": '"',
        "columns": {c: "VARCHAR" for c in columns}, "filename": True,
    }
    sql = (f"create or replace table raw as select list_position($files, filename)::usmallint as file_no, "
           f"{projection} from read_csv($files, " + ", ".join(f"{k}=${k}" for k in options) + ")")
    try:
        con.execute(sql, {"files": [str(f) for f in files], **options})
    except duckdb.Error as exc:
        for file in files:  # name the broken file
            try:
                con.execute(sql.replace("create or replace table raw", "create or replace temp table probe"),
                            {**options, "files": [str(file)]})
            except duckdb.Error as file_exc:
                raise csv_error(file_exc, [file]) from None
        raise csv_error(exc, files) from None
    con.execute("drop table if exists probe")
    counts = dict(con.execute("select file_no, count(*) from raw group by file_no").fetchall())
    for number, file in enumerate(files, start=1):
        if counts.get(number, 0) == 0:
            raise IngestError(file, f"the file has a header but no rows; expected the {what} layout")


def record_line(file: str, index: int) -> int | None:
    """Line number (1-based, where the record starts) of data record `index` (0-based).

    Only used for messages. Blank lines are skipped, as DuckDB's reader skips them.
    """
    with open(file, newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle)
        previous_end, header_seen, seen = 0, False, -1
        for row in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not row:
                continue
            if not header_seen:
                header_seen = True
                continue
            seen += 1
            if seen == index:
                return start
    return None


def one(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> tuple:
    """The one row of a query that always has one (an aggregate, or a row known to exist)."""
    row = con.execute(sql, params or {}).fetchone()
    if row is None:
        raise RuntimeError(f"no row from: {sql.split()[:6]}")
    return row


def locate(con: duckdb.DuckDBPyConnection, rn: int) -> tuple[str, int | None]:
    """(file, line) of the row of `raw` whose rowid is `rn`."""
    file, first = one(con,
        """select f.filename, (select min(rowid) from raw r2 where r2.file_no = r.file_no)
           from raw r join files f using (file_no) where r.rowid = $rn""", {"rn": rn})
    return file, record_line(file, rn - first)


def refuse_first(con: duckdb.DuckDBPyConnection, table: str, checks: list[tuple[str, str]]) -> None:
    """Refuse the first row (in file order) that fails any check.

    checks: (SQL condition that is true for a bad row, SQL expression giving the message).
    """
    if not checks:
        return
    conditions = [f"coalesce(({cond}), false)" for cond, _ in checks]
    message = "case " + " ".join(f"when {c} then {m}" for c, (_, m) in zip(conditions, checks, strict=True)) + " end"
    bad = con.execute(
        f"select rn, {message} from {table} where " + " or ".join(conditions) + " order by rn limit 1"
    ).fetchone()
    if bad:
        file, line = locate(con, bad[0])
        raise IngestError(file, bad[1], line=line)


def refuse_duplicates(con: duckdb.DuckDBPyConnection, table: str, key: list[str], what: str) -> None:
    """Refuse the second occurrence of a key (e.g. a call_id given twice)."""
    columns = ", ".join(key)
    dup = con.execute(
        f"""select {columns}, min(rn) as first_rn, list(rn order by rn)[2] as second_rn
            from {table} group by {columns} having count(*) > 1 order by second_rn limit 1"""
    ).fetchone()
    if dup:
        values = ", ".join("empty" if v is None else str(v) for v in dup[:len(key)])
        first_file, first_line = locate(con, dup[-2])
        file, line = locate(con, dup[-1])
        where = f"line {first_line}" if first_file == file else f"{first_file} line {first_line}"
        raise IngestError(file, f"{what} ({values}) is given twice (also at {where}); give each once", line=line)


def shown(expression: str) -> str:
    """SQL for a value as it appears in a message: quoted, cut at 40 characters, or 'empty'."""
    return f"coalesce(format('''{{}}''', left({expression}, 40)), 'empty')"


def force_area_lookup(force: config.Force) -> list[tuple[str, str, str]]:
    """(code, csp_code, level) for the force's CSPs and districts."""
    return [*((a.code, a.code, "csp") for a in force.csps),
            *((lad, csp, "district") for lad, _, csp in force.districts)]


def merge_periods(con: duckdb.DuckDBPyConnection, current: Path | None, table: str, new: str,
                  keys: list[str], order: list[str]) -> pa.Table:
    """Published rows of `table` whose `keys` are not being loaded, plus the new rows."""
    published = current / f"{table}.parquet" if current is not None else None
    if published is None or not published.exists():
        return con.sql(f"select * from {new} order by {', '.join(order)}").to_arrow_table()
    path = str(published.resolve()).replace("'", "''")
    key_list = ", ".join(keys)
    return con.sql(
        f"""select * from (
              select p.* from read_parquet('{path}') p
              anti join (select distinct {key_list} from {new}) n using ({key_list})
              union all by name
              select * from {new})
            order by {', '.join(order)}"""
    ).to_arrow_table()


def write_table(staging: Path, table: str, data: pa.Table, schema: pa.Schema) -> None:
    data = data.select(schema.names).cast(schema)
    store.replace_table(staging, table, lambda tmp: pq.write_table(data, tmp, compression="zstd"))


def coverage(data: pa.Table, column: str, force_code: str) -> dict:
    values = sorted(set(data.column(column).to_pylist()))
    if not values:
        return {}
    return {force_code: {"first": str(values[0]), "last": str(values[-1]), "periods": len(values)}}


def source_note(illustrative: bool, what: str) -> dict:
    if illustrative:
        return {"source": f"illustrative {what} generated by `python -m measures demo-data` (not real data)",
                "licence": "generated illustrative data; no restrictions"}
    return {"source": f"{what} supplied by the force", "licence": "as agreed with the data owner"}


def file_months(files: list[Path]) -> list[tuple[int, dt.date | None]]:
    """(file_no, the month in the file name (..._YYYY-MM.csv) or None)."""
    found = []
    today = dt.date.today()
    for number, file in enumerate(files, start=1):
        match = re.search(r"(\d{4})-(0[1-9]|1[0-2])(?!.*\d{4}-\d{2})", file.name)
        if match and not FIRST_DAY.year <= int(match.group(1)) <= today.year:  # before dt.date: year 0 is no date
            raise IngestError(file, f"the month in the file name, {match.group(0)}, is out of range "
                              f"({FIRST_DAY:%Y} to this month)")
        found.append((number, dt.date(int(match.group(1)), int(match.group(2)), 1) if match else None))
    return found


def residents_table(con: duckdb.DuckDBPyConnection, force: config.Force) -> int:
    """Table `area_residents(code, residents, residents_of)`: every CSP, district and force of England and
    Wales with the residents the rates divide by (latest mid-year); a district has its CSP's (at least its
    own), and `residents_of` names the area counted. Returns the configured force's residents, the ceiling
    for a code in no lookup (kept in the force's unassigned bucket)."""
    latest = config.latest_residents()
    areas = config.areas()
    csps = areas[areas["area_type"] == "csp"]
    rows = {code: (int(latest[code]), code) for code in csps["area_code"] if code in latest.index}
    for lad, csp in config.districts()[["lad_code", "csp_code"]].itertuples(index=False):
        if csp in rows:
            rows.setdefault(lad, rows[csp])
    for owner, group in csps.groupby("force_code"):
        rows[str(owner)] = (sum(rows[code][0] for code in group["area_code"] if code in rows), str(owner))
    con.execute("create or replace table area_residents(code varchar primary key, residents bigint, "
                "residents_of varchar)")
    con.executemany("insert into area_residents values (?, ?, ?)", [(c, *v) for c, v in sorted(rows.items())])
    return rows[force.code][0] if force.code in rows else max(n for n, _ in rows.values())


def count_sql(column: str) -> str:
    """SQL for a count: whole numbers 0 and up (18 digits at most, so the bigint cannot overflow), NULL otherwise."""
    value = f"trim({column})"
    return f"case when regexp_full_match({value}, '[0-9]{{1,18}}') then {value}::bigint end"


def ceiling_check(raw: str, count: str, what: str) -> tuple[str, str]:
    """A refuse_first check: a count beyond the area's residents (or a number too long to be one)."""
    what = what.replace("'", "''")
    return (
        f"regexp_full_match({raw}, '[0-9]+') and ({count} is null or {count} > residents)",
        (f"'{raw.removesuffix('_raw')} ' || case when length({raw}) > 24 then 'of ' || length({raw}) || ' digits' "
         f"else {raw} end || ' is more than the ' || format('{{:,}}', residents) || ' residents of ' || "
         f"residents_of || ' ({what})'"),
    )
