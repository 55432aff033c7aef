"""The analysts' "Update data" page: upload, read the check's report, publish; the running
app shows the new data on its next rerun, without a restart. Hostile uploads are refused
and change nothing. An incomplete month is published only after a confirmation (page) or
--allow-partial (command line), and `rollback` then restores the previous version byte for
byte. Every test works on a copy of data/ in tmp_path (MEASURES_DATA_DIR).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from measures.data import publishing, store
from measures.data.ingest import hidden_crime
from tests.conftest import REPO, copy_of_data, tree_hash
from tests.test_input_contracts import CSPS, OTHER_CSP, hidden_rows

NEW_MONTH, NEW_MONTH_LABEL = "2026-01", "Jan 2026"  # after the last published month of the default data
SCALE = 15  # hidden_rows' counts (3..10) times this: a month's total like the default data's (about 4,200)


def hidden_csv(month: str = NEW_MONTH, foreign_rows: int = 1, csps: list[str] = CSPS) -> bytes:
    """A whole month of every CSP and strand (a complete update), or of only the CSPs given (a partial one)."""
    rows = [[m, csp, strand, str(int(n) * SCALE)] for m, csp, strand, n in hidden_rows(month) if csp in csps]
    rows += [[month, OTHER_CSP, "hate_crime", "7"]] * foreign_rows
    return ("\n".join([",".join(hidden_crime.COLUMNS), *(",".join(r) for r in rows)]) + "\n").encode()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = copy_of_data(tmp_path)
    monkeypatch.setenv("MEASURES_DATA_DIR", str(folder))
    monkeypatch.delenv("MEASURES_PUBLIC", raising=False)
    monkeypatch.setattr(publishing, "WORK_ROOT", tmp_path / "uploads")
    return folder


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def update_page(at: AppTest, source: str) -> AppTest:
    at.switch_page("app_pages/update_data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="update_source").select(source).run()
    return at


def upload(at: AppTest, source: str, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key=f"update_files_{source}").set_value([(n, b, "text/csv") for n, b in files]).run()
    button(at, "Check the files").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_upload_check_publish_and_the_running_app_shows_it_without_restart(data_dir):
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=90).run()
    assert not at.exception
    months_before = at.selectbox(key="picker_to").options  # the Overview's "Up to" months
    assert "Dec 2025" in months_before and NEW_MONTH_LABEL not in months_before

    update_page(at, "hidden-crime")
    before = tree_hash(data_dir)
    upload(at, "hidden-crime", [("hidden_crime_2026-01.csv", hidden_csv())])
    report = "\n".join(c.value for c in at.code)
    assert f"1 month(s) {NEW_MONTH}..{NEW_MONTH}" in report  # months
    assert OTHER_CSP in report and "unassigned" in report  # the row from another force, reported
    assert [m.value for m in at.metric] == ["1", f"{len(hidden_rows()) + 1:,}"]  # files, rows
    changes = at.dataframe[0].value
    assert list(changes["table"]) == ["hidden_crime_monthly"]
    assert (changes["rows after publishing"] > changes["rows now"]).all()
    assert "Dec 2025 -> Jan 2026" in report  # what changes for the public: the latest month
    assert not at.warning and "update_confirm_partial" not in [c.key for c in at.checkbox]  # complete: nothing to confirm
    assert tree_hash(data_dir) == before, "checking must not publish anything"

    button(at, "Publish").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Published version" in at.success[0].value
    assert tree_hash(data_dir) != before
    assert list(publishing.WORK_ROOT.iterdir()) == []  # the checked copy is cleaned up

    at.switch_page("app_pages/overview.py").run()  # same process, same caches: no restart
    assert not at.exception
    assert NEW_MONTH_LABEL in at.selectbox(key="picker_to").options


@pytest.mark.parametrize("name, content, expected", [
    ("hidden_crime.csv", b"\x00\x01\x02garbage\xff" * 100, "not a CSV file"),
    ("hidden_crime.csv", b"", "empty"),
    ("hidden_crime.csv", b"month,area_code,strand,count\n2026-01,E22000056,domestic_abuse,-3\n", "not a whole number"),
    ("hidden_crime.csv", b"month,area,strand\n2026-01,E22000056,x\n", "header"),
    ("../../../../etc/cron.d/evil.csv", b"\x00evil", "evil.csv"),
    ("report.zip", b"PK\x03\x04 not really a zip", "not a readable .zip"),
])
def test_refused_upload_is_reported_with_file_and_line_and_changes_nothing(data_dir, name, content, expected):
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=90).run()
    update_page(at, "hidden-crime")
    before = tree_hash(data_dir)
    upload(at, "hidden-crime", [(name, content)])
    assert "refused" in at.error[0].value
    problems = at.dataframe[0].value
    shown = " ".join(str(v) for v in problems.astype(str).to_numpy().ravel())
    assert expected in shown
    assert "/tmp" not in shown and ".." not in shown  # the analyst's own file name, not our paths
    assert not [b for b in at.button if b.label == "Publish"]
    assert tree_hash(data_dir) == before
    assert not Path("/etc/cron.d/evil.csv").exists()


def test_a_line_problem_names_the_uploaded_file_and_line(data_dir, tmp_path):
    rows = hidden_csv().decode().splitlines()
    rows[5] = rows[5].rsplit(",", 1)[0] + ",lots"
    with pytest.raises(publishing.Refused) as refused:
        publishing.validate("hidden-crime", [("my extract.csv", "\n".join(rows).encode())], data_dir)
    problem = refused.value.problems[0]
    assert (problem.file, problem.line) == ("my_extract.csv", 6)
    assert "lots" in problem.problem


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, content in members.items():
            bundle.writestr(name, content)
    return buffer.getvalue()


def test_zip_upload_takes_the_source_files_and_says_what_it_left_out(data_dir):
    archive = _zip({"2026-01/hidden_crime_2026-01.csv": hidden_csv(), "../../README.txt": b"notes",
                    "2026-01/other.csv": b"a,b\n"})
    candidate = publishing.validate("hidden-crime", [("extract.zip", archive)], data_dir)
    try:
        assert candidate.report.files == 1 and candidate.report.rows == len(hidden_rows()) + 1
        assert sorted(candidate.skipped) == ["extract.zip/../../README.txt", "extract.zip/2026-01/other.csv"]
        assert all(p.resolve().is_relative_to(candidate.workdir.resolve()) for p in (candidate.workdir / "uploads").rglob("*"))
    finally:
        publishing.discard(candidate)


def test_zip_that_unpacks_too_big_is_refused(data_dir, monkeypatch):
    monkeypatch.setattr(publishing, "MAX_EXTRACTED_BYTES", 10_000)
    archive = _zip({"hidden_crime_big.csv": hidden_csv() + b"0" * 50_000})  # compresses to a few KB
    before = tree_hash(data_dir)
    with pytest.raises(publishing.Refused, match="unpacks to more than"):
        publishing.validate("hidden-crime", [("big.zip", archive)], data_dir)
    assert tree_hash(data_dir) == before
    assert list(publishing.WORK_ROOT.iterdir()) == []


def test_files_identical_to_the_published_data_offer_nothing_to_publish(data_dir):
    first = publishing.validate("hidden-crime", [("h.csv", hidden_csv())], data_dir)
    publishing.publish(first, data_dir)
    version = store.data_version(data_dir)
    again = publishing.validate("hidden-crime", [("h.csv", hidden_csv())], data_dir)
    try:
        assert again.changes == [] and again.version == version
    finally:
        publishing.discard(again)


@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd", "passwd"), ("C:\\Users\\me\\calls.csv", "calls.csv"), (".hidden.csv", "hidden.csv"),
    ("rm -rf *;.csv", "rm_-rf___.csv"), ("", "upload.csv"), ("é" * 300, "_" * 120),
])
def test_uploaded_names_are_reduced_to_plain_names(name, safe):
    assert publishing.safe_name(name) == safe


# ------------------------------------------------------------------ an incomplete month (issue 14's acceptance)

PARTIAL = CSPS[:2]  # 2 of the 8 CSPs


def test_a_partial_month_needs_the_confirmation_and_rollback_restores_every_byte(data_dir):
    current_before, files_before = store.data_version(data_dir), tree_hash(data_dir / store.CURRENT)
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=90).run()
    update_page(at, "hidden-crime")
    upload(at, "hidden-crime", [("hidden_crime_2026-01.csv", hidden_csv(csps=PARTIAL, foreign_rows=0))])
    warnings = "\n".join(c.value for c in at.code)
    assert "hidden_crime_monthly, Devon and Cornwall, January 2026: 6 of 8 CSPs have no rows" in warnings
    assert at.warning, "the page says the update looks incomplete"
    assert button(at, "Publish").disabled, "no publishing without the confirmation"

    at.checkbox(key="update_confirm_partial").check().run()
    assert not button(at, "Publish").disabled
    button(at, "Publish").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Published version" in at.success[0].value
    published = store.data_version(data_dir)
    assert published != current_before
    entry = store.history(data_dir)[-1]
    assert (entry["version"], entry["action"], entry["source"]) == (published.split("/")[1], "ingest", "hidden-crime")
    assert entry["files"][0]["name"] == "hidden_crime_2026-01.csv" and len(entry["files"][0]["sha256"]) == 64
    assert any("6 of 8 CSPs" in w for w in entry["warnings_confirmed"])

    versions = at.dataframe[-1].value  # the Versions table
    assert list(versions["version"][:2]) == [published.split("/")[1], current_before.split("/")[1]]
    assert at.selectbox(key="rollback_to").value == current_before.split("/")[1]  # the previous one by default
    button(at, "Roll back").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Rolled back" in at.success[0].value
    assert store.data_version(data_dir) == current_before
    assert tree_hash(data_dir / store.CURRENT) == files_before
    assert store.history(data_dir)[-1]["action"] == "rollback"


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MEASURES_PUBLIC"}
    return subprocess.run([sys.executable, "-m", "measures", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=env)


def test_the_command_line_refuses_a_partial_month_without_allow_partial_and_rollback_restores_it(data_dir, tmp_path):
    extract = tmp_path / "in" / "hidden_crime_2026-01.csv"
    extract.parent.mkdir()
    extract.write_bytes(hidden_csv(csps=PARTIAL, foreign_rows=0))
    everything_before = tree_hash(data_dir)
    current_before, files_before = store.data_version(data_dir), tree_hash(data_dir / store.CURRENT)

    refused = cli("ingest", "hidden-crime", str(extract), "--data-dir", str(data_dir))
    assert refused.returncode == 2, refused.stderr
    assert "warning: hidden_crime_monthly, Devon and Cornwall, January 2026: 6 of 8 CSPs have no rows" in refused.stderr
    assert refused.stderr.rstrip().endswith("nothing was published; add --allow-partial to publish anyway")
    assert "Traceback" not in refused.stderr and "1 month(s) 2026-01..2026-01" in refused.stdout
    assert tree_hash(data_dir) == everything_before, "a refused update changes nothing, not even the history"

    allowed = cli("ingest", "hidden-crime", str(extract), "--data-dir", str(data_dir), "--allow-partial")
    assert allowed.returncode == 0, allowed.stderr
    assert "6 of 8 CSPs" in allowed.stderr  # still said
    assert store.data_version(data_dir) != current_before

    listing = cli("versions", "--data-dir", str(data_dir))
    assert listing.returncode == 0, listing.stderr
    assert f"sha256 {hashlib.sha256(extract.read_bytes()).hexdigest()}" in listing.stdout
    assert listing.stdout.startswith(f"* {store.current_id(data_dir)}")

    back = cli("rollback", "--data-dir", str(data_dir))
    assert back.returncode == 0, back.stderr
    assert store.data_version(data_dir) == current_before
    assert tree_hash(data_dir / store.CURRENT) == files_before

    for bad, expected in (("0123456789ab", "there is no version 0123456789ab"), ("../../etc", "not a version id")):
        wrong = cli("rollback", "--to", bad, "--data-dir", str(data_dir))
        assert wrong.returncode == 2 and expected in wrong.stderr and wrong.stderr.count("\n") == 1, wrong.stderr
    assert store.data_version(data_dir) == current_before
