"""Analysts' commentary: written on its page (analyst mode), published atomically as a table of the
data version, shown as plain text on the public measure pages and in the briefing pack (HTML and
PDF text), refused (with nothing published) for bad input and on the public site.

Every test works on a copy of data/ in a temporary folder (MEASURES_DATA_DIR, --data-dir).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from measures.core import export, registry
from measures.data import commentary, config, db, store
from measures.render import briefing
from tests.conftest import REPO, copy_of_data, open_app_page, tree_hash

EXETER = "E22000049"
MEASURE = "recorded_crime"  # real (police.uk) data, on the measure page and in every pack
HOSTILE = "<b>bold</b> <script>alert(1)</script> **stars** [link](http://evil.example)"
ROLE = "Performance analyst, OPCC"


def latest_month(folder: Path, measure_id: str = MEASURE, area_code: str = EXETER) -> dt.date:
    frame = export.measure_frame(db.connect(folder), registry.get(measure_id), config.load_force().code, None, None,
                                 False)
    return pd.Timestamp(frame.loc[frame["area_code"] == area_code, "period_start"].max()).date()


def version_files(folder: Path) -> dict[str, str]:
    """The published version's files by name (content hash)."""
    current = store.current_dir(folder)
    assert current is not None
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in current.iterdir()}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = copy_of_data(tmp_path)
    monkeypatch.setenv("MEASURES_DATA_DIR", str(folder))
    monkeypatch.delenv("MEASURES_PUBLIC", raising=False)
    return folder


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, dt.date, str, dict[str, str], commentary.Commentary]:
    """A copy of the data with the hostile commentary on Exeter's recorded crime in its latest month:
    (folder, month, version before, the version's files before, the saved commentary)."""
    folder = copy_of_data(tmp_path_factory.mktemp("commentary"))
    month = latest_month(folder)
    before_version, before_files = store.data_version(folder), version_files(folder)
    saved = commentary.add(folder, MEASURE, EXETER, month, HOSTILE, ROLE)
    return folder, month, before_version, before_files, saved


# ------------------------------------------------------------------ stored with the data, atomically

def test_a_commentary_publishes_a_new_version_and_leaves_every_old_table_byte_identical(written):
    folder, month, before_version, before_files, saved = written
    assert store.data_version(folder) != before_version
    after = version_files(folder)
    assert set(after) == set(before_files) | {"commentary.parquet"}
    for name, digest in before_files.items():
        if name != store.MANIFEST:
            assert after[name] == digest, name
    old = folder / before_version  # kept for the version history, or pruned: never edited in place
    if old.exists():
        assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in old.iterdir()} == before_files
    assert store.manifest(folder)["tables"]["commentary"]["source"] == "analysts' commentary"
    assert store.manifest(folder)["tables"]["commentary"]["illustrative"] is False

    table = commentary.read(folder)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["measure_id"], row["area_code"], row["text"], row["role"]) == (MEASURE, EXETER, HOSTILE, ROLE)
    assert row["period"] == pd.Timestamp(month)
    assert row["data_version"] == before_version  # the version it was written against
    assert abs(pd.Timestamp.now(tz="UTC") - row["written_at"]) < pd.Timedelta(minutes=10)
    assert saved.data_version == before_version
    # Every data connection sees it, locked down (the app) or not (tools).
    assert commentary.read(db.connect(folder)).equals(table)
    assert commentary.read(db.connect(folder, lockdown=False)).equals(table)


def test_writing_again_for_the_same_measure_area_and_period_replaces_it(data_dir):
    month = latest_month(data_dir)
    commentary.add(data_dir, MEASURE, EXETER, month, "first", ROLE)
    commentary.add(data_dir, MEASURE, EXETER, month, "corrected", ROLE)
    commentary.add(data_dir, MEASURE, config.load_force().code, month, "the force", ROLE)
    table = commentary.read(data_dir)
    assert sorted(table["text"]) == ["corrected", "the force"]


def test_the_lookups(data_dir):
    month = latest_month(data_dir)
    earlier = (pd.Timestamp(month) - pd.DateOffset(months=2)).date()
    commentary.add(data_dir, MEASURE, EXETER, earlier, "Earlier.\nSecond line.", ROLE)
    commentary.add(data_dir, MEASURE, EXETER, month, "Latest.", "Analyst")
    comments = commentary.read(data_dir)
    assert commentary.latest(comments, MEASURE, EXETER, month).text == "Latest."
    assert commentary.latest(comments, MEASURE, EXETER, earlier).text == "Earlier.\nSecond line."
    before = (pd.Timestamp(earlier) - pd.DateOffset(months=1)).date()
    assert commentary.latest(comments, MEASURE, EXETER, before) is None
    assert commentary.latest(comments, "anti_social_behaviour", EXETER, month) is None
    assert [c.text for c in commentary.for_window(comments, MEASURE, EXETER, earlier, month)] == [
        "Latest.", "Earlier.\nSecond line."]
    assert commentary.for_window(comments, MEASURE, EXETER, month, month)[0].role == "Analyst"
    assert commentary.first_line("\n  Earlier.  \nSecond line.") == "Earlier."
    long = "word " * 100
    assert commentary.first_line(long, limit=30).endswith("…") and len(commentary.first_line(long, limit=30)) <= 30
    label = commentary.label(commentary.latest(comments, MEASURE, EXETER, month))
    assert registry.get(MEASURE).title in label and "Analyst" in label and f"{month:%b %Y}" in label


# ------------------------------------------------------------------ refused: one line, nothing published

@pytest.mark.parametrize("change, expected", [
    ({"measure_id": "no_such_measure"}, "unknown measure 'no_such_measure'"),
    ({"measure_id": "<script>"}, "unknown measure (not a code)"),
    ({"area_code": "E99999999"}, "unknown area 'E99999999'"),
    ({"period": dt.date(2025, 1, 15)}, "must be a month"),
    ({"period": dt.date(2999, 1, 1)}, "out of range"),
    ({"text": "   \n "}, "the text is empty"),
    ({"text": "x" * (commentary.MAX_TEXT + 1)}, f"at most {commentary.MAX_TEXT:,}"),
    ({"text": "bell\x07"}, "control characters"),
    ({"role": ""}, "the role is empty"),
    ({"role": "analyst\nsecond line"}, "line breaks"),
    ({"role": "r" * (commentary.MAX_ROLE + 1)}, f"at most {commentary.MAX_ROLE}"),
])
def test_bad_input_is_refused_with_one_line_and_nothing_is_published(data_dir, change, expected):
    before = tree_hash(data_dir)
    args = {"measure_id": MEASURE, "area_code": EXETER, "period": latest_month(data_dir), "text": "Fine.",
            "role": ROLE, **change}
    with pytest.raises(commentary.CommentaryRefused) as refused:
        commentary.add(data_dir, **args)
    assert expected in str(refused.value) and "\n" not in str(refused.value)
    assert tree_hash(data_dir) == before


def test_a_failure_while_writing_publishes_nothing(data_dir, monkeypatch):
    before = tree_hash(data_dir)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(commentary.pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        commentary.add(data_dir, MEASURE, EXETER, latest_month(data_dir), "Fine.", ROLE)
    assert tree_hash(data_dir) == before
    assert commentary.read(data_dir).empty


def test_the_public_site_cannot_write_commentary(data_dir, monkeypatch):
    monkeypatch.setenv("MEASURES_PUBLIC", "1")
    before = tree_hash(data_dir)
    with pytest.raises(PermissionError, match="public site"):
        commentary.add(data_dir, MEASURE, EXETER, latest_month(data_dir), "Fine.", ROLE)
    assert tree_hash(data_dir) == before


def test_other_forces_and_combined_areas_are_areas_unknown_codes_are_not():
    codes = commentary.area_codes()
    force = config.load_force()
    assert {force.code, EXETER, config.unassigned_code(force.code)} <= codes
    assert "E23000001" in codes  # another force of England and Wales
    assert {c.code for c in force.public_combined} <= codes
    assert "E06000052" not in codes  # a district, not a CSP


# ------------------------------------------------------------------ the pages

def text_elements(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def rendered_markup(at: AppTest) -> str:
    """Everything the page drew as Markdown or HTML (titles, captions, messages, markdown)."""
    parts = [*at.markdown, *at.caption, *at.title, *at.header, *at.subheader, *at.info, *at.warning, *at.error,
             *at.success, *at.get("html")]
    return "\n".join(str(getattr(p, "value", "")) + str(getattr(p.proto, "body", "")) for p in parts)


def assert_shown_as_text(at: AppTest, month: dt.date) -> None:
    assert HOSTILE in text_elements(at)  # literally, as one plain-text element
    labels = [t for t in text_elements(at) if ROLE in t]
    assert labels and f"{month:%b %Y}" in labels[0] and f"{dt.date.today():%Y}" in labels[0]
    assert "Commentary" in [s.value for s in at.subheader]
    markup = rendered_markup(at)
    for piece in ("alert(1)", "evil.example", "stars", "bold"):  # none of it went through Markdown or HTML
        assert piece not in markup, piece


def test_the_public_measure_page_shows_the_commentary_as_plain_text(written, monkeypatch):
    folder, month, *_ = written
    monkeypatch.setenv("MEASURES_DATA_DIR", str(folder))
    monkeypatch.setenv("MEASURES_PUBLIC", "1")
    at = open_app_page("app_pages/measure.py", measure=MEASURE, area=EXETER)
    assert_shown_as_text(at, month)


def test_the_recorded_crime_page_shows_it_for_a_period_with_it_and_not_for_one_without(written, monkeypatch):
    folder, month, *_ = written
    monkeypatch.setenv("MEASURES_DATA_DIR", str(folder))
    monkeypatch.setenv("MEASURES_PUBLIC", "1")
    at = open_app_page("app_pages/recorded_crime.py", measure=MEASURE, area=EXETER, **{"to": f"{month:%Y-%m}"})
    assert_shown_as_text(at, month)
    other = open_app_page("app_pages/recorded_crime.py", measure=MEASURE, area="E22000056", **{"to": f"{month:%Y-%m}"})
    assert HOSTILE not in text_elements(other)  # Plymouth has none


def test_the_public_area_profile_shows_it_beside_the_pack(written, monkeypatch):
    folder, month, *_ = written
    monkeypatch.setenv("MEASURES_DATA_DIR", str(folder))
    monkeypatch.setenv("MEASURES_PUBLIC", "1")
    at = open_app_page("app_pages/area_profile.py", 120, area=EXETER, **{"to": f"{month:%Y-%m}"})
    assert HOSTILE in text_elements(at)


@pytest.mark.parametrize("page, measure_id, params", [
    ("app_pages/hidden_crimes.py", "hidden_domestic_abuse", {"strand": "domestic_abuse"}),
    ("app_pages/reoffending.py", "reoffending_rate", {}),
    ("app_pages/calls_101.py", "calls_101_abandoned", {}),
])
def test_each_measure_page_shows_the_commentary_on_its_measure(data_dir, page, measure_id, params):
    force_code = config.load_force().code
    month = latest_month(data_dir, measure_id, force_code)
    commentary.add(data_dir, measure_id, force_code, month, HOSTILE, ROLE)
    at = open_app_page(page, area=force_code, **params)
    assert_shown_as_text(at, month)


# ------------------------------------------------------------------ the briefing pack

def pdf_text(path: Path) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


def test_the_pdf_pack_from_the_command_line_holds_the_literal_text(written, tmp_path):
    folder, month, *_ = written
    out = tmp_path / "exeter.pdf"
    done = subprocess.run([sys.executable, "-m", "measures", "briefing", "--area", EXETER, "--to", f"{month:%Y-%m}",
                           "--data-dir", str(folder), "--public", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    text = pdf_text(out)
    assert HOSTILE in text
    assert f"Commentary · {registry.get(MEASURE).title}, {month:%b %Y} · written by {ROLE}" in text


def test_the_html_pack_escapes_it_in_the_measures_row(written, tmp_path):
    folder, month, *_ = written
    out = briefing.write(briefing.briefing(EXETER, tmp_path / "p.html", folder, period_to=f"{month:%Y-%m}"),
                         tmp_path / "p.html")
    html = out.read_text()
    assert "<script>alert" not in html and "<b>bold</b>" not in html
    escaped = "&lt;b&gt;bold&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt; **stars** [link](http://evil.example)"
    row_start = html.index(f"<tr data-measure='{MEASURE}'>")
    commentary_row = html.index("<tr class='commentary'>", row_start)
    assert html.index(escaped, commentary_row) < html.index("</tr>", commentary_row)  # the next row: its commentary
    assert html.index("</tr>", row_start) + len("</tr>") == commentary_row


# ------------------------------------------------------------------ the Commentary page (analyst mode)

def test_the_commentary_page_saves_publishes_and_lists_it(data_dir):
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=90).run()
    at.switch_page("app_pages/commentary.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="commentary_measure").select(MEASURE).run()
    at.selectbox(key="commentary_area").select(EXETER).run()
    assert at.selectbox(key="commentary_period").options[0] == f"{latest_month(data_dir):%b %Y}"  # newest first
    at.text_input(key="commentary_role").input(ROLE)
    at.text_area(key="commentary_text").input(HOSTILE)
    before = store.data_version(data_dir)
    next(b for b in at.button if b.label == "Save and publish").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Saved and published" in at.success[0].value
    assert store.data_version(data_dir) != before
    listed = at.dataframe[0].value  # the only table on the page: the published commentaries
    assert list(listed["Commentary"]) == [HOSTILE] and list(listed["Area"]) == ["Exeter"]
    saved = commentary.read(data_dir).iloc[0]
    assert (saved["measure_id"], saved["area_code"], saved["role"]) == (MEASURE, EXETER, ROLE)
    assert saved["period"] == pd.Timestamp(latest_month(data_dir))


def test_the_commentary_page_reports_a_refusal_and_publishes_nothing(data_dir):
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=90).run()
    at.switch_page("app_pages/commentary.py").run()
    before = tree_hash(data_dir)
    at.text_input(key="commentary_role").input(ROLE)
    next(b for b in at.button if b.label == "Save and publish").click().run()  # no text
    assert not at.exception
    assert at.error[0].value == "Not saved: the text is empty"
    assert tree_hash(data_dir) == before


def test_the_commentary_page_is_not_on_the_public_site_and_refuses_to_run_there(data_dir, monkeypatch):
    monkeypatch.setenv("MEASURES_PUBLIC", "1")
    page = AppTest.from_file(str(REPO / "app_pages" / "commentary.py"), default_timeout=30).run()
    assert not page.exception
    assert len(page.button) == 0 and len(page.text_area) == 0
    assert "cannot be written" in page.error[0].value
    router = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=60).run()
    with pytest.raises(Exception, match="commentary"):  # not a page of this app at all
        router.switch_page("app_pages/commentary.py").run()
