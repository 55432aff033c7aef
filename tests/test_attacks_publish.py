"""Issue 17, the publish path: bad inputs, hostile text and broken disks, each refused with one line that names
the file and the problem, with the data folder byte-identical (sha256 of every file) afterwards.

- the report is built before the publish: a report that fails, or an update that would empty a table,
  publishes nothing (page and command line);
- CSV downloads and exports neutralise cells a spreadsheet would run as a formula (OWASP CSV injection);
- text from data (zip member names, error messages) is never drawn as Markdown on the Update data page;
- zip members unpack in linear time; an encrypted zip is refused in words;
- a full, read-only or forbidden data folder is one line with the real cause, and nothing is left behind;
- the page's check runs in a separate process with a memory limit, refused cleanly when it needs more.

Every test works on a copy of data/ in tmp_path.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import shutil
import time
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from measures import cli
from measures.core import export, update_report
from measures.data import commentary, config, isolated, publishing, store
from measures.data.ingest import sources
from measures.paths import SHARED_DATA_DIR
from tests import test_update_data
from tests.conftest import REPO, tree_hash
from tests.test_commentary import latest_month, rendered_markup
from tests.test_update_data import button, hidden_csv, update_page, upload

data_dir = test_update_data.data_dir  # the same fixture: a private copy of data/, in analyst mode

FORMULA = '=HYPERLINK("http://evil.example/","click")'
ONS_TABLE = SHARED_DATA_DIR / "ons" / "recorded_crime_by_csp_ye_jun2025_tableC2.csv"


def refused(uploads: list[tuple[str, bytes]], data_dir: Path, source: str = "hidden-crime",
            **options: object) -> publishing.Problem:
    """The one problem a refused upload gives, after checking the data folder and the work folder are as before."""
    before = tree_hash(data_dir)
    with pytest.raises(publishing.Refused) as raised:
        publishing.validate(source, uploads, data_dir, **options)
    assert tree_hash(data_dir) == before
    assert list(publishing.WORK_ROOT.iterdir()) == []  # the private copy is removed too
    [problem] = raised.value.problems
    assert "\n" not in str(problem) and "candidate-" not in str(problem)  # one line, no temporary path
    return problem


def header_only_ons() -> bytes:
    lines = ONS_TABLE.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    header_end = next(i for i, line in enumerate(lines) if line.startswith("E23"))  # the first data row
    return "".join(lines[:header_end]).encode()


def zipped(members: list[tuple[str, bytes]], encrypted: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, content in members:
            bundle.writestr(name, content)
        offsets = [info.header_offset for info in bundle.infolist()]
    data = bytearray(buffer.getvalue())
    if encrypted:  # the flag `zip -e` sets, in each local header and central directory entry (zipfile cannot
        # write the cipher; a reader goes by this flag and asks for a password)
        for offset in offsets:
            data[offset + 6] |= publishing.ENCRYPTED
        central = data.find(b"PK\x01\x02")
        while central != -1:
            data[central + 8] |= publishing.ENCRYPTED
            central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


# ------------------------------------------------------------------ bad uploads: (attack, files, message, file)

UPLOAD_ATTACKS = [
    ("encrypted zip", "hidden-crime", lambda: [("secret.zip", zipped([("hidden_crime_2026-01.csv", hidden_csv())],
                                                                      encrypted=True))],
     "encrypted", "secret.zip"),
    ("zip that is not a zip", "hidden-crime", lambda: [("bundle.zip", b"PK\x03\x04 truncated")],
     "not a readable .zip", "bundle.zip"),
]
if ONS_TABLE.exists():
    UPLOAD_ATTACKS.append(("ONS table with its title and header but no rows", "ons-csp",
                           lambda: [(ONS_TABLE.name, header_only_ons())], "no data rows", ONS_TABLE.name))


@pytest.mark.parametrize("attack, source, files, message, file", UPLOAD_ATTACKS, ids=[a[0] for a in UPLOAD_ATTACKS])
def test_a_bad_upload_is_refused_in_one_line_naming_the_file(data_dir, attack, source, files, message, file):
    problem = refused(files(), data_dir, source)
    assert message in problem.problem and file in problem.file, problem


def test_the_command_line_refuses_the_header_only_ons_table_and_changes_nothing(data_dir, tmp_path, capsys):
    if not ONS_TABLE.exists():
        pytest.skip("needs the shared ONS table")
    path = tmp_path / ONS_TABLE.name
    path.write_bytes(header_only_ons())
    before = tree_hash(data_dir)
    assert cli.main(["ingest", "ons-csp", str(path), "--data-dir", str(data_dir)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert ONS_TABLE.name in line and "no data rows" in line
    assert tree_hash(data_dir) == before


# ------------------------------------------------------------------ the report before the publish

def emptying_ingest(run):
    """An adapter that let an empty file through: the table it writes has no rows (what issue 17 saw)."""
    def ingest(source, paths, data_dir, illustrative=False):
        report = run(source, paths, data_dir, illustrative=illustrative)
        current = store.current_dir(data_dir)
        table = pq.read_table(current / "hidden_crime_monthly.parquet")
        store.publish(data_dir, lambda staging, _: (store.replace_table(
            staging, "hidden_crime_monthly", lambda tmp: pq.write_table(table.slice(0, 0), tmp)), {})[1])
        return report
    return ingest


def test_an_update_that_would_empty_a_table_is_refused_before_anything_is_published(data_dir, monkeypatch):
    monkeypatch.setattr(sources, "run", emptying_ingest(sources.run))
    problem = refused([("hidden_crime_2026-01.csv", hidden_csv())], data_dir)
    assert problem.file == "hidden_crime_2026-01.csv"
    assert "would leave hidden_crime_monthly with no rows (4,560 now)" in problem.problem


def broken_report(*args, **kwargs):
    return 1 / 0  # stands in for any failure while building the public-change report


def test_a_failing_report_publishes_nothing_from_the_page(data_dir, monkeypatch):
    monkeypatch.setattr(update_report, "public_changes", broken_report)
    problem = refused([("hidden_crime_2026-01.csv", hidden_csv())], data_dir)
    assert "ZeroDivisionError" in problem.problem and problem.file == "hidden_crime_2026-01.csv"


def test_a_failing_report_publishes_nothing_from_the_command_line(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(update_report, "public_changes", broken_report)
    path = tmp_path / "hidden_crime_2026-01.csv"
    path.write_bytes(hidden_csv())
    before = tree_hash(data_dir)
    assert cli.main(["ingest", "hidden-crime", str(path), "--data-dir", str(data_dir)]) != 0
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "ZeroDivisionError" in line
    assert tree_hash(data_dir) == before


def test_the_report_of_an_emptied_table_is_built_without_error(data_dir, tmp_path):
    """The report never divides by a count it has not checked: an empty ONS table gives words, not a crash."""
    emptied = tmp_path / "emptied"
    shutil.copytree(data_dir, emptied, symlinks=True)
    table = store.current_dir(emptied).resolve() / "ons_csp_crime.parquet"
    rows = pq.read_table(table)
    table.unlink()
    pq.write_table(rows.slice(0, 0), table)  # the table's own schema, no rows
    assert update_report.completeness(store.current_dir(data_dir), store.current_dir(emptied), ["ons_csp_crime"]) == []
    lines = update_report.public_changes(data_dir, emptied, ["ons_csp_crime"]).lines()
    assert any("-> (none)" in line for line in lines), lines


# ------------------------------------------------------------------ CSV injection

HOSTILE_CELLS = [FORMULA, "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def assert_no_formula_cell(text: str, numbers: set[str] = frozenset()) -> None:
    for cell in cells(text):
        if cell not in numbers:
            assert not cell.startswith(export.FORMULA_START), cell


def test_safe_csv_quotes_formula_text_and_keeps_negative_numbers_numbers():
    frame = pd.DataFrame({"area_name": HOSTILE_CELLS, "value": [-1.5, 2, -3, 4, 5, 6],
                          "code": pd.array(["-E22", "ok", None, "=1", "a", "b"], dtype="string")})
    text = export.safe_csv(frame)
    assert_no_formula_cell(text, numbers={"-1.5", "-3.0"})
    assert "-1.5" in cells(text) and "-3.0" in cells(text)  # a negative number is not text
    assert "'" + FORMULA in cells(text) and "'-E22" in cells(text) and "ok" in cells(text)


@pytest.fixture
def hostile_export(monkeypatch):
    """The export of a measure whose area name and code came from a hostile ONS file."""
    original = export.export

    def poisoned(*args, **kwargs):
        frame = original(*args, **kwargs)
        return frame.assign(area_name=FORMULA, area_code="@" + frame["area_code"])
    monkeypatch.setattr(export, "export", poisoned)


def test_the_command_line_export_neutralises_formulas(data_dir, hostile_export, capsys):
    assert cli.main(["export", "recorded_crime", "--data-dir", str(data_dir), "--public"]) == 0
    text = capsys.readouterr().out
    numbers = {c for c in cells(text) if c.startswith("-") and c[1:].replace(".", "").replace("e", "").isdigit()}
    assert_no_formula_cell(text, numbers)
    assert "'" + FORMULA in cells(text)


def test_the_command_line_similar_csv_neutralises_formulas(monkeypatch, capsys):
    from measures.core import similar

    original = similar.similar_areas
    monkeypatch.setattr(similar, "similar_areas", lambda code, n: original(code, n).assign(similar_name=FORMULA))
    assert cli.main(["similar", "E22000049", "--n", "3", "--format", "csv"]) == 0
    text = capsys.readouterr().out
    assert "'" + FORMULA in cells(text)
    assert not [c for c in cells(text) if c.startswith("=")]


def test_a_public_download_on_the_site_starts_no_cell_with_a_formula(data_dir, monkeypatch):
    """A commentary (analysts' text, stored with the data) of `=HYPERLINK(...)` reaches the Overview's CSV."""
    force = config.load_force()
    month = latest_month(data_dir, "recorded_crime", force.code)
    commentary.add(data_dir, "recorded_crime", force.code, month, FORMULA, "Analyst")
    downloads: list[tuple[str | None, str]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def capture(self, path_or_data, mimetype, kind, filename=None):
        if mimetype == "text/csv":
            data = path_or_data.decode() if isinstance(path_or_data, bytes) else str(path_or_data)
            downloads.append((filename, data))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", capture)
    monkeypatch.setenv("MEASURES_PUBLIC", "1")
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    scorecard = [text for name, text in downloads if name and name.startswith("scorecard-")]
    assert scorecard, [name for name, _ in downloads]
    assert any(cell == "'" + FORMULA for cell in cells(scorecard[-1]))  # it got there, neutralised
    for _, text in downloads:
        assert not [c for c in cells(text) if c.startswith(("=", "@", "+"))]


# ------------------------------------------------------------------ names shown as text, not Markdown

MARKDOWN_NAMES = ["[x](http://evil.example/a.csv)", "![i](http://img.example/i.png)", "**b**.csv"]


def test_zip_member_names_with_markdown_show_literally_on_the_update_page(data_dir):
    archive = zipped([("hidden_crime_2026-01.csv", hidden_csv()), *[(n, b"a,b\n") for n in MARKDOWN_NAMES]])
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=120).run()
    update_page(at, "hidden-crime")
    upload(at, "hidden-crime", [("extract.zip", archive)])
    shown = "\n".join(c.value for c in at.code)
    for name in MARKDOWN_NAMES:
        assert f"extract.zip/{name}" in shown  # literally, in a code block
    markup = rendered_markup(at)
    for piece in ("evil.example", "img.example", "**b**"):
        assert piece not in markup, piece


def test_a_disk_error_on_publishing_from_the_page_is_one_line_and_changes_nothing(data_dir, monkeypatch):
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=120).run()
    update_page(at, "hidden-crime")
    upload(at, "hidden-crime", [("hidden_crime_2026-01.csv", hidden_csv())])
    before = tree_hash(data_dir)
    monkeypatch.setattr(publishing, "_copy_to", failing_write(errno.EROFS))
    button(at, "Publish").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Not published" in at.error[0].value
    [line] = [t.value for t in at.text if "could not write" in t.value]
    assert str(data_dir) in line and "read-only file system" in line and ".staging" not in line
    assert tree_hash(data_dir) == before
    assert not [p.name for p in data_dir.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------ zips in linear time

def test_two_thousand_same_named_members_unpack_in_linear_time(tmp_path):
    members = [(f"month-{i}/2024-01-devon-and-cornwall-street.csv", b"Crime ID,Month\n") for i in range(2000)]
    archive = zipped(members)
    started = time.perf_counter()
    files, skipped = publishing.save_uploads([("police.zip", archive)], tmp_path / "up", "police-uk")
    elapsed = time.perf_counter() - started
    assert len({f.name for f in files}) == 2000 and not skipped
    assert elapsed < 15, f"{elapsed:.1f} s (was 31 s: each name searched every earlier one on disk)"


# ------------------------------------------------------------------ disk errors

def failing_write(code: int):
    def write(source: Path, target: Path) -> None:
        raise OSError(code, os.strerror(code), str(target))
    return write


DISK_ATTACKS = [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "it is on a read-only file system"),
                (errno.EACCES, "permission denied")]


@pytest.mark.parametrize("code, cause", DISK_ATTACKS, ids=[errno.errorcode[c] for c, _ in DISK_ATTACKS])
def test_a_disk_error_while_publishing_is_one_line_on_the_command_line(data_dir, tmp_path, monkeypatch, capsys,
                                                                        code, cause):
    path = tmp_path / "hidden_crime_2026-01.csv"
    path.write_bytes(hidden_csv())
    monkeypatch.setattr(publishing, "_copy_to", failing_write(code))
    before = tree_hash(data_dir)
    assert cli.main(["ingest", "hidden-crime", str(path), "--data-dir", str(data_dir)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == f"error: {data_dir}: could not write the data folder: {cause}; nothing was published"
    assert tree_hash(data_dir) == before
    assert not [p.name for p in data_dir.iterdir() if p.name.startswith(".")]  # no staging, link or history left


def test_a_read_only_folder_reports_the_first_error_not_the_cleanup(data_dir, tmp_path, monkeypatch, capsys):
    """On a read-only folder even removing a file that does not exist fails: the first write's error is the one
    shown, not the cleanup's `.current-PID` (issue 17)."""
    def read_only(path: Path) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    original_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.absolute().is_relative_to(data_dir.absolute()):
            read_only(self)
        original_unlink(self, missing_ok=missing_ok)

    path = tmp_path / "hidden_crime_2026-01.csv"
    path.write_bytes(hidden_csv())
    before = tree_hash(data_dir)
    original_stage = store._stage

    def stage(current: Path | None, staging: Path) -> None:  # the first write into the data folder
        read_only(staging) if staging.parent == data_dir else original_stage(current, staging)

    monkeypatch.setattr(store, "_stage", stage)
    monkeypatch.setattr(Path, "unlink", unlink)
    assert cli.main(["ingest", "hidden-crime", str(path), "--data-dir", str(data_dir)]) == 2
    monkeypatch.undo()
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == f"error: {data_dir}: could not write the data folder: it is on a read-only file system; nothing was published"
    assert tree_hash(data_dir) == before


def test_a_full_disk_while_writing_the_history_publishes_nothing(data_dir, tmp_path, monkeypatch, capsys):
    """The history is written before the swap: a full disk there leaves the old version current."""
    original = Path.write_text

    def full(self, *args, **kwargs):
        if self.name.startswith(".history-"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return original(self, *args, **kwargs)

    path = tmp_path / "hidden_crime_2026-01.csv"
    path.write_bytes(hidden_csv())
    before = tree_hash(data_dir)
    monkeypatch.setattr(Path, "write_text", full)
    assert cli.main(["ingest", "hidden-crime", str(path), "--data-dir", str(data_dir)]) == 2
    assert "the disk is full; nothing was published" in capsys.readouterr().err
    assert tree_hash(data_dir) == before


def test_a_full_disk_for_the_checks_working_copy_is_one_line(data_dir, tmp_path, monkeypatch, capsys):
    def full(source, target, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(Path(target) / "police_uk_hex.parquet"))

    path = tmp_path / "hidden_crime_2026-01.csv"
    path.write_bytes(hidden_csv())
    monkeypatch.setattr(shutil, "copytree", full)
    before = tree_hash(data_dir)
    assert cli.main(["ingest", "hidden-crime", str(path), "--data-dir", str(data_dir)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("could not write the check's working copy: the disk is full; nothing was published")
    problem = refused([("hidden_crime_2026-01.csv", hidden_csv())], data_dir)
    assert problem.problem.startswith("could not be checked: the disk is full in the working folder")
    assert tree_hash(data_dir) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder; the tests above simulate it")
def test_a_really_read_only_data_folder(data_dir, tmp_path, capsys):
    path = tmp_path / "hidden_crime_2026-01.csv"
    path.write_bytes(hidden_csv())
    before = tree_hash(data_dir)
    data_dir.chmod(0o555)
    try:
        assert cli.main(["ingest", "hidden-crime", str(path), "--data-dir", str(data_dir)]) == 2
    finally:
        data_dir.chmod(0o755)
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == f"error: {data_dir}: could not write the data folder: permission denied; nothing was published"
    assert tree_hash(data_dir) == before


# ------------------------------------------------------------------ the check in a separate process

def test_the_check_in_a_separate_process_gives_the_same_candidate(data_dir):
    upload_ = [("hidden_crime_2026-01.csv", hidden_csv())]
    inside = publishing.validate("hidden-crime", upload_, data_dir)
    apart = publishing.validate("hidden-crime", upload_, data_dir, memory_limit=isolated.limit_bytes())
    try:
        assert apart.changes == inside.changes and apart.report == inside.report and apart.version == inside.version
        assert apart.public is not None and apart.public.lines() == inside.public.lines()
        publishing.publish(apart, data_dir)  # and it publishes as the page does
        assert store.current_id(data_dir) == inside.version.rsplit("/", 1)[-1]
    finally:
        publishing.discard(inside)
        publishing.discard(apart)


def test_a_refusal_in_the_separate_process_still_names_the_file_and_line(data_dir):
    rows = hidden_csv().decode().splitlines()
    rows[5] = rows[5].rsplit(",", 1)[0] + ",lots"
    problem = refused([("my extract.csv", "\n".join(rows).encode())], data_dir, memory_limit=isolated.limit_bytes())
    assert (problem.file, problem.line) == ("my_extract.csv", 6) and "lots" in problem.problem


def test_a_check_that_needs_more_than_its_memory_limit_is_refused_and_changes_nothing(data_dir):
    # The code's imports alone take about 0.65 GiB of address space (a small check fits in 1 GiB): with 0.5 GiB
    # the first allocation of the check fails, whatever the machine.
    problem = refused([("hidden_crime_2026-01.csv", hidden_csv())], data_dir, memory_limit=isolated.GIB // 2)
    assert problem.file == "hidden_crime_2026-01.csv"
    assert "0.5 GiB of memory; nothing was loaded" in problem.problem, problem


@pytest.mark.parametrize("value, message", [("lots", "not a number of GiB"), ("0", "must be more than 0 GiB")])
def test_a_bad_memory_setting_says_so(monkeypatch, value, message):
    monkeypatch.setenv(isolated.MEMORY_ENV, value)
    with pytest.raises(ValueError, match=message):
        isolated.limit_bytes()


def test_the_memory_setting_is_in_gib(monkeypatch):
    monkeypatch.setenv(isolated.MEMORY_ENV, "2.5")
    assert isolated.limit_bytes() == int(2.5 * 1024**3)
    monkeypatch.delenv(isolated.MEMORY_ENV)
    assert isolated.limit_bytes() == 4 * 1024**3

