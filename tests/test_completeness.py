"""Completeness checks of an update (measures.core.update_report.completeness) and the report of what
changes for the public (public_changes): the one implementation the Update data page and
`measures ingest` both use. Small tables written here, compared as a published and a candidate version.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from measures.core import update_report
from measures.data import config, publishing
from tests.test_input_contracts import CSPS, write

FORCE = config.load_force()
NAMES = {a.code: a.name for a in FORCE.csps}
TODAY = dt.date(2026, 12, 15)
TABLE = "hidden_crime_monthly"


def months(first: str, last: str) -> list[dt.date]:
    day, end, found = dt.date.fromisoformat(first + "-01"), dt.date.fromisoformat(last + "-01"), []
    while day <= end:
        found.append(day)
        day = update_report._step(day, 1)
    return found


def hidden_table(folder: Path, cells: dict[dt.date, dict[str, int]]) -> Path:
    """hidden_crime_monthly with one strand: {month: {area_code: count}}."""
    rows = [(m, code, "domestic_abuse", n, False) for m, areas in cells.items() for code, n in areas.items()]
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"month": pa.array([r[0] for r in rows], pa.date32()), "area_code": [r[1] for r in rows],
                      "strand": [r[2] for r in rows], "count": pa.array([r[3] for r in rows], pa.int64()),
                      "illustrative": [r[4] for r in rows]})
    pq.write_table(table, folder / f"{TABLE}.parquet")
    return folder


def every_csp(count: int = 100) -> dict[str, int]:
    return {code: count for code in CSPS}


def check(tmp_path: Path, old: dict | None, new: dict, table: str = TABLE) -> list[str]:
    old_folder = hidden_table(tmp_path / "old", old) if old is not None else None
    return update_report.completeness(old_folder, hidden_table(tmp_path / "new", new), {table}, today=TODAY)


YEAR = {m: every_csp() for m in months("2025-01", "2025-12")}


def test_a_month_with_two_of_eight_csps_is_named_in_words(tmp_path):
    partial = {code: 400 for code in CSPS[:2]}
    warnings = check(tmp_path, YEAR, {**YEAR, dt.date(2026, 1, 1): partial})
    missing = sorted(CSPS[2:], key=NAMES.get)
    assert warnings[0] == (f"hidden_crime_monthly, Devon and Cornwall, January 2026: 6 of 8 CSPs have no rows "
                           f"({', '.join(NAMES[c] for c in missing)})")
    assert len(warnings) == 1  # 800 is not under half the usual 800


def test_a_total_under_half_the_median_of_the_previous_twelve_months(tmp_path):
    low = check(tmp_path, YEAR, {**YEAR, dt.date(2026, 1, 1): every_csp(49)})
    assert low == ["hidden_crime_monthly, Devon and Cornwall, January 2026: the total 392 is under half the median "
                   "of the previous 12 months with data (800)"]
    assert check(tmp_path, YEAR, {**YEAR, dt.date(2026, 1, 1): every_csp(50)}) == []  # exactly half: fine


def test_a_complete_month_and_a_replaced_month_like_the_others_give_no_warning(tmp_path):
    assert check(tmp_path, YEAR, {**YEAR, dt.date(2026, 1, 1): every_csp(120)}) == []
    assert check(tmp_path, YEAR, {**YEAR, dt.date(2025, 6, 1): every_csp(90)}) == []


def test_only_the_months_the_update_touches_are_checked(tmp_path):
    old = {**YEAR, dt.date(2025, 6, 1): {CSPS[0]: 10}}  # already published incomplete: not this update's doing
    assert check(tmp_path, old, {**old, dt.date(2026, 1, 1): every_csp()}) == []


def test_a_first_load_has_nothing_to_compare_with_but_a_future_month_still_warns(tmp_path):
    assert check(tmp_path, None, {dt.date(2025, 1, 1): {CSPS[0]: 1}, dt.date(2025, 3, 1): every_csp()}) == []
    future = check(tmp_path, None, {dt.date(2027, 1, 1): every_csp()})
    assert future == ["hidden_crime_monthly, Devon and Cornwall, January 2027: is after the current month "
                      "(December 2026); data cannot come from the future"]


def test_a_gap_the_update_creates_is_reported_once_as_a_run_of_months(tmp_path):
    gap = check(tmp_path, YEAR, {**YEAR, dt.date(2026, 4, 1): every_csp()})
    assert gap == ["hidden_crime_monthly, Devon and Cornwall, January 2026 to March 2026: no rows, a gap this update "
                   "makes inside the months with data"]
    holey = {m: v for m, v in YEAR.items() if m.month != 6}  # June 2025 was already missing
    assert check(tmp_path, holey, {**holey, dt.date(2026, 1, 1): every_csp()}) == []


def test_a_backfilled_month_is_compared_with_the_months_after_it(tmp_path):
    warnings = check(tmp_path, YEAR, {**YEAR, dt.date(2024, 12, 1): every_csp(10)})
    assert warnings == ["hidden_crime_monthly, Devon and Cornwall, December 2024: the total 80 is under half the "
                        "median of the following 12 months with data (800)"]


def police_uk_table(folder: Path, cells: list[tuple[str, str, str, int]]) -> Path:
    """police_uk_counts rows (month, force_code, area_code, count)."""
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({
        "month": pa.array([dt.date.fromisoformat(m + "-01") for m, *_ in cells], pa.date32()),
        "force_code": [f for _, f, _, _ in cells], "area_code": [a for _, _, a, _ in cells],
        "area_type": ["unassigned" if a.startswith("UNASSIGNED") else "csp" for _, _, a, _ in cells],
        "crime_type": ["Burglary"] * len(cells), "count": pa.array([n for *_, n in cells], pa.int64())}),
        folder / "police_uk_counts.parquet")
    return folder


def test_each_force_is_compared_with_its_own_months_and_a_new_force_is_a_first_load(tmp_path):
    other = config.force_by_code("E23000039")  # Dorset
    old = [(m, FORCE.code, c, 50) for m in ("2025-01", "2025-02", "2025-03") for c in CSPS]
    new = old + [("2025-04", FORCE.code, c, 50) for c in CSPS[:7]]
    new += [("2025-04", other.code, other.csps[0].code, 3)]  # Dorset's first month here: nothing to compare
    warnings = update_report.completeness(police_uk_table(tmp_path / "old", old),
                                          police_uk_table(tmp_path / "new", new), {"police_uk_counts"}, today=TODAY)
    assert warnings == [f"police_uk_counts, Devon and Cornwall, April 2025: 1 of 8 CSPs have no rows "
                        f"({NAMES[CSPS[7]]})"]


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A data folder with a year of hidden crimes for every CSP (all six strands)."""
    from measures.data.ingest import hidden_crime

    rows = [[f"{m:%Y-%m}", code, strand, "40"] for m in months("2025-01", "2025-12") for code in CSPS
            for strand in hidden_crime.STRANDS]
    data_dir = tmp_path / "data"
    hidden_crime.ingest([write(tmp_path / "year" / "hidden_crime_2025.csv", hidden_crime.COLUMNS, rows)], data_dir)
    return data_dir


def test_public_changes_say_the_latest_month_and_the_figures_that_move(published, tmp_path):
    from measures.data.ingest import hidden_crime

    rows = [["2025-06", code, strand, "400" if code == CSPS[0] else "40"] for code in CSPS
            for strand in hidden_crime.STRANDS]  # one CSP's June, ten times as high, in every strand
    rows += [["2026-01", code, strand, "40"] for code in CSPS for strand in hidden_crime.STRANDS]
    extract = write(tmp_path / "in" / "hidden_crime_update.csv", hidden_crime.COLUMNS, rows)
    candidate = publishing.validate_paths("hidden-crime", [extract], published, work_root=tmp_path / "work")
    try:
        assert candidate.warnings == []
        report = candidate.public
        assert report is not None and report.force == FORCE.name
        changed = {m.measure_id: m for m in report.measures}
        domestic = changed["hidden_domestic_abuse"]
        assert (domestic.latest_before, domestic.latest_after) == ("Dec 2025", "Jan 2026")
        # June: the CSP and the force move outside their old intervals; nothing else does.
        assert domestic.moved == 2
        assert domestic.examples[0].startswith(f"{NAMES[CSPS[0]]}, Jun 2025: "), domestic.examples  # the largest first
        assert "95% interval was" in domestic.examples[0]
        lines = "\n".join(report.lines())
        assert "Reported domestic abuse: latest period Dec 2025 -> Jan 2026; 2 of" in lines
        assert not any(m.measure_id.startswith(("calls_", "reoffend", "ons_")) for m in report.measures)
    finally:
        publishing.discard(candidate)
