"""Issue 17: every source validates every value. One table of attacks, each a bad file made from a
good one (the real ONS Table C2 and police.uk files where the shared data is present, the contract
sources' own layouts otherwise), run through the command line's `ingest` on a copy of the embedded data.

Each must be refused with one line naming the file (and the line where there is one) and the problem,
and the data folder must be byte-for-byte unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from measures import cli
from measures.data import config
from measures.data.ingest import calls_101, hidden_crime, reoffending
from measures.paths import REPO_ROOT, SHARED_DATA_DIR
from tests.conftest import copy_of_data, tree_hash

REAL_C2 = SHARED_DATA_DIR / "ons" / "recorded_crime_by_csp_ye_jun2025_tableC2.csv"
REAL_STREET = SHARED_DATA_DIR / "police_uk" / "2024-01" / "2024-01-devon-and-cornwall-street.csv"
PLYMOUTH = 'E22000056,Plymouth,E06000026,Plymouth,"25,767 "'  # the Plymouth row's keys and total, y/e June 2025
FORCE = config.load_force()
_AREAS = config.areas()
OTHER_CSP = _AREAS.loc[(_AREAS["area_type"] == "csp") & (_AREAS["force_code"] != "E23000035"), "area_code"].min()
TODAY = dt.date.today()


# --------------------------------------------------------------------------- good files, and bad ones made from them

def c2_lines() -> list[str]:
    return REAL_C2.read_text(encoding="utf-8-sig").split("\n")


def c2_first_row() -> int:
    """Index of the first data row (the header spans lines 8-14 with its line breaks)."""
    return next(i for i, line in enumerate(c2_lines()) if line.startswith("E23"))


def c2_row_line(marker: str) -> int:
    """The file line (1-based) of the first row containing `marker`."""
    return next(i for i, line in enumerate(c2_lines(), 1) if marker in line)


def ons(folder: Path, edit: Callable[[list[str]], list[str]]) -> Path:
    path = folder / "recorded_crime_by_csp_tableC2.csv"
    path.write_text("\n".join(edit(c2_lines())), encoding="utf-8")
    return path


def replace_in_plymouth(old: str, new: str) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        assert any(PLYMOUTH in line for line in lines), "the real C2 file's Plymouth row changed"
        return [line.replace(old, new) if PLYMOUTH in line else line for line in lines]
    return edit


def street_lines() -> list[str]:
    return REAL_STREET.read_text(encoding="utf-8-sig").splitlines()


def street(folder: Path, edit: Callable[[list[str]], list[str]], name: str = "2024-01-devon-and-cornwall-street.csv"
           ) -> Path:
    path = folder / name
    path.write_text("\n".join(edit(street_lines())) + "\n", encoding="utf-8")
    return path


def street_cell(row: int, column: str, value: str) -> Callable[[list[str]], list[str]]:
    """Set one cell of data row `row` (0-based)."""
    def edit(lines: list[str]) -> list[str]:
        header = lines[0].split(",")
        cells = next(csv.reader([lines[1 + row]]))
        cells[header.index(column)] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(cells)
        return [*lines[:1 + row], out.getvalue(), *lines[2 + row:]]
    return edit


def contract(folder: Path, name: str, columns: list[str], rows: list[list[str]]) -> Path:
    path = folder / name
    path.write_text("\n".join([",".join(columns), *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return path


def reoffending_rows(start: dt.date, offenders: str = "100") -> list[list[str]]:
    end = (dt.date(start.year + (start.month == 10), (start.month + 3 - 1) % 12 + 1, 1) - dt.timedelta(days=1))
    return [[lad, name, "adult", f"{start}", f"{end}", offenders, "25", "90"] for lad, name, _ in sorted(FORCE.districts)]


def hidden_rows(month: str = "2024-07", count: str = "3") -> list[list[str]]:
    return [[month, a.code, strand, count] for strand in hidden_crime.strands() for a in sorted(FORCE.csps,
                                                                                                 key=lambda a: a.code)]


def calls_rows(month: str) -> list[list[str]]:
    return [[f"c{i}", f"{month}-0{1 + i}T10:00:00", f"{month}-0{1 + i}T10:00:30", f"{month}-0{1 + i}T10:05:00",
             "answered", "general", FORCE.csps[0].code] for i in range(3)]


def current_quarter() -> dt.date:
    return dt.date(TODAY.year, 3 * ((TODAY.month - 1) // 3) + 1, 1)


@dataclass(frozen=True)
class Attack:
    name: str
    source: str
    make: Callable[[Path], Path]  # writes the bad file under the folder given, returns it
    expected: str  # in the one-line message, besides the file's name
    line: int | None = None  # the line the message must name, where one is known
    needs: Path | None = None  # the real file the bad one is made from


def retitled(year: str):
    """An edit of the C2 table: its title names another year ("year ending June 2099")."""
    return lambda lines: [lines[0].replace("year ending June 2025", year), *lines[1:]]


def _ons_plymouth_line() -> int:
    return c2_row_line(PLYMOUTH) if REAL_C2.is_file() else 0


ATTACKS = [
    # ONS Table C2 (ingest ons-csp)
    Attack("ONS title and header, no rows", "ons-csp", lambda f: ons(f, lambda lines: lines[:c2_first_row()]),
           "the table has its header but no data rows", needs=REAL_C2),
    Attack("ONS CSP code a spreadsheet formula", "ons-csp",
           lambda f: ons(f, replace_in_plymouth("E22000056,", '"=HYPERLINK(""http://evil.example/"",""click"")",')),
           "is not an ONS code", needs=REAL_C2),
    Attack("ONS CSP name a spreadsheet formula", "ons-csp",
           lambda f: ons(f, replace_in_plymouth("E22000056,Plymouth,", 'E22000056,"=HYPERLINK(""http://evil/"")",')),
           "begins with '=': a spreadsheet formula", line=_ons_plymouth_line(), needs=REAL_C2),
    Attack("ONS CSP code of the right shape, in no lookup", "ons-csp",
           lambda f: ons(f, replace_in_plymouth("E22000056,", "E22999999,")),
           "CSP code 'E22999999' is not a Community Safety Partnership", needs=REAL_C2),
    Attack("ONS CSP of another force", "ons-csp",
           lambda f: ons(f, replace_in_plymouth("E22000056,", f"{OTHER_CSP},")),
           f"CSP {OTHER_CSP} is in police force area", needs=REAL_C2),
    Attack("ONS district code a formula", "ons-csp",
           lambda f: ons(f, replace_in_plymouth("E06000026,", "=1+1,")),
           "local authority code '=1+1' is not a district", needs=REAL_C2),
    Attack("ONS year ending June 2099", "ons-csp",
           lambda f: ons(f, retitled("year ending June 2099")),
           "year ending June 2099 is out of range", line=1, needs=REAL_C2),
    Attack("ONS year ending June 1900", "ons-csp",
           lambda f: ons(f, retitled("year ending June 1900")),
           "year ending June 1900 is out of range", line=1, needs=REAL_C2),
    Attack("ONS year 0", "ons-csp",
           lambda f: ons(f, retitled("year ending June 0000")),
           "out of range", line=1, needs=REAL_C2),
    Attack("ONS year not yet over", "ons-csp",
           lambda f: ons(f, retitled(f"year ending December {TODAY.year}"))
           if TODAY < dt.date(TODAY.year, 12, 31) else pytest.skip("31 Dec"),
           "a year not yet over has no figures", line=1, needs=REAL_C2),
    Attack("ONS row given twice", "ons-csp",
           lambda f: ons(f, lambda lines: [*lines, next(line for line in lines if PLYMOUTH in line)]),
           "a second row for CSP E22000056 district E06000026", needs=REAL_C2),
    Attack("ONS 999,999,999,999 crimes for a CSP", "ons-csp",
           lambda f: ons(f, replace_in_plymouth('"25,767 "', '"999,999,999,999 "')),
           "999,999,999,999 is not possible for E22000056", line=_ons_plymouth_line(), needs=REAL_C2),
    Attack("ONS 19-digit count", "ons-csp",
           lambda f: ons(f, replace_in_plymouth('"25,767 "', "1234567890123456789")),
           "is not possible for E22000056", line=_ons_plymouth_line(), needs=REAL_C2),
    # police.uk street-level crime (ingest police-uk)
    Attack("police.uk header only", "police-uk", lambda f: street(f, lambda lines: lines[:1]),
           "the file has a header and no rows", needs=REAL_STREET),
    Attack("police.uk file named for one month holding another", "police-uk",
           lambda f: street(f, lambda lines: [lines[0], *(line.replace(",2024-01,", ",2024-02,") for line in lines[1:])]),
           "Month '2024-02' is not 2024-01, the month in the file name", line=2, needs=REAL_STREET),
    Attack("police.uk latitude 1000", "police-uk", lambda f: street(f, street_cell(0, "Latitude", "1000")),
           "Latitude '1000' is not a latitude", line=2, needs=REAL_STREET),
    Attack("police.uk longitude -500", "police-uk", lambda f: street(f, street_cell(0, "Longitude", "-500")),
           "Longitude '-500' is not a longitude", line=2, needs=REAL_STREET),
    Attack("police.uk coordinates nan", "police-uk",
           lambda f: street(f, lambda lines: street_cell(0, "Latitude", "nan")(street_cell(0, "Longitude", "nan")(lines))),
           "Latitude 'nan' is not a latitude", line=2, needs=REAL_STREET),
    Attack("police.uk month 0000-01", "police-uk", lambda f: street(f, street_cell(0, "Month", "0000-01")),
           "impossible month '0000-01'", line=2, needs=REAL_STREET),
    Attack("police.uk crime type a spreadsheet formula", "police-uk",
           lambda f: street(f, street_cell(0, "Crime type", '=HYPERLINK("http://evil.example/","click")')),
           "Crime type '=HYPERLINK", line=2, needs=REAL_STREET),
    Attack("police.uk rows pasted twice", "police-uk", lambda f: street(f, lambda lines: [*lines, *lines[1:]]),
           "rows repeat another row exactly", needs=REAL_STREET),
    # the contract sources
    Attack("reoffending cohort that ends in the future", "reoffending",
           lambda f: contract(f, "reoffending_future.csv", reoffending.COLUMNS, reoffending_rows(current_quarter())),
           "is in the future", line=2),
    Attack("reoffending 999,999,999,999 offenders", "reoffending",
           lambda f: contract(f, "reoffending_big.csv", reoffending.COLUMNS,
                              reoffending_rows(dt.date(2023, 4, 1), "999999999999")),
           "offenders 999999999999 is more than the", line=2),
    Attack("reoffending 19-digit count", "reoffending",
           lambda f: contract(f, "reoffending_19.csv", reoffending.COLUMNS,
                              reoffending_rows(dt.date(2023, 4, 1), "1234567890123456789")),
           "is more than the", line=2),
    Attack("hidden crime 999,999,999,999 records", "hidden-crime",
           lambda f: contract(f, "hidden_crime_big.csv", hidden_crime.COLUMNS, hidden_rows(count="999999999999")),
           "count 999999999999 is more than the", line=2),
    Attack("hidden crime row given twice", "hidden-crime",
           lambda f: contract(f, "hidden_crime_dup.csv", hidden_crime.COLUMNS, [*hidden_rows(), hidden_rows()[0]]),
           "is given twice", line=len(hidden_rows()) + 2),
    Attack("hidden crime header only", "hidden-crime",
           lambda f: contract(f, "hidden_crime_empty.csv", hidden_crime.COLUMNS, []),
           "header but no rows"),
    Attack("101 calls file named for year 0", "calls-101",
           lambda f: contract(f, "calls_101_0000-01.csv", calls_101.COLUMNS, calls_rows("2024-08")),
           "the month in the file name, 0000-01, is out of range"),
    Attack("101 calls file named for one month holding another", "calls-101",
           lambda f: contract(f, "calls_101_2024-07.csv", calls_101.COLUMNS, calls_rows("2024-08")),
           "is not in 2024-07, the month in the file name", line=2),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the embedded data for every attack: each must leave it exactly as it was."""
    return copy_of_data(tmp_path_factory.mktemp("attacks"))


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_refused_in_one_line_naming_the_file_with_the_data_unchanged(
        attack: Attack, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if attack.needs is not None and not attack.needs.is_file():
        pytest.skip(f"the real file is not at {attack.needs}")
    bad = attack.make(tmp_path)
    before = tree_hash(data_dir)
    code = cli.main(["ingest", attack.source, str(bad), "--data-dir", str(data_dir)])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    message = lines[0]
    assert str(bad) in message, message
    assert attack.expected in message, message
    if attack.line is not None:
        assert f": line {attack.line}: " in message, message
    assert "Traceback" not in captured.err and "Error:" not in message.removeprefix("error: "), message
    assert tree_hash(data_dir) == before, "a refused ingest changed the data folder"


@pytest.mark.skipif(not REAL_STREET.is_file(), reason=f"the real police.uk file is not at {REAL_STREET}")
def test_police_uk_repeats_as_published_are_counted_and_reported(tmp_path: Path) -> None:
    """Real police.uk files repeat a few rows exactly; they load, counted, and the report says how many."""
    from measures.data.ingest import police_uk

    lines = street_lines()
    good = street(tmp_path, lambda rows: [*rows, *(row for row in rows[1:4] if row.split(",")[0])])
    report = police_uk.ingest([good], tmp_path / "data")
    repeated = sum(1 for row in lines[1:4] if row.split(",")[0])
    assert f"counted as police.uk publishes them: {repeated}" in str(report), str(report)
    assert report.rows == len(lines) - 1 + repeated


PEAK_SCRIPT = textwrap.dedent("""
    import resource, sys
    from pathlib import Path
    from measures.data.ingest import ons_csp
    try:
        ons_csp.ingest([Path(sys.argv[1])], Path(sys.argv[2]))
        print("loaded")
    except Exception as error:
        print("refused", error)
    # VmHWM: this program's own peak (ru_maxrss can carry the forking test process's, on Linux).
    status = Path("/proc/self/status")
    peak = [int(l.split()[1]) for l in status.read_text().splitlines() if l.startswith("VmHWM:")] if status.exists() else []
    print((peak[0] if peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) // 1024)
""")


@pytest.mark.skipif(not REAL_C2.is_file(), reason=f"the real ONS Table C2 file is not at {REAL_C2}")
def test_ons_parser_memory_follows_the_rows_not_the_file(tmp_path: Path) -> None:
    """A 40 MB Table C2 (the real one, every count padded with spaces, still valid) loads in a few
    hundred MB: the rows stream. Reading it whole took about 63 times the file (2.5 GB here)."""
    lines = c2_lines()
    first = c2_first_row()
    pad = " " * 4000
    padded = [re.sub(r'(\d) (,|"|$)', lambda m: m.group(1) + pad + m.group(2), line) for line in lines[first:]]
    path = tmp_path / "c2_padded.csv"
    path.write_text("\n".join([*lines[:first], *padded]), encoding="utf-8")
    size_mb = path.stat().st_size / 1024**2
    assert size_mb > 30
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(path), str(tmp_path / "data")], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300, check=True)
    outcome, peak = result.stdout.splitlines()[0], int(result.stdout.splitlines()[-1])
    assert outcome == "loaded", result.stdout
    assert peak < 200 + 3 * size_mb, f"{peak} MB peak for a {size_mb:.0f} MB file"
