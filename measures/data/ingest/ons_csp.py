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
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
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
    """One table as rows of cells, from a CSV file or a workbook sheet."""

    where: str  # the file, and the sheet of a workbook: named in every message
    title: str
    rows: list[tuple[int, list[object]]]  # (line or row number, cells)


def _period(sheet: Sheet) -> tuple[dt.date, dt.date]:
    match = re.search(r"year ending (\w+) (\d{4})", sheet.title, re.IGNORECASE)
    if not match or match.group(1).lower() not in MONTHS:
        raise IngestError(sheet.where, "the title does not say which year it covers ('year ending <Month> <YYYY>')",
                          line=1)
    month, year = MONTHS[match.group(1).lower()], int(match.group(2))
    end = dt.date(year, month, calendar.monthrange(year, month)[1])
    start = dt.date(year - 1 + (month == 12), month % 12 + 1, 1)
    return start, end


def _csv_sheet(path: Path, raw: bytes) -> Sheet:
    if b"\x00" in raw[:65536]:
        raise IngestError(path, "not a CSV file (binary content); expected ONS Table C2 (CSV or .xlsx workbook)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IngestError(path, "not a UTF-8 text file; expected ONS Table C2") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows: list[tuple[int, list[object]]] = [(reader.line_num, list(row)) for row in reader]
    except csv.Error as exc:
        raise IngestError(path, f"the CSV cannot be parsed ({exc})", line=reader.line_num) from None
    title = str(rows[0][1][0]) if rows and rows[0][1] else ""
    if not TABLE_TITLE.match(title):
        raise IngestError(path, "not ONS Table C2 (the first line should be its title, 'Table C2: Number of police "
                          "recorded crimes ... by Community Safety Partnership area ...')", line=1)
    return Sheet(str(path), title, rows)


def _workbook_sheets(path: Path) -> list[Sheet]:
    import openpyxl  # only workbooks need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise IngestError(path, f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheets = []
        for worksheet in book.worksheets:
            rows = [(number, list(cells)) for number, cells in enumerate(worksheet.iter_rows(values_only=True), 1)]
            width = max((len(cells) for _, cells in rows), default=0)
            rows = [(number, cells + [None] * (width - len(cells))) for number, cells in rows]  # ragged in read-only
            title = str(rows[0][1][0]) if rows and rows[0][1] and rows[0][1][0] is not None else ""
            if TABLE_TITLE.match(title):  # Tables C2 and C5, not the rates (C4) or changes (C3)
                sheets.append(Sheet(f"{path} (sheet '{worksheet.title}')", title, rows))
    finally:
        book.close()
    if not sheets:
        raise IngestError(path, "no sheet of recorded crime by Community Safety Partnership (Table C2 or C5) "
                          "in this workbook")
    return sheets


def read_sheets(path: Path) -> list[Sheet]:
    """The CSP tables of one file (a CSV export: one; a workbook: C2 and C5)."""
    raw = path.read_bytes()
    if not raw.strip():
        raise IngestError(path, "the file is empty")
    if raw[:4] == b"PK\x03\x04":  # a zip container: an .xlsx workbook whatever its name
        return _workbook_sheets(path)
    return [_csv_sheet(path, raw)]


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


def parse_sheet(sheet: Sheet) -> tuple[pd.DataFrame, dt.date, dt.date]:
    """One table's rows as (pfa, CSP, district, offence group, count), and the year it covers."""
    start, end = _period(sheet)
    header_at = next((i for i, (_, row) in enumerate(sheet.rows) if row and column_name(row[0]) == KEY_COLUMNS[0]),
                     None)
    if header_at is None:
        raise IngestError(sheet.where, f"no header row starting '{KEY_COLUMNS[0]}'")
    header_line, cells = sheet.rows[header_at]
    header = [column_name(c) for c in cells]
    if header[:6] != KEY_COLUMNS or len(header) < 7 or header[6] != FIRST_MEASURE:
        raise IngestError(sheet.where, f"header does not match Table C2: expected {KEY_COLUMNS + [FIRST_MEASURE]}",
                          line=header_line)
    body = [(line, row) for line, row in sheet.rows[header_at + 1:] if any(_text(c) for c in row)]
    # Counts are in the named columns after the keys; notes columns (headed "Notes", or blank) hold none.
    measures = [i for i in range(6, len(header)) if header[i] and not header[i].lower().startswith("note")]
    for i in range(6, len(header)):
        if i not in measures and any(isinstance(_count(row[i] if i < len(row) else None), int) for _, row in body):
            raise IngestError(sheet.where, f"column {i + 1} has counts but no offence group name", line=header_line)
    names = [header[i] for i in measures]
    if len(set(names)) != len(names):
        raise IngestError(sheet.where, "an offence group appears twice in the header", line=header_line)
    if not body:
        raise IngestError(sheet.where, "the table has its header but no data rows", line=header_line)
    records: list[list[object]] = []
    forces: set[str] = set()
    for line, row in body:
        if len(row) < len(header) or any(_text(c) for c in row[len(header):]):
            raise IngestError(sheet.where, f"expected {len(header)} fields, found {len(row)} (a broken row)",
                              line=line)
        keys = [clean(c) for c in row[:6]]
        if not CODE.match(keys[0]):
            raise IngestError(sheet.where, f"police force area code {keys[0][:20]!r} is not an ONS code", line=line)
        if keys[2] and not CODE.match(keys[2]):
            raise IngestError(sheet.where, f"CSP code {keys[2][:20]!r} is not an ONS code", line=line)
        if not keys[2] and not keys[3]:  # the force's own row: a second one would double its figures
            if keys[0] in forces:
                raise IngestError(sheet.where, f"a second force row for {keys[0]}", line=line)
            forces.add(keys[0])
        for i, group in zip(measures, names, strict=True):
            count = _count(row[i])
            if isinstance(count, str):
                raise IngestError(sheet.where, f"{group}: {count[:20]!r} is not a count", line=line)
            records.append([*keys, group, count])
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
            table, _, _ = parse_sheet(sheet)
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
