"""The Area profile page (AppTest, analyst and public mode) and, in a real browser, the page and the HTML pack."""

from __future__ import annotations

import io
import json
from pathlib import Path

from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from measures.core import export, registry
from measures.paths import DEFAULT_DATA_DIR
from measures.render import briefing
from tests.conftest import canvas_is_drawn, needs_browser, open_app_page, open_page

EXETER, NORTH_DEVON = "E22000049", "E22000363"


def run_profile(monkeypatch, area: str, public: bool, **params: str) -> AppTest:
    if public:
        monkeypatch.setenv("MEASURES_PUBLIC", "1")
    else:
        monkeypatch.delenv("MEASURES_PUBLIC", raising=False)
    return open_app_page("app_pages/area_profile.py", 120, area=area, **params)


def spine_spec(at: AppTest) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if "against the force" in spec["layout"]["title"]["text"]:
            return spec
    raise AssertionError("no spine chart on the page")


def test_exeter_profile_has_every_measure_findings_and_the_pack_buttons(monkeypatch):
    at = run_profile(monkeypatch, EXETER, public=False)
    assert at.title[0].value == "Area profile: Exeter"
    assert at.selectbox(key="picker_area").value == EXETER
    spec = spine_spec(at)
    rows = spec["layout"]["yaxis"]["categoryarray"]
    assert sorted(rows) == sorted(m.title for m in registry.measures())
    assert "Illustrative data, not official statistics" in spec["layout"]["title"]["text"]
    findings = "\n".join(m.value for m in at.markdown)
    assert "Exeter's rate of recorded crime (police.uk)" in findings and "99.8% limits" in findings
    table = at.dataframe[0].value
    assert len(table) == len(registry.measures())
    flags = export.illustrative_by_measure(DEFAULT_DATA_DIR)  # the default data's rows, as loaded
    assert (table["Measure"].str.endswith("(illustrative)") == [flags[m.id] for m in registry.measures()]).all()
    labels = [button.proto.label for button in at.get("download_button")]
    assert "Download the briefing pack (HTML)" in labels and "Download the briefing pack (PDF)" in labels


def test_public_profile_shows_suppressed_not_zero(monkeypatch):
    # North Devon in 2019: its modern slavery (published by year on the public site) was fewer than 5.
    at = run_profile(monkeypatch, "E22000363", public=True, **{"from": "2019-01", "to": "2019-12"})
    assert at.title[0].value == "Area profile: North Devon and Torridge"
    table = at.dataframe[0].value.set_index("Measure")
    flags = export.illustrative_by_measure(DEFAULT_DATA_DIR)
    controlled = {f"{m.title} (illustrative)" if flags[m.id] else m.title
                  for m in registry.measures() if m.disclosure_control}
    shown = table["North Devon and Torridge"]
    suppressed = set(shown[shown == "suppressed"].index)
    assert suppressed and suppressed <= controlled
    assert all(table.loc[name, "Against the force"].startswith("– Not compared (suppressed)") for name in suppressed)
    # On the spine chart a suppressed measure is a word, never a circle (at 0 or anywhere).
    spec = spine_spec(at)
    words = {a["y"] for a in spec["layout"]["annotations"] if a["text"] == "<i>suppressed</i>"}
    assert {name.removesuffix(" (illustrative)") for name in suppressed} == words
    circles = {trace["y"][0] for trace in spec["data"] if trace.get("mode") == "markers"}
    assert not circles & words
    findings = "\n".join(m.value for m in at.markdown)
    for name in suppressed:
        assert name.removesuffix(" (illustrative)").lower() not in findings.lower()
    assert any("Suppressed, so no finding" in c.value for c in at.caption)


def test_the_period_comes_from_the_address(monkeypatch):
    at = run_profile(monkeypatch, EXETER, public=False, **{"from": "2024-01", "to": "2024-04"})
    assert "Jan 2024 to Apr 2024" in spine_spec(at)["layout"]["title"]["text"].replace("<br>", " ")  # wrapped for phones
    table = at.dataframe[0].value.set_index("Measure")
    assert table.loc["Recorded crime (police.uk)", "Unit"] == "per 1,000 residents in 4 months"


# Browser tests: marked `browser`, skipped where chromium is absent (conftest.needs_browser).
@needs_browser[0]
@needs_browser[1]
def test_browser_public_profile_with_a_suppressed_figure_draws_the_spine_chart(server, browser):
    # North Devon in 2019: its modern slavery (published by year on the public site) was fewer than 5.
    page = open_page(browser, f"{server}/area-profile?area={NORTH_DEVON}&from=2019-01&to=2019-12")
    try:
        spine = page.locator(".js-plotly-plot", has_text="against the force").first
        spine.wait_for(timeout=60_000)
        assert spine.bounding_box()["height"] > 300
        assert spine.locator(".scatterlayer .point").count() >= 5  # circles for the measures with a value
        annotations = spine.locator(".annotation-text").all_text_contents()
        assert annotations.count("suppressed") >= 1 and "0" not in annotations
        assert page.get_by_text("North Devon and Torridge's", exact=False).first.is_visible()
        # The page's buttons hand over the public pack for this area, not a broken or empty file.
        with page.expect_download(timeout=60_000) as download:
            page.get_by_text("Download the briefing pack (PDF)").click()
        pdf = Path(download.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF") and download.value.suggested_filename.startswith(f"briefing_{NORTH_DEVON}_")
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "North Devon and Torridge" in text and "Public version" in text
        with page.expect_download(timeout=60_000) as download:
            page.get_by_text("Download the briefing pack (HTML)").click()
        html = Path(download.value.path()).read_text()
        assert 'class="chart spine"' in html and "North Devon and Torridge" in html and "Public version" in html
    finally:
        page.close()


@needs_browser[0]
@needs_browser[1]
def test_browser_html_pack_opens_from_a_file_with_its_charts_drawn(browser, tmp_path):
    out = tmp_path / "exeter.html"
    pack = briefing.briefing(EXETER, out, DEFAULT_DATA_DIR)
    page = browser.new_page(viewport={"width": 1200, "height": 1600})
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    try:
        page.goto(out.as_uri())
        page.wait_for_load_state("load")
        spine = page.locator("svg.spine")
        assert spine.bounding_box()["width"] > 500
        assert spine.locator("circle.area-value").count() == sum(row.status == "ok" for row in pack.rows)
        assert canvas_is_drawn(page, "svg.spine")
        sparklines = page.locator("svg.sparkline")
        assert sparklines.count() == len(registry.measures())
        assert page.locator("svg.sparkline polyline").count() >= 10
        assert canvas_is_drawn(page, "svg.locator")
        assert page.get_by_text("Exeter: Police and Crime Plan measures").is_visible()
        assert not failed  # nothing fetched from anywhere
    finally:
        page.close()
