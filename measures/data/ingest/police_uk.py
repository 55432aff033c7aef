"""police.uk street-level crime CSVs -> monthly counts by force, CSP and crime type.

Every row is accounted for. A row maps to its district through the LSOA name
("<district name> <3 digits><letter>"), which works for 2011 and 2021 LSOA codes alike,
and to its CSP through the district lookup. A row with no location, a location in a
district of another force, a district the lookup does not know, or a district with no
single CSP is counted in the force's unassigned bucket, with its reason.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import h3
import pandas as pd

from measures.data import config, store
from measures.data.ingest import IngestError, IngestReport, check_text_header, find_files
from measures.data.ingest.contract import one
from measures.data.ingest.csv_errors import csv_error

COLUMNS = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]
FILE_PATTERN = "*-street.csv"
HEX_RESOLUTION = 7  # about 5 km² a hexagon: fine enough for a town, coarse enough to hide addresses
COUNTS_TABLE = "police_uk_counts"
HEX_TABLE = "police_uk_hex"
UNMATCHED_TABLE = "police_uk_unmatched"
FIRST_MONTH = dt.date(2010, 12, 1)  # police.uk's first published month


def _read_all(con: duckdb.DuckDBPyConnection, files: list[Path]) -> None:
    """Load every file into table `raw` with DuckDB's strict CSV reader."""
    options = dict(
        header=True, auto_detect=False, strict_mode=True, delim=",", quote='"', escape='"',
        columns={c: "VARCHAR" for c in COLUMNS}, filename=True,
    )
    sql = "create or replace table raw as select * from read_csv($files, " + ", ".join(
        f"{k}=${k}" for k in options) + ")"
    try:
        con.execute(sql, {"files": [str(f) for f in files], **options})
    except duckdb.Error as exc:
        # Re-read one by one so the message names the broken file (line endings may differ).
        for file in files:
            try:
                con.execute(sql.replace("create or replace table raw", "create or replace temp table probe"),
                            {**options, "files": [str(file)]})
            except duckdb.Error as file_exc:
                raise csv_error(file_exc, [file]) from None
        raise csv_error(exc, files) from None


def _line_of(file: str, column: str, value: str | None) -> int | None:
    """Line number of the first row whose `column` is `value` (only used for messages)."""
    import csv

    with open(file, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        index = header.index(column)
        for row in reader:
            if len(row) > index and (row[index] or None) == value:
                return reader.line_num
    return None


def _validate(con: duckdb.DuckDBPyConnection, forces: pd.DataFrame) -> None:
    today = dt.date.today()
    bad_month = con.execute(
        """select filename, "Month" from raw
           where "Month" is null
              or not regexp_full_match("Month", '\\d{4}-(0[1-9]|1[0-2])')
              or strptime("Month", '%Y-%m')::date not between $first and $last
           limit 1""",
        {"first": FIRST_MONTH, "last": today},
    ).fetchone()
    if bad_month:
        file, month = bad_month
        raise IngestError(file, f"impossible month '{month}' (expected YYYY-MM from 2010-12 to this month)",
                          line=_line_of(file, "Month", month))
    con.register("forces", forces)
    unknown_force = con.execute(
        """select filename, "Falls within" from raw
           where "Falls within" is null or "Falls within" not in (select police_uk_name from forces) limit 1"""
    ).fetchone()
    if unknown_force:
        file, force = unknown_force
        raise IngestError(file, f"unknown force '{force}' in 'Falls within'",
                          line=_line_of(file, "Falls within", force))
    for column in ("Longitude", "Latitude"):
        bad = con.execute(
            f"""select filename, "{column}" from raw
                where "{column}" is not null and try_cast("{column}" as double) is null limit 1"""
        ).fetchone()
        if bad:
            raise IngestError(bad[0], f"{column} '{bad[1]}' is not a number", line=_line_of(bad[0], column, bad[1]))
    no_type = con.execute('select filename from raw where "Crime type" is null limit 1').fetchone()
    if no_type:
        raise IngestError(no_type[0], "a row has no Crime type", line=_line_of(no_type[0], "Crime type", None))
    twice = con.execute(
        """select "Falls within", "Month", list(distinct filename order by filename) as files from raw
           group by all having count(distinct filename) > 1 limit 1"""
    ).fetchone()
    if twice:
        force, month, files = twice
        raise IngestError(files[1], f"{force} {month} is also in {files[0]}; give each month once")


def _classify(con: duckdb.DuckDBPyConnection, districts: pd.DataFrame, forces: pd.DataFrame) -> None:
    """Table `rows`: one per input row with month, force, district, CSP or unassigned reason."""
    con.register("districts", districts)
    con.register("forces", forces)
    con.execute(
        """
        create or replace table mapped as
        with named as (
            select *,
                   nullif(regexp_extract("LSOA name", '^(.*) [0-9]{3}[A-Z]$', 1), '') as district_name
            from raw
        ),
        names as (  -- LSOA names say "Bristol" where ONS says "Bristol, City of"
            select lower(lad_name) as key, * from districts
            union all
            select lower(regexp_replace(lad_name, ', (City|County) of$', '')) as key, * from districts
            where regexp_matches(lad_name, ', (City|County) of$')
        ),
        lookup as (  -- one row per district name; 2017 names and later ones side by side
            select key, any_value(lad_code) as lad_code,
                   any_value(csp_code) as csp_code, any_value(pfa_code) as pfa_code
            from names group by key
        )
        select strptime(n."Month", '%Y-%m')::date as month,
               f.pfa_code as force_code,
               n."Crime type" as crime_type,
               n.district_name,
               l.lad_code,
               case
                 when n."LSOA name" is null and n."Longitude" is null then 'no location'
                 when n.district_name is null then 'LSOA name not recognised'
                 when l.lad_code is null then 'district not in lookup'
                 when l.pfa_code <> f.pfa_code then 'outside force area'
                 when coalesce(l.csp_code, '') = '' then 'district has no single CSP'
               end as unassigned_reason,
               try_cast(n."Longitude" as double) as longitude,
               try_cast(n."Latitude" as double) as latitude,
               l.csp_code
        from named n
        join forces f on f.police_uk_name = n."Falls within"
        left join lookup l on l.key = lower(n.district_name)
        """
    )


def _counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        """
        select month, force_code,
               case when unassigned_reason is null then csp_code
                    else 'UNASSIGNED-' || force_code end as area_code,
               case when unassigned_reason is null then 'csp' else 'unassigned' end as area_type,
               crime_type, count(*)::bigint as count
        from mapped group by all order by all
        """
    ).df()


def _hex_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    # police.uk snaps crimes to a few thousand anonymised points per force, so H3 cells are
    # computed once per distinct point, not once per row.
    points = con.execute(
        "select distinct longitude, latitude from mapped where longitude is not null and latitude is not null"
    ).df()
    points["h3_cell"] = [h3.latlng_to_cell(lat, lng, HEX_RESOLUTION)
                         for lng, lat in zip(points["longitude"], points["latitude"], strict=True)]
    con.register("points", points)
    return con.execute(
        """
        select m.month, m.force_code, p.h3_cell, m.crime_type, count(*)::bigint as count
        from mapped m join points p using (longitude, latitude)
        group by all order by all
        """
    ).df()


def _unmatched(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        """
        select month, force_code, unassigned_reason as reason,
               coalesce(district_name, '') as district_name, count(*)::bigint as rows
        from mapped where unassigned_reason is not null
        group by all order by all
        """
    ).df()


def _merge(current: Path | None, table: str, new: pd.DataFrame) -> pd.DataFrame:
    """Replace the (force, month) pairs being loaded; keep every other published row."""
    if current is None or not (current / f"{table}.parquet").exists():
        return new
    published = pd.read_parquet(current / f"{table}.parquet")
    # Parquet gives months back as dates, DuckDB as datetime64: one type for the merge.
    published["month"] = pd.to_datetime(published["month"]).astype(new["month"].dtype)
    replaced = new[["force_code", "month"]].drop_duplicates()
    keep = published.merge(replaced, on=["force_code", "month"], how="left", indicator=True)
    keep = keep[keep["_merge"] == "left_only"].drop(columns="_merge")
    return pd.concat([keep, new], ignore_index=True).sort_values(
        [c for c in new.columns if c not in ("count", "rows")]).reset_index(drop=True)


def _write(frame: pd.DataFrame, staging: Path, table: str) -> None:
    frame = frame.copy()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    store.replace_table(staging, table, lambda tmp: frame.to_parquet(tmp, index=False, compression="zstd"))


def ingest(paths: list[Path], data_dir: Path) -> IngestReport:
    files = find_files(paths, FILE_PATTERN)
    for file in files:
        check_text_header(file, COLUMNS, "police.uk street-level crime")
    con = duckdb.connect()
    _read_all(con, files)
    forces = config.forces()
    _validate(con, forces)
    _classify(con, config.districts(), forces)
    counts, hexes, unmatched = _counts(con), _hex_counts(con), _unmatched(con)

    def build(staging: Path, current: Path | None) -> dict:
        merged = _merge(current, COUNTS_TABLE, counts)
        _write(merged, staging, COUNTS_TABLE)
        _write(_merge(current, HEX_TABLE, hexes), staging, HEX_TABLE)
        _write(_merge(current, UNMATCHED_TABLE, unmatched), staging, UNMATCHED_TABLE)
        months = merged.groupby("force_code")["month"].agg(["min", "max", "nunique"])
        return {COUNTS_TABLE: {
            "source": "data.police.uk street-level crime",
            "licence": "Open Government Licence v3.0",
            "illustrative": False,
            "coverage": {force: {"first_month": str(r["min"]), "last_month": str(r["max"]), "months": int(r["nunique"])}
                         for force, r in months.iterrows()},
        }}

    store.publish(data_dir, build)
    return _report(con, files)


def _report(con: duckdb.DuckDBPyConnection, files: list[Path]) -> IngestReport:
    total = one(con, "select count(*) from raw")[0]
    report = IngestReport("police-uk", files=len(files), rows=total)
    for force, months, first, last, rows, unassigned in con.execute(
        """select force_code, count(distinct month), min(month), max(month), count(*),
                  count(*) filter (where unassigned_reason is not null)
           from mapped group by force_code order by force_code"""
    ).fetchall():
        report.lines.append(
            f"  {force}: {rows:,} rows, {months} month(s) {first:%Y-%m}..{last:%Y-%m}, "
            f"{unassigned:,} unassigned ({unassigned / rows:.1%})"
        )
    for reason, rows in con.execute(
        "select unassigned_reason, count(*) from mapped where unassigned_reason is not null group by 1 order by 2 desc"
    ).fetchall():
        report.lines.append(f"  unassigned, {reason}: {rows:,}")
    unknown = con.execute(
        """select district_name, count(*) from mapped where unassigned_reason = 'district not in lookup'
           group by 1 order by 2 desc"""
    ).fetchall()
    if unknown:
        report.lines.append("  districts not in the lookup (rows kept as unassigned): " + "; ".join(
            f"{name} ({rows:,})" for name, rows in unknown))
    return report


