"""AppTest of the 101 calls, About the data and Recorded crime pages on the embedded default data,
including their URL parameters and hostile addresses; the published reference table against its raw file."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from measures.core import registry, vocabulary
from measures.data import published
from measures.data.config import load_force
from measures.paths import DEFAULT_DATA_DIR, SHARED_DATA_DIR
from measures.render import charts
from measures.ui.app import ATTRIBUTION, ILLUSTRATIVE_LABEL
from tests.conftest import open_app_page

CALLS = "app_pages/calls_101.py"
ABOUT = "app_pages/about_data.py"
RECORDED = "app_pages/recorded_crime.py"
FORCE = load_force()
CURRENT = DEFAULT_DATA_DIR / "current"


def run_page(path: str, **params: str | list[str]) -> AppTest:
    return open_app_page(path, 60, **params)


def _plain(value):
    """Plotly's figure dict with arrays (sent base64-typed) as plain lists, missing values as None."""
    if isinstance(value, dict) and "bdata" in value:  # a typed array: base64 of the numbers
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" in value:
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
        return _plain(array)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def figures(at: AppTest) -> dict[str, dict]:
    """Each Plotly chart's figure, decoded as the browser gets it, by the chart's key."""
    return {_key(chart): _plain(json.loads(chart.proto.spec)) for chart in at.get("plotly_chart")}


def _key(chart) -> str:
    """The key the page gave the chart: Streamlit's element id is "$$ID-<hash>-<key>"."""
    return chart.proto.id.split("-", 2)[-1]


def text_of(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
                     + [i.value for i in at.info])


def traces(figure: dict, name_part: str) -> list[dict]:
    return [t for t in figure["data"] if name_part in (t.get("name") or "")]


# --- the published reference table ---------------------------------------------------------

@pytest.mark.skipif(not (SHARED_DATA_DIR / "published").is_dir(), reason="../shared/data/published is not here")
@pytest.mark.parametrize("raw_name", published.RAW_FILES)
def test_published_points_equal_the_raw_rows(raw_name):
    """The committed table holds every raw row about the force, value, dates and source unchanged."""
    raw = pd.read_csv(SHARED_DATA_DIR / "published" / raw_name, dtype=str, keep_default_na=False)
    if "geography" in raw:
        raw = raw[raw["geography"] == FORCE.name]
    committed = pd.read_csv(published.POINTS_FILE, dtype=str, keep_default_na=False)
    committed = committed[committed["source_file"] == raw_name].reset_index(drop=True)
    columns = ["period_start", "period_end", "value", "unit", "definition_note", "source_url", "source_date"]
    pd.testing.assert_frame_equal(committed[columns], raw[columns].reset_index(drop=True))
    name_column = "measure" if "measure" in raw else "strand"
    assert committed["published_measure"].tolist() == raw[name_column].tolist()
    assert set(committed["force_code"]) == {FORCE.code}
    # every measure the table points at is in the registry (or left empty: no comparable measure)
    assert set(committed["measure_id"]) - {""} <= set(registry.ids())


@pytest.mark.skipif(not (SHARED_DATA_DIR / "published").is_dir(), reason="../shared/data/published is not here")
def test_published_points_rebuild_gives_the_committed_table(tmp_path):
    rebuilt = published.build_points(SHARED_DATA_DIR / "published", FORCE.code, FORCE.name)
    committed = pd.read_csv(published.POINTS_FILE, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(rebuilt.reset_index(drop=True), committed)


def test_published_points_for_a_measure_mark_periods_and_months():
    points = published.points("calls_101_mean_wait", FORCE.code)
    assert len(points) >= 5
    year = points[points["period_start"] == "2022-09-01"].iloc[0]
    assert (year["months"], year["value"]) == (12, 37.0)
    month = points[points["period_start"] == "2023-11-01"]
    assert month["months"].tolist() == [1, 1]  # the PCC's 47 minutes and the 20-minute aim
    assert set(month["kind"]) == {"figure", "target"}


# --- /calls-101 ------------------------------------------------------------------------------

def test_calls_101_force_view_draws_every_chart_with_its_notes():
    at = run_page(CALLS)
    assert at.selectbox(key="picker_area").value == FORCE.code
    charts = figures(at)
    assert set(charts) == {"wait_control", "answered_abandoned", "weekday_hour", "calls_by_csp"}
    for key, figure in charts.items():  # the 101 data is generated: every chart says so
        assert ILLUSTRATIVE_LABEL in figure["layout"]["title"]["text"], key
    assert len(at.get("download_button")) == 4  # one CSV under each chart
    assert any(ILLUSTRATIVE_LABEL in w.value for w in at.warning)
    text = text_of(at)
    assert "target of 20 minutes" in text
    assert any(label in text for label in vocabulary.SIGNAL_LABELS.values())


def test_calls_101_control_chart_has_target_and_published_points_with_sources():
    at = run_page(CALLS)
    figure = figures(at)["wait_control"]
    target = traces(figure, "target")[0]
    assert set(target["y"]) == {20}
    segment = traces(figure, "published figure (period)")[0]
    # the 12 months to August 2023 (37 minutes) is a segment from Sep 2022 to Aug 2023
    starts = [i for i, y in enumerate(segment["y"]) if y == 37]
    assert [segment["x"][i][:10] for i in starts] == ["2022-09-01", "2023-08-01"]
    assert "falmouthpacket.co.uk" in segment["text"][starts[0]]
    single = traces(figure, "published figure (month)")[0]
    assert 47 in single["y"]  # the PCC's November 2023 figure, a single month: a point
    hover = single["text"][single["y"].index(47)]
    assert "itv.com" in hover and "2023-11-26" in hover
    assert 20 not in single["y"]  # the stated aim is the target line, not a measured figure


def test_calls_101_caller_csp_counts_unknown_callers_in_their_own_bar():
    at = run_page(CALLS, **{"from": "2024-01", "to": "2024-12"})
    bars = figures(at)["calls_by_csp"]["data"][0]
    monthly = pd.read_parquet(CURRENT / "calls_101_monthly.parquet")
    year = monthly[(monthly["month"] >= pd.Timestamp("2024-01-01").date())
                   & (monthly["month"] <= pd.Timestamp("2024-12-01").date())]
    by_area = year.groupby("area_code")["calls"].sum()
    shown = dict(zip(bars["y"], bars["x"], strict=True))  # horizontal bars: names on y
    assert shown["Unassigned / unknown caller CSP"] == by_area[f"UNASSIGNED-{FORCE.code}"]
    assert shown["Plymouth"] == by_area["E22000056"]
    assert sum(shown.values()) == by_area.sum()  # nothing dropped


def test_calls_101_heatmap_is_mean_wait_by_weekday_and_hour():
    at = run_page(CALLS, **{"from": "2025-01", "to": "2025-06"})
    heat = figures(at)["weekday_hour"]["data"][0]
    assert heat["colorscale"][0][1].lower() in ("#00224e", "rgb(0,32,76)", "rgb(0, 32, 76)")  # cividis
    assert len(heat["z"]) == 7 and all(len(row) == 24 for row in heat["z"])
    raw = pd.read_parquet(CURRENT / "calls_101_weekday_hour.parquet")
    raw = raw[(raw["month"] >= pd.Timestamp("2025-01-01").date()) & (raw["month"] <= pd.Timestamp("2025-06-01").date())]
    monday_nine = raw[(raw["weekday"] == 0) & (raw["hour"] == 9)]
    expected = monday_nine["wait_minutes_sum"].sum() / monday_nine["answered"].sum()
    assert heat["z"][0][9] == pytest.approx(expected)


def test_calls_101_for_a_csp_and_period_from_the_url():
    at = run_page(CALLS, area="E22000049", **{"from": "2023-01", "to": "2023-12"})
    assert at.selectbox(key="picker_area").value == "E22000049"
    assert at.select_slider(key="picker_period").value == ("2023-01", "2023-12")
    charts = figures(at)
    wait = charts["wait_control"]
    assert "Exeter" in wait["layout"]["title"]["text"]
    values = traces(wait, "value")[0]
    assert len(values["x"]) == 12 and values["x"][0][:7] == "2023-01"
    frame = pd.read_parquet(CURRENT / "calls_101_monthly.parquet")
    june = frame[(frame["area_code"] == "E22000049") & (frame["month"] == pd.Timestamp("2023-06-01").date())].iloc[0]
    assert values["y"][5] == pytest.approx(june["wait_minutes_sum"] / june["answered"])
    assert not traces(wait, "published")  # published figures are force-wide
    assert "force-wide" in text_of(at)
    bars = charts["calls_by_csp"]["data"][0]
    colours = dict(zip(bars["y"], bars["marker"]["color"], strict=True))
    assert colours["Exeter"] != colours["Plymouth"]  # the chosen CSP stands out
    assert at.query_params["area"] == "E22000049"


def test_calls_101_area_change_updates_the_url_and_charts():
    at = run_page(CALLS)
    at.selectbox(key="picker_area").select("E22000056").run()
    assert not at.exception
    assert at.query_params["area"] == "E22000056"
    assert "Plymouth" in figures(at)["wait_control"]["layout"]["title"]["text"]


@pytest.mark.parametrize("params", [
    {"area": "'; drop table calls_101_monthly; --"},
    {"area": "../../etc/passwd", "from": "../../x"},
    {"to": "9" * 5000},
    {"from": "2025-06", "to": "2019-01"},
    {"area": ["x", "E22000049"]},
    {"area": "%ff%fe"},
])
def test_calls_101_hostile_values_give_the_default_view(params):
    at = run_page(CALLS, **params)
    assert at.selectbox(key="picker_area").value == FORCE.code
    assert len(figures(at)) == 4
    assert at.info, "a short message says the address was not understood"


# --- /about-data ------------------------------------------------------------------------------

def test_about_data_lists_every_measure_source_and_method():
    at = run_page(ABOUT)
    text = text_of(at)
    for measure in registry.measures():
        assert f"#### {measure.title}" in text, measure.id
        assert measure.definition in text and measure.caveats in text, measure.id
    assert ATTRIBUTION in text
    assert "Contains OS data © Crown copyright" in text
    assert "Wilson" in text and "Byar" in text and "Making Data Count" in text and "99.8%" in text
    assert any(ILLUSTRATIVE_LABEL in w.value for w in at.warning)


def test_about_data_shows_each_datasets_dates_and_coverage():
    at = run_page(ABOUT)
    datasets = at.dataframe[0].value.set_index("table")
    manifest = json.loads((CURRENT / "manifest.json").read_text())
    assert set(datasets.index) == set(manifest["tables"])
    police = datasets.loc["police_uk_counts"]
    assert (police["first"], police["last"], police["periods"]) == ("Jan 2019", "Jun 2025", "44")
    assert police["rows"] == len(pd.read_parquet(CURRENT / "police_uk_counts.parquet", filters=[
        ("force_code", "=", FORCE.code)]))
    assert datasets.loc["calls_101_monthly", "illustrative"] and not datasets.loc["ons_csp_crime", "illustrative"]
    ons = pd.read_parquet(CURRENT / "ons_csp_crime.parquet")
    assert datasets.loc["ons_csp_crime", "rows"] == (ons["pfa_code"] == FORCE.code).sum()  # a year, counted once
    timeline = figures(at)["coverage"]
    police_trace = [t for t in timeline["data"] if t["name"].startswith("Recorded crime")][0]
    marked = [x[:7] for x, y in zip(police_trace["x"], police_trace["y"], strict=True) if y is not None]
    assert len(marked) == 44 and "2021-06" not in marked  # 2021 was never published: a gap
    assert "34 months missing" in text_of(at)
    cohorts = [t for t in timeline["data"] if t["name"].startswith("Reoffending")][0]
    marked = [i for i, y in enumerate(cohorts["y"]) if y is not None]
    assert len(marked) == marked[-1] - marked[0] + 1 == 75  # 25 quarters, each month of each: no false gaps


# --- /recorded-crime --------------------------------------------------------------------------

def test_recorded_crime_plymouth_has_notes_under_every_chart():
    at = run_page(RECORDED, area="E22000056")
    assert at.selectbox(key="picker_area").value == "E22000056"
    assert any(s.value == "Plymouth: crimes by month" for s in at.subheader)
    assert len(at.get("download_button")) >= 4  # trend, CSP map, hex map, figures table
    assert any("Plymouth recorded" in c.value for c in at.caption)
    assert any(charts.CLICK_NOTE in c.value for c in at.caption)
    assert any("hexagons" in c.value for c in at.caption)


@pytest.mark.parametrize("params", [
    {"area": "'; drop table police_uk_counts; --"},
    {"area": "../../../etc/passwd"},
    {"area": "E" * 5000},
    {"from": "2025-06", "to": "2019-01"},
    {"area": ["x", "E22000056"]},
    {"area": "%ff%fe", "from": "%ff%fe"},
])
def test_recorded_crime_hostile_sets_give_the_default_view_with_a_message(params):
    at = run_page(RECORDED, **params)
    assert at.selectbox(key="picker_area").value == FORCE.code
    assert any(s.value == f"{FORCE.name}: crimes by month" for s in at.subheader)
    assert len(at.get("plotly_chart")) >= 1
    assert at.info, "a short message says the address was not understood"


@pytest.mark.parametrize("areas", [["E22000056", "x"], ["x", "E22000056"], ["E22000056", "E22000049"]])
def test_recorded_crime_repeated_area_gives_the_default_view_with_a_message(areas):
    at = run_page(RECORDED, area=areas)
    assert at.selectbox(key="picker_area").value == FORCE.code
    assert any("more than once" in i.value for i in at.info)
    assert at.query_params["area"] == FORCE.code  # the address is tidied to one value
