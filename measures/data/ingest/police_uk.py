"""police.uk street-level crime CSVs -> monthly counts by force, CSP and crime type.

Inputs are `*-street.csv` files, folders of them, or the monthly .zip downloads
(`YYYY-MM/YYYY-MM-<force>-street.csv` inside), read from the archive without unpacking.
The month is the unit of work: a month's files are read side by side on worker threads (typed, only the
needed columns, text dictionary-encoded, each file's distinct points found there) and reduced in DuckDB to
that month's rows of the compact tables, which go to spill files on disk; the next month is read
meanwhile. Memory follows the largest month (two at most), not the whole input. The tables are sorted
and published once, at the end, streamed from DuckDB (whose sort spills to disk) into Parquet.

Every row is accounted for. A row maps to its district through the LSOA name
("<district name> <3 digits><letter>"), which works for 2011 and 2021 LSOA codes alike,
and to its CSP through the district lookup. A row with no location, a location in a
district of another force, a district the lookup does not know, or a district with no
single CSP is counted in the force's unassigned bucket, with its reason. Rows of British
Transport Police and of Northern Ireland are counted in the report only: they belong to no
police force area of England and Wales and to no CSP.

Refused, with the file and line, before anything is written: a file with a header and no rows; a
month before police.uk's first (2010-12) or after this month, or not the month in the file's name
(YYYY-MM-...); a coordinate no place can have (not a number, "nan", a latitude beyond ±90, a
longitude beyond ±180: police.uk leaves both cells empty for a crime it cannot place, and those
rows are counted as 'no location', so anything else is a damaged file, not a crime without a place);
more exact repeats of rows than police.uk's own files have (see _exact_repeats: its files do repeat
a few rows, which are counted as published and reported).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import resource
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from h3.api import basic_int as h3_int

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
REPEAT_ALLOWANCE = 20  # exact repeats of a row a file may have before its share matters (see _exact_repeats)
REPEAT_SHARE = 0.02  # ... and the share of its rows with a Crime ID: about three times the most police.uk has had
MONTH_NAME = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

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


# Text columns arrive dictionary-encoded: a month's few thousand distinct names are held once, and rows are grouped
# by their small integer codes; Crime ID, nearly unique, as plain text. The first read converts only the columns the
# counts need, Crime ID and the outcome (converting the other four costs about a quarter of the read): a file is read
# again in full only when rows sharing a Crime ID agree in all of these (see _exact_repeats). Only NEEDED leave _read.
READ = [*NEEDED, "Crime ID", "Last outcome category"]
_TYPES = {c: pa.float64() if c in ("Longitude", "Latitude") else pa.string() if c == "Crime ID"
          else pa.dictionary(pa.int32(), pa.string()) for c in COLUMNS}
_CONVERT = pacsv.ConvertOptions(include_columns=COLUMNS, column_types=_TYPES, null_values=[""],
                                strings_can_be_null=True, quoted_strings_can_be_null=True)
_CONVERT_READ = pacsv.ConvertOptions(include_columns=READ, column_types={c: _TYPES[c] for c in READ}, null_values=[""],
                                     strings_can_be_null=True, quoted_strings_can_be_null=True)
_PARSE = pacsv.ParseOptions(delimiter=",", quote_char='"', double_quote=True, newlines_in_values=True)
# One file is parsed on one thread; files are read side by side (zlib and Arrow release the GIL).
_READ = pacsv.ReadOptions(use_threads=False, block_size=1 << 24)


def _parse(source: Source, raw: bytes, convert: pacsv.ConvertOptions) -> pa.Table:
    try:
        return pacsv.read_csv(pa.py_buffer(raw), read_options=_READ, parse_options=_PARSE, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _diagnose(source, raw, exc) from None


def _check_utf8(source: Source, raw: bytes) -> None:
    """Refuse a file that is not UTF-8 anywhere, also in the columns the reader does not convert (Arrow's check)."""
    offsets = pa.array([0, len(raw)], pa.int64()).buffers()[1]
    try:
        pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(raw)]).cast(pa.large_string())
    except pa.ArrowInvalid as exc:
        raise _diagnose(source, raw, exc) from None


@dataclass
class _File:
    """What a month's step needs of one file: its rows, its distinct points, and its count of exact repeats."""

    rows: pa.Table  # Month, Falls within, LSOA name, Crime type (dictionary-encoded), Longitude, file_no, point
    points: pa.Table  # longitude, latitude of each point number of `rows`
    repeats: int


def _read(source: Source, file_no: int) -> _File:
    """Typed, strict read of one CSV (run side by side on worker threads: Arrow releases the GIL)."""
    raw = source.read()
    _check_header(source, raw)
    table = _parse(source, raw, _CONVERT_READ)  # a broken row is refused first, as the reader meets it
    _check_utf8(source, raw)
    if table.num_rows == 0:
        raise IngestError(source.label, "the file has a header and no rows")
    _check_coordinates(source, table)
    repeats = _exact_repeats(source, table, raw)
    point, points = _points(table.column("Longitude").combine_chunks(), table.column("Latitude").combine_chunks())
    rows = table.select([c for c in NEEDED if c != "Latitude"])
    rows = rows.append_column("file_no", pa.array(np.full(table.num_rows, file_no, dtype=np.int32)))
    return _File(rows.append_column("point", point), points, repeats)


def _points(longitude: pa.Array, latitude: pa.Array) -> tuple[pa.Array, pa.Table]:
    """Each row's point number (null without both coordinates) and the file's distinct points.

    police.uk snaps crimes to a few thousand anonymised points per force: hashing a file's coordinates here,
    on the reading threads, is cheap, and the month's step looks up one H3 cell per point, not per row.
    Two dictionary codes make one exact key per distinct (longitude, latitude)."""
    lon, lat = pc.dictionary_encode(longitude), pc.dictionary_encode(latitude)
    pair = pc.dictionary_encode(pc.add(pc.multiply(lon.indices.cast(pa.int64()), len(lat.dictionary)),
                                       lat.indices.cast(pa.int64())))
    keys = pair.dictionary.to_numpy()
    return pair.indices, pa.table({"longitude": lon.dictionary.take(pa.array(keys // len(lat.dictionary))),
                                   "latitude": lat.dictionary.take(pa.array(keys % len(lat.dictionary)))})


def _check_coordinates(source: Source, table: pa.Table) -> None:
    """Refuse a coordinate no place can have (police.uk leaves both empty for a row it cannot place)."""
    for column, limit in (("Latitude", 90), ("Longitude", 180)):
        values = table.column(column)
        bad = pc.or_(pc.invert(pc.is_finite(values)), pc.greater(pc.abs(values), limit)).fill_null(False)
        if pc.any(bad).as_py():
            index = pc.index(bad, True).as_py()
            line, text = _record(source, index, COLUMNS.index(column))
            raise IngestError(source.label, f"{column} '{text[:40]}' is not a {column.lower()} (-{limit} to {limit}); "
                              "leave both coordinates empty for a crime with no location", line=line)


def _repeat_groups(rows: pa.Table) -> pa.Table:
    """Rows grouped by every column of `rows` (text as text), with their count."""
    rows = pa.table({c: rows.column(c).cast(pa.string()) if c not in ("Longitude", "Latitude") else rows.column(c)
                     for c in rows.column_names})
    return rows.group_by(rows.column_names, use_threads=False).aggregate([("Crime ID", "count")])


def _exact_repeats(source: Source, table: pa.Table, raw: bytes) -> int:
    """Rows with a Crime ID that repeat an earlier row in every field.

    police.uk's own files have a few (95 in the 2,018,895 rows of the every-force set of 2025-01..06, at
    most 0.7% of a file's rows with a Crime ID: North Yorkshire 2025-02), so they are counted as police.uk
    publishes them, and reported. More than REPEAT_ALLOWANCE rows and REPEAT_SHARE of the file are not
    police.uk's: a file pasted twice, or rows copied in, which would count crimes twice: refused.

    `table` holds the columns of the first read (READ): rows that differ there differ, so only a file with
    rows that share a Crime ID and agree in all of READ (30 of the 239 files of that set) is read again in
    full, to compare every field.
    """
    ids = table.column("Crime ID")
    counts = pc.value_counts(ids.drop_null())
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(repeated) == 0:
        return 0
    if pc.max(_repeat_groups(table.filter(pc.is_in(ids, value_set=repeated))).column("Crime ID_count")).as_py() < 2:
        return 0  # rows that share a Crime ID differ in a column read: no row repeats another
    table = _parse(source, raw, _CONVERT)
    groups = _repeat_groups(table.filter(pc.is_in(table.column("Crime ID"), value_set=repeated)))
    repeats = int(pc.sum(pc.subtract(groups.column("Crime ID_count"), 1)).as_py() or 0)
    with_id = len(ids) - ids.null_count
    if repeats > max(REPEAT_ALLOWANCE, REPEAT_SHARE * with_id):
        first, line = _first_repeat(source)
        copy = f"; the first repeats line {first}" if first is not None else ""
        raise IngestError(source.label, f"{repeats:,} rows repeat another row exactly (the same Crime ID and every "
                          f"field{copy}): police.uk's own files repeat at most 0.7% of their rows; give each crime "
                          "once", line=line)
    return repeats


def _rows(source: Source) -> Iterable[tuple[int, list[str]]]:
    """(line, fields) of each data record, as the reader counts them (only used for messages)."""
    reader = csv.reader(io.StringIO(source.read().decode("utf-8-sig", errors="replace"), newline=""))
    next(reader, None)
    line = reader.line_num + 1
    for row in reader:
        if row:
            yield line, row
        line = reader.line_num + 1


def _record(source: Source, index: int, column: int) -> tuple[int | None, str]:
    """(line, text of `column`) of data record `index` (0-based)."""
    for number, (line, row) in enumerate(_rows(source)):
        if number == index:
            return line, row[column] if column < len(row) else ""
    return None, ""


def _first_repeat(source: Source) -> tuple[int | None, int | None]:
    """(line of the first row repeated, line of its first repeat), among rows with a Crime ID."""
    seen: dict[tuple[str, ...], int] = {}
    for line, row in _rows(source):
        if row and row[0]:
            first = seen.setdefault(tuple(row), line)
            if first != line:
                return first, line
    return None, None


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


# LSOA names not met before, each with its district and the lookup row it maps to. Names recur month
# after month, so each is mapped once per run (table lsoa_map), not once per month.
NAMES_SQL = f"""
insert into lsoa_map
with names as (
    select lsoa_name,
           nullif(regexp_extract(lsoa_name, '^(.*) [0-9]{{3}}[A-Z]$', 1), '') as district_name,
           try_cast(regexp_extract(lsoa_name, ' ([0-9]{{3}})[A-Z]$', 1) as integer) as msoa
    from lsoa_dict anti join lsoa_map using (lsoa_name)
)
select n.lsoa_name, n.district_name, l.lad_code, l.csp_code, l.pfa_code
from names n
left join splits s on s.new_key = {KEY_SQL.format('n.district_name')} and s.msoa = n.msoa
left join lookup l on l.key = coalesce(s.old_key, {KEY_SQL.format('n.district_name')})
"""


# The month's rows of territorial forces by where they are counted (a CSP, or the force's unassigned bucket
# with its reason and district) and crime type, straight from the rows (a few thousand rows): the count table,
# the unmatched table and the report's force lines are all reduced from these at the end (COUNTS_SQL,
# UNMATCHED_SQL, FORCES_SQL). Each row's LSOA name maps to its district, lookup row and CSP (table lsoa_map).
CLASSED_SQL = """
select m.month, f.force_code,
       case when x.reason is null then x.csp_code else 'UNASSIGNED-' || f.force_code end as area_code,
       case when x.reason is null then 'csp' else 'unassigned' end as area_type,
       x.reason, case when x.reason is not null then coalesce(x.district_name, '') end as district_name,
       t.crime_type, sum(x.n)::bigint as n
from (select c.month_i, c.force_i, c.crime_i, l.csp_code, l.district_name,
             case
               when c.lsoa_i is null and c.longitude is null then 'no location'
               when l.district_name is null then 'LSOA name not recognised'
               when l.lad_code is null then 'district not in lookup'
               when l.pfa_code <> f.force_code then 'outside force area'
               when coalesce(l.csp_code, '') = '' then 'district has no single CSP'
             end as reason,
             count(*) as n
      from codes c join falls f using (force_i)
      left join (select d.lsoa_i, n.* from lsoa_dict d left join lsoa_map n using (lsoa_name)) l using (lsoa_i)
      where f.territorial
      group by all) x
join falls f using (force_i) join months m using (month_i) join crime_dict t using (crime_i)
group by all
"""
CLASSED_TABLE = "classed"

COUNTS_SQL = """
(select month, force_code, area_code, area_type, crime_type, sum(n)::bigint as count
 from {} group by all)
"""

UNMATCHED_SQL = """
(select month, force_code, reason, district_name, sum(n)::bigint as rows
 from {} where reason is not null group by all)
"""

FORCES_SQL = """
select force_code, month, sum(n) as rows, coalesce(sum(n) filter (where reason is not null), 0) as unassigned
from {} group by all
"""

# H3 cells are grouped as integers and written in h3's own string form, the index in lowercase hexadecimal
# without leading zeros, which is what DuckDB's hex() of the integer prints (checked against h3 on the national set).
HEX_SQL = """
select m.month, h.force_code, lower(hex(h.cell)) as h3_cell, t.crime_type, h.count
from (select c.month_i, f.force_code, c.cell, c.crime_i, count(*)::bigint as count
      from codes c join falls f using (force_i)
      where f.territorial and c.cell is not null
      group by all) h
join months m using (month_i) join crime_dict t using (crime_i)
"""

# The published tables: their columns in order, the sort (every column but the count: one order
# whatever order the months and files came in, so re-ingesting gives the same bytes) and types.
SCHEMAS = {
    COUNTS_TABLE: pa.schema([("month", pa.date32()), ("force_code", pa.large_string()), ("area_code", pa.large_string()),
                             ("area_type", pa.large_string()), ("crime_type", pa.large_string()), ("count", pa.int64())]),
    HEX_TABLE: pa.schema([("month", pa.date32()), ("force_code", pa.large_string()), ("h3_cell", pa.large_string()),
                          ("crime_type", pa.large_string()), ("count", pa.int64())]),
    UNMATCHED_TABLE: pa.schema([("month", pa.date32()), ("force_code", pa.large_string()), ("reason", pa.large_string()),
                                ("district_name", pa.large_string()), ("rows", pa.int64())]),
}
MONTH_SQL = {CLASSED_TABLE: CLASSED_SQL, HEX_TABLE: HEX_SQL}  # what each month spills
ROW_GROUP = 1 << 20  # rows per Parquet row group (pyarrow's default), cut exactly so the bytes never depend on batching
SPILL_MEMORY = "1GB"  # DuckDB's limit in the ingest: the final sorts spill to disk beyond it


@dataclass
class _Summary:
    """What the report needs from every month read so far (a few rows per force and month)."""

    forces: pd.DataFrame  # rows and unassigned rows by force and month
    others: list[pd.DataFrame]


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _dictionary(column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """(indices, values) of a dictionary column of one chunk."""
    chunk = column.chunk(0)
    return chunk.indices, chunk.dictionary


class _Reader:
    """Reads one month at a time and reduces it to the compact tables, written to spill files.

    Text columns arrive dictionary-encoded, so DuckDB groups a month's rows by small integers;
    LSOA names, forces and months are mapped once per distinct value, not once per row.
    """

    def __init__(self, sources: list[Source], spill: Path) -> None:
        self.sources = sources
        self.spill = spill
        self.con = duckdb.connect()
        self.forces = pd.DataFrame()  # police.uk force names and codes (_prepare)
        self.seen: dict[tuple[str, str], str] = {}  # (force, month) -> the file it came from
        self.summary = _Summary(pd.DataFrame(), [])
        self.rows = 0
        self.months = 0
        self.repeats = 0  # rows that repeat another exactly (counted, as police.uk publishes them)

    def run(self) -> _Summary:
        batches: dict[str, list[int]] = defaultdict(list)
        for index, source in enumerate(self.sources):
            batches[source.batch].append(index)
        months = list(batches.values())
        workers = max(1, min(8, os.cpu_count() or 1))
        with ThreadPoolExecutor(workers) as pool:
            # The next month is read (unzipped and parsed, off the GIL) while this one is reduced:
            # at most two months are in memory.
            queued = [pool.submit(_read, self.sources[i], i) for i in months[0]]
            self._prepare()  # while the first month is read
            for number in range(len(months)):
                files = [future.result() for future in queued]  # the first bad file in order is refused
                self.repeats += sum(f.repeats for f in files)
                queued = [pool.submit(_read, self.sources[i], i) for i in months[number + 1]] \
                    if number + 1 < len(months) else []
                self._month(files)
        return self.summary

    def _prepare(self) -> None:
        """The lookups and the tables kept from month to month."""
        con = self.con
        con.execute("set enable_progress_bar = false")
        con.execute(f"set temp_directory = {_sql_path(self.spill)}")
        con.execute(f"set memory_limit = '{SPILL_MEMORY}'")
        self.forces = config.forces()[["pfa_code", "police_uk_name"]]
        con.register("forces", self.forces)
        con.register("lookup", _lookup(config.districts()))
        con.register("splits", _splits())
        con.register("non_territorial", pd.DataFrame({"name": sorted(NON_TERRITORIAL)}))
        con.execute("create temp table cells(longitude double, latitude double, cell ubigint)")
        con.execute("""create temp table lsoa_map(lsoa_name varchar, district_name varchar, lad_code varchar,
                                                  csp_code varchar, pfa_code varchar)""")

    def _month(self, files: list[_File]) -> None:
        raw = pa.concat_tables([f.rows for f in files]).unify_dictionaries().combine_chunks()
        self.rows += raw.num_rows
        con = self.con
        columns = {"file_no": raw.column("file_no").chunk(0)}
        for name, column, value_name in (("month_i", "Month", "month_text"), ("force_i", "Falls within", "falls_within"),
                                         ("lsoa_i", "LSOA name", "lsoa_name"), ("crime_i", "Crime type", "crime_type")):
            indices, values = _dictionary(raw.column(column))
            columns[name] = indices
            con.register(name.replace("_i", "_dict"), pa.table({name: pa.array(np.arange(len(values), dtype=np.int32)),
                                                                value_name: values.cast(pa.string())}))
        columns["longitude"] = raw.column("Longitude").chunk(0)
        con.register("codes", pa.table(columns))
        counted = self._validate()
        # A row's point number in its file, made the month's by the points of the files before it.
        offsets = np.cumsum([0] + [f.points.num_rows for f in files[:-1]])
        point = pc.add(raw.column("point").chunk(0).cast(pa.int64()),
                       pa.array(np.repeat(offsets, [f.rows.num_rows for f in files])))
        columns["cell"] = self._cells(pa.concat_tables([f.points for f in files]), point)
        del raw, files
        con.register("codes", pa.table(columns))  # the same rows, with their H3 cells
        del columns
        con.execute("""create or replace temp table months as
                       select month_i, month_text, strptime(month_text, '%Y-%m')::date as month from month_dict""")
        con.execute("""create or replace temp table falls as
                       select d.force_i, d.falls_within, f.pfa_code as force_code,
                              f.pfa_code is not null and d.falls_within not in (select name from non_territorial)
                                  as territorial
                       from force_dict d left join forces f on f.police_uk_name = d.falls_within""")
        con.execute(NAMES_SQL)
        for table, sql in MONTH_SQL.items():
            con.execute(f"copy ({sql}) to {_sql_path(self._spill_file(table, self.months))} (format parquet)")
        con.unregister("codes")
        others: dict[tuple[str, str | None], int] = defaultdict(int)  # BTP's and Northern Ireland's rows by month
        for (_, month, force, _), rows in counted.items():
            if force in NON_TERRITORIAL:
                others[force, month] += rows
        self.summary.others.append(pd.DataFrame([(name, month, rows) for (name, month), rows in others.items()],
                                                columns=["name", "month", "rows"]))
        for name in ("months", "falls"):
            con.execute(f"drop table {name}")
        for name in ("month_dict", "force_dict", "lsoa_dict", "crime_dict"):
            con.unregister(name)
        self.months += 1

    def _spill_file(self, table: str, number: int) -> Path:
        return self.spill / f"{table}-{number:05d}.parquet"

    def spilled(self, table: str) -> str:
        """SQL reading every month's rows of `table`."""
        files = ", ".join(_sql_path(self._spill_file(table, n)) for n in range(self.months))
        return f"read_parquet([{files}])"

    def _cells(self, points: pa.Table, point: pa.Array) -> pa.Array:
        """The H3 cell of each row with a location (null for the others).

        The points recur month after month: the month's distinct points are looked up in the cells of the
        points met before (table cells), and h3 runs only for points never met."""
        con = self.con
        con.register("points", points.append_column("point_i", pa.array(np.arange(points.num_rows))))
        found = con.execute("select p.point_i, c.cell from points p left join cells c using (longitude, latitude)"
                            ).fetchnumpy()
        con.unregister("points")
        cell_of_point = np.zeros(points.num_rows, dtype=np.uint64)
        cell_of_point[found["point_i"]] = np.ma.filled(found["cell"], 0)
        missing = found["point_i"][np.ma.getmaskarray(found["cell"])]
        if len(missing):
            lat = points.column("latitude").to_numpy()[missing].tolist()
            lng = points.column("longitude").to_numpy()[missing].tolist()
            to_cell = h3_int.latlng_to_cell  # the integer form: no string made per point
            cell_of_point[missing] = list(map(to_cell, lat, lng, [HEX_RESOLUTION] * len(missing)))
            # distinct: two files of a month may share a point
            con.register("added", pa.table({"longitude": lng, "latitude": lat,
                                            "cell": pa.array(cell_of_point[missing], pa.uint64())}))
            con.execute("insert into cells select distinct * from added")
            con.unregister("added")
        located = point.is_valid().to_numpy(zero_copy_only=False)
        cells = np.zeros(len(point), dtype=np.uint64)
        cells[located] = cell_of_point[point.drop_null().to_numpy()]
        return pa.array(cells, pa.uint64(), mask=~located)

    def _validate(self) -> dict[tuple[int, str | None, str | None, bool], int]:
        """Months, forces and crime types checked once per distinct value; the line is found only for a message.

        Returns the rows of each (file number, month, force, no crime type) of the month."""
        known = set(self.forces["police_uk_name"]) | set(NON_TERRITORIAL)
        last = dt.date.today()
        month_text = [r[0] for r in self.con.execute("select month_text from month_dict order by month_i").fetchall()]
        falls = [r[0] for r in self.con.execute("select falls_within from force_dict order by force_i").fetchall()]
        codes = self.con.execute("select file_no, month_i, force_i, crime_i is null, count(*) from codes group by all"
                                 ).fetchall()
        rows = {(file_no, None if m is None else month_text[m], None if f is None else falls[f], no_type): n
                for file_no, m, f, no_type, n in codes}
        values = sorted(rows, key=lambda v: (v[0], v[1] is None, v[1] or "", v[2] is None, v[2] or "", v[3]))
        for file_no, month, force, no_type in values:
            source = self.sources[file_no]
            if not _possible_month(month, last):
                raise IngestError(source.label, f"impossible month '{month}' (expected YYYY-MM from 2010-12 to this "
                                  "month)", line=_line_of(source, "Month", month))
            if MONTH_NAME.fullmatch(source.batch) and month != source.batch:
                raise IngestError(source.label, f"Month '{month}' is not {source.batch}, the month in the file name; "
                                  "give each month in its own file", line=_line_of(source, "Month", month))
            if force not in known:
                raise IngestError(source.label, f"unknown force '{force}' in 'Falls within'",
                                  line=_line_of(source, "Falls within", force))
            if no_type:
                raise IngestError(source.label, "a row has no Crime type", line=_line_of(source, "Crime type", None))
        # Text that reaches the tables and their downloads: a cell a spreadsheet would run as a formula is no
        # crime type or LSOA name (OWASP's CSV-injection characters).
        for column, table, name, index in (("Crime type", "crime_dict", "crime_type", "crime_i"),
                                           ("LSOA name", "lsoa_dict", "lsoa_name", "lsoa_i")):
            formula = f"left(d.{name}, 1) in ('=', '+', '-', '@', chr(9), chr(13))"
            if not self.con.execute(f"select count(*) from {table} d where {formula}").fetchall()[0][0]:
                continue  # the month's few distinct names are clean: no row needs looking at
            bad = self.con.execute(
                f"""select d.{name}, min(c.file_no) from {table} d join codes c using ({index})
                    where {formula} group by 1 order by 2, 1 limit 1"""
            ).fetchone()
            if bad:
                source = self.sources[bad[1]]
                raise IngestError(source.label, f"{column} '{bad[0][:40]}' begins with '{bad[0][:1]}': a spreadsheet "
                                  f"formula, not a {column.lower()}", line=_line_of(source, column, bad[0]))
        for file_no, month, force, _ in values:
            label = self.sources[file_no].label
            first = self.seen.setdefault((str(force), str(month)), label)
            if first != label:
                first, label = sorted([first, label])
                raise IngestError(label, f"{force} {month} is also in {first}; give each month once")
        return rows


def _possible_month(month: str | None, last: dt.date) -> bool:
    # Compared as text: a month such as 0000-01 is refused without ever becoming a date (year 0 is none).
    if month is None or not MONTH_NAME.fullmatch(month):
        return False
    return f"{FIRST_MONTH:%Y-%m}" <= month <= f"{last:%Y-%m}"


# --------------------------------------------------------------------------- publishing

def _write_table(con: duckdb.DuckDBPyConnection, new: str, current: Path | None, staging: Path, table: str) -> Path:
    """The new months' rows of `table`, plus the published rows of every (force, month) not being loaded,
    sorted and written in row groups streamed from DuckDB (its sort spills to disk: memory stays bounded)."""
    schema = SCHEMAS[table]
    names = ", ".join(schema.names)
    order = ", ".join(n for n in schema.names if n not in ("count", "rows"))
    published = current / f"{table}.parquet" if current is not None else None
    if published is not None and published.exists():
        # Parquet written before may hold months as timestamps: one type for the merge.
        rows = f"""select * replace (month::date as month) from read_parquet({_sql_path(published.resolve())})
                   anti join (select distinct force_code, month from {new}) using (force_code, month)
                   union all by name select {names} from {new}"""
    else:
        rows = f"select {names} from {new}"
    reader = con.sql(f"select {names} from ({rows}) order by {order}").to_arrow_reader(ROW_GROUP)

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            pending = schema.empty_table()
            for batch in reader:
                pending = pa.concat_tables([pending, pa.Table.from_batches([batch]).cast(schema)])
                while pending.num_rows >= ROW_GROUP:
                    writer.write_table(pending.slice(0, ROW_GROUP), row_group_size=ROW_GROUP)
                    pending = pending.slice(ROW_GROUP)
            if pending.num_rows:
                writer.write_table(pending, row_group_size=ROW_GROUP)

    return store.replace_table(staging, table, write)


def ingest(paths: list[Path], data_dir: Path) -> IngestReport:
    sources = find_sources(paths)
    with tempfile.TemporaryDirectory(prefix="police-uk-") as spill:
        reader = _Reader(sources, Path(spill))
        con = reader.con
        try:
            summary = reader.run()
            classed = reader.spilled(CLASSED_TABLE)
            summary.forces = con.execute(FORCES_SQL.format(classed)).df()
            unmatched = con.execute(f"select * from {UNMATCHED_SQL.format(classed)} order by all").df()

            def build(staging: Path, current: Path | None) -> dict:
                counts = _write_table(con, COUNTS_SQL.format(classed), current, staging, COUNTS_TABLE)
                _write_table(con, reader.spilled(HEX_TABLE), current, staging, HEX_TABLE)
                _write_table(con, UNMATCHED_SQL.format(classed), current, staging, UNMATCHED_TABLE)
                months = con.execute(f"""select force_code, min(month), max(month), count(distinct month)
                                         from read_parquet({_sql_path(counts)}) group by all order by force_code""").fetchall()
                return {COUNTS_TABLE: {
                    "source": "data.police.uk street-level crime",
                    "licence": "Open Government Licence v3.0",
                    "illustrative": False,
                    # str of a pandas Timestamp ('2025-01-01 00:00:00'): the form published manifests already hold
                    "coverage": {force: {"first_month": str(pd.Timestamp(first)), "last_month": str(pd.Timestamp(last)),
                                         "months": int(n)} for force, first, last, n in months},
                }}

            store.publish(data_dir, build)
        finally:
            con.close()  # before the spill folder goes
    return _report(sources, reader.rows, summary, unmatched, reader.repeats)


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _report(sources: list[Source], total: int, summary: _Summary, unmatched: pd.DataFrame,
            repeats: int = 0) -> IngestReport:
    report = IngestReport("police-uk", files=len(sources), rows=total)
    forces = summary.forces
    for force, rows in forces.groupby("force_code", sort=True):
        n, unassigned = int(rows["rows"].sum()), int(rows["unassigned"].sum())
        first, last = rows["month"].min(), rows["month"].max()
        report.lines.append(f"  {force}: {n:,} rows, {rows['month'].nunique()} month(s) {first:%Y-%m}..{last:%Y-%m}, "
                            f"{unassigned:,} unassigned ({unassigned / n:.1%})")
    others = pd.concat(summary.others, ignore_index=True)
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
    if repeats:
        report.lines.append(f"  rows repeating another exactly (same Crime ID and every field), counted as police.uk "
                            f"publishes them: {repeats:,}")
    report.lines.append(f"  peak memory: {peak_memory_mb():,.0f} MB")
    return report
