"""The three input contracts (docs/input-contracts.md), enforced on load.

For each of calls-101, reoffending and hidden-crime: wrong header, random bytes, empty
file, header only, broken row and bad values are refused with a message naming the file
(and the line), and leave the data folder byte-for-byte as it was; unknown areas are
kept as unassigned and reported; loading again replaces, never doubles. Also the query
files over the tables (force = CSPs + unassigned; no rows for periods with no data).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from measures.core import pipeline
from measures.data import config, db
from measures.data.ingest import IngestError, calls_101, hidden_crime, reoffending
from measures.paths import REPO_ROOT
from tests.conftest import tree_hash

FORCE = config.load_force()
CSPS = sorted(a.code for a in FORCE.csps)
DISTRICT, DISTRICT_NAME, DISTRICT_CSP = min(FORCE.districts)
UNASSIGNED = config.unassigned_code(FORCE.code)
_lookup = config.districts()
OTHER_DISTRICT = _lookup.loc[(_lookup["pfa_code"] != FORCE.code) & _lookup["lad_code"].str.match(r"E0[6-9]"),
                             "lad_code"].iloc[0]
OTHER_CSP = _lookup.loc[(_lookup["pfa_code"] != FORCE.code) & (_lookup["csp_code"] != ""), "csp_code"].iloc[0]


# --------------------------------------------------------------------------- sample files

def calls_rows(month: str = "2024-08", n: int = 12) -> list[list[str]]:
    rows = []
    for i in range(n):
        received = f"{month}-{1 + i % 28:02d}T10:{i % 60:02d}:00"
        outcome = ("answered", "answered", "abandoned", "call_back")[i % 4]
        answered = f"{month}-{1 + i % 28:02d}T10:{i % 60:02d}:{30 + i % 20:02d}" if outcome == "answered" else ""
        ended = f"{month}-{1 + i % 28:02d}T11:{i % 60:02d}:00"
        csp = CSPS[i % len(CSPS)] if i % 5 else ""
        rows.append([f"{month.replace('-', '')}{i:06d}", received, answered, ended, outcome, "general", csp])
    return rows


def reoffending_rows(start: str = "2023-04-01", end: str = "2023-06-30") -> list[list[str]]:
    rows = []
    for lad, name, _ in sorted(FORCE.districts):
        rows.append([lad, name, "adult", start, end, "100", "25", "90"])
        rows.append([lad, name, "juvenile", start, end, "10", "3", "9"])
    return rows


def hidden_rows(month: str = "2024-07") -> list[list[str]]:
    return [[month, csp, strand, str(3 + i)] for strand in hidden_crime.STRANDS for i, csp in enumerate(CSPS)]


SOURCES = {
    "calls-101": (calls_101, "calls_101_2024-08.csv", calls_101.COLUMNS, calls_rows),
    "reoffending": (reoffending, "reoffending_cohorts.csv", reoffending.COLUMNS, reoffending_rows),
    "hidden-crime": (hidden_crime, "hidden_crime_extract.csv", hidden_crime.COLUMNS, hidden_rows),
}
TABLES = {"calls-101": "calls_101_monthly", "reoffending": "reoffending_cohorts", "hidden-crime": "hidden_crime_monthly"}


def write(path: Path, columns: list[str], rows: list[list[str]], eol: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(eol.join([",".join(columns), *(",".join(r) for r in rows)]) + eol)
    return path




def _load_all(folder: Path) -> Path:
    data_dir = folder / "data"
    for source, (module, name, columns, rows) in SOURCES.items():
        module.ingest([write(folder / "good" / source / name, columns, rows())], data_dir)
    return data_dir


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with one valid load of each source, shared by tests that must not change it."""
    return _load_all(tmp_path_factory.mktemp("loaded"))


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """The same, for a test that loads more into it."""
    return _load_all(tmp_path)


def refused(module, path: Path, data_dir: Path) -> IngestError:
    before = tree_hash(data_dir)
    with pytest.raises(IngestError) as caught:
        module.ingest([path], data_dir)
    assert tree_hash(data_dir) == before, "a refused ingest changed the data folder"
    message = str(caught.value)
    assert path.name in message and "\n" not in message
    return caught.value


# --------------------------------------------------------------------------- whole-file problems

@pytest.mark.parametrize("source", SOURCES)
def test_wrong_header_refused(source: str, tmp_path: Path, loaded: Path) -> None:
    module, name, columns, rows = SOURCES[source]
    bad = write(tmp_path / "bad" / name, [*columns[:-1], "something_else"], rows())
    error = refused(module, bad, loaded)
    assert "header" in error.problem and error.line == 1


@pytest.mark.parametrize("source", SOURCES)
def test_reordered_header_refused(source: str, tmp_path: Path, loaded: Path) -> None:
    module, name, columns, rows = SOURCES[source]
    bad = write(tmp_path / "bad" / name, [columns[1], columns[0], *columns[2:]], rows())
    assert "header" in refused(module, bad, loaded).problem


@pytest.mark.parametrize("source", SOURCES)
def test_random_bytes_refused(source: str, tmp_path: Path, loaded: Path) -> None:
    module, name, _, _ = SOURCES[source]
    bad = tmp_path / "bad" / name
    bad.parent.mkdir(parents=True)
    bad.write_bytes(np.random.default_rng(1).bytes(4096) + b"\x00")
    assert "binary" in refused(module, bad, loaded).problem


@pytest.mark.parametrize("source", SOURCES)
def test_random_text_bytes_refused(source: str, tmp_path: Path, loaded: Path) -> None:
    module, name, _, _ = SOURCES[source]
    bad = tmp_path / "bad" / name
    bad.parent.mkdir(parents=True)
    bad.write_bytes(bytes(np.random.default_rng(2).integers(1, 256, size=4096, dtype=np.uint8)))
    refused(module, bad, loaded)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file_refused(source: str, content: bytes, tmp_path: Path, loaded: Path) -> None:
    module, name, _, _ = SOURCES[source]
    bad = tmp_path / "bad" / name
    bad.parent.mkdir(parents=True)
    bad.write_bytes(content)
    assert "empty" in refused(module, bad, loaded).problem


@pytest.mark.parametrize("source", SOURCES)
def test_header_only_refused(source: str, tmp_path: Path, loaded: Path) -> None:
    module, name, columns, _ = SOURCES[source]
    bad = write(tmp_path / "bad" / name, columns, [])
    assert "no rows" in refused(module, bad, loaded).problem


@pytest.mark.parametrize("source", SOURCES)
def test_broken_row_refused_with_line(source: str, tmp_path: Path, loaded: Path) -> None:
    module, name, columns, rows = SOURCES[source]
    good = rows()
    good[4] = [*good[4], "extra"]
    error = refused(module, write(tmp_path / "bad" / name, columns, good, eol="\r\n"), loaded)
    assert error.line == 6 and "fields" in error.problem


@pytest.mark.parametrize("source", SOURCES)
def test_one_bad_file_among_good_ones_refuses_all(source: str, tmp_path: Path) -> None:
    module, name, columns, rows = SOURCES[source]
    data_dir = tmp_path / "data"
    good = write(tmp_path / "in" / "a" / name, columns, rows())
    bad_rows = rows()
    bad_rows[0][0] = ""
    bad = write(tmp_path / "in" / "b" / name, columns, bad_rows)
    with pytest.raises(IngestError) as caught:
        module.ingest([good.parent.parent], data_dir)
    assert str(bad) in str(caught.value) and caught.value.line == 2
    assert not data_dir.exists(), "a refused first ingest left a data folder behind"


def test_no_matching_files_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestError, match="no input files"):
        calls_101.ingest([tmp_path / "empty"], tmp_path / "data")


# --------------------------------------------------------------------------- bad values

def _set(rows: list[list[str]], columns: list[str], index: int, **values: str) -> list[list[str]]:
    for column, value in values.items():
        rows[index][columns.index(column)] = value
    return rows


CALL_CASES = [
    ({"call_id": ""}, "call_id is empty"),
    ({"received_at": "01/08/2024 10:00"}, "received_at '01/08/2024 10:00' is not a date and time"),
    ({"received_at": "2024-08-01T10:00:00+01:00"}, "is not a date and time"),
    ({"received_at": "2024-08-32T10:00:00"}, "is not a date and time"),
    ({"received_at": "2024-07-31T23:59:00", "answered_at": "", "outcome": "abandoned"},
     "not in 2024-08, the month in the file name"),
    ({"outcome": "hung up"}, "outcome 'hung up' is not one of answered, abandoned, call_back"),
    ({"outcome": "answered", "answered_at": ""}, "an answered call has no answered_at"),
    ({"outcome": "abandoned", "answered_at": "2024-08-05T10:04:40"}, "has an answered_at"),
    ({"outcome": "answered", "answered_at": "2024-08-05T09:00:00"}, "answered_at is before received_at"),
    ({"outcome": "answered", "answered_at": "2024-08-05T10:04:40", "ended_at": "2024-08-05T10:04:39"},
     "ended_at is before answered_at"),
    ({"ended_at": "2024-08-07T10:00:00"}, "more than a day"),
    ({"ended_at": ""}, "ended_at empty is not a date and time"),
    ({"queue": ""}, "queue is empty"),
    ({"caller_csp_code": "Cornwall"}, "caller_csp_code 'Cornwall' is not an ONS area code"),
]


@pytest.mark.parametrize(("values", "expected"), CALL_CASES)
def test_calls_bad_value_refused_with_line(values: dict, expected: str, tmp_path: Path, loaded: Path) -> None:
    rows = _set(calls_rows(), calls_101.COLUMNS, 4, **values)  # row 4 is received on 2024-08-05
    error = refused(calls_101, write(tmp_path / "bad" / "calls_101_2024-08.csv", calls_101.COLUMNS, rows), loaded)
    assert expected in error.problem
    assert error.line == 6  # header is line 1, data row 0 is line 2


def test_calls_line_counts_blank_lines_and_quoted_newlines(tmp_path: Path, loaded: Path) -> None:
    lines = [",".join(calls_101.COLUMNS)]
    rows = calls_rows()
    rows[1][5] = '"general\nqueue"'
    rows[6][4] = "lost"
    lines += [",".join(r) for r in rows[:3]] + [""] + [",".join(r) for r in rows[3:]]
    path = tmp_path / "bad" / "calls_101_2024-08.csv"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n")
    # header 1, rows 0-2 on lines 2-5 (row 1 spans two lines), blank line 6, row 3 on 7: row 6 on 10
    assert refused(calls_101, path, loaded).line == 10


def test_calls_duplicate_id_refused(tmp_path: Path, loaded: Path) -> None:
    rows = calls_rows()
    rows[7][0] = rows[2][0]
    error = refused(calls_101, write(tmp_path / "bad" / "calls_101_2024-08.csv", calls_101.COLUMNS, rows), loaded)
    assert "given twice" in error.problem and "line 4" in error.problem and error.line == 9


def test_calls_duplicate_id_across_files_refused(tmp_path: Path) -> None:
    first = write(tmp_path / "in" / "calls_101_2024-08.csv", calls_101.COLUMNS, calls_rows())
    again = calls_rows("2024-09")
    again[3][0] = calls_rows()[1][0]
    second = write(tmp_path / "in" / "calls_101_2024-09.csv", calls_101.COLUMNS, again)
    with pytest.raises(IngestError) as caught:
        calls_101.ingest([first, second], tmp_path / "data")
    assert str(second) in str(caught.value) and str(first) in str(caught.value) and caught.value.line == 5


REOFFENDING_CASES = [
    ({"geography_code": ""}, "geography_code is empty"),
    ({"geography_code": "Plymouth"}, "is not an ONS district code"),
    ({"geography_code": "E10000008"}, "is a county, not a district"),
    ({"geography_code": FORCE.code}, "is a police force area, not a district"),
    ({"geography_code": CSPS[0]}, "is a CSP, not a district"),
    ({"adult_juvenile": "youth"}, "adult_juvenile 'youth' is not adult or juvenile"),
    ({"cohort_start": "01/04/2023"}, "cohort_start '01/04/2023' is not a date"),
    ({"cohort_start": "2023-05-01", "cohort_end": "2023-07-31"}, "is not the first day of a quarter"),
    ({"cohort_end": "2023-09-30"}, "is not the last day of the quarter starting 2023-04-01 (expected 2023-06-30)"),
    ({"offenders": "-3"}, "offenders '-3' is not a whole number"),
    ({"offenders": "*"}, "offenders '*' is not a whole number"),
    ({"reoffenders": "2.5"}, "reoffenders '2.5' is not a whole number"),
    ({"reoffences": ""}, "reoffences empty is not a whole number"),
    ({"offenders": "10", "reoffenders": "11"}, "reoffenders (11) is more than offenders (10)"),
    ({"reoffenders": "5", "reoffences": "4"}, "reoffences (4) is fewer than reoffenders (5)"),
]


@pytest.mark.parametrize(("values", "expected"), REOFFENDING_CASES)
def test_reoffending_bad_value_refused_with_line(values: dict, expected: str, tmp_path: Path, loaded: Path) -> None:
    rows = _set(reoffending_rows(), reoffending.COLUMNS, 5, **values)
    error = refused(reoffending, write(tmp_path / "bad" / "reoffending_x.csv", reoffending.COLUMNS, rows), loaded)
    assert expected in error.problem
    assert error.line == 7


def test_reoffending_duplicate_cohort_refused(tmp_path: Path, loaded: Path) -> None:
    rows = reoffending_rows()
    rows.append(list(rows[3]))
    error = refused(reoffending, write(tmp_path / "bad" / "reoffending_x.csv", reoffending.COLUMNS, rows), loaded)
    assert "given twice" in error.problem and error.line == len(rows) + 1


HIDDEN_CASES = [
    ({"month": "July 2024"}, "month 'July 2024' is not a month as YYYY-MM"),
    ({"month": "2024-13"}, "is not a month"),
    ({"month": "2024-07-15"}, "is not a month"),
    ({"month": "1999-12"}, "out of range"),
    ({"area_code": "Exeter"}, "area_code 'Exeter' is not an ONS CSP or district code"),
    ({"area_code": FORCE.code}, "is a police force area"),
    ({"strand": "burglary"}, "strand 'burglary' is not one of domestic_abuse"),
    ({"count": "-1"}, "count '-1' is not a whole number"),
    ({"count": "1,234"}, "fields"),  # an unquoted thousands separator breaks the row
    ({"count": "n/a"}, "count 'n/a' is not a whole number"),
]


@pytest.mark.parametrize(("values", "expected"), HIDDEN_CASES)
def test_hidden_bad_value_refused_with_line(values: dict, expected: str, tmp_path: Path, loaded: Path) -> None:
    rows = _set(hidden_rows(), hidden_crime.COLUMNS, 9, **values)
    error = refused(hidden_crime, write(tmp_path / "bad" / "hidden_crime_x.csv", hidden_crime.COLUMNS, rows), loaded)
    assert expected in error.problem
    assert error.line == 11


def test_hidden_duplicate_and_csp_with_districts_refused(tmp_path: Path, loaded: Path) -> None:
    rows = hidden_rows()
    rows.append(list(rows[2]))
    error = refused(hidden_crime, write(tmp_path / "bad" / "hidden_crime_x.csv", hidden_crime.COLUMNS, rows), loaded)
    assert "given twice" in error.problem and error.line == len(rows) + 1
    rows = hidden_rows()
    rows.append(["2024-07", DISTRICT, "hate_crime", "2"])
    error = refused(hidden_crime, write(tmp_path / "bad" / "hidden_crime_y.csv", hidden_crime.COLUMNS, rows), loaded)
    assert "for its districts" in error.problem and error.line == len(rows) + 1


# --------------------------------------------------------------------------- unknown areas

def _table(data_dir: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(data_dir / "current" / f"{table}.parquet")


def test_calls_unknown_areas_kept_and_reported(tmp_path: Path) -> None:
    rows = calls_rows(n=20)
    for i in (3, 7, 8):
        rows[i][6] = "E99999999"
    rows[9][6] = OTHER_CSP
    rows[11][6] = DISTRICT  # a district of the force counts in its CSP
    data_dir = tmp_path / "data"
    report = str(calls_101.ingest([write(tmp_path / "calls_101_2024-08.csv", calls_101.COLUMNS, rows)], data_dir))
    assert "E99999999 (3 calls)" in report and f"{OTHER_CSP} (1 calls)" in report
    no_csp = sum(1 for r in rows if r[6] == "")
    assert f"no caller CSP (counted as unassigned): {no_csp}" in report
    table = _table(data_dir, "calls_101_monthly")
    assert table["calls"].sum() == 20
    assert table.set_index("area_code").loc[UNASSIGNED, "calls"] == no_csp + 4
    expected_csp = sum(1 for r in rows if r[6] == DISTRICT_CSP) + 1
    assert table.set_index("area_code").loc[DISTRICT_CSP, "calls"] == expected_csp


def test_reoffending_unknown_district_kept_and_reported(tmp_path: Path) -> None:
    rows = [*reoffending_rows(), [OTHER_DISTRICT, "Elsewhere", "adult", "2023-04-01", "2023-06-30", "40", "9", "30"]]
    data_dir = tmp_path / "data"
    report = str(reoffending.ingest([write(tmp_path / "reoffending.csv", reoffending.COLUMNS, rows)], data_dir))
    assert f"{OTHER_DISTRICT} (1 rows, 40 offenders)" in report
    table = _table(data_dir, "reoffending_cohorts")
    row = table[table["lad_code"] == OTHER_DISTRICT].iloc[0]
    assert row["area_code"] == UNASSIGNED and row["offenders"] == 40
    assert table["offenders"].sum() == sum(int(r[5]) for r in rows)
    assert set(table.loc[table["lad_code"] == DISTRICT, "area_code"]) == {DISTRICT_CSP}


def test_hidden_unknown_and_empty_areas_kept_and_reported(tmp_path: Path) -> None:
    rows = [*hidden_rows(), ["2024-07", "", "hate_crime", "4"], ["2024-07", "E99999999", "hate_crime", "2"],
            ["2024-07", OTHER_CSP, "domestic_abuse", "5"], ["2024-07", DISTRICT, "modern_slavery", "0"]]
    rows = [r for r in rows if not (r[1] == DISTRICT_CSP and r[2] == "modern_slavery")]
    data_dir = tmp_path / "data"
    report = str(hidden_crime.ingest([write(tmp_path / "hidden_crime.csv", hidden_crime.COLUMNS, rows)], data_dir))
    assert "no area_code (counted as unassigned): 1 rows, 4 records" in report
    assert "E99999999 (1 rows, 2 records)" in report and f"{OTHER_CSP} (1 rows, 5 records)" in report
    table = _table(data_dir, "hidden_crime_monthly").set_index(["area_code", "strand"])["count"]
    assert table[(UNASSIGNED, "hate_crime")] == 6 and table[(UNASSIGNED, "domestic_abuse")] == 5
    assert table[(DISTRICT_CSP, "modern_slavery")] == 0


# --------------------------------------------------------------------------- loading again

def test_loading_the_same_files_twice_changes_nothing(tmp_path: Path, fresh: Path) -> None:
    before = tree_hash(fresh)
    for source, (module, name, columns, rows) in SOURCES.items():
        module.ingest([write(tmp_path / "again" / source / name, columns, rows())], fresh)
    assert tree_hash(fresh) == before


@pytest.mark.parametrize("source", SOURCES)
def test_reloading_a_period_replaces_it(source: str, tmp_path: Path, fresh: Path) -> None:
    module, name, columns, rows = SOURCES[source]
    table = TABLES[source]
    first = _table(fresh, table)
    changed = rows()
    count_column = {"calls-101": None, "reoffending": "offenders", "hidden-crime": "count"}[source]
    if count_column is None:
        changed = changed[:5]
    else:
        for row in changed:
            row[columns.index(count_column)] = str(int(row[columns.index(count_column)]) + 1)
    module.ingest([write(tmp_path / "changed" / name, columns, changed)], fresh)
    second = _table(fresh, table)
    assert len(second) <= len(first)
    total = {"calls-101": "calls", "reoffending": "offenders", "hidden-crime": "count"}[source]
    expected = 5 if source == "calls-101" else first[total].sum() + len(changed)
    assert second[total].sum() == expected


def test_other_periods_are_kept(tmp_path: Path, fresh: Path) -> None:
    calls_101.ingest([write(tmp_path / "sep" / "calls_101_2024-09.csv", calls_101.COLUMNS, calls_rows("2024-09", 7))],
                     fresh)
    reoffending.ingest([write(tmp_path / "q" / "reoffending.csv", reoffending.COLUMNS,
                              reoffending_rows("2023-07-01", "2023-09-30"))], fresh)
    hidden_crime.ingest([write(tmp_path / "h" / "hidden_crime.csv", hidden_crime.COLUMNS,
                               [r for r in hidden_rows("2024-07") if r[2] == "hate_crime"])], fresh)
    calls = _table(fresh, "calls_101_monthly").groupby("month")["calls"].sum()
    assert calls[dt.date(2024, 8, 1)] == 12 and calls[dt.date(2024, 9, 1)] == 7
    assert _table(fresh, "reoffending_cohorts")["cohort_start"].nunique() == 2
    hidden = _table(fresh, "hidden_crime_monthly")
    assert set(hidden["strand"]) == set(hidden_crime.STRANDS)


def test_illustrative_flag(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    calls_101.ingest([write(tmp_path / "calls_101_2024-08.csv", calls_101.COLUMNS, calls_rows())], data_dir,
                     illustrative=True)
    assert _table(data_dir, "calls_101_monthly")["illustrative"].all()
    manifest = (data_dir / "current" / "manifest.json").read_text()
    assert '"illustrative": true' in manifest
    calls_101.ingest([write(tmp_path / "calls_101_2024-09.csv", calls_101.COLUMNS, calls_rows("2024-09"))], data_dir)
    flags = _table(data_dir, "calls_101_monthly").groupby("month")["illustrative"].all()
    assert flags[dt.date(2024, 8, 1)] and not flags[dt.date(2024, 9, 1)]


# --------------------------------------------------------------------------- the tidy tables

def test_calls_monthly_figures(tmp_path: Path) -> None:
    rows = [
        ["1", "2024-08-01T10:00:00", "2024-08-01T10:05:00", "2024-08-01T10:10:00", "answered", "general", CSPS[0]],
        ["2", "2024-08-01T10:00:00", "2024-08-01T10:30:00", "2024-08-01T10:40:00", "answered", "general", CSPS[0]],
        ["3", "2024-08-01T10:00:00", "2024-08-01T10:20:00", "2024-08-01T10:40:00", "answered", "general", CSPS[0]],
        ["4", "2024-08-03T23:00:00", "", "2024-08-03T23:10:00", "abandoned", "general", CSPS[0]],
        ["5", "2024-08-05 09:00:00", "", "2024-08-05 09:01:00", "call_back", "general", CSPS[0]],
    ]
    data_dir = tmp_path / "data"
    calls_101.ingest([write(tmp_path / "calls_101_2024-08.csv", calls_101.COLUMNS, rows)], data_dir)
    row = _table(data_dir, "calls_101_monthly").iloc[0]
    assert (row["calls"], row["answered"], row["abandoned"], row["call_back"]) == (5, 3, 1, 1)
    assert row["answered_within_20min"] == 2  # 5 and exactly 20 minutes
    assert row["answered_within_10min"] == 1  # 5 minutes; 20 and 30 are over 10
    assert row["wait_minutes_sum"] == pytest.approx(55) and row["wait_minutes_sumsq"] == pytest.approx(25 + 900 + 400)
    by_hour = _table(data_dir, "calls_101_weekday_hour").set_index(["weekday", "hour"])
    assert by_hour.loc[(3, 10), "calls"] == 3 and by_hour.loc[(5, 23), "calls"] == 1 and by_hour.loc[(0, 9), "calls"] == 1
    assert by_hour.loc[(3, 10), "wait_minutes_sum"] == pytest.approx(55)


# --------------------------------------------------------------------------- queries

def _query(data_dir: Path, name: str, **params) -> pd.DataFrame:
    con = db.connect(data_dir, lockdown=False)
    base = {"force": FORCE.code, "from": dt.date(2000, 1, 1), "to": dt.date(2100, 1, 1)}
    return pipeline.query_with_force(con, name, {**base, **params})  # the force row: added once, there


def test_queries_force_is_sum_of_csps_and_unassigned(tmp_path: Path, fresh: Path) -> None:
    calls_101.ingest([write(tmp_path / "u" / "calls_101_2024-10.csv", calls_101.COLUMNS, calls_rows("2024-10"))],
                     fresh)
    for name, params in [("calls_101_mean_wait", {}), ("calls_101_answered_within", {"minutes": 20}),
                         ("calls_101_answered_within", {"minutes": 10}),
                         ("calls_101_abandoned", {}), ("reoffending_rate", {"offender_type": "all"}),
                         ("reoffending_rate", {"offender_type": "adult"}),
                         ("reoffences_per_reoffender", {"offender_type": "juvenile"}),
                         ("hidden_crime_monthly", {"strand": "hate_crime"})]:
        frame = _query(fresh, name, **params)
        assert list(frame.columns[:6]) == ["period_start", "period_end", "area_code", "area_type", "numerator",
                                           "denominator"], name
        assert set(frame["area_type"]) <= {"force", "csp", "unassigned"}
        for _, period in frame.groupby("period_start"):
            force = period[period["area_type"] == "force"]
            assert len(force) == 1 and force["area_code"].iloc[0] == FORCE.code
            parts = period[period["area_type"] != "force"]
            assert force["numerator"].iloc[0] == pytest.approx(parts["numerator"].sum()), name
            if name != "hidden_crime_monthly":
                assert force["denominator"].iloc[0] == pytest.approx(parts["denominator"].sum()), name
    hidden = _query(fresh, "hidden_crime_monthly", strand="hate_crime")
    population = {a.code: a.population for a in FORCE.csps} | {FORCE.code: FORCE.population}
    for row in hidden.itertuples():
        assert row.denominator == population[row.area_code]
    wait = _query(fresh, "calls_101_mean_wait")
    assert "numerator_sq" in wait.columns and (wait["numerator_sq"] >= 0).all()


def test_queries_have_no_rows_for_periods_without_data(loaded: Path) -> None:
    frame = _query(loaded, "calls_101_abandoned", **{"from": dt.date(2024, 9, 1), "to": dt.date(2025, 9, 1)})
    assert frame.empty
    frame = _query(loaded, "calls_101_abandoned", **{"from": dt.date(2024, 8, 1), "to": dt.date(2024, 8, 1)})
    assert set(frame["period_start"]) == {pd.Timestamp("2024-08-01")}
    assert set(frame["period_end"]) == {pd.Timestamp("2024-08-31")}
    cohorts = _query(loaded, "reoffending_rate", offender_type="adult")
    assert set(cohorts["period_end"]) == {pd.Timestamp("2023-06-30")}
    assert _query(loaded, "hidden_crime_monthly", strand="hate_crime", to=dt.date(2024, 6, 1)).empty
    assert _query(loaded, "hidden_crime_monthly", strand="nothing_like_this").empty
    other = _lookup.loc[_lookup["pfa_code"] != FORCE.code, "pfa_code"].iloc[0]
    assert _query(loaded, "calls_101_mean_wait", force=other).empty


def test_query_files_describe_their_columns() -> None:
    for name in ("calls_101_mean_wait", "calls_101_answered_within", "calls_101_abandoned",
                 "reoffending_rate", "reoffences_per_reoffender", "hidden_crime_monthly"):
        text = (REPO_ROOT / "queries" / f"{name}.sql").read_text()
        header = "\n".join(line for line in text.splitlines() if line.startswith("--"))
        for column in ("period_start", "period_end", "area_code", "area_type", "numerator", "denominator"):
            assert f"--   {column}" in header, (name, column)
        code = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
        shouted = re.findall(r"\b(SELECT|FROM|WHERE|GROUP BY|ORDER BY|JOIN|WITH|UNION|AS|AND|OR|CASE|SUM)\b", code)
        assert not shouted, (name, shouted)  # lower-case keywords


# --------------------------------------------------------------------------- command line

@pytest.mark.parametrize("source", SOURCES)
def test_cli_refuses_with_one_line_and_no_traceback(source: str, tmp_path: Path, loaded: Path) -> None:
    _, name, columns, rows = SOURCES[source]
    bad = write(tmp_path / "bad" / name, ["nope", *columns[1:]], rows())
    before = tree_hash(loaded)
    result = subprocess.run([sys.executable, "-m", "measures", "ingest", source, str(bad), "--data-dir", str(loaded)],
                            check=False, capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and str(bad) in result.stderr and "Traceback" not in result.stderr
    assert tree_hash(loaded) == before
