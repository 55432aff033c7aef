"""The analysts' "Update data" page: upload, read the check's report, publish; the running
app shows the new data on its next rerun, without a restart. Hostile uploads are refused
and change nothing. Every test works on a copy of data/ in tmp_path (MEASURES_DATA_DIR).
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from measures.data import publishing, store
from measures.data.ingest import hidden_crime
from tests.conftest import REPO, tree_hash
from tests.test_input_contracts import OTHER_CSP, hidden_rows

NEW_MONTH, NEW_MONTH_LABEL = "2026-01", "Jan 2026"  # after the last published month of the default data


def hidden_csv(month: str = NEW_MONTH, foreign_rows: int = 1) -> bytes:
    rows = hidden_rows(month) + [[month, OTHER_CSP, "hate_crime", "7"]] * foreign_rows
    return ("\n".join([",".join(hidden_crime.COLUMNS), *(",".join(r) for r in rows)]) + "\n").encode()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(REPO / "data", folder, symlinks=True)
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
