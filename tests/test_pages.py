"""AppTest of every page on the embedded default data, including URL parameters."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from measures.data.config import load_force
from tests.conftest import open_app_page

TIMEOUT = 60


def run_page(path: str, **params: str) -> AppTest:
    return open_app_page(path or None, TIMEOUT, **params)


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)


def test_overview_shows_every_measure_for_the_force():
    from measures.core import registry

    at = run_page("")
    text = markdown_text(at)
    for measure in registry.measures():
        assert measure.title in text, measure.id
    assert "Signal:" in text
    assert "Illustrative data, not official statistics" in text


@pytest.mark.parametrize("area", [a.code for a in load_force().csps])
def test_overview_for_each_csp(area):
    from measures.core import registry

    at = run_page("", area=area)
    assert at.selectbox(key="picker_area").value == area
    text = markdown_text(at)
    for measure in registry.measures():
        assert measure.title in text, measure.id
    assert text.count("Signal:") + text.count("**suppressed**") + text.count("No data for this area") >= len(
        registry.measures())


def test_recorded_crime_for_plymouth_from_the_url():
    at = run_page("app_pages/recorded_crime.py", area="E22000056")
    assert at.selectbox(key="picker_area").value == "E22000056"
    assert any("Plymouth" in s.value for s in at.subheader)
    text = markdown_text(at)
    assert "gaps" in text  # the default period spans months police.uk never published
    assert "Open Government Licence" in text


@pytest.mark.parametrize("params", [
    {"area": "'; drop table police_uk_counts; --"},
    {"area": "../../etc/passwd"},
    {"area": "E" * 5000},
    {"from": "2025-06", "to": "2019-01"},
    {"from": "2030-01"},
    {"types": "Burglary,<script>alert(1)</script>"},
    {"area": "%ff%fe"},
])
def test_hostile_url_values_give_the_default_view(params):
    at = run_page("app_pages/recorded_crime.py", **params)
    assert at.selectbox(key="picker_area").value in {"E23000035"} or "area" not in params
    assert len(at.get("plotly_chart")) >= 1


def test_area_change_reruns_and_updates_url():
    at = run_page("app_pages/recorded_crime.py")
    at.selectbox(key="picker_area").select("E22000049").run()
    assert not at.exception
    assert any("Exeter" in s.value for s in at.subheader)


@pytest.mark.parametrize("measure_id", ["calls_101_mean_wait", "reoffending_rate", "hidden_domestic_abuse",
                                        "recorded_crime"])
def test_measure_page_draws_control_chart(measure_id):
    at = run_page("app_pages/measure.py", measure=measure_id, area="E22000049")
    assert at.selectbox(key="picker_measure").value == measure_id
    assert at.selectbox(key="picker_area").value == "E22000049"
    assert len(at.get("plotly_chart")) >= 2
    from measures.core import export
    from measures.paths import DEFAULT_DATA_DIR

    labelled = any("Illustrative data, not official statistics" in w.value for w in at.warning)
    assert labelled == export.illustrative_by_measure(DEFAULT_DATA_DIR)[measure_id]  # as the rows were loaded


def test_hidden_crime_page_says_neutral():
    at = run_page("app_pages/measure.py", measure="hidden_domestic_abuse")
    assert any("neutral" in i.value for i in at.info)


def test_public_mode_overview_shows_suppressed_not_zero(monkeypatch):
    monkeypatch.setenv("MEASURES_PUBLIC", "1")
    # North Devon's modern slavery in 2019 (published by year on the public site): fewer than 5.
    at = run_page("", area="E22000363", to="2019-12")
    text = markdown_text(at)
    assert "2019: **suppressed** (fewer than 5)" in text
    assert any("1 to 4" in i.value for i in at.info)


def test_public_mode_shows_scilly_with_cornwall(monkeypatch):
    """The Isles of Scilly is published with Cornwall; an address that names it opens the combined area."""
    monkeypatch.setenv("MEASURES_PUBLIC", "1")
    at = run_page("", area="E22000050")
    assert at.selectbox(key="picker_area").value == "E22000356-E22000050"
    assert any("published as part of Cornwall and Isles of Scilly" in i.value for i in at.info)


def test_unknown_measure_in_url_gives_default():
    at = run_page("app_pages/measure.py", measure="../../etc/passwd")
    from measures.core import registry

    assert at.selectbox(key="picker_measure").value == registry.ids()[0]


def test_overview_period_from_the_url():
    at = run_page("", area="E22000049", to="2022-09")
    assert at.selectbox(key="picker_to").value == "2022-09"
    assert "Sep 2022" in markdown_text(at)  # 101 and hidden crimes show their Sep 2022 values
