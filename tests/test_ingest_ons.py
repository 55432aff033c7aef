"""ONS Table C2 ingest: the real file's figures, and refusals that leave the data alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from measures.data.ingest import IngestError, ons_csp
from measures.paths import REPO_ROOT, SHARED_DATA_DIR
from tests.conftest import tree_hash

REAL_C2 = SHARED_DATA_DIR / "ons" / "recorded_crime_by_csp_ye_jun2025_tableC2.csv"
TITLE = ('"Table C2: Number of police recorded crimes for headline offences by Community Safety Partnership area, '
         'England and Wales, year ending June 2025 [note 1]",,,,,,,')
HEADER = ('"Police Force\nArea code","Police Force\nArea name","Community Safety\nPartnership code",'
          '"Community Safety\nPartnership name",Local Authority code,Local Authority name,'
          '"Total recorded crime\n (excluding fraud)",Violence against the person')
ROWS = [
    'E23000035,Devon and Cornwall,,,,,"121,216 ","52,772 "',
    'E23000035,Devon and Cornwall,E22000049,Exeter,E07000041,Exeter,"13,751 ","5,088 "',
    'E23000035,Devon and Cornwall,,Unassigned Devon and Cornwall ,,,16 ,[x]',
]
TOTAL = "Total recorded crime (excluding fraud)"


def c2_text(title: str = TITLE, header: str = HEADER, rows: list[str] = ROWS) -> str:
    # title on line 1, a note on line 2, the header on lines 3-8 (line breaks in names), rows from line 9
    return "\n".join([title, "Source: Police recorded crime from the Home Office,,,,,,,", header, *rows]) + "\n"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path




def published_table(data_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(data_dir / "current" / f"{ons_csp.TABLE}.parquet")


def total(table: pd.DataFrame, area: str) -> int:
    return int(table.loc[(table["area_code"] == area) & (table["offence_group"] == TOTAL), "count"].iloc[0])


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ons")
    ons_csp.ingest([write(folder / "c2.csv", c2_text())], folder / "data")
    return folder / "data"


def test_small_c2_file_loads(loaded: Path) -> None:
    table = published_table(loaded)
    assert total(table, "E23000035") == 121216 and total(table, "E22000049") == 13751
    assert total(table, "UNASSIGNED-E23000035") == 16
    unavailable = table[(table["area_code"] == "UNASSIGNED-E23000035") & (table["offence_group"] != TOTAL)]
    assert unavailable["count"].isna().all()  # "[x]" is kept as missing, not zero
    assert set(table["period_start"].astype(str)) == {"2024-07-01"}
    assert set(table["period_end"].astype(str)) == {"2025-06-30"}


@pytest.mark.skipif(not REAL_C2.is_file(), reason=f"the real ONS Table C2 file is not at {REAL_C2}")
def test_real_c2_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    report = str(ons_csp.ingest([REAL_C2], data_dir))
    assert "forces" in report and "CSPs" in report
    table = published_table(data_dir)
    assert total(table, "E23000035") == 121216
    assert total(table, "E22000049") == 13751
    force = table[(table["pfa_code"] == "E23000035") & (table["offence_group"] == TOTAL)]
    parts = force.loc[force["area_type"] != "force", "count"].sum()
    assert parts == 121216  # the CSPs and unassigned add up to the force
    assert table["pfa_code"].nunique() >= 43


def _bad(kind: str) -> tuple[str | bytes, str, int | None]:
    """Refused content, a phrase its message must contain, and its line (a header: the line it ends on)."""
    if kind == "not C2":
        return c2_text(title=TITLE.replace("Table C2", "Table P1")), "not ONS Table C2", 1
    if kind == "wrong header":
        return c2_text(header=HEADER.replace("Violence against the person", "Total recorded crime").replace(
            "Total recorded crime\n (excluding fraud)", "Total recorded crime\n (including fraud)")), "header", 8
    if kind == "non-number cell":
        rows = list(ROWS)
        rows[1] = rows[1].replace('"13,751 "', "12a")
        return c2_text(rows=rows), "'12a' is not a count", 10
    if kind == "empty file":
        return b"", "empty", None
    if kind == "random bytes":
        return os.urandom(4096), "", None
    raise AssertionError(kind)


KINDS = ["not C2", "wrong header", "non-number cell", "empty file", "random bytes"]


@pytest.mark.parametrize("kind", KINDS)
def test_refused_with_one_line_and_data_unchanged(kind: str, tmp_path: Path, loaded: Path) -> None:
    content, expected, line = _bad(kind)
    bad = write(tmp_path / "bad" / "c2.csv", content)
    before = tree_hash(loaded)
    with pytest.raises(IngestError) as caught:
        ons_csp.ingest([bad], loaded)
    message = str(caught.value)
    assert "\n" not in message and str(bad) in message and expected in message, message
    assert caught.value.line == line, message
    assert tree_hash(loaded) == before, "a refused ingest changed the data folder"


def test_cli_refusal_has_no_traceback(tmp_path: Path, loaded: Path) -> None:
    content, expected, _ = _bad("non-number cell")
    bad = write(tmp_path / "bad" / "c2.csv", content)
    before = tree_hash(loaded)
    result = subprocess.run([sys.executable, "-m", "measures", "ingest", "ons-csp", str(bad), "--data-dir",
                             str(loaded)], check=False, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and str(bad) in result.stderr and expected in result.stderr
    assert tree_hash(loaded) == before


# --- the workbook as published, and several editions ------------------------------------------

WORKBOOK = SHARED_DATA_DIR / "ons" / "policeforceareatablesyedecember2024.xlsx"
ONS_MEASURES = {  # registry measure -> the ONS offence group it counts
    "ons_total_recorded_crime": TOTAL,
    "ons_sexual_offences": "Sexual offences",
    "ons_stalking_harassment": "Stalking and harassment",
    "ons_violence_against_the_person": "Violence against the person",
}
needs_real = pytest.mark.skipif(not (REAL_C2.is_file() and WORKBOOK.is_file()),
                                reason=f"the real ONS files are not at {REAL_C2.parent}")


def small_workbook(path: Path, title: str = "Table C2: Number of police recorded crimes for headline offences by "
                   "Community Safety Partnership area, England and Wales, year ending December 2024 [note 1][note 3]",
                   rows: list[list[object]] | None = None) -> Path:
    """A workbook laid out as ONS publishes it: title rows, a header with line breaks, note markers, a typo and
    a notes column, and the sheets around it that are not CSP tables."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Cover_sheet"
    book.active.append(["Police force area data tables - year ending December 2024"])
    rates = book.create_sheet("Table C4")
    rates.append(["Table C4: Recorded crime rate per 1,000 population ... by Community Safety Partnership area"])
    sheet = book.create_sheet("Table C2")
    sheet.append([title])
    sheet.append(["This worksheet contains one table."])
    sheet.append(["Some shorthand is used in this table. [x] indicates data are unavailable."])
    sheet.append(["Police Force\nArea code", "Police Force Area\n name", "Community Safety\n Partnership code",
                  "Community Safety\nPartnership name", "Local Authority\n code", "Local Authority name",
                  "Total recorded crime\n (excludinging fraud) [note 2]", "Sexual\n offences", "Notes"])
    default = [
        ["E23000035", "Devon and Cornwall [note 4]", None, None, None, None, 1000, 90, None],
        ["E23000035", "Devon and Cornwall", "E22000049", "Exeter ", "E07000041", "Exeter", 600, 50, "see note 5"],
        ["E23000035", "Devon and Cornwall", "E22000362", "East and Mid Devon", "E07000040", "East Devon", 250, "[z]",
         None],
        ["E23000035", "Devon and Cornwall", "E22000362", "East and Mid Devon", "E07000042", "Mid Devon", 160, "[u]",
         None],
        ["E23000035", "Devon and Cornwall", None, "Unassigned Devon and Cornwall ", None, None, -10, "[x]", None],
    ]
    for row in default if rows is None else rows:
        sheet.append(row)
    book.save(path)
    return path


def test_small_workbook_loads_with_its_traps(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    report = str(ons_csp.ingest([small_workbook(tmp_path / "book.xlsx")], data_dir))
    assert "1 CSPs" not in report and "2 CSPs" in report, report
    table = published_table(data_dir)
    assert set(table["offence_group"]) == {TOTAL, "Sexual offences"}  # typo, note and line break cleaned
    assert total(table, "E23000035") == 1000 and total(table, "E22000049") == 600
    assert total(table, "E22000362") == 410  # a CSP spanning two district rows is their sum
    assert total(table, "UNASSIGNED-E23000035") == -10  # a negative count is kept (ONS note 3)
    sexual = table[table["offence_group"] == "Sexual offences"].set_index("area_code")["count"]
    assert sexual.isna()[["E22000362", "UNASSIGNED-E23000035"]].all()  # [z], [u], [x]: missing, not 0
    assert set(table.loc[table["area_code"] == "E23000035", "area_name"]) == {"Devon and Cornwall"}
    assert set(table.loc[table["area_code"] == "E22000049", "area_name"]) == {"Exeter"}
    assert set(table["period_start"].astype(str)) == {"2024-01-01"}


def test_empty_table_is_refused_with_the_data_unchanged(tmp_path: Path, loaded: Path) -> None:
    for bad in (small_workbook(tmp_path / "empty.xlsx", rows=[]),
                write(tmp_path / "empty.csv", c2_text(rows=[]))):
        before = tree_hash(loaded)
        with pytest.raises(IngestError, match="no data rows") as caught:
            ons_csp.ingest([bad], loaded)
        assert "\n" not in str(caught.value) and str(bad) in str(caught.value)
        assert tree_hash(loaded) == before


def test_bad_workbook_cell_names_the_sheet_and_row(tmp_path: Path, loaded: Path) -> None:
    rows = [["E23000035", "Devon and Cornwall", "E22000049", "Exeter", "E07000041", "Exeter", "lots", 5, None]]
    bad = small_workbook(tmp_path / "bad.xlsx", rows=rows)
    before = tree_hash(loaded)
    with pytest.raises(IngestError) as caught:
        ons_csp.ingest([bad], loaded)
    message = str(caught.value)
    assert str(bad) in message and "sheet 'Table C2'" in message and "'lots' is not a count" in message, message
    assert caught.value.line == 5 and "\n" not in message
    assert tree_hash(loaded) == before


def test_editions_accumulate_and_a_year_loaded_again_replaces_only_itself(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ons_csp.ingest([write(tmp_path / "c2.csv", c2_text())], data_dir)  # July 2024 to June 2025
    ons_csp.ingest([small_workbook(tmp_path / "book.xlsx")], data_dir)  # January to December 2024
    table = published_table(data_dir)
    assert sorted(set(table["period_start"].astype(str))) == ["2024-01-01", "2024-07-01"]
    revised = [["E23000035", "Devon and Cornwall", None, None, None, None, 1001, 91, None],
               ["E23000035", "Devon and Cornwall", "E22000049", "Exeter", "E07000041", "Exeter", 601, 51, None]]
    ons_csp.ingest([small_workbook(tmp_path / "revised.xlsx", rows=revised)], data_dir)
    again = published_table(data_dir)
    year_2024 = again[again["period_start"].astype(str) == "2024-01-01"]
    assert total(year_2024, "E23000035") == 1001 and "E22000362" not in set(year_2024["area_code"])
    june = again[again["period_start"].astype(str) == "2024-07-01"].reset_index(drop=True)
    assert total(june, "E23000035") == 121216  # the other edition is untouched


def cell_count(value: object) -> int | None:
    """A cell as ONS wrote it, read without the adapter: a number, or text like '13,751 ' or '[x]'."""
    if value is None or isinstance(value, str) and value.strip().startswith("["):
        return None
    return int(str(value).replace(",", "").strip()) if isinstance(value, str) else int(value)  # type: ignore[call-overload]


def workbook_cells() -> dict[str, dict[tuple[str, str], int | None]]:
    """Per rolling year (period_start): (CSP code or force code, offence group) -> count, as published."""
    import csv

    import openpyxl

    tables: dict[str, list[list[object]]] = {}
    book = openpyxl.load_workbook(WORKBOOK, read_only=True, data_only=True)
    tables["2024-01-01"] = [list(r) for r in book["Table C2"].iter_rows(values_only=True)]
    tables["2023-01-01"] = [list(r) for r in book["Table C5"].iter_rows(values_only=True)]
    book.close()
    with open(REAL_C2, encoding="utf-8-sig", newline="") as handle:
        tables["2024-07-01"] = [list(r) for r in csv.reader(handle)]
    cells: dict[str, dict[tuple[str, str], int | None]] = {}
    for year, rows in tables.items():
        at = next(i for i, r in enumerate(rows) if r and str(r[0]).startswith("Police Force"))
        names = [" ".join(str(h).split()) for h in rows[at]]
        mine: dict[tuple[str, str], int | None] = {}
        for row in rows[at + 1:]:
            if not row or not row[0]:
                continue
            csp, csp_name = (str(row[2] or "").strip(), str(row[3] or "").strip())
            if csp or not csp_name:  # CSP rows, and force rows (no CSP code or name)
                for group in ONS_MEASURES.values():
                    mine[(csp or str(row[0]).strip(), group)] = cell_count(row[names.index(group)])
        cells[year] = mine
    return cells


@pytest.fixture(scope="module")
def three_editions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (REAL_C2.is_file() and WORKBOOK.is_file()):
        pytest.skip(f"the real ONS files are not at {REAL_C2.parent}")
    data_dir = tmp_path_factory.mktemp("ons3") / "data"
    ons_csp.ingest([WORKBOOK, REAL_C2], data_dir)
    return data_dir


@needs_real
def test_three_editions_load_for_every_csp(three_editions: Path) -> None:
    table = published_table(three_editions)
    csps = table[table["area_type"] == "csp"].groupby("period_start")["area_code"].nunique()
    assert sorted(csps.index.astype(str)) == ["2023-01-01", "2024-01-01", "2024-07-01"]
    assert (csps == 314).all()  # every CSP of England and Wales, in every edition
    by_year = table[table["area_type"] == "csp"].groupby("period_start")["area_code"].apply(frozenset)
    assert by_year.nunique() == 1  # the same CSPs in all three
    groups = table.groupby("period_start")["offence_group"].apply(frozenset)
    assert groups.nunique() == 1 and len(groups.iloc[0]) == 23  # one name per offence group in every edition
    # The force rows equal their CSPs and unassigned bucket (after the workbook's wrong force codes are fixed).
    assert ons_csp._force_differences(table) == 0


@needs_real
def test_reingest_is_idempotent(three_editions: Path, tmp_path: Path) -> None:
    before = published_table(three_editions)
    ons_csp.ingest([WORKBOOK], three_editions)  # two of the three years again
    pd.testing.assert_frame_equal(published_table(three_editions), before)


@needs_real
def test_exports_equal_the_workbook_cells(three_editions: Path) -> None:
    import random

    from measures.core import export
    from measures.data import db

    cells = workbook_cells()
    con = db.connect(three_editions, lockdown=False)
    table = published_table(three_editions)
    csps = sorted(set(table.loc[table["area_type"] == "csp", "area_code"]))
    sample = random.Random(13).sample(csps, 20) + ["E22000363", "E22000050"]  # and two of the default force
    forces = sorted(set(table["pfa_code"]))
    checked = 0
    for measure_id, group in ONS_MEASURES.items():
        for area in sample + forces:
            frame = export.export(measure_id, three_editions, area=area, con=con)
            assert set(frame["area_type"]) == {"force" if area in forces else "csp"}, (measure_id, area)
            got = dict(zip(frame["period_start"].astype(str).str[:10], frame["numerator"], strict=True))
            for year, mine in cells.items():
                if (area, group) not in mine:  # City of London: a CSP row, no force row (the pipeline adds it)
                    assert area == "E23000034" and got[year] == mine[("E22000180", group)]
                    continue
                expected = mine[(area, group)]
                if expected is None:
                    assert year not in got, (measure_id, area, year)  # no figure: no row, never 0
                else:
                    assert got[year] == expected, (measure_id, area, year)
                    checked += 1
    assert checked > 3 * 4 * 60


@needs_real
def test_ons_measures_claim_no_signal_from_three_overlapping_years(three_editions: Path) -> None:
    from measures.core import export, pipeline

    for measure_id in ONS_MEASURES:
        frame = export.export(measure_id, three_editions)
        titled = registry_title(measure_id)
        assert "ONS" in titled and "rolling year" in titled
        assert not frame["illustrative"].any()
        rows = frame[frame["value"].notna()]
        assert rows["signal"].isna().all(), measure_id  # overlapping years are not independent points
        assert (rows["signal_meaning"] == pipeline.NOT_ASSESSED_ROLLING).all(), measure_id
        assert (rows["denominator"] > 0).all()


def registry_title(measure_id: str) -> str:
    from measures.core import registry

    return registry.get(measure_id).title


@needs_real
@pytest.mark.parametrize("with_year", [True, False])
def test_rate_query_with_and_without_a_population_year(three_editions: Path, with_year: bool) -> None:
    """area_population by mid-year (year, population) or as one figure per area (population only)."""
    from measures.data import db

    con = db.connect(three_editions, lockdown=False)
    con.execute("drop table area_population")
    if with_year:
        con.execute("create table area_population as select * from (values ('E22000049', 2022, 100), "
                    "('E22000049', 2023, 200)) t(area_code, year, population)")
    else:
        con.execute("create table area_population as select * from (values ('E22000049', 300)) t(area_code, population)")
    rows = db.query(con, "ons_recorded_crime_rate", {"force": "E23000035", "from": pd.Timestamp("2000-01-01").date(),
                                                     "to": pd.Timestamp("2100-12-01").date(), "offence_group": TOTAL})
    exeter = rows.loc[rows["area_code"] == "E22000049", "denominator"]
    # Jan-Dec 2023 uses mid-2023; later years the latest mid-year (2023) until ONS publishes more.
    assert list(exeter) == ([200.0, 200.0, 200.0] if with_year else [300.0, 300.0, 300.0])
    assert len(rows) == 3 * 9  # eight CSPs and the unassigned bucket, three years
