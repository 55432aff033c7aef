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
