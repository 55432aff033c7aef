"""police.uk street-level crime CSVs -> monthly counts by force, CSP and crime type.

Inputs are `*-street.csv` files, folders of them, or the monthly .zip downloads
(`YYYY-MM/YYYY-MM-<force>-street.csv` inside), read from the archive without unpacking.
One month is read and reduced to the compact count tables at a time, so memory follows
the largest month, not the whole input; the tables are published once, at the end.

Every row is accounted for. A row maps to its district through the LSOA name
("<district name> <3 digits><letter>"), which works for 2011 and 2021 LSOA codes alike,
and to its CSP through the district lookup. A row with no location, a location in a
district of another force, a district the lookup does not know, or a district with no
single CSP is counted in the force's unassigned bucket, with its reason. Rows of British
Transport Police and of Northern Ireland are counted in the report only: they belong to no
police force area of England and Wales and to no CSP.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import resource
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from measures.data import config, store
from measures.data.ingest import IngestError, IngestReport

COLUMNS = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]
# Only these are read into memory; every column is still parsed, so a broken row is still refused.
NEEDED = ["Month", "Falls within", "Longitude", "Latitude", "LSOA name", "Crime type"]
FILE_PATTERN = "*-street.csv"
HEX_RESOLUTION = 7  # about 5 km² a hexagon: fine enough for a town, coarse enough to hide addresses
COUNTS_TABLE = "police_uk_counts"
HEX_TABLE = "police_uk_hex"
UNMATCHED_TABLE = "police_uk_unmatched"
FIRST_MONTH = dt.date(2010, 12, 1)  # police.uk's first published month
WHAT = "police.uk street-level crime"

# In the archives but outside every police force area of England and Wales: counted and
# reported, never added to a territorial force or a CSP.
NON_TERRITORIAL = {
    "British Transport Police": "not a territorial force (no police force area)",
    "Police Service of Northern Ireland": "Northern Ireland (no CSPs, outside the England and Wales lookups)",
}
# District names in LSOA names that the lookup spells differently (renamed or merged districts),
# each mapped to a lookup name with the same CSP. Used only when the lookup lacks the name.
ALIASES = {
    "folkestone and hythe": "shepway",  # renamed 2018; the CSP is still E22000145 "Shepway"
}
# Merged districts that span several CSPs: their 2021 LSOA names ("East Suffolk 014B") carry the new
# district, but each 2021 MSOA (the 3 digits) lies within one old district, whose CSP it takes. The
# table is data/reference/split_district_msoas.csv, built by scripts/build_reference.py from the LSOA
# codes in the police.uk files and their 2011 names in IMD 2019 File 1. An MSOA not listed stays
# 'district has no single CSP'.
def split_districts() -> dict[str, dict[str, tuple[int, ...]]]:
    """Merged district key -> old district key -> the MSOA numbers that lie in it."""
    found: dict[str, dict[str, list[int]]] = {}
    for row in config.split_district_msoas().itertuples():
        found.setdefault(_key(str(row.district_name)), {}).setdefault(_key(str(row.old_district_name)), []).append(
            int(row.msoa))
    return {new: {old: tuple(msoas) for old, msoas in olds.items()} for new, olds in found.items()}


def _splits() -> pd.DataFrame:
    return pd.DataFrame([(new, msoa, old) for new, olds in split_districts().items() for old, msoas in olds.items()
                         for msoa in msoas], columns=["new_key", "msoa", "old_key"])


@dataclass(frozen=True)
class Source:
    """One CSV: a file on disk, or a member of a .zip archive (read without unpacking)."""

    path: Path
    member: str | None = None

    @property
    def label(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    @property
    def batch(self) -> str:
        """The month in the file name (YYYY-MM-...), so one month is read at a time."""
        name = Path(self.member or self.path.name).name
        match = re.match(r"(\d{4}-\d{2})-", name)
        return match.group(1) if match else name

    def read(self) -> bytes:
        if self.member is None:
            return self.path.read_bytes()
        try:
            with zipfile.ZipFile(self.path) as archive:
                return archive.read(self.member)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:  # e.g. a CRC mismatch: the archive is damaged
            raise IngestError(self.label, f"cannot be read from the archive ({exc})") from None


def find_sources(paths: Iterable[Path]) -> list[Source]:
    """Files named, `*-street.csv` files and .zip archives under folders, and the street CSVs inside archives."""
    found: list[Source] = []
    for path in map(Path, paths):
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                if file.suffix.lower() == ".zip":
                    found += _members(file)
                elif file.match(FILE_PATTERN):
                    found.append(Source(file))
        elif path.is_file():
            found += _members(path) if path.suffix.lower() == ".zip" else [Source(path)]
        else:
            raise IngestError(path, "no such file or folder")
    if not found:
        raise IngestError(", ".join(map(str, paths)), f"no input files found (looked for {FILE_PATTERN} and .zip)")
    unique = {s.label: s for s in found}  # a file named twice (on its own and in its folder) is read once
    return sorted(unique.values(), key=lambda s: (s.batch, s.label))


def _members(archive: Path) -> list[Source]:
    try:
        with zipfile.ZipFile(archive) as bundle:
            names = sorted(i.filename for i in bundle.infolist() if not i.is_dir())
    except zipfile.BadZipFile:
        raise IngestError(archive, "not a readable .zip archive") from None
    members = [Source(archive, n) for n in names if Path(n).match(FILE_PATTERN)]
    if not members:
        raise IngestError(archive, f"the archive holds no file named like {FILE_PATTERN}")
    return members


# --------------------------------------------------------------------------- reading

def _check_header(source: Source, raw: bytes) -> None:
    """Refuse empty, binary and wrongly laid-out files before any parsing."""
    head = raw[:65536]
    if not head.strip():
        raise IngestError(source.label, "the file is empty")
    if b"\x00" in head:
        raise IngestError(source.label, f"not a CSV file (binary content); expected the {WHAT} layout")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:  # a cut in the middle of a multi-byte character at the 64 KiB boundary is fine
            text = head[:-4].decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IngestError(source.label, f"not a UTF-8 text file; expected the {WHAT} layout") from None
    header_line = text.splitlines()[0] if text.splitlines() else ""
    header = [h.strip().strip('"') for h in header_line.split(",")]
    if header != COLUMNS:
        shown = header_line if len(header_line) <= 120 else header_line[:117] + "..."
        raise IngestError(source.label, f"header does not match the {WHAT} layout: expected '{','.join(COLUMNS)}', "
                          f"found '{shown}'", line=1)


_TYPES = {c: pa.float64() if c in ("Longitude", "Latitude") else pa.string() for c in NEEDED}
_CONVERT = pacsv.ConvertOptions(include_columns=NEEDED, column_types=_TYPES, null_values=[""],
                                strings_can_be_null=True, quoted_strings_can_be_null=True)
_PARSE = pacsv.ParseOptions(delimiter=",", quote_char='"', double_quote=True, newlines_in_values=True)
# One file is parsed on one thread; files are read side by side (zlib and Arrow release the GIL).
_READ = pacsv.ReadOptions(use_threads=False, block_size=1 << 24)


def _read(source: Source, file_no: int) -> pa.Table:
    """Typed, strict read of the needed columns of one CSV, with its file number."""
    raw = source.read()
    _check_header(source, raw)
    try:
        table = pacsv.read_csv(pa.py_buffer(raw), read_options=_READ, parse_options=_PARSE, convert_options=_CONVERT)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _diagnose(source, raw, exc) from None
    if table.num_rows == 0:
        raise IngestError(source.label, "the file has a header and no rows")
    return table.append_column("file_no", pa.array(np.full(table.num_rows, file_no, dtype=np.int32)))


def _diagnose(source: Source, raw: bytes, exc: Exception) -> IngestError:
    """The first broken row, found again with Python's csv module (only on the error path)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as bad:
        return IngestError(source.label, "not valid UTF-8 text", line=raw[:bad.start].count(b"\n") + 1)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    numeric = [COLUMNS.index("Longitude"), COLUMNS.index("Latitude")]
    try:
        next(reader)
        for row in reader:
            if not row:
                continue  # a blank line is skipped by the reader too
            if len(row) != len(COLUMNS):
                return IngestError(source.label, f"expected {len(COLUMNS)} fields, found {len(row)} (a broken row)",
                                   line=reader.line_num)
            for index in numeric:
                try:
                    float(row[index] or 0)
                except ValueError:
                    return IngestError(source.label, f"{COLUMNS[index]} '{row[index]}' is not a number",
                                       line=reader.line_num)
    except csv.Error:
        return IngestError(source.label, "the CSV cannot be parsed (an unterminated quote or a broken row)",
                           line=reader.line_num)
    return IngestError(source.label, "the CSV cannot be parsed: " + str(exc).splitlines()[0][:200])


def _line_of(source: Source, column: str, value: str | None) -> int | None:
    """Line number of the first row whose `column` is `value` (only used for messages)."""
    reader = csv.reader(io.StringIO(source.read().decode("utf-8-sig"), newline=""))
    index = next(reader).index(column)
    for row in reader:
        if len(row) > index and (row[index] or None) == value:
            return reader.line_num
    return None


# --------------------------------------------------------------------------- mapping

def _key(name: str) -> str:
    """A district name as a lookup key: case, '&', punctuation and spacing do not matter."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name.lower().replace("&", " and ")).split())


KEY_SQL = "trim(regexp_replace(replace(lower({}), '&', ' and '), '[^a-z0-9]+', ' ', 'g'))"


def _lookup(districts: pd.DataFrame) -> pd.DataFrame:
    """One row per district key: (key, lad_code, csp_code, pfa_code); csp_code '' when no single CSP.

    January 2017 names and later ones stand side by side; a name listed twice (an old
    district and its successor) takes the CSP it has, so the choice never depends on row order.
    """
    candidates: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for lad_code, lad_name, csp_code, pfa_code in districts[["lad_code", "lad_name", "csp_code", "pfa_code"]].itertuples(
            index=False):
        keys = {_key(lad_name)}
        stripped = re.sub(r", (City|County) of$", "", lad_name)  # LSOA names say "Bristol" for "Bristol, City of"
        keys.add(_key(stripped))
        for key in keys:
            candidates[key].append((lad_code, csp_code, pfa_code))
    for alias, target in ALIASES.items():
        if alias not in candidates and target in candidates:
            candidates[alias] = candidates[target]
    rows = []
    for key, options in sorted(candidates.items()):
        with_csp = sorted(o for o in options if o[1])
        csps = {o[1] for o in with_csp}
        lad_code, csp_code, pfa_code = with_csp[0] if len(csps) == 1 else (sorted(options)[0][0], "", sorted(options)[0][2])
        rows.append((key, lad_code, csp_code if len(csps) == 1 else "", pfa_code))
    return pd.DataFrame(rows, columns=["key", "lad_code", "csp_code", "pfa_code"])


MAPPED_SQL = f"""
create or replace temp table mapped as
with names as (
    select "LSOA name" as lsoa_name,
           nullif(regexp_extract("LSOA name", '^(.*) [0-9]{{3}}[A-Z]$', 1), '') as district_name,
           try_cast(regexp_extract("LSOA name", ' ([0-9]{{3}})[A-Z]$', 1) as integer) as msoa
    from (select distinct lsoa_name as "LSOA name" from agg where lsoa_name is not null)
),
keyed as (
    select n.*, coalesce(s.old_key, {KEY_SQL.format('n.district_name')}) as key
    from names n left join splits s on s.new_key = {KEY_SQL.format('n.district_name')} and s.msoa = n.msoa
)
select strptime(r.month_text, '%Y-%m')::date as month,
       f.pfa_code as force_code,
       r.crime_type,
       k.district_name,
       case
         when r.lsoa_name is null and r.longitude is null then 'no location'
         when k.district_name is null then 'LSOA name not recognised'
         when l.lad_code is null then 'district not in lookup'
         when l.pfa_code <> f.pfa_code then 'outside force area'
         when coalesce(l.csp_code, '') = '' then 'district has no single CSP'
       end as unassigned_reason,
       r.longitude,
       r.latitude,
       l.csp_code,
       r.n
from agg r
join forces f on f.police_uk_name = r.falls_within
left join keyed k on k.lsoa_name = r.lsoa_name
left join lookup l on l.key = k.key
where r.falls_within not in (select name from non_territorial)
"""


@dataclass
class _Tables:
    """The compact tables of every month read so far, and what the report needs."""

    counts: list[pd.DataFrame]
    hexes: list[pd.DataFrame]
    unmatched: list[pd.DataFrame]
    forces: list[pd.DataFrame]
    others: list[pd.DataFrame]


class _Reader:
    """Reads one month at a time and reduces it to the compact tables."""

    def __init__(self, sources: list[Source]) -> None:
        self.sources = sources
        self.con = duckdb.connect()
        self.con.execute("set enable_progress_bar = false")
        self.forces = config.forces()[["pfa_code", "police_uk_name"]]
        self.con.register("forces", self.forces)
        self.con.register("lookup", _lookup(config.districts()))
        self.con.register("splits", _splits())
        self.con.register("non_territorial", pd.DataFrame({"name": sorted(NON_TERRITORIAL)}))
        self.con.execute("create temp table cells(longitude double, latitude double, h3_cell varchar)")
        self.seen: dict[tuple[str, str], str] = {}  # (force, month) -> the file it came from
        self.tables = _Tables([], [], [], [], [])
        self.rows = 0

    def run(self) -> _Tables:
        batches: dict[str, list[int]] = defaultdict(list)
        for index, source in enumerate(self.sources):
            batches[source.batch].append(index)
        workers = max(1, min(8, os.cpu_count() or 1))
        with ThreadPoolExecutor(workers) as pool:
            for indexes in batches.values():
                tables = list(pool.map(lambda i: _read(self.sources[i], i), indexes))
                raw = pa.concat_tables(tables)
                del tables
                self.rows += raw.num_rows
                self._month(raw)
        return self.tables

    def _month(self, raw: pa.Table) -> None:
        con = self.con
        con.register("raw", raw)
        # Rows that agree on everything the tables need are counted once: the rest works on far fewer rows.
        con.execute("""create or replace temp table agg as
                       select file_no, "Month" as month_text, "Falls within" as falls_within, "LSOA name" as lsoa_name,
                              "Crime type" as crime_type, "Longitude" as longitude, "Latitude" as latitude,
                              count(*)::bigint as n
                       from raw group by all""")
        con.unregister("raw")
        self._validate()
        con.execute(MAPPED_SQL)
        self.tables.counts.append(con.execute(
            """select month, force_code,
                      case when unassigned_reason is null then csp_code
                           else 'UNASSIGNED-' || force_code end as area_code,
                      case when unassigned_reason is null then 'csp' else 'unassigned' end as area_type,
                      crime_type, sum(n)::bigint as count
               from mapped group by all""").df())
        self.tables.unmatched.append(con.execute(
            """select month, force_code, unassigned_reason as reason,
                      coalesce(district_name, '') as district_name, sum(n)::bigint as rows
               from mapped where unassigned_reason is not null group by all""").df())
        self.tables.forces.append(con.execute(
            """select force_code, month, sum(n) as rows,
                      coalesce(sum(n) filter (where unassigned_reason is not null), 0) as unassigned
               from mapped group by all""").df())
        self.tables.others.append(con.execute(
            """select falls_within as name, month_text as month, sum(n) as rows
               from agg where falls_within in (select name from non_territorial) group by all""").df())
        self.tables.hexes.append(self._hexes())
        con.execute("drop table mapped")
        con.execute("drop table agg")

    def _hexes(self) -> pd.DataFrame:
        # police.uk snaps crimes to a few thousand anonymised points per force, and the points recur
        # month after month: H3 cells are computed once per new distinct point, not once per row.
        con = self.con
        new = con.execute(
            """select distinct longitude, latitude from mapped m
               where longitude is not null and latitude is not null
                 and not exists (select 1 from cells c where c.longitude = m.longitude and c.latitude = m.latitude)"""
        ).fetchnumpy()
        if len(new["longitude"]):
            added = pa.table({"longitude": new["longitude"], "latitude": new["latitude"], "h3_cell": [
                h3.latlng_to_cell(lat, lng, HEX_RESOLUTION) for lng, lat in zip(
                    new["longitude"].tolist(), new["latitude"].tolist(), strict=True)]})
            con.register("added", added)
            con.execute("insert into cells select * from added")
            con.unregister("added")
        return con.execute(
            """select m.month, m.force_code, c.h3_cell, m.crime_type, sum(n)::bigint as count
               from mapped m join cells c using (longitude, latitude) group by all"""
        ).df()

    def _validate(self) -> None:
        """Months, forces and crime types checked once per distinct value; the line is found only for a message."""
        known = set(self.forces["police_uk_name"]) | set(NON_TERRITORIAL)
        last = dt.date.today()
        values = self.con.execute(
            "select distinct file_no, month_text, falls_within, crime_type is null from agg order by all").fetchall()
        for file_no, month, force, no_type in values:
            source = self.sources[file_no]
            if not _possible_month(month, last):
                raise IngestError(source.label, f"impossible month '{month}' (expected YYYY-MM from 2010-12 to this "
                                  "month)", line=_line_of(source, "Month", month))
            if force not in known:
                raise IngestError(source.label, f"unknown force '{force}' in 'Falls within'",
                                  line=_line_of(source, "Falls within", force))
            if no_type:
                raise IngestError(source.label, "a row has no Crime type", line=_line_of(source, "Crime type", None))
        for file_no, month, force, _ in values:
            label = self.sources[file_no].label
            first = self.seen.setdefault((force, month), label)
            if first != label:
                first, label = sorted([first, label])
                raise IngestError(label, f"{force} {month} is also in {first}; give each month once")


def _possible_month(month: str | None, last: dt.date) -> bool:
    if month is None or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        return False
    return FIRST_MONTH <= dt.date(int(month[:4]), int(month[5:]), 1) <= last


# --------------------------------------------------------------------------- publishing

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
    return _sorted(pd.concat([keep, new], ignore_index=True))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    # One order whatever order the months and files came in: re-ingesting gives the same bytes.
    return frame.sort_values([c for c in frame.columns if c not in ("count", "rows")]).reset_index(drop=True)


def _combine(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frame = pd.concat(frames, ignore_index=True)[columns]
    if "count" in frame:
        frame["count"] = frame["count"].astype("int64")
    if "rows" in frame:
        frame["rows"] = frame["rows"].astype("int64")
    return _sorted(frame)


def _write(frame: pd.DataFrame, staging: Path, table: str) -> None:
    frame = frame.copy()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    store.replace_table(staging, table, lambda tmp: frame.to_parquet(tmp, index=False, compression="zstd"))


def ingest(paths: list[Path], data_dir: Path) -> IngestReport:
    sources = find_sources(paths)
    reader = _Reader(sources)
    tables = reader.run()
    counts = _combine(tables.counts, ["month", "force_code", "area_code", "area_type", "crime_type", "count"])
    hexes = _combine(tables.hexes, ["month", "force_code", "h3_cell", "crime_type", "count"])
    unmatched = _combine(tables.unmatched, ["month", "force_code", "reason", "district_name", "rows"])

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
    return _report(sources, reader.rows, tables, unmatched)


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _report(sources: list[Source], total: int, tables: _Tables, unmatched: pd.DataFrame) -> IngestReport:
    report = IngestReport("police-uk", files=len(sources), rows=total)
    forces = pd.concat(tables.forces, ignore_index=True)
    for force, rows in forces.groupby("force_code", sort=True):
        n, unassigned = int(rows["rows"].sum()), int(rows["unassigned"].sum())
        first, last = rows["month"].min(), rows["month"].max()
        report.lines.append(f"  {force}: {n:,} rows, {rows['month'].nunique()} month(s) {first:%Y-%m}..{last:%Y-%m}, "
                            f"{unassigned:,} unassigned ({unassigned / n:.1%})")
    others = pd.concat(tables.others, ignore_index=True)
    for name, rows in others.groupby("name", sort=True):
        months = sorted(rows["month"])
        report.lines.append(f"  {name}: {int(rows['rows'].sum()):,} rows, {len(months)} month(s) {months[0]}..{months[-1]}"
                            f", not loaded: {NON_TERRITORIAL[str(name)]}")
    for reason, rows in unmatched.groupby("reason")["rows"].sum().sort_values(ascending=False).items():
        report.lines.append(f"  unassigned, {reason}: {rows:,}")
    unknown = unmatched[unmatched["reason"] == "district not in lookup"].groupby("district_name")["rows"].sum()
    if len(unknown):
        unknown = unknown.sort_values(ascending=False, kind="stable")
        report.lines.append("  districts not in the lookup (rows kept as unassigned): " + "; ".join(
            f"{name} ({rows:,})" for name, rows in unknown.items()))
    report.lines.append(f"  peak memory: {peak_memory_mb():,.0f} MB")
    return report
