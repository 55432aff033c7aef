"""ONS "Police force area data tables", Table C2: recorded crime by CSP and offence group.

The sheet exported to CSV has title rows, then a header (with line breaks inside quoted
names), then one row per force, CSP (or combined CSP) and unassigned bucket; numbers
carry thousands separators and a trailing space, and "[x]" marks an unavailable value.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
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
MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
NUMBER = re.compile(r"^\d{1,3}(,\d{3})*$|^\d+$")


def _period(title: str, path: Path) -> tuple[dt.date, dt.date]:
    match = re.search(r"year ending (\w+) (\d{4})", title, re.IGNORECASE)
    if not match or match.group(1).lower() not in MONTHS:
        raise IngestError(path, "the title does not say which year it covers ('year ending <Month> <YYYY>')", line=1)
    month, year = MONTHS[match.group(1).lower()], int(match.group(2))
    end = dt.date(year, month, calendar.monthrange(year, month)[1])
    start = dt.date(year - 1 + (month == 12), month % 12 + 1, 1)
    return start, end


def _parse(path: Path) -> tuple[pd.DataFrame, dt.date, dt.date]:
    raw = path.read_bytes()
    if not raw.strip():
        raise IngestError(path, "the file is empty")
    if b"\x00" in raw[:65536]:
        raise IngestError(path, "not a CSV file (binary content); expected ONS Table C2")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IngestError(path, "not a UTF-8 text file; expected ONS Table C2") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise IngestError(path, f"the CSV cannot be parsed ({exc})", line=reader.line_num) from None
    if not rows or not rows[0][1] or "Table C2" not in rows[0][1][0]:
        raise IngestError(path, "not ONS Table C2 (the first line should be its title, 'Table C2: ...')", line=1)
    start, end = _period(rows[0][1][0], path)
    header_at = next((i for i, (_, row) in enumerate(rows) if row and " ".join(row[0].split()) == KEY_COLUMNS[0]), None)
    if header_at is None:
        raise IngestError(path, f"no header row starting '{KEY_COLUMNS[0]}'")
    header_line, header = rows[header_at][0], [" ".join(c.split()) for c in rows[header_at][1]]
    if header[:6] != KEY_COLUMNS or header[6] != FIRST_MEASURE:
        raise IngestError(path, f"header does not match Table C2: expected {KEY_COLUMNS + [FIRST_MEASURE]}",
                          line=header_line)
    records = []
    for line, row in rows[header_at + 1:]:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise IngestError(path, f"expected {len(header)} fields, found {len(row)} (a broken row)", line=line)
        keys = [cell.strip() for cell in row[:6]]
        if not re.match(r"^[EW]\d{8}$", keys[0]):
            raise IngestError(path, f"police force area code {keys[0][:20]!r} is not an ONS code", line=line)
        for column, cell in zip(header[6:], row[6:], strict=True):
            value = cell.strip()
            if value in ("[x]", ""):  # unavailable, or left blank by ONS
                count = None
            elif NUMBER.match(value):
                count = int(value.replace(",", ""))
            else:
                raise IngestError(path, f"{column}: {value[:20]!r} is not a count", line=line)
            records.append([*keys, column, count])
    table = pd.DataFrame(records, columns=["pfa_code", "pfa_name", "csp_code", "csp_name", "lad_code", "lad_name",
                                           "offence_group", "count"])
    return table, start, end


def ingest(paths: list[Path], data_dir: Path) -> IngestReport:
    if len(paths) != 1 or not Path(paths[0]).is_file():
        raise IngestError(", ".join(map(str, paths)), "give exactly one ONS Table C2 CSV file")
    path = Path(paths[0])
    table, start, end = _parse(path)
    known_csps = set(config.districts()["csp_code"])
    table["area_type"] = "csp"
    table.loc[table["csp_code"] == "", "area_type"] = "unassigned"
    table.loc[(table["csp_code"] == "") & (table["csp_name"] == ""), "area_type"] = "force"
    table["area_code"] = table["csp_code"]
    table.loc[table["area_type"] == "force", "area_code"] = table["pfa_code"]
    table.loc[table["area_type"] == "unassigned", "area_code"] = "UNASSIGNED-" + table["pfa_code"]
    table["area_name"] = table["csp_name"].where(table["csp_name"] != "", table["pfa_name"])
    # Some CSPs span several rows (one per district); one row per area and offence group.
    tidy = (table.groupby(["pfa_code", "area_code", "area_type", "offence_group"], as_index=False)
            .agg(area_name=("area_name", "first"), count=("count", lambda c: c.sum(min_count=1))))
    tidy.insert(0, "period_start", start)
    tidy.insert(1, "period_end", end)
    tidy["count"] = tidy["count"].astype("Int64")
    unknown = sorted(set(tidy.loc[tidy["area_type"] == "csp", "area_code"]) - known_csps)

    def build(staging: Path, current: Path | None) -> dict:
        merged = tidy
        if current is not None and (current / f"{TABLE}.parquet").exists():
            published = pd.read_parquet(current / f"{TABLE}.parquet")
            merged = pd.concat([published[published["period_start"] != start], tidy], ignore_index=True)
        store.replace_table(staging, TABLE, lambda tmp: merged.to_parquet(tmp, index=False, compression="zstd"))
        return {TABLE: {"source": f"ONS Police force area data tables, Table C2, year ending {end:%B %Y}",
                        "licence": "Open Government Licence v3.0", "illustrative": False,
                        "coverage": {"period_start": str(start), "period_end": str(end)}}}

    store.publish(data_dir, build)
    report = IngestReport("ons-csp", files=1, rows=len(table) // table["offence_group"].nunique())
    areas = tidy.drop_duplicates("area_code")
    report.lines.append(f"  year {start:%Y-%m}..{end:%Y-%m}: {(areas['area_type'] == 'force').sum()} forces, "
                        f"{(areas['area_type'] == 'csp').sum()} CSPs, {tidy['offence_group'].nunique()} offence groups")
    if unknown:
        report.lines.append(f"  CSP codes not in the district lookup (kept): {', '.join(unknown)}")
    return report
