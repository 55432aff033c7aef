"""The national police.uk ingest on the real monthly zips, checked against a count made
independently with Python's csv and zipfile modules (skipped when the zips are absent)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter
from pathlib import Path

import h3
import pandas as pd
import pytest

from measures.data.ingest import IngestError, police_uk
from measures.paths import REPO_ROOT, SHARED_DATA_DIR
from tests.conftest import tree_hash

NATIONAL = SHARED_DATA_DIR / "police_uk_national"
ZIPS = [NATIONAL / "2025-03.zip", NATIONAL / "2025-06.zip"]
ASB = "Anti-social behaviour"
OTHERS = {"British Transport Police", "Police Service of Northern Ireland"}

pytestmark = pytest.mark.skipif(not all(z.exists() for z in ZIPS), reason=f"the national police.uk zips are not in {NATIONAL}")


def _key(name: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name.lower().replace("&", " and ")).split())


def _lookup() -> dict[str, tuple[str, str]]:
    """District key -> (CSP, force), from districts.csv alone; names with no CSP are left out."""
    districts = pd.read_csv(REPO_ROOT / "data" / "reference" / "districts.csv", dtype=str, keep_default_na=False)
    found: dict[str, tuple[str, str]] = {}
    for name, csp, pfa in districts[["lad_name", "csp_code", "pfa_code"]].itertuples(index=False):
        if csp:
            for key in {_key(name), _key(re.sub(r", (City|County) of$", "", name))}:
                found[key] = (csp, pfa)
    return found


def _raw(zips: list[Path]) -> tuple[Counter, Counter, Counter, Counter, Counter]:
    """Rows per (force name, month), per (force name, month, CSP or None), the same less ASB, merged districts, and
    located rows per (force, month, H3 cell by h3-py, crime type)."""
    forces = pd.read_csv(REPO_ROOT / "data" / "reference" / "forces.csv", dtype=str, keep_default_na=False)
    codes = dict(zip(forces["police_uk_name"], forces["pfa_code"], strict=True))
    lookup = _lookup()
    # merged or renamed district -> its force, through the districts it replaced
    merged = {new: lookup[next(iter(olds))][1] for new, olds in police_uk.split_districts().items()}
    merged |= {alias: lookup[target][1] for alias, target in police_uk.ALIASES.items()}
    rows, by_csp, crimes, merged_rows, cells = Counter(), Counter(), Counter(), Counter(), Counter()
    for archive in zips:
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.namelist():
                if not member.endswith("-street.csv"):
                    continue
                with bundle.open(member) as handle:
                    for row in csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")):
                        force, month = row["Falls within"], row["Month"]
                        rows[force, month] += 1
                        if force in OTHERS:
                            continue
                        match = re.fullmatch(r"(.*) \d{3}[A-Z]", row["LSOA name"])
                        key = _key(match.group(1)) if match else ""
                        hit = lookup.get(key)
                        csp = hit[0] if hit and hit[1] == codes[force] else None
                        if merged.get(key) == codes[force]:  # split by MSOA or renamed: checked as a group below
                            merged_rows[force, month] += 1
                            csp = "merged"
                        by_csp[codes[force], month, csp] += 1
                        crimes[codes[force], month] += row["Crime type"] != ASB
                        if row["Longitude"] and row["Latitude"]:
                            cell = h3.latlng_to_cell(float(row["Latitude"]), float(row["Longitude"]),
                                                     police_uk.HEX_RESOLUTION)
                            cells[codes[force], month, cell, row["Crime type"]] += 1
    return rows, by_csp, crimes, merged_rows, cells


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data_dir = tmp_path_factory.mktemp("national") / "data"
    report = police_uk.ingest(ZIPS, data_dir)
    return data_dir, str(report)


def test_every_force_month_and_csp_matches_an_independent_count(national: tuple[Path, str]) -> None:
    data_dir, report = national
    counts = pd.read_parquet(data_dir / "current" / f"{police_uk.COUNTS_TABLE}.parquet")
    counts["month"] = pd.to_datetime(counts["month"]).dt.strftime("%Y-%m")
    raw, by_csp, crimes, _, _ = _raw(ZIPS)
    forces = pd.read_csv(REPO_ROOT / "data" / "reference" / "forces.csv", dtype=str, keep_default_na=False)
    codes = dict(zip(forces["police_uk_name"], forces["pfa_code"], strict=True))
    totals = counts.groupby(["force_code", "month"])["count"].sum()
    for (force, month), rows in raw.items():
        if force in OTHERS:
            continue
        assert totals[codes[force], month] == rows, (force, month)  # CSPs + unassigned = the force's rows
    assert len(totals) == sum(1 for f, _ in raw if f not in OTHERS)
    recorded = counts[counts["crime_type"] != ASB].groupby(["force_code", "month"])["count"].sum()
    assert recorded.to_dict() == {k: v for k, v in crimes.items()}

    # Per CSP: exact where only plain names feed the CSP; as a group where merged districts feed it.
    merged_csps = {police_uk._lookup(pd.read_csv(REPO_ROOT / "data" / "reference" / "districts.csv", dtype=str,
                                                 keep_default_na=False)).set_index("key").at[old, "csp_code"]
                   for olds in police_uk.split_districts().values() for old in olds} | {
        _lookup()[target][0] for target in police_uk.ALIASES.values()}
    csp = counts[counts["area_type"] == "csp"].groupby(["force_code", "month", "area_code"])["count"].sum()
    expected_plain = {k: v for k, v in by_csp.items() if k[2] not in (None, "merged") and k[2] not in merged_csps}
    got_plain = {k: v for k, v in csp.items() if k[2] not in merged_csps}
    assert got_plain == expected_plain
    for force_code, month in {(f, m) for f, m, c in by_csp if c in merged_csps or c == "merged"}:
        expected = sum(v for (f, m, c), v in by_csp.items() if f == force_code and m == month
                       and (c in merged_csps or c == "merged"))
        got = sum(v for (f, m, c), v in csp.items() if f == force_code and m == month and c in merged_csps)
        assert got == expected, (force_code, month)

    # BTP and Northern Ireland: reported by name, in no force's counts (BTP is in 2025-01 only).
    ni = sum(v for (f, _), v in raw.items() if f == "Police Service of Northern Ireland")
    assert ni > 0 and f"Police Service of Northern Ireland: {ni:,} rows, 2 month(s)" in report
    assert set(counts["force_code"]) == {codes[f] for f, _ in raw if f not in OTHERS}
    assert counts["count"].sum() == sum(v for (f, _), v in raw.items() if f not in OTHERS)
    assert "peak memory:" in report


def test_every_hexagon_matches_h3_py_on_the_raw_rows(national: tuple[Path, str]) -> None:
    """The ingest's H3 cells (h3ronpy, once per distinct point) are h3-py's latlng_to_cell of every located row."""
    data_dir, _ = national
    hexes = pd.read_parquet(data_dir / "current" / f"{police_uk.HEX_TABLE}.parquet")
    got = {(f, f"{m:%Y-%m}", c, t): int(n) for f, m, c, t, n in hexes[["force_code", "month", "h3_cell", "crime_type",
                                                                       "count"]].itertuples(index=False)}
    assert got == dict(_raw(ZIPS)[4])


def test_btp_is_reported_and_not_loaded(tmp_path: Path) -> None:
    january = NATIONAL / "2025-01.zip"
    if not january.exists():
        pytest.skip("no 2025-01.zip")
    with zipfile.ZipFile(january) as bundle:
        btp = bundle.read("2025-01/2025-01-btp-street.csv")
    small = tmp_path / "btp.zip"
    with zipfile.ZipFile(small, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("2025-01/2025-01-btp-street.csv", btp)
    report = str(police_uk.ingest([small], tmp_path / "data"))
    rows = btp.count(b"\n") - 1
    assert f"British Transport Police: {rows:,} rows, 1 month(s) 2025-01..2025-01" in report


def test_a_broken_row_in_a_zip_member_names_archive_member_and_line(tmp_path: Path, national: tuple[Path, str]) -> None:
    data_dir, _ = national
    member = "2025-03/2025-03-dorset-street.csv"
    with zipfile.ZipFile(ZIPS[0]) as bundle:
        lines = bundle.read(member).splitlines(keepends=True)
    lines[9] = lines[9].rstrip(b"\r\n") + b",extra\n"  # line 10 gets a 13th field
    broken = tmp_path / "2025-03.zip"
    with zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(member, b"".join(lines))
    before = tree_hash(data_dir)
    with pytest.raises(IngestError) as caught:
        police_uk.ingest([broken], data_dir)
    message = str(caught.value)
    assert message.startswith(f"{broken}:{member}: line 10: expected 12 fields, found 13"), message
    assert "\n" not in message
    assert tree_hash(data_dir) == before
