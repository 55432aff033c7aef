"""police.uk street-level ingest: the traps of the real files, refusals, and counts.

Small files in the exact police.uk layout are written in each test; the CLI is run as
an analyst would run it. A test on the real raw files (skipped when they are absent)
checks every month and CSP against a direct count with pandas, and a test on the
committed data folder checks which months it holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from measures.core import export, registry
from measures.data import config, db
from measures.data.ingest import IngestError, police_uk
from measures.paths import REPO_ROOT, SHARED_DATA_DIR
from tests.conftest import tree_hash

FORCE = "E23000035"
DC = "Devon & Cornwall Police"
DORSET, DORSET_NAME = "E23000039", "Dorset Police"
UNASSIGNED = f"UNASSIGNED-{FORCE}"
EXETER, PLYMOUTH, SCILLY = "E22000049", "E22000056", "E22000050"
HEADER = police_uk.COLUMNS
ASB = "Anti-social behaviour"


# --------------------------------------------------------------------------- sample files

def crime(month: str, lsoa_name: str = "Plymouth 001A", crime_type: str = "Burglary", *, lsoa_code: str = "E01015000",
          falls_within: str = DC, crime_id: str | None = None, location: bool = True) -> list[str]:
    if crime_type == ASB:
        crime_id = ""
    elif crime_id is None:
        crime_id = hashlib.sha256(f"{month}{lsoa_name}{crime_type}{os.urandom(4)}".encode()).hexdigest()
    if not location:
        return [crime_id, month, falls_within, falls_within, "", "", "No location", "", "", crime_type,
                "Under investigation" if crime_id else "", ""]
    name = f'"{lsoa_name}"' if "," in lsoa_name else lsoa_name
    return [crime_id, month, falls_within, falls_within, "-4.142000", "50.375000", "On or near Mayflower Street",
            lsoa_code, name, crime_type, "" if crime_type == ASB else "Unable to prosecute suspect", ""]


def month_rows(month: str = "2024-01") -> list[list[str]]:
    """A month of D&C rows: Plymouth 5 crimes + 3 ASB, Exeter (2021 code) 2, no location 2 + 1 ASB, London 1."""
    return [
        *(crime(month, "Plymouth 001A") for _ in range(3)),
        *(crime(month, "Plymouth 002B", "Violence and sexual offences") for _ in range(2)),
        *(crime(month, "Plymouth 001A", ASB) for _ in range(3)),
        *(crime(month, "Exeter 020F", "Shoplifting", lsoa_code="E01035000") for _ in range(2)),
        crime(month, crime_type="Other theft", location=False),
        crime(month, crime_type="Burglary", location=False),
        crime(month, crime_type=ASB, location=False),
        crime(month, "Wandsworth 012C", "Drugs", lsoa_code="E01004600"),
    ]


def write(path: Path, rows: list[list[str]], eol: str = "\n", header: list[str] = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((eol.join([",".join(header), *(",".join(r) for r in rows)]) + eol).encode())
    return path


def street(folder: Path, month: str, force: str = "devon-and-cornwall") -> Path:
    return folder / month / f"{month}-{force}-street.csv"




def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "measures", *args], check=False, capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120)


def counts(data_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(data_dir / "current" / f"{police_uk.COUNTS_TABLE}.parquet")


def by_area(data_dir: Path) -> pd.Series:
    return counts(data_dir).groupby(["month", "area_code"])["count"].sum()


def exported(data_dir: Path, measure: str = "recorded_crime", area: str | None = None,
             force: str | None = None) -> pd.DataFrame:
    """A measure as exported; with `force`, every area of that (not configured) force."""
    if force is None:
        frame = export.export(measure, data_dir=data_dir, area=area)
    else:
        frame = export.measure_frame(db.connect(data_dir), registry.get(measure), force, None, None)
    frame["month"] = pd.to_datetime(frame["period_start"]).dt.strftime("%Y-%m")
    return frame


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with two months published, for tests that must not change it."""
    folder = tmp_path_factory.mktemp("published")
    police_uk.ingest([write(street(folder / "in", m), month_rows(m)) for m in ("2024-01", "2024-02")],
                     folder / "data")
    return folder / "data"


# --------------------------------------------------------------------------- the traps

def test_crlf_and_lf_give_the_same_counts(tmp_path: Path) -> None:
    rows = month_rows()
    police_uk.ingest([write(street(tmp_path / "lf", "2024-01"), rows, "\n")], tmp_path / "a")
    police_uk.ingest([write(street(tmp_path / "crlf", "2024-01"), rows, "\r\n")], tmp_path / "b")
    assert (street(tmp_path / "crlf", "2024-01").read_bytes().count(b"\r\n") == len(rows) + 1)
    lf, crlf = counts(tmp_path / "a"), counts(tmp_path / "b")
    assert lf["count"].sum() == len(rows)
    pd.testing.assert_frame_equal(lf, crlf)
    # both kinds in one ingest, side by side
    police_uk.ingest([write(street(tmp_path / "mixed", "2024-03"), month_rows("2024-03"), "\r\n"),
                      write(street(tmp_path / "mixed", "2024-04"), month_rows("2024-04"), "\n")], tmp_path / "c")
    assert counts(tmp_path / "c").groupby("month")["count"].sum().tolist() == [len(rows), len(rows)]


def test_asb_rows_with_empty_crime_id_are_counted(tmp_path: Path) -> None:
    rows = month_rows()
    assert all(r[0] == "" for r in rows if r[9] == ASB)
    police_uk.ingest([write(street(tmp_path, "2024-01"), rows)], tmp_path / "data")
    table = counts(tmp_path / "data")
    assert table.loc[table["crime_type"] == ASB, "count"].sum() == 4
    asb = exported(tmp_path / "data", "anti_social_behaviour").set_index("area_code")["numerator"]
    assert asb[PLYMOUTH] == 3 and asb[UNASSIGNED] == 1 and asb[FORCE] == 4


def test_rows_without_location_are_unassigned_in_export(tmp_path: Path) -> None:
    rows = [crime("2024-01", "Plymouth 001A") for _ in range(4)] + [
        crime("2024-01", crime_type="Burglary", location=False) for _ in range(3)]
    data_dir = tmp_path / "data"
    police_uk.ingest([write(street(tmp_path, "2024-01"), rows)], data_dir)
    result = cli("export", "recorded_crime", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout))
    unassigned = frame[frame["area_type"] == "unassigned"]
    assert unassigned["area_code"].tolist() == [UNASSIGNED] and unassigned["numerator"].tolist() == [3]
    assert frame.set_index("area_code").loc[FORCE, "numerator"] == 7
    unmatched = pd.read_parquet(data_dir / "current" / f"{police_uk.UNMATCHED_TABLE}.parquet")
    assert unmatched.set_index("reason")["rows"].to_dict() == {"no location": 3}


def test_a_month_without_a_single_location_loads(tmp_path: Path) -> None:
    rows = [crime("2024-01", crime_type="Burglary", location=False) for _ in range(3)]
    police_uk.ingest([write(street(tmp_path / "in", "2024-01"), rows)], tmp_path / "data")
    assert by_area(tmp_path / "data").to_dict() == {(dt.date(2024, 1, 1), UNASSIGNED): 3}
    assert pd.read_parquet(tmp_path / "data" / "current" / f"{police_uk.HEX_TABLE}.parquet").empty


def test_2021_lsoa_code_maps_through_the_name(tmp_path: Path) -> None:
    rows = [crime("2024-01", "Exeter 020F", lsoa_code="E01035000") for _ in range(5)]
    police_uk.ingest([write(street(tmp_path, "2024-01"), rows)], tmp_path / "data")
    table = counts(tmp_path / "data")
    assert table["area_code"].tolist() == [EXETER] and table["count"].tolist() == [5]


def test_lsoa_outside_the_force_is_unassigned(tmp_path: Path) -> None:
    rows = [crime("2024-01", "Wandsworth 012C", lsoa_code="E01004600"), crime("2024-01", "Plymouth 001A")]
    data_dir = tmp_path / "data"
    report = str(police_uk.ingest([write(street(tmp_path, "2024-01"), rows)], data_dir))
    assert by_area(data_dir).droplevel(0).to_dict() == {PLYMOUTH: 1, UNASSIGNED: 1}
    assert "outside force area: 1" in report


def test_unknown_district_reported_by_name_and_kept(tmp_path: Path) -> None:
    rows = [crime("2024-01", "Lyonesse 001A", lsoa_code="E01099999") for _ in range(2)] + [crime("2024-01")]
    data_dir = tmp_path / "data"
    result = cli("ingest", "police-uk", str(write(street(tmp_path, "2024-01"), rows)), "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "Lyonesse (2)" in result.stdout
    assert by_area(data_dir).droplevel(0).to_dict() == {PLYMOUTH: 1, UNASSIGNED: 2}


# --------------------------------------------------------------------------- loading again

def test_loading_a_month_twice_changes_nothing_and_a_correction_replaces_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    rows = month_rows()
    police_uk.ingest([write(street(tmp_path / "first", "2024-01"), rows),
                      write(street(tmp_path / "first", "2024-02"), month_rows("2024-02"))], data_dir)
    first, before = by_area(data_dir), tree_hash(data_dir)
    police_uk.ingest([write(street(tmp_path / "again", "2024-01"), rows)], data_dir)
    pd.testing.assert_series_equal(by_area(data_dir), first)
    assert tree_hash(data_dir) == before
    corrected = rows[:4]  # three Plymouth burglaries and one Plymouth violence
    police_uk.ingest([write(street(tmp_path / "corrected", "2024-01"), corrected)], data_dir)
    after = by_area(data_dir)
    assert after[dt.date(2024, 1, 1)].to_dict() == {PLYMOUTH: 4}
    pd.testing.assert_series_equal(after[dt.date(2024, 2, 1)], first[dt.date(2024, 2, 1)])


def test_csps_and_unassigned_add_up_to_the_force_every_month(published: Path) -> None:
    for measure in ("recorded_crime", "anti_social_behaviour", "violence_and_sexual_offences"):
        frame = exported(published, measure)
        assert sorted(frame["month"].unique()) == ["2024-01", "2024-02"]
        for _, month in frame.groupby("month"):
            force = month.loc[month["area_type"] == "force", "numerator"]
            assert len(force) == 1
            parts = month.loc[month["area_type"] != "force", "numerator"]
            assert force.iloc[0] == parts.sum(), measure
    crimes = exported(published).set_index(["month", "area_code"])["numerator"]
    # per month: Plymouth 3 + 2, Exeter 2, unassigned 2 without location + 1 in Wandsworth
    assert crimes[("2024-01", PLYMOUTH)] == 5 and crimes[("2024-01", EXETER)] == 2
    assert crimes[("2024-01", UNASSIGNED)] == 3 and crimes[("2024-01", FORCE)] == 10


# --------------------------------------------------------------------------- refusals

def _next_month() -> str:
    today = dt.date.today()
    return f"{today.year + today.month // 12}-{today.month % 12 + 1:02d}"


def _bad_file(kind: str, folder: Path) -> tuple[Path, str, int | None]:
    """A refused file, a word its message must contain, and the line it must name."""
    path = street(folder, "2024-03")
    rows = month_rows("2024-03")
    if kind == "wrong header":
        return write(path, rows, header=[*HEADER[:-1], "Notes"]), "header", 1
    if kind == "garbled row":
        rows[6] = [*rows[6], "extra"]
        return write(path, rows, "\r\n"), "fields", 8
    if kind == "random bytes":
        path.parent.mkdir(parents=True)
        path.write_bytes(os.urandom(4096))
        return path, "", None
    if kind == "empty file":
        path.parent.mkdir(parents=True)
        path.write_bytes(b"")
        return path, "empty", None
    if kind == "impossible month":
        rows[5][1] = "2024-13"
        return write(path, rows), "impossible month '2024-13'", 7
    if kind == "future month":
        month = _next_month()
        rows[2][1] = month
        return write(path, rows), f"impossible month '{month}'", 4
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["wrong header", "garbled row", "random bytes", "empty file", "impossible month",
                                  "future month"])
def test_cli_refuses_with_one_line_naming_the_file(kind: str, tmp_path: Path, published: Path) -> None:
    bad, expected, line = _bad_file(kind, tmp_path / "bad")
    before = tree_hash(published)
    result = cli("ingest", "police-uk", str(bad), "--data-dir", str(published))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    assert str(bad) in result.stderr and expected in result.stderr, result.stderr
    if line is not None:
        assert f"{bad}: line {line}:" in result.stderr, result.stderr
    assert tree_hash(published) == before, "a refused ingest changed the data folder"


def test_a_bad_file_among_good_ones_refuses_all(tmp_path: Path, published: Path) -> None:
    good = write(street(tmp_path / "in", "2024-05"), month_rows("2024-05"))
    bad_rows = month_rows("2024-06")
    bad_rows[3] = bad_rows[3][:11]  # 11 fields
    bad = write(street(tmp_path / "in", "2024-06"), bad_rows)
    before = tree_hash(published)
    with pytest.raises(IngestError) as caught:
        police_uk.ingest([tmp_path / "in"], published)
    assert str(bad) in str(caught.value) and caught.value.line == 5 and "\n" not in str(caught.value)
    assert str(good) not in str(caught.value)
    assert tree_hash(published) == before


def test_bad_utf8_in_a_column_not_counted_is_refused_with_its_line(tmp_path: Path) -> None:
    """The first read converts only the columns the counts need: the rest of the file is still checked."""
    rows = [row for _ in range(100) for row in month_rows()]  # past the 64 KiB the header check reads
    rows[-1][6] = "On or near Mayfl\udcffwer Street"  # a lone byte 0xFF
    path = write(street(tmp_path, "2024-01"), [])
    path.write_bytes("\n".join([",".join(HEADER), *(",".join(r) for r in rows)]).encode(errors="surrogateescape"))
    with pytest.raises(IngestError) as caught:
        police_uk.ingest([path], tmp_path / "data")
    assert "not valid UTF-8 text" in str(caught.value) and caught.value.line == len(rows) + 1, caught.value


def test_only_rows_equal_in_every_field_are_repeats(tmp_path: Path) -> None:
    """Rows sharing a Crime ID and all the columns the first read converts, but not a column it skips
    (Location), are two crimes as published; rows equal in every field are counted as repeats."""
    first = crime("2024-01", crime_id="a" * 64)
    moved = [*first[:6], "On or near Armada Way", *first[7:]]
    report = police_uk.ingest([write(street(tmp_path / "in", "2024-01"), [*month_rows(), first, moved])],
                              tmp_path / "data")
    assert "counted as police.uk publishes them" not in str(report)
    twice = police_uk.ingest([write(street(tmp_path / "in", "2024-01"), [*month_rows(), first, moved, first])],
                             tmp_path / "data")
    assert "counted as police.uk publishes them: 1" in str(twice)
    assert twice.rows == len(month_rows()) + 3


def test_repeats_are_found_where_lines_are_not_records(tmp_path: Path) -> None:
    """A blank line, or a line break inside a quoted field, and the same rows repeated: counted as where each
    record is one line (the whole file is read again to compare every field)."""
    first = crime("2024-01", crime_id="b" * 64)
    broken = [*first[:6], '"On or near\nArmada Way"', *first[7:]]
    rows = [*month_rows(), first, first, broken, broken]
    path = write(street(tmp_path / "in", "2024-01"), rows)
    lines = path.read_text().split("\n")
    path.write_text("\n".join([*lines[:3], "", *lines[3:]]))  # a blank line among the records
    report = police_uk.ingest([path], tmp_path / "data")
    assert "counted as police.uk publishes them: 2" in str(report), str(report)
    assert report.rows == len(rows)


def test_counting_by_sorting_gives_what_counting_by_table_gives() -> None:
    """_count_by counts with a table of every combination when they are few, else by sorting (a batch of many
    months, forces or cells): both give the same combinations and rows."""
    import numpy as np

    rng = np.random.default_rng(16)
    columns = [(rng.integers(0, 7, 5000), 7), (rng.integers(0, 40, 5000), 40), (rng.integers(0, 15, 5000), 15)]
    by_table, rows = police_uk._count_by(columns)
    wide = [(values, codes * 1000) for values, codes in columns]  # the same codes, far more combinations possible
    by_sort, sorted_rows = police_uk._count_by(wide)
    assert 7 * 40 * 15 <= 4 * 5000 + (1 << 16) < 7000 * 40000 * 15000  # one takes each path
    assert sorted(zip(*by_table, rows, strict=True)) == sorted(zip(*by_sort, sorted_rows, strict=True))
    assert rows.sum() == 5000 and len(rows) == len({tuple(v[i] for v, _ in columns) for i in range(5000)})


# --------------------------------------------------------------------------- a second force

def test_second_force_ingests_beside_the_first(tmp_path: Path, published: Path) -> None:
    data_dir = tmp_path / "data"
    police_uk.ingest([write(street(tmp_path / "dc", "2024-01"), month_rows())], data_dir)
    dorset = [crime("2024-01", "Dorset 001A", "Burglary", lsoa_code="E01020400", falls_within=DORSET_NAME)
              for _ in range(6)]
    dorset += [crime("2024-01", crime_type="Robbery", falls_within=DORSET_NAME, location=False)]
    police_uk.ingest([write(street(tmp_path / "dorset", "2024-01", "dorset"), dorset)], data_dir)
    result = cli("export", "recorded_crime", "--area", DORSET, "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert frame["area_code"].tolist() == [DORSET] and frame["numerator"].tolist() == [7]
    parts = exported(data_dir, area=None)  # the configured force is unchanged by Dorset's load
    assert parts.set_index("area_code").loc[FORCE, "numerator"] == 10
    dorset_csp = counts(data_dir).query("force_code == @DORSET").groupby("area_code")["count"].sum().to_dict()
    assert dorset_csp == {"E22000367": 6, f"UNASSIGNED-{DORSET}": 1}


# --------------------------------------------------------------------------- the real files

REAL_DIR = SHARED_DATA_DIR / "police_uk"
REAL_FILES = ["2019-03/2019-03-devon-and-cornwall-street.csv", "2022-07/2022-07-devon-and-cornwall-street.csv",
              "2025-02/2025-02-devon-and-cornwall-street.csv", "2024-02/2024-02-dorset-street.csv",
              "2024-02/2024-02-avon-and-somerset-street.csv"]
MEASURE_TYPES = {"recorded_crime": lambda t: t != ASB, "anti_social_behaviour": lambda t: t == ASB,
                 "violence_and_sexual_offences": lambda t: t == "Violence and sexual offences"}


def _direct_counts(files: list[Path]) -> pd.DataFrame:
    """Rows per month, force, CSP (or unassigned) and crime type, counted with pandas alone."""
    raw = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)
    forces = pd.read_csv(REPO_ROOT / "data" / "reference" / "forces.csv", dtype=str, keep_default_na=False)
    districts = pd.read_csv(REPO_ROOT / "data" / "reference" / "districts.csv", dtype=str, keep_default_na=False)
    districts["key"] = districts["lad_name"].str.replace(r", (City|County) of$", "", regex=True)
    lookup = districts.drop_duplicates("key").set_index("key")
    raw["force_code"] = raw["Falls within"].map(forces.set_index("police_uk_name")["pfa_code"])
    assert raw["force_code"].notna().all()
    raw["district"] = raw["LSOA name"].str.replace(r" \d{3}[A-Z]$", "", regex=True)
    # A merged district spanning several CSPs (Bournemouth, Christchurch and Poole) takes the CSP of the
    # old district its MSOA (the 3 digits) lies in, from the ingest's published table of those MSOAs.
    plain = {" ".join(re.sub(r"[^a-z0-9]+", " ", n.lower().replace("&", " and ")).split()): n for n in lookup.index}
    old_of = {(new, msoa): plain[old] for new, olds in police_uk.split_districts().items()
              for old, msoas in olds.items() for msoa in msoas}
    split = [old_of.get((" ".join(re.sub(r"[^a-z0-9]+", " ", d.lower()).split()), int(m[-4:-1]))) if m else None
             for d, m in zip(raw["district"], raw["LSOA name"], strict=True)]
    raw["district"] = [old or d for old, d in zip(split, raw["district"], strict=True)]
    csp = raw["district"].map(lookup["csp_code"]).fillna("")
    owner = raw["district"].map(lookup["pfa_code"]).fillna("")
    assigned = (raw["LSOA name"] != "") & (csp != "") & (owner == raw["force_code"])
    raw["area_code"] = csp.where(assigned, "UNASSIGNED-" + raw["force_code"])
    return raw.groupby(["Month", "force_code", "area_code", "Crime type"]).size().rename("rows").reset_index()


@pytest.mark.skipif(not REAL_DIR.is_dir(), reason=f"the real police.uk files are not in {REAL_DIR}")
def test_real_files_match_a_direct_count(tmp_path: Path) -> None:
    files = [REAL_DIR / f for f in REAL_FILES]
    data_dir = tmp_path / "data"
    police_uk.ingest(files, data_dir)
    direct = _direct_counts(files)
    raw_rows = {(f.parent.name, code): sum(1 for _ in f.open("rb")) - 1 for f, code in
                zip(files, [FORCE, FORCE, FORCE, DORSET, "E23000036"], strict=True)}
    for (month, force), rows in raw_rows.items():  # each force's month is its file, every row of it
        mine = (direct["Month"] == month) & (direct["force_code"] == force)
        assert direct.loc[mine, "rows"].sum() == rows
    for force in (FORCE, DORSET, "E23000036"):
        months = set()
        for measure, keep in MEASURE_TYPES.items():
            frame = exported(data_dir, measure, force=None if force == FORCE else force)
            expected = direct[(direct["force_code"] == force) & direct["Crime type"].map(keep)]
            by_csp = expected.groupby(["Month", "area_code"])["rows"].sum()
            by_force = expected.groupby("Month")["rows"].sum()
            got = frame.set_index(["month", "area_code"])["numerator"]
            below_force = got.drop(force, level=1)
            # areas with no rows in a published month are exported as 0, not left out
            assert (below_force[~below_force.index.isin(by_csp.index)] == 0).all(), (force, measure)
            below_force = below_force[below_force.index.isin(by_csp.index)]
            assert below_force.sort_index().to_dict() == by_csp.sort_index().to_dict(), (force, measure)
            assert got.xs(force, level=1).to_dict() == by_force.to_dict(), (force, measure)
            months |= set(frame["month"])
        total = counts(data_dir).query("force_code == @force").groupby("month")["count"].sum()
        assert {f"{m:%Y-%m}": int(n) for m, n in total.items()} == {
            m: n for (m, f), n in raw_rows.items() if f == force}
        assert months == {m for (m, f) in raw_rows if f == force}


# --------------------------------------------------------------------------- the committed data

EXPECTED_MONTHS = sorted(
    [f"{y}-{m:02d}" for y in (2019, 2020) for m in range(1, 13)] + [f"2022-{m:02d}" for m in range(1, 11)]
    + [f"2024-{m:02d}" for m in range(1, 5)] + [f"2025-{m:02d}" for m in range(1, 7)])


def test_committed_data_has_the_44_months_and_adds_up() -> None:
    data_dir = REPO_ROOT / "data"
    if not (data_dir / "current" / f"{police_uk.COUNTS_TABLE}.parquet").exists():
        pytest.skip("no police.uk data committed in data/")
    assert len(EXPECTED_MONTHS) == 44
    frame = exported(data_dir)
    assert sorted(frame["month"].unique()) == EXPECTED_MONTHS
    assert not frame["month"].isin(["2021-06", "2023-03", "2024-05", "2022-11"]).any()
    assert frame.loc[frame["area_type"] == "csp", "area_code"].nunique() == 8
    csps = {a.code for a in config.load_force().csps}
    assert set(frame.loc[frame["area_type"] == "csp", "area_code"]) == csps
    for month, rows in frame.groupby("month"):
        force = rows.loc[rows["area_type"] == "force", "numerator"]
        assert len(force) == 1 and force.iloc[0] > 0, month
        assert force.iloc[0] == rows.loc[rows["area_type"] != "force", "numerator"].sum(), month
        # every CSP has a row in a published month, 0 where nothing was recorded (Isles of Scilly)
        assert set(rows.loc[rows["area_type"] == "csp", "area_code"]) == csps, month
        assert (rows["area_type"] == "unassigned").sum() == 1, month
    table = counts(data_dir)
    dc_months = {f"{m:%Y-%m}" for m in table.loc[table["force_code"] == FORCE, "month"]}
    assert sorted(dc_months) == EXPECTED_MONTHS

