"""ONS "Police force area data tables": recorded crime by CSP and offence group (Tables C2 and C5).

Inputs, as published: the workbook (.xlsx; its sheets "Table C2", the year of the edition, and
"Table C5", the year before) and CSV exports of such a sheet (the year ending June 2025 edition's
Table C2). Each table says its year in its title ("year ending <Month> <YYYY>"), which gives the
rolling year its rows cover. Tables loaded in one call, or in successive calls, accumulate: one
rolling year per table; loading a year again replaces that year only.

What the tables hold, and what this adapter does about it:
- title rows above the header; the header is the row starting "Police Force Area code";
- line breaks, footnote markers ("[note 3]"), stray spaces and typos ("excludinging") in header
  and area names: cleaned, so an offence group has one name in every edition;
- notes columns (headed "Notes" or blank, with no counts): skipped;
- "[x]" (unavailable), "[z]" (not applicable), "[u]" (unreliable), "[c]" (confidential) and blank
  cells: missing, never 0; numbers with thousands separators and trailing spaces in CSV;
- negative counts (ONS note 3: a force's adjustments can take a small area below 0): kept;
- one row per force (no CSP code or name), per CSP (a CSP spanning several district rows is
  their sum) and per force's unassigned bucket (no CSP code, a name "Unassigned ...").

Every value is checked before anything is written: force, CSP and district codes against the
lookups (config.areas, config.districts), a CSP against its force, each row's keys given once,
the year within what the tables can cover (FIRST_YEAR_END to today) and each count within
COUNT_CEILING_PER_RESIDENT times its area's residents (config.latest_residents, the rates'
denominator). Files are read a row at a time (csv.reader over the open file, openpyxl's
read-only rows): memory follows the valid rows kept, never the file's size.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import functools
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from measures.data import config, store
from measures.data.ingest import IngestError, IngestReport

TABLE = "ons_csp_crime"
KEY_COLUMNS = [
    "Police Force Area code", "Police Force Area name", "Community Safety Partnership code",
    "Community Safety Partnership name", "Local Authority code", "Local Authority name",
]
FIRST_MEASURE = "Total recorded crime (excluding fraud)"
# The offence groups of Table C2/C5 (editions to June 2025), in the tables' order: a header that
# cleans to one of these, whatever its case, takes this spelling.
OFFENCE_GROUPS = (
    FIRST_MEASURE, "Violence against the person", "Homicide", "Death or serious injury caused by illegal driving",
    "Violence with injury", "Violence without injury", "Stalking and harassment", "Sexual offences", "Robbery",
    "Theft offences", "Burglary", "Residential burglary", "Non-residential burglary", "Vehicle offences",
    "Theft from the person", "Bicycle theft", "Shoplifting", "All other theft offences", "Criminal damage and arson",
    "Drug offences", "Possession of weapons offences", "Public order offences", "Miscellaneous crimes against society",
)
_CANONICAL = {name.lower(): name for name in KEY_COLUMNS + list(OFFENCE_GROUPS)}
TABLE_TITLE = re.compile(r"^\s*Table C\d+\s*:\s*Number of police recorded crimes\b.*\bCommunity Safety Partnership",
                         re.IGNORECASE | re.DOTALL)
MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
NUMBER = re.compile(r"^-?\d{1,3}(,\d{3})*$|^-?\d+$")
MISSING = {"", "[x]", "[z]", "[u]", "[c]"}  # ONS shorthand for a value not given
NOTE = re.compile(r"\[\s*notes?\s*[\d,\s]*\]", re.IGNORECASE)
TYPOS = ((re.compile(r"excluding(?:ing)+", re.IGNORECASE), "excluding"),)
CODE = re.compile(r"^[EW]\d{8}$")
# Recorded crime by partnership is comparable from the National Crime Recording Standard (April
# 2002): a table for a year ending before March 2003 cannot be one of these.
FIRST_YEAR_END = dt.date(2003, 3, 31)
# The highest real rate in the tables is the City of London's, 0.69 recorded crimes a resident a
# year (y/e Dec 2023 to June 2025): ten a resident is far beyond any real area, and far below a typo.
COUNT_CEILING_PER_RESIDENT = 10
MAX_NAME = 120  # characters in an area name; ONS's longest is under 60
MAX_COLUMNS = 80  # Table C2 has 29 (6 keys, 23 offence groups); a much wider header is not Table C2
HEAD_BYTES = 65536
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet runs as a formula (OWASP CSV injection)
# What ONS puts in the district column of a CSP made of several districts (East and Mid Devon, Cwm Taf).
COMBINED_DISTRICTS = "combined local authorities"


def clean(text: object) -> str:
    """A header or name as one line: no note markers, line breaks, doubled or stray spaces, known typos."""
    if text is None:
        return ""
    value = NOTE.sub(" ", str(text))
    for typo, fixed in TYPOS:
        value = typo.sub(fixed, value)
    value = re.sub(r"\s*\(\s*", " (", value)  # "crime\n (excluding" and "crime(excluding" alike
    value = re.sub(r"\s*\)", ")", value)
    return " ".join(value.split())


def column_name(header: object) -> str:
    name = clean(header)
    return _CANONICAL.get(name.lower(), name)


@dataclass
class Sheet:
    """One table as rows of cells, from a CSV file or a workbook sheet, read when iterated."""

    where: str  # the file, and the sheet of a workbook: named in every message
    title: str
    rows: Callable[[], Iterator[tuple[int, list[object]]]]  # (line or row number, cells), streamed


def _period(sheet: Sheet) -> tuple[dt.date, dt.date]:
    match = re.search(r"year ending (\w+) (\d{4})", sheet.title, re.IGNORECASE)
    if not match or match.group(1).lower() not in MONTHS:
        raise IngestError(sheet.where, "the title does not say which year it covers ('year ending <Month> <YYYY>')",
                          line=1)
    month, year = MONTHS[match.group(1).lower()], int(match.group(2))
    today = dt.date.today()
    if not FIRST_YEAR_END.year <= year <= today.year:  # before dt.date(): year 0 cannot be a date
        raise IngestError(sheet.where, f"the title's year ending {match.group(1)} {match.group(2)} is out of range "
                          f"(year ending {FIRST_YEAR_END:%B %Y} to today)", line=1)
    end = dt.date(year, month, calendar.monthrange(year, month)[1])
    if not FIRST_YEAR_END <= end <= today:
        raise IngestError(sheet.where, f"the title's year ending {end:%B %Y} is out of range (year ending "
                          f"{FIRST_YEAR_END:%B %Y} to today: a year not yet over has no figures)", line=1)
    start = dt.date(year - 1 + (month == 12), month % 12 + 1, 1)
    return start, end


def _csv_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    """The file's rows, one at a time, with the line each ends on (a header's line breaks are inside it)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise IngestError(path, f"the CSV cannot be parsed ({exc})", line=reader.line_num) from None
            except UnicodeDecodeError:
                raise IngestError(path, "not valid UTF-8 text", line=_bad_utf8_line(path)) from None
            yield reader.line_num, list(row)


def _bad_utf8_line(path: Path) -> int | None:
    """The first line that is not UTF-8 (the text reader decodes blocks, so its count runs ahead)."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def _csv_sheet(path: Path, head: bytes) -> Sheet:
    if b"\x00" in head:
        raise IngestError(path, "not a CSV file (binary content); expected ONS Table C2 (CSV or .xlsx workbook)")
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a character cut at the end of the first block is fine
            raise IngestError(path, "not a UTF-8 text file; expected ONS Table C2",
                              line=head[:exc.start].count(b"\n") + 1) from None
    first = next(_csv_rows(path), (1, []))[1]
    title = str(first[0]) if first else ""
    if not TABLE_TITLE.match(title):
        raise IngestError(path, "not ONS Table C2 (the first line should be its title, 'Table C2: Number of police "
                          "recorded crimes ... by Community Safety Partnership area ...')", line=1)
    return Sheet(str(path), title, lambda: _csv_rows(path))


def _sheet_rows(path: Path, sheet: str) -> Iterator[tuple[int, list[object]]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for number, cells in enumerate(book[sheet].iter_rows(values_only=True), 1):
            yield number, list(cells)
    finally:
        book.close()


def _workbook_sheets(path: Path) -> list[Sheet]:
    import openpyxl  # only workbooks need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise IngestError(path, f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheets = []
        for worksheet in book.worksheets:
            first = next(worksheet.iter_rows(max_row=1, values_only=True), ())
            title = str(first[0]) if first and first[0] is not None else ""
            if TABLE_TITLE.match(title):  # Tables C2 and C5, not the rates (C4) or changes (C3)
                sheets.append(Sheet(f"{path} (sheet '{worksheet.title}')", title,
                                    functools.partial(_sheet_rows, path, worksheet.title)))
    finally:
        book.close()
    if not sheets:
        raise IngestError(path, "no sheet of recorded crime by Community Safety Partnership (Table C2 or C5) "
                          "in this workbook")
    return sheets


def read_sheets(path: Path) -> list[Sheet]:
    """The CSP tables of one file (a CSV export: one; a workbook: C2 and C5)."""
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
        empty = not head.strip() and not any(block.strip() for block in iter(lambda: handle.read(1 << 20), b""))
    if empty:
        raise IngestError(path, "the file is empty")
    if head[:4] == b"PK\x03\x04":  # a zip container: an .xlsx workbook whatever its name
        return _workbook_sheets(path)
    return [_csv_sheet(path, head)]


def _count(value: object) -> int | None | str:
    """A cell as a count, None where ONS gives none, or the text that is not a count."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else str(value)
    text = str(value).strip()
    if text.lower() in MISSING:
        return None
    if NUMBER.match(text):
        return int(text.replace(",", ""))
    return text


@dataclass(frozen=True)
class Lookups:
    """What a row's codes and counts are checked against: the lookups and the rates' residents."""

    forces: frozenset[str]
    csp_force: dict[str, str]  # CSP code -> its force's code
    districts: frozenset[str]
    residents: dict[str, int]  # CSP and force code -> residents (latest mid-year)

    @classmethod
    def load(cls) -> Lookups:
        areas = config.areas()
        csps = areas[areas["area_type"] == "csp"]
        latest = config.latest_residents()
        residents = {code: int(latest[code]) for code in csps["area_code"] if code in latest.index}
        for force, rows in csps.groupby("force_code"):
            residents[str(force)] = sum(residents.get(code, 0) for code in rows["area_code"])
        return cls(frozenset(areas.loc[areas["area_type"] == "force", "area_code"]),
                   dict(zip(csps["area_code"], csps["force_code"], strict=True)),
                   frozenset(config.districts()["lad_code"]), residents)


def _check_keys(sheet: Sheet, line: int, keys: list[str], lookups: Lookups) -> None:
    """The row's codes are known areas, its CSP is in its force, its names are names."""
    pfa, csp, lad = keys[0], keys[2], keys[4]
    if not CODE.match(pfa):
        raise IngestError(sheet.where, f"police force area code {pfa[:20]!r} is not an ONS code", line=line)
    if pfa not in lookups.forces:
        raise IngestError(sheet.where, f"police force area code {pfa!r} is not a police force area of England and "
                          "Wales (not in the lookup)", line=line)
    if csp and not CODE.match(csp):
        raise IngestError(sheet.where, f"CSP code {csp[:20]!r} is not an ONS code", line=line)
    if csp and csp not in lookups.csp_force:
        raise IngestError(sheet.where, f"CSP code {csp!r} is not a Community Safety Partnership of England and "
                          "Wales (not in the lookup)", line=line)
    if csp and lookups.csp_force[csp] != pfa:
        raise IngestError(sheet.where, f"CSP {csp} is in police force area {lookups.csp_force[csp]}, not {pfa}",
                          line=line)
    if lad and lad.lower() != COMBINED_DISTRICTS and not (CODE.match(lad) and lad in lookups.districts):
        raise IngestError(sheet.where, f"local authority code {lad[:20]!r} is not a district of England and Wales "
                          "(not in the lookup)", line=line)
    for name, value in zip(KEY_COLUMNS[1::2], keys[1::2], strict=True):
        if value[:1] in FORMULA_START:  # reaches the tables and their downloads
            raise IngestError(sheet.where, f"{name} {value[:40]!r} begins with {value[:1]!r}: a spreadsheet formula, "
                              "not a name", line=line)
        if len(value) > MAX_NAME:
            raise IngestError(sheet.where, f"{name} is {len(value):,} characters long (at most {MAX_NAME})",
                              line=line)


def parse_sheet(sheet: Sheet, lookups: Lookups | None = None) -> tuple[pd.DataFrame, dt.date, dt.date]:
    """One table's rows as (pfa, CSP, district, offence group, count), and the year it covers.

    The rows are read one at a time and each is checked as it comes (see Lookups): the first
    bad row is refused with its line, and only the checked values are kept."""
    lookups = lookups or Lookups.load()
    start, end = _period(sheet)
    rows = sheet.rows()
    found = next(((line, row) for line, row in rows if row and column_name(row[0]) == KEY_COLUMNS[0]), None)
    if found is None:
        raise IngestError(sheet.where, f"no header row starting '{KEY_COLUMNS[0]}'")
    header_line, cells = found
    if len(cells) > MAX_COLUMNS:
        raise IngestError(sheet.where, f"the header has {len(cells):,} columns; Table C2 has 29", line=header_line)
    header = [column_name(c) for c in cells]
    while header and not header[-1]:  # a workbook's empty cells after the last column
        header.pop()
    if header[:6] != KEY_COLUMNS or len(header) < 7 or header[6] != FIRST_MEASURE:
        raise IngestError(sheet.where, f"header does not match Table C2: expected {KEY_COLUMNS + [FIRST_MEASURE]}",
                          line=header_line)
    # Counts are in the named columns after the keys; notes columns (headed "Notes", or blank) hold none.
    measures = [i for i in range(6, len(header)) if header[i] and not header[i].lower().startswith("note")]
    notes = [i for i in range(6, len(header)) if i not in measures]
    names = [header[i] for i in measures]
    if len(set(names)) != len(names):
        raise IngestError(sheet.where, "an offence group appears twice in the header", line=header_line)
    records: list[list[object]] = []
    seen: dict[tuple[str, ...], int] = {}
    for line, row in rows:
        if not any(_text(c) for c in row):
            continue
        if len(row) < len(header) or any(_text(c) for c in row[len(header):]):
            raise IngestError(sheet.where, f"expected {len(header)} fields, found {len(row)} (a broken row)",
                              line=line)
        for i in notes:
            if isinstance(_count(row[i]), int):
                raise IngestError(sheet.where, f"column {i + 1} has counts but no offence group name",
                                  line=header_line)
        keys = [clean(c) for c in row[:6]]
        _check_keys(sheet, line, keys, lookups)
        # A row given twice would be added twice: the force's own row, a CSP's district, an unassigned bucket.
        key = (keys[0], keys[2], keys[3].lower() if not keys[2] else "", keys[4])
        if key in seen:
            what = f"CSP {keys[2]}" + (f" district {keys[4]}" if keys[4] else "") if keys[2] else (
                f"'{keys[3]}' of {keys[0]}" if keys[3] else f"force {keys[0]}")
            raise IngestError(sheet.where, f"a second row for {what} (also at line {seen[key]}); give each area once",
                              line=line)
        seen[key] = line
        # The ceiling is the residents of the row's CSP, or of its force for force and unassigned rows.
        ceiling = COUNT_CEILING_PER_RESIDENT * lookups.residents.get(keys[2] or keys[0], 0)
        for i, group in zip(measures, names, strict=True):
            count = _count(row[i])
            if isinstance(count, str):
                raise IngestError(sheet.where, f"{group}: {count[:20]!r} is not a count", line=line)
            if count is not None and ceiling and abs(count) > ceiling:
                shown = f"{count:,}" if len(str(abs(count))) <= 24 else f"a {len(str(abs(count)))}-digit number"
                raise IngestError(sheet.where, f"{group}: {shown} is not possible for {keys[2] or keys[0]} "
                                  f"({ceiling // COUNT_CEILING_PER_RESIDENT:,} residents; at most "
                                  f"{COUNT_CEILING_PER_RESIDENT} recorded crimes a resident a year)", line=line)
            records.append([*keys, group, count])
    if not seen:
        raise IngestError(sheet.where, "the table has its header but no data rows", line=header_line)
    table = pd.DataFrame(records, columns=["pfa_code", "pfa_name", "csp_code", "csp_name", "lad_code", "lad_name",
                                           "offence_group", "count"])
    return table, start, end


def fix_force_codes(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Rows whose force code is another force's, where their force name is that of a force row.

    The December 2024 workbook gives "Unassigned Gwent" South Wales's code and "unassigned Surrey"
    Kent's; counted under the code, Gwent's CSPs and unassigned bucket no longer add up to its own
    row (and South Wales's exceed it). The name, which the force's own row confirms, wins.
    """
    force_rows = table[(table["csp_code"] == "") & (table["csp_name"] == "")].drop_duplicates("pfa_code")
    by_name = {name.lower(): code for code, name in zip(force_rows["pfa_code"], force_rows["pfa_name"], strict=True)}
    named = table["pfa_name"].str.lower().map(by_name)
    wrong = named.notna() & (named != table["pfa_code"])
    notes = sorted({f"{row.csp_name or row.pfa_name} ({row.pfa_code} in the table, {by_name[row.pfa_name.lower()]} "
                    f"by its force name {row.pfa_name})" for row in table[wrong].itertuples()})
    if wrong.any():
        table = table.copy()
        table.loc[wrong, "pfa_code"] = named[wrong]
    return table, notes


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def tidy(table: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per area (force, CSP, unassigned bucket) and offence group for the year."""
    table = table.copy()
    table["area_type"] = "csp"
    table.loc[table["csp_code"] == "", "area_type"] = "unassigned"
    table.loc[(table["csp_code"] == "") & (table["csp_name"] == ""), "area_type"] = "force"
    table["area_code"] = table["csp_code"]
    table.loc[table["area_type"] == "force", "area_code"] = table["pfa_code"]
    table.loc[table["area_type"] == "unassigned", "area_code"] = table["pfa_code"].map(config.unassigned_code)
    table["area_name"] = table["csp_name"].where(table["csp_name"] != "", table["pfa_name"])
    # Some CSPs span several rows (one per district): one row per area and offence group.
    out = (table.groupby(["pfa_code", "area_code", "area_type", "offence_group"], as_index=False, sort=False)
           .agg(area_name=("area_name", "first"), count=("count", lambda c: c.sum(min_count=1))))
    out.insert(0, "period_start", start)
    out.insert(1, "period_end", end)
    out["count"] = out["count"].astype("Int64")
    return out[["period_start", "period_end", "pfa_code", "area_code", "area_type", "offence_group", "area_name",
                "count"]]


def _files(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """(file, named): files as given, and workbooks and CSV files under folders."""
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".xlsx", ".csv"))
            yield from ((p, False) for p in found)
        elif path.is_file():
            yield path, True
        else:
            raise IngestError(path, "no such file or folder")


def ingest(paths: list[Path], data_dir: Path) -> IngestReport:
    if not paths:
        raise IngestError("", "give ONS Table C2 files (the .xlsx workbook or CSV exports of Table C2)")
    years: dict[tuple[dt.date, dt.date], tuple[str, pd.DataFrame]] = {}
    files, skipped = 0, []
    others: set[str] = set()
    fixed: set[str] = set()
    lookups = Lookups.load()
    for path, named in _files(paths):
        try:
            sheets = read_sheets(path)
        except IngestError:
            if named:
                raise
            skipped.append(path.name)  # a folder's other files (lookups, force tables) are not CSP tables
            continue
        files += 1
        for sheet in sheets:
            start, end = _period(sheet)
            if (start, end) in years:
                raise IngestError(sheet.where, f"a second table for the year ending {end:%B %Y} (also in "
                                  f"{years[(start, end)][0]})")
            table, _, _ = parse_sheet(sheet, lookups)
            table, notes = fix_force_codes(table)
            fixed.update(f"{note}, {sheet.where}" for note in notes)
            # Rows with no CSP code that are not "Unassigned ..." (Manchester Airport) have no CSP either.
            placeless = table[(table["csp_code"] == "") & (table["csp_name"] != "")]["csp_name"]
            others.update(placeless[~placeless.str.lower().str.startswith("unassigned")])
            years[(start, end)] = (sheet.where, tidy(table, start, end))
    if not years:
        raise IngestError(", ".join(map(str, paths)), "no ONS Table C2 (recorded crime by CSP) found")
    loaded = pd.concat([frame for _, frame in years.values()], ignore_index=True)
    known_csps = set(config.districts()["csp_code"])
    report = IngestReport("ons-csp", files=files, rows=len(loaded))
    for (start, end), (where, frame) in sorted(years.items()):
        areas = frame.drop_duplicates("area_code")
        report.lines.append(f"  year {start:%Y-%m}..{end:%Y-%m} ({where}): {(areas['area_type'] == 'force').sum()} "
                            f"forces, {(areas['area_type'] == 'csp').sum()} CSPs, "
                            f"{frame['offence_group'].nunique()} offence groups")
    unknown = sorted(set(loaded.loc[loaded["area_type"] == "csp", "area_code"]) - known_csps)
    if unknown:
        report.lines.append(f"  CSP codes not in the district lookup (kept): {', '.join(unknown)}")
    for note in sorted(fixed):
        report.lines.append(f"  force code corrected: {note}")
    unequal = _force_differences(loaded)
    if unequal:
        report.lines.append(f"  {unequal} force figure(s) differ from the sum of their CSPs and unassigned bucket")
    if others:
        report.lines.append(f"  counted in their force's unassigned bucket (no CSP code): {', '.join(sorted(others))}")
    if skipped:
        report.lines.append(f"  skipped (not a CSP table): {', '.join(skipped)}")

    def build(staging: Path, current: Path | None) -> dict:
        merged = loaded
        if current is not None and (current / f"{TABLE}.parquet").exists():
            published = pd.read_parquet(current / f"{TABLE}.parquet")
            published_years = zip(pd.to_datetime(published["period_start"]).dt.date,
                                  pd.to_datetime(published["period_end"]).dt.date, strict=True)
            kept = published[[year not in years for year in published_years]]  # a year loaded again is replaced
            merged = pd.concat([kept, loaded], ignore_index=True)
        merged = merged.sort_values(["period_start", "pfa_code", "area_type", "area_code", "offence_group"],
                                    kind="stable").reset_index(drop=True)
        store.replace_table(staging, TABLE, lambda tmp: merged.to_parquet(tmp, index=False, compression="zstd"))
        spans = sorted(_years(merged))
        return {TABLE: {"source": "ONS Police force area data tables, Tables C2 and C5 (recorded crime by CSP), "
                                  + ", ".join(f"year ending {e:%B %Y}" for _, e in spans),
                        "licence": "Open Government Licence v3.0", "illustrative": False,
                        "coverage": {"period_start": str(spans[0][0]), "period_end": str(spans[-1][1]),
                                     "years": [f"{s}..{e}" for s, e in spans]}}}

    store.publish(data_dir, build)
    return report


def _years(frame: pd.DataFrame) -> set[tuple[dt.date, dt.date]]:
    pairs = frame[["period_start", "period_end"]].drop_duplicates()
    return set(zip(pd.to_datetime(pairs["period_start"]).dt.date, pd.to_datetime(pairs["period_end"]).dt.date,
                   strict=True))


def _force_differences(frame: pd.DataFrame) -> int:
    """Force cells (year, offence group) that differ from the sum of the force's CSP and unassigned cells."""
    keys = ["period_start", "pfa_code", "offence_group"]
    force = frame[frame["area_type"] == "force"].set_index(keys)["count"]
    parts = frame[frame["area_type"] != "force"].groupby(keys)["count"].sum(min_count=1)
    both = pd.concat([force.rename("force"), parts.rename("parts")], axis=1, join="inner").dropna()
    return int((both["force"] != both["parts"]).sum())
