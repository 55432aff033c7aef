"""police.uk street-level crime CSVs -> monthly counts by force, CSP and crime type.

Inputs are `*-street.csv` files, folders of them, or the monthly .zip downloads
(`YYYY-MM/YYYY-MM-<force>-street.csv` inside), read from the archive without unpacking.
The month is the unit of work: a month's files are split into batches of about the same size, read side by
side on worker threads (typed, only the needed columns, text dictionary-encoded), checked, placed and counted
there: each row's LSOA name and force give where it is counted (worked out once per name and force in the run),
its point its H3 cell (h3ronpy, once per point met), and the batch's rows become a few hundred counts a file,
which go to spill files on disk. The threads go on to the next month's batches while a month's last ones
finish; memory follows the few batches waiting or running (QUEUED_BATCHES a thread), not the whole input. The
tables are sorted and published once, at the end, streamed from DuckDB (whose sort spills to disk) into Parquet.

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
import functools
import io
import os
import re
import resource
import tempfile
import threading
import zipfile
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from h3ronpy import vector as h3_vector

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
FORMULA_START = frozenset("=+-@\t\r")  # a cell a spreadsheet would run as a formula (OWASP's CSV injection)

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


@dataclass(frozen=True)
class Source:
    """One CSV: a file on disk, or a member of a .zip archive (read without unpacking)."""

    path: Path
    member: str | None = None
    size: int = 0  # bytes, as listed (only to share a month's files fairly among the reading threads)

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
                    found.append(Source(file, size=file.stat().st_size))
        elif path.is_file():
            found += _members(path) if path.suffix.lower() == ".zip" else [Source(path, size=path.stat().st_size)]
        else:
            raise IngestError(path, "no such file or folder")
    if not found:
        raise IngestError(", ".join(map(str, paths)), f"no input files found (looked for {FILE_PATTERN} and .zip)")
    unique = {s.label: s for s in found}  # a file named twice (on its own and in its folder) is read once
    return sorted(unique.values(), key=lambda s: (s.batch, s.label))


def _members(archive: Path) -> list[Source]:
    try:
        with zipfile.ZipFile(archive) as bundle:
            listed = sorted((i.filename, i.file_size) for i in bundle.infolist() if not i.is_dir())
    except zipfile.BadZipFile:
        raise IngestError(archive, "not a readable .zip archive") from None
    members = [Source(archive, name, size) for name, size in listed if Path(name).match(FILE_PATTERN)]
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


# Text columns arrive dictionary-encoded: a file's few thousand distinct months, forces, LSOA names, crime types and
# Crime IDs are held once, and its rows are counted by their small integer codes, on the reading thread; coordinates
# as numbers. The read converts only the columns the counts need and Crime ID (converting the other five costs about
# a third of the read): rows sharing a Crime ID that agree in all of these are read again, every field, from their own
# lines (see _exact_repeats). UTF-8 is checked once over the whole file (_check_utf8), not per column.
READ = [*NEEDED, "Crime ID"]
_TEXT = pa.dictionary(pa.int32(), pa.string())


def _convert(columns: list[str]) -> pacsv.ConvertOptions:
    types = {c: pa.float64() if c in ("Longitude", "Latitude") else _TEXT for c in columns}
    return pacsv.ConvertOptions(include_columns=columns, column_types=types, null_values=[""], strings_can_be_null=True,
                                quoted_strings_can_be_null=True, check_utf8=False)


_CONVERT, _CONVERT_READ = _convert(COLUMNS), _convert(READ)
_PARSE = pacsv.ParseOptions(delimiter=",", quote_char='"', double_quote=True, newlines_in_values=True)
# One file is parsed on one thread; files are read side by side (zlib and Arrow release the GIL).
_READ = pacsv.ReadOptions(use_threads=False, block_size=1 << 24)


def _parse(source: Source, raw: bytes, convert: pacsv.ConvertOptions) -> pa.Table:
    """The file's columns in `convert`, each one chunk (a file of more than one block is read in several)."""
    try:
        table = pacsv.read_csv(pa.py_buffer(raw), read_options=_READ, parse_options=_PARSE, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _diagnose(source, raw, exc) from None
    return table.unify_dictionaries().combine_chunks()


def _check_utf8(source: Source, raw: bytes) -> None:
    """Refuse a file that is not UTF-8 anywhere, also in the columns the reader does not convert (Arrow's check)."""
    offsets = pa.array([0, len(raw)], pa.int64()).buffers()[1]
    try:
        pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(raw)]).cast(pa.large_string())
    except pa.ArrowInvalid as exc:
        raise _diagnose(source, raw, exc) from None


@dataclass
class _Places:
    """What every reading thread needs to place a row (shared): the lookups, the forces, and where each LSOA name
    of a force is counted, worked out once per run (a name recurs in every month's file of its force)."""

    lookup: dict[str, tuple[str, str, str]]  # district key -> (district code, CSP code or '' if no single CSP, force)
    splits: dict[tuple[str, int], str]  # (merged district key, MSOA number) -> key of the old district it lies in
    territorial: dict[str, str]  # police.uk force name -> force area code, for the forces with CSPs
    known: frozenset[str]  # every force name a file may hold (territorial and NON_TERRITORIAL)
    # Where rows are counted: CLASS_SCHEMA rows, each once, and each force's LSOA names (and, for rows without one,
    # (None, has a location)) -> its area here. Reading threads add to them side by side, under the lock.
    areas: list[tuple[str, str, str, str | None, str | None]] = field(default_factory=list)
    area_index: dict[tuple[str, str, str, str | None, str | None], int] = field(default_factory=dict)
    area_of: dict[str, dict[str | tuple[None, bool], int]] = field(default_factory=lambda: defaultdict(dict))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls) -> _Places:
        lookup = {row.key: (row.lad_code, row.csp_code, row.pfa_code) for row in _lookup(config.districts()).itertuples()}
        splits = {(new, msoa): old for new, olds in split_districts().items() for old, msoas in olds.items()
                  for msoa in msoas}
        forces = config.forces()
        territorial = {name: code for name, code in zip(forces["police_uk_name"], forces["pfa_code"], strict=True)
                       if name not in NON_TERRITORIAL}
        return cls(lookup, splits, territorial, frozenset(territorial) | frozenset(NON_TERRITORIAL))

    def places(self, lsoa_names: list[str]) -> list[tuple[str | None, str | None, str | None, str | None]]:
        """(district name, district code, CSP code, force area code) of each LSOA name; None where not found.

        The name is "<district name> <MSOA, 3 digits><letter>" (matched in C++, RE2); a district merged across CSPs
        takes the old district its MSOA lies in (data/reference/split_district_msoas.csv)."""
        parts = pc.extract_regex(pa.array(lsoa_names, pa.string()), LSOA_NAME)
        found: list[tuple[str | None, str | None, str | None, str | None]] = []
        for district, msoa in zip(parts.field("district").to_pylist(), parts.field("msoa").to_pylist(), strict=True):
            if not district:
                found.append((None, None, None, None))
                continue
            key = _district_key(district)
            found.append((district, *self.lookup.get(self.splits.get((key, int(msoa)), key), (None, None, None))))
        return found

    def areas_of(self, force_code: str, names: list[str | tuple[None, bool]]) -> list[int]:
        """The area (in self.areas) where rows of `force_code` with each of these LSOA names are counted."""
        known = self.area_of[force_code]
        found = [known.get(name) for name in names]
        missing = [at for at, area in enumerate(found) if area is None]
        if missing:
            areas = self.counted(force_code, [names[at] for at in missing])
            with self.lock:
                for at, area in zip(missing, areas, strict=True):
                    index = self.area_index.setdefault(area, len(self.areas))
                    if index == len(self.areas):
                        self.areas.append(area)
                    found[at] = known[names[at]] = index
        return found  # type: ignore[return-value]  # no None is left

    def counted(self, force_code: str, names: list[str | tuple[None, bool]]) -> list[tuple[str, str, str, str | None,
                                                                                             str | None]]:
        """Where rows of `force_code` with these LSOA names (or none: (None, has a location)) are counted:
        (force, area code, area type, reason, district name), the reason and district only for the force's
        unassigned bucket."""
        text = [name for name in names if isinstance(name, str)]
        placed = dict(zip(text, self.places(text), strict=True))
        areas: list[tuple[str, str, str, str | None, str | None]] = []
        for name in names:
            district, lad_code, csp_code, pfa_code = placed[name] if isinstance(name, str) else (None,) * 4
            if name == (None, False):
                reason: str | None = "no location"
            elif district is None:
                reason = "LSOA name not recognised"
            elif lad_code is None:
                reason = "district not in lookup"
            elif pfa_code != force_code:
                reason = "outside force area"
            elif not csp_code:
                reason = "district has no single CSP"
            else:
                reason = None
            areas.append((force_code, str(csp_code), "csp", None, None) if reason is None else
                         (force_code, f"UNASSIGNED-{force_code}", "unassigned", reason, district or ""))
        return areas


@dataclass(frozen=True)
class _Points:
    """Points with their H3 cells, in order: every point met so far is looked up here by binary search, and only
    new ones go to h3ronpy (police.uk's anonymised points recur month after month)."""

    points: np.ndarray  # longitude + latitude·i (complex: numpy orders and compares the pair), sorted
    cells: np.ndarray  # the H3 cell of each point

    @classmethod
    def none(cls) -> _Points:
        return cls(np.zeros(0, np.complex128), np.zeros(0, np.uint64))

    def find(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cell, met before) of each point."""
        if not len(self.points):
            return np.zeros(len(points), np.uint64), np.zeros(len(points), bool)
        at = np.minimum(np.searchsorted(self.points, points), len(self.points) - 1)
        found = self.points[at] == points
        return np.where(found, self.cells[at], 0).astype(np.uint64), found

    def add(self, others: list[_Points]) -> _Points:
        """These and the others' points, each once, in order: one merge for a month."""
        points = np.concatenate([o.points for o in others]) if others else self.points[:0]
        order = np.argsort(points, kind="stable")
        points, cells = points[order], (np.concatenate([o.cells for o in others]) if others else self.cells[:0])[order]
        unique = np.concatenate([[True], points[1:] != points[:-1]]) if len(points) else np.zeros(0, bool)
        unique &= ~self.find(points)[1]  # two batches may meet the same new point, the later one after it was added
        points, cells = points[unique], cells[unique]
        at = np.searchsorted(self.points, points)
        return _Points(np.insert(self.points, at, points), np.insert(self.cells, at, cells))


@dataclass
class _Batch:
    """Some of a month's files, read, checked, placed and counted on one reading thread."""

    classed: pa.Table  # CLASSED_SCHEMA: rows of territorial forces by month, force, where counted and crime type
    hexes: pa.Table  # HEX_SPILL_SCHEMA: located rows of territorial forces by month, force, H3 cell and crime type
    months: list[tuple[int, str, str, int]]  # (file number, month, force as in 'Falls within', rows): every row
    rows: int
    repeats: int
    new_points: _Points


class _Refused(Exception):
    """A file of a batch refused, with its number among the sources: the month reports its first refused file."""

    def __init__(self, number: int, error: IngestError) -> None:
        super().__init__(str(error))
        self.number, self.error = number, error


def _read_batch(numbers: list[int], sources: list[Source], places: _Places,
                known: Callable[[], _Points]) -> _Batch:
    """Typed, strict reads of some files of a month, checked, placed and counted together (a month's batches run side
    by side on worker threads: Arrow, numpy and h3ronpy release the GIL). Per-file steps run file by file; the rest
    runs once for the batch, so its cost is a few calls a batch plus a little per row, not per file."""
    tables: list[pa.Table] = []
    repeats, refused = 0, None
    for number in numbers:
        source = sources[number]
        try:
            raw = source.read()
            _check_header(source, raw)
            table = _parse(source, raw, _CONVERT_READ)  # a broken row is refused first, as the reader meets it
            _check_utf8(source, raw)
            if table.num_rows == 0:
                raise IngestError(source.label, "the file has a header and no rows")
            repeats += _exact_repeats(source, table, raw)
        except IngestError as error:
            refused = _Refused(number, error)  # files before it are still checked: the first bad one is reported
            break
        tables.append(table.select(NEEDED))
    files = [sources[n] for n in numbers[:len(tables)]]
    if not tables:
        assert refused is not None
        raise refused
    table = pa.concat_tables(tables).unify_dictionaries().combine_chunks()
    file_of = np.repeat(np.arange(len(tables)), [t.num_rows for t in tables])  # each row's file, by its place here
    first_row = np.concatenate([[0], np.cumsum([t.num_rows for t in tables])])
    del tables
    located, point, points = _points(files, numbers, table, file_of, first_row)
    if refused is not None:
        raise refused
    month, force, lsoa, crime = (table.column(c).chunk(0) for c in ("Month", "Falls within", "LSOA name", "Crime type"))
    month_code, force_code, lsoa_code, crime_code = map(_codes, (month, force, lsoa, crime))
    months = _check_values(files, numbers, file_of, (month, month_code), (force, force_code), crime, lsoa, places)
    dates = pa.array([dt.date(int(m[:4]), int(m[5:7]), 1) for m in month.dictionary.to_pylist()], pa.date32())
    forces = [places.territorial.get(name) for name in force.dictionary.to_pylist()] + [None]

    # Where each row is counted (an area of _Places.areas), looked up once per (force, LSOA name) of the batch: two
    # more entries after the names, for rows without an LSOA name, without and with a location.
    names: list[str | tuple[None, bool]] = [*lsoa.dictionary.to_pylist(), (None, False), (None, True)]
    entry = np.where(lsoa_code < len(names) - 2, lsoa_code, len(names) - 2 + located)
    present, pair_of_row = _distinct(force_code * len(names) + entry, len(forces) * len(names))
    area_of_pair = np.full(len(present), -1, np.int64)
    for code, force_area in enumerate(forces):
        if force_area is not None:  # BTP's and Northern Ireland's rows are reported, not counted in an area
            pairs = np.flatnonzero(present // len(names) == code)
            area_of_pair[pairs] = places.areas_of(force_area, [names[e] for e in (present[pairs] % len(names)).tolist()])
    row_area = area_of_pair[pair_of_row] if len(present) else np.full(len(entry), -1)
    counted = row_area >= 0
    # months and crime types are checked: no row is without one
    (m, a, t), n = _count_by([(month_code[counted], len(dates)), (row_area[counted], max(1, len(places.areas))),
                              (crime_code[counted], len(crime.dictionary))])
    used = np.unique(a)
    areas = pa.table([list(c) for c in zip(*(places.areas[i] for i in used.tolist()), strict=True)] or
                     [[]] * len(CLASS_SCHEMA), schema=CLASS_SCHEMA)
    classed = pa.table([dates.take(pa.array(m)), *areas.take(pa.array(np.searchsorted(used, a))).columns,
                        crime.dictionary.take(pa.array(t)), pa.array(n, pa.int64())], schema=CLASSED_SCHEMA)

    cells, new_points = _point_cells(points, known())
    cell_values, cell_of_point = np.unique(cells, return_inverse=True)
    placed = np.flatnonzero((point >= 0) & np.array([f is not None for f in forces])[force_code])
    # A cell is nearly always in one force's files: (force, cell) pairs first, so the counting table stays small.
    force_cells, force_cell_of_row = _distinct(
        force_code[placed] * max(1, len(cell_values)) + cell_of_point[point[placed]], len(forces) * max(1, len(cell_values)))
    (m, c, t), n = _count_by([(month_code[placed], len(dates)), (force_cell_of_row, max(1, len(force_cells))),
                              (crime_code[placed], len(crime.dictionary))])
    force_of, cell_of = np.divmod(force_cells[c], max(1, len(cell_values)))
    hexes = pa.table([dates.take(pa.array(m)), pa.array(forces, pa.string()).take(pa.array(force_of)),
                      pa.array(cell_values[cell_of], pa.uint64()), crime.dictionary.take(pa.array(t)),
                      pa.array(n, pa.int64())], schema=HEX_SPILL_SCHEMA)
    return _Batch(classed, hexes, months, table.num_rows, repeats, new_points)


def _codes(column: pa.DictionaryArray) -> np.ndarray:
    """Each row's dictionary code, null as one more code (the length of the dictionary)."""
    return column.indices.fill_null(len(column.dictionary)).to_numpy().astype(np.int64)


def _distinct(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of an integer key in [0, size), in order, and each row's place among them."""
    if size <= 4 * len(key) + (1 << 16):  # a table of every possible key: no sort
        seen = np.zeros(size, bool)
        seen[key] = True
        present = np.flatnonzero(seen)
        place = np.zeros(size, np.int64)
        place[present] = np.arange(len(present))
        return present, place[key]
    present, inverse = np.unique(key, return_inverse=True)
    return present, inverse.astype(np.int64)


def _count_by(columns: list[tuple[np.ndarray, int]]) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct combinations of integer code columns (each given with its number of codes), and their rows.

    One key per row: the codes as digits of a mixed-radix number, counted by np.bincount when the combinations are
    few, else by sorting (keys compressed before they could overflow)."""
    rows = len(columns[0][0])
    size = 1
    for _, codes in columns:
        size *= codes
    if size <= 4 * rows + (1 << 16):
        key = np.zeros(rows, np.int64)
        for values, codes in columns:
            key = key * codes + values
        counts = np.bincount(key, minlength=size)
        found = np.flatnonzero(counts)
        digits, rest = [], found
        for _, codes in reversed(columns):
            digits.append(rest % codes)
            rest = rest // codes
        return digits[::-1], counts[found]
    key, size = np.zeros(rows, np.int64), 1
    for values, codes in columns:
        if size * codes >= 1 << 62:
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
            size = int(key.max()) + 1 if rows else 1
        key, size = key * codes + values, size * codes
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    return [values[first] for values, _ in columns], counts


def _check_values(files: list[Source], numbers: list[int], file_of: np.ndarray,
                  month: tuple[pa.DictionaryArray, np.ndarray], force: tuple[pa.DictionaryArray, np.ndarray],
                  crime: pa.DictionaryArray, lsoa: pa.DictionaryArray, places: _Places) -> list[tuple[int, str, str, int]]:
    """Months, forces and crime types checked once per distinct value in each file (the line is found only for a
    message), file by file; `month` and `force` with their rows' codes (_codes). Returns the rows of each (file
    number, month, force)."""
    months, forces = month[0].dictionary.to_pylist() + [None], force[0].dictionary.to_pylist() + [None]
    (i, m, f, t), n = _count_by([(file_of, len(files)), (month[1], len(months)), (force[1], len(forces)),
                                 (crime.is_null().to_numpy(zero_copy_only=False).astype(np.int64), 2)])
    values = sorted(zip(i.tolist(), (months[c] for c in m), (forces[c] for c in f), t.astype(bool), n.tolist(),
                        strict=True), key=lambda v: (v[0], v[1] is None, v[1] or "", v[2] is None, v[2] or "", v[3]))
    last = dt.date.today()
    for place, month_text, force_name, no_type, _ in values:
        source = files[place]
        problem = None
        if not _possible_month(month_text, last):
            problem = IngestError(source.label, f"impossible month '{month_text}' (expected YYYY-MM from 2010-12 to "
                                  "this month)", line=_line_of(source, "Month", month_text))
        elif MONTH_NAME.fullmatch(source.batch) and month_text != source.batch:
            problem = IngestError(source.label, f"Month '{month_text}' is not {source.batch}, the month in the file "
                                  "name; give each month in its own file", line=_line_of(source, "Month", month_text))
        elif force_name not in places.known:
            problem = IngestError(source.label, f"unknown force '{force_name}' in 'Falls within'",
                                  line=_line_of(source, "Falls within", force_name))
        elif no_type:
            problem = IngestError(source.label, "a row has no Crime type", line=_line_of(source, "Crime type", None))
        if problem is not None:
            raise _Refused(numbers[place], problem)
    # Text that reaches the tables and their downloads: a cell a spreadsheet would run as a formula is no crime type
    # or LSOA name (OWASP's CSV-injection characters). The first such row of the batch is in its first such file.
    for column, array in (("Crime type", crime), ("LSOA name", lsoa)):
        formula = [c for c, text in enumerate(array.dictionary.to_pylist()) if text[:1] in FORMULA_START]
        if formula:
            row = int(np.argmax(np.isin(array.indices.fill_null(-1).to_numpy(), formula)))
            source, bad = files[int(file_of[row])], array.dictionary[array.indices[row].as_py()].as_py()
            raise _Refused(numbers[int(file_of[row])], IngestError(
                source.label, f"{column} '{bad[:40]}' begins with '{bad[:1]}': a spreadsheet formula, not a "
                f"{column.lower()}", line=_line_of(source, column, bad)))
    by_month: dict[tuple[int, str, str], int] = defaultdict(int)
    for place, month_text, force_name, _, rows in values:
        by_month[numbers[place], month_text, force_name] += rows
    return [(number, month_text, force_name, rows) for (number, month_text, force_name), rows in by_month.items()]


def _points(files: list[Source], numbers: list[int], table: pa.Table, file_of: np.ndarray,
            first_row: np.ndarray) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """Each row's longitude presence, its point number (-1 without both coordinates) and the batch's distinct points.

    A coordinate no place can have is refused (police.uk leaves both empty for a row it cannot place). Points are
    (longitude, latitude) pairs as 16 bytes: hashed in C++, one exact key per point."""
    coordinate = {}
    for name, limit in (("Latitude", 90), ("Longitude", 180)):
        column = table.column(name).chunk(0)
        values = column.to_numpy(zero_copy_only=False)  # no copy without empty cells
        valid = np.ones(len(column), bool) if column.null_count == 0 else column.is_valid().to_numpy(
            zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            bad = valid & ~(np.abs(values) <= limit)  # NaN and infinity too
        if bad.any():
            row = int(np.argmax(bad))
            source = files[int(file_of[row])]
            line, text = _record(source, row - int(first_row[file_of[row]]), COLUMNS.index(name))
            raise _Refused(numbers[int(file_of[row])], IngestError(
                source.label, f"{name} '{text[:40]}' is not a {name.lower()} (-{limit} to {limit}); leave both "
                "coordinates empty for a crime with no location", line=line))
        coordinate[name] = values, valid
    (longitude, has_longitude), (latitude, has_latitude) = coordinate["Longitude"], coordinate["Latitude"]
    rows = np.flatnonzero(has_longitude & has_latitude)
    pairs = np.empty((len(rows), 2), np.float64)
    pairs[:, 0], pairs[:, 1] = longitude[rows], latitude[rows]
    encoded = pc.dictionary_encode(pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(rows),
                                                                         [None, pa.py_buffer(pairs)]))
    point = np.full(table.num_rows, -1, np.int64)
    point[rows] = encoded.indices.to_numpy()
    return has_longitude, point, encoded.dictionary


def _point_cells(points: pa.Array, known: _Points) -> tuple[np.ndarray, _Points]:
    """The H3 cell of each distinct point, and the points not met before with their cells.

    New points go to h3ronpy (vectorised H3: the same cells as h3-py's latlng_to_cell, checked on every point
    of the national set)."""
    pairs = np.frombuffer(points.buffers()[1], np.float64, count=2 * len(points),
                          offset=points.offset * 16).reshape(-1, 2) if len(points) else np.zeros((0, 2))
    keys = pairs.view(np.complex128).ravel()  # longitude + latitude·i
    cells, met = known.find(keys)
    new = ~met
    if new.any():
        cells[new] = np.asarray(h3_vector.coordinates_to_cells(np.ascontiguousarray(pairs[new, 1]),
                                                               np.ascontiguousarray(pairs[new, 0]), HEX_RESOLUTION))
    return cells, _Points(keys[new], cells[new])


def _repeat_groups(rows: pa.Table) -> pa.Table:
    """Rows grouped by every column of `rows` (as text), with their count."""
    rows = pa.table({c: rows.column(c).cast(pa.string()) for c in rows.column_names})
    return rows.group_by(rows.column_names, use_threads=False).aggregate([("Crime ID", "count")])


def _exact_repeats(source: Source, table: pa.Table, raw: bytes) -> int:
    """Rows with a Crime ID that repeat an earlier row in every field.

    police.uk's own files have a few (95 in the 2,018,895 rows of the every-force set of 2025-01..06, at
    most 0.7% of a file's rows with a Crime ID: North Yorkshire 2025-02), so they are counted as police.uk
    publishes them, and reported. More than REPEAT_ALLOWANCE rows and REPEAT_SHARE of the file are not
    police.uk's: a file pasted twice, or rows copied in, which would count crimes twice: refused.

    `table` holds the columns read (READ): rows that differ there differ, so only in a file with rows that share
    a Crime ID and agree in all of READ (55 of the 239 files of that set) are those rows read again, every field,
    from their own lines (_records), or, where lines are not records one to one, the whole file."""
    ids = table.column("Crime ID").chunk(0)
    id_code = ids.indices.fill_null(-1).to_numpy()
    uses = np.bincount(id_code[id_code >= 0], minlength=len(ids.dictionary))
    shared = np.flatnonzero(id_code >= 0)
    shared = shared[uses[id_code[shared]] > 1]  # rows whose Crime ID another row has
    if len(shared) == 0:
        return 0
    read = np.column_stack([_row_codes(table.column(c).chunk(0))[shared] for c in table.column_names])
    if len(np.unique(read, axis=0)) == len(shared):
        return 0  # rows that share a Crime ID differ in a column read: no row repeats another
    records = _records(raw, shared, table.num_rows)
    if records is not None:
        repeats = len(records) - len(set(records))
    else:  # lines are not records one to one: the whole file read again, every column
        full = _parse(source, raw, _CONVERT)
        same_id = pc.is_in(full.column("Crime ID").cast(pa.string()), value_set=ids.dictionary.take(
            pa.array(np.flatnonzero(uses > 1))))
        repeats = int(pc.sum(pc.subtract(_repeat_groups(full.filter(same_id)).column("Crime ID_count"), 1)).as_py() or 0)
    with_id = len(ids) - ids.null_count
    if repeats > max(REPEAT_ALLOWANCE, REPEAT_SHARE * with_id):
        first, line = _first_repeat(source)
        copy = f"; the first repeats line {first}" if first is not None else ""
        raise IngestError(source.label, f"{repeats:,} rows repeat another row exactly (the same Crime ID and every "
                          f"field{copy}): police.uk's own files repeat at most 0.7% of their rows; give each crime "
                          "once", line=line)
    return repeats


def _row_codes(column: pa.Array) -> np.ndarray:
    """Each row's value as an integer: its dictionary code (_codes), or a number's bits."""
    if pa.types.is_dictionary(column.type):
        return _codes(column)
    return column.to_numpy(zero_copy_only=False).astype(np.float64).view(np.int64)  # empty: NaN


def _records(raw: bytes, rows: np.ndarray, records: int) -> list[tuple[str, ...]] | None:
    """Every field of data records `rows` (0-based), parsed from their own lines with Python's csv module; None when
    the file's lines are not its header and records one to one (a blank line, a line break inside a quoted field)."""
    ends = np.flatnonzero(np.frombuffer(raw, np.uint8) == ord("\n"))
    lines = len(ends) + (len(ends) == 0 or int(ends[-1]) + 1 < len(raw))  # the last line may have no line break
    if lines != records + 1:
        return None
    starts = np.concatenate([[0], ends + 1])
    bounds = [(int(starts[r + 1]), int(ends[r + 1]) if r + 1 < len(ends) else len(raw)) for r in rows]
    text = [raw[start:end].decode("utf-8").rstrip("\r") for start, end in bounds]
    return [tuple(fields) for fields in csv.reader(text)]


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
                try:  # Arrow's rule, as the read applies it
                    pa.array([row[index] or None], pa.string()).cast(pa.float64())
                except pa.ArrowInvalid:
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


@functools.lru_cache(maxsize=4096)
def _district_key(name: str) -> str:
    """_key of a district name: a district has dozens of LSOAs, so its key is made once."""
    return _key(name)


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


LSOA_NAME = r"^(?P<district>.*) (?P<msoa>[0-9]{3})[A-Z]$"  # "<district name> <MSOA, 3 digits><letter>"

# The month's spills. Rows of territorial forces by where they are counted (a CSP, or the force's unassigned bucket
# with its reason and district) and crime type, a few hundred a file (_read): the count table, the unmatched table
# and the report's force lines are all reduced from these at the end (COUNTS_SQL, UNMATCHED_SQL, FORCES_SQL).
CLASS_SCHEMA = pa.schema([("force_code", pa.string()), ("area_code", pa.string()), ("area_type", pa.string()),
                          ("reason", pa.string()), ("district_name", pa.string())])
CLASSED_SCHEMA = pa.schema([("month", pa.date32()), *CLASS_SCHEMA, ("crime_type", pa.string()), ("n", pa.int64())])
HEX_SPILL_SCHEMA = pa.schema([("month", pa.date32()), ("force_code", pa.string()), ("cell", pa.uint64()),
                              ("crime_type", pa.string()), ("count", pa.int64())])
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

# H3 cells are counted as integers and written in h3's own string form, the index in lowercase hexadecimal
# without leading zeros, which is what DuckDB's hex() of the integer prints (checked against h3 on the national set).
HEX_SQL = "(select month, force_code, lower(hex(cell)) as h3_cell, crime_type, count from {})"

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
BATCHES_PER_WORKER = 2  # a month's files in batches of about the same size: two a reading thread keep both busy
QUEUED_BATCHES = 2  # batches a reading thread has waiting or running: memory holds about this many, not months
ROW_GROUP = 1 << 20  # rows per Parquet row group (pyarrow's default), cut exactly so the bytes never depend on batching
SPILL_MEMORY = "1GB"  # DuckDB's limit in the ingest: the final sorts spill to disk beyond it


@dataclass
class _Summary:
    """What the report needs from every month read so far (a few rows per force and month)."""

    forces: pd.DataFrame  # rows and unassigned rows by force and month
    others: list[pd.DataFrame]


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class _Reader:
    """Reads a month at a time: the month's files are split into batches, each read, checked, placed and counted
    on a reading thread, and the month's counts (a few hundred a file) go to spill files on disk while the next
    month's batches are read."""

    def __init__(self, sources: list[Source], spill: Path) -> None:
        self.sources = sources
        self.spill = spill
        self.con = duckdb.connect()
        self.seen: dict[tuple[str, str], str] = {}  # (force, month) -> the file it came from
        self.points = _Points.none()  # every point met so far, with its H3 cell
        self.summary = _Summary(pd.DataFrame(), [])
        self.rows = 0
        self.months = 0
        self.repeats = 0  # rows that repeat another exactly (counted, as police.uk publishes them)

    def run(self) -> _Summary:
        by_month: dict[str, list[int]] = defaultdict(list)
        for index, source in enumerate(self.sources):
            by_month[source.batch].append(index)
        months = list(by_month.values())
        places = _Places.load()
        workers = max(1, min(8, os.cpu_count() or 1))
        # Every batch of every month in order, at most QUEUED_BATCHES a worker waiting or running at a time: the
        # threads go on to the next month while this one's last batches finish and are written. A batch looks its
        # points up in every point known when it starts.
        parts = deque((number, part) for number, numbers in enumerate(months)
                      for part in _balanced(numbers, self.sources, BATCHES_PER_WORKER * workers))
        queued: deque[tuple[int, Future[_Batch]]] = deque()
        with ThreadPoolExecutor(workers) as pool:

            def top_up() -> None:
                while parts and len(queued) < QUEUED_BATCHES * workers:
                    number, part = parts.popleft()
                    queued.append((number, pool.submit(_read_batch, part, self.sources, places, lambda: self.points)))

            top_up()
            self._prepare()  # while the first batches are read
            for number in range(len(months)):
                month: list[Future[_Batch]] = []
                while queued and queued[0][0] == number:
                    month.append(queued.popleft()[1])
                    top_up()
                try:
                    batches = _results(month)
                except BaseException:
                    for _, future in queued:
                        future.cancel()  # a refused month: what has not started does not
                    raise
                self.points = self.points.add([batch.new_points for batch in batches])
                self._month(batches)
        return self.summary

    def _prepare(self) -> None:
        con = self.con
        con.execute("set enable_progress_bar = false")
        con.execute(f"set temp_directory = {_sql_path(self.spill)}")
        con.execute(f"set memory_limit = '{SPILL_MEMORY}'")

    def _month(self, batches: list[_Batch]) -> None:
        others: dict[tuple[str, str], int] = defaultdict(int)  # BTP's and Northern Ireland's rows by month
        for number, month, force, rows in sorted(m for batch in batches for m in batch.months):
            label = self.sources[number].label
            first = self.seen.setdefault((force, month), label)
            if first != label:
                first, label = sorted([first, label])
                raise IngestError(label, f"{force} {month} is also in {first}; give each month once")
            if force in NON_TERRITORIAL:
                others[force, month] += rows
        self.rows += sum(batch.rows for batch in batches)
        self.repeats += sum(batch.repeats for batch in batches)
        self.summary.others.append(pd.DataFrame([(name, month, rows) for (name, month), rows in others.items()],
                                                columns=["name", "month", "rows"]))
        pq.write_table(pa.concat_tables([b.classed for b in batches]), self._spill_file(CLASSED_TABLE, self.months))
        pq.write_table(pa.concat_tables([b.hexes for b in batches]), self._spill_file(HEX_TABLE, self.months))
        self.months += 1

    def _spill_file(self, table: str, number: int) -> Path:
        return self.spill / f"{table}-{number:05d}.parquet"

    def spilled(self, table: str) -> str:
        """SQL reading every month's rows of `table`."""
        files = ", ".join(_sql_path(self._spill_file(table, n)) for n in range(self.months))
        return f"read_parquet([{files}])"


def _balanced(numbers: list[int], sources: list[Source], parts: int) -> list[list[int]]:
    """The files split into at most `parts` batches of about the same size (largest first, each to the lightest
    batch), each batch in file order."""
    batches: list[list[int]] = [[] for _ in range(min(parts, len(numbers)))]
    sizes = [0] * len(batches)
    for number in sorted(numbers, key=lambda n: -sources[n].size):
        lightest = sizes.index(min(sizes))
        batches[lightest].append(number)
        sizes[lightest] += sources[number].size
    return [sorted(batch) for batch in batches]


def _results(queued: list[Future[_Batch]]) -> list[_Batch]:
    """Every batch of a month; where files are refused, the first of them in file order is reported."""
    batches, refused = [], []
    for future in queued:
        try:
            batches.append(future.result())
        except _Refused as problem:
            refused.append(problem)
    if refused:
        raise min(refused, key=lambda problem: problem.number).error from None
    return batches


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
                _write_table(con, HEX_SQL.format(reader.spilled(HEX_TABLE)), current, staging, HEX_TABLE)
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
