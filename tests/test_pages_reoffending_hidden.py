"""AppTest of the reoffending and hidden-crimes pages on the embedded default data: URL parameters,
every chart present, the neutral statement, illustrative labels, public-mode suppression, hostile addresses."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from measures.ui import hidden_view
from tests.conftest import open_app_page
from tests.test_maps import colour_bar, is_map, map_areas, map_specs, selected_label

HIDDEN = "app_pages/hidden_crimes.py"
REOFFENDING = "app_pages/reoffending.py"
FORCE = "E23000035"
EXETER, PLYMOUTH, SCILLY = "E22000049", "E22000056", "E22000050"
ILLUSTRATIVE = "Illustrative data, not official statistics"


def run_page(path: str, **params: object) -> AppTest:
    return open_app_page(path, 90, **params)


def array(values: object) -> list:
    """A Plotly array as a list: the figure JSON may hold numbers as base64 typed arrays ({"bdata", "dtype"})."""
    if isinstance(values, dict) and "bdata" in values:
        decoded = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
        return [None if np.isnan(v) else float(v) for v in decoded.astype("float64")]
    return list(values)


def figures(at: AppTest) -> list[dict]:
    """The charts (the maps are Plotly figures too, without a title: see map_specs), their titles read as
    one line (they are wrapped for phones)."""
    specs = [s for s in (json.loads(element.proto.spec) for element in at.get("plotly_chart")) if not is_map(s)]
    for spec in specs:
        if isinstance(spec["layout"].get("title"), dict) and "text" in spec["layout"]["title"]:
            spec["layout"]["title"]["text"] = spec["layout"]["title"]["text"].replace("<br>", " ")
    return specs


def titles(at: AppTest) -> list[str]:
    return [figure["layout"]["title"]["text"] for figure in figures(at)]


def the_map(at: AppTest) -> dict:
    (spec,) = map_specs(at)
    return spec


def map_properties(at: AppTest) -> dict[str, dict]:
    """Each CSP on the map: its hover text and value."""
    return map_areas(the_map(at))


def all_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [w.value for w in at.warning] + [s.value for s in at.subheader]
    return "\n".join(parts)


def funnel_trace(at: AppTest) -> dict:
    for figure in figures(at):
        for trace in figure["data"]:
            if trace.get("name") == "CSP":
                return trace
    raise AssertionError("no funnel plot")


def funnel_points(at: AppTest) -> list[list]:
    """[area_code, area_name, label] of each CSP on the funnel plot."""
    return funnel_trace(at)["customdata"]


# --- reoffending ------------------------------------------------------------------------------

def test_reoffending_default_view_has_every_chart_labelled_illustrative():
    at = run_page(REOFFENDING)
    assert at.selectbox(key="picker_area").value == FORCE
    assert at.radio(key="picker_offender").value == "all"
    assert at.selectbox(key="picker_cohort").value == "2024-04"  # the latest cohort
    assert at.query_params["cohort"] == "2024-04" and at.query_params["offender"] == "all"
    chart_titles = titles(at)
    assert len(chart_titles) == 4  # rate by CSP, funnel, trend by cohort, reoffences per reoffender
    assert all(ILLUSTRATIVE in t for t in chart_titles)
    assert any(" vs force Apr to Jun 2024 cohort" in t for t in chart_titles)
    assert len(map_specs(at)) == 1
    assert len(at.get("download_button")) == 5  # one CSV per chart and map
    text = all_text(at)
    assert ILLUSTRATIVE in text
    assert "Open Government Licence" in text
    # Every CSP of the force is on the funnel plot (analyst mode: nothing is suppressed) with its code to click.
    codes = {point[0] for point in funnel_points(at)}
    assert codes == {a for a in map_properties(at)}
    assert len(codes) == 8


def test_reoffending_area_offender_and_cohort_from_the_url():
    at = run_page(REOFFENDING, area=PLYMOUTH, offender="juvenile", cohort="2020-04")
    assert at.selectbox(key="picker_area").value == PLYMOUTH
    assert at.radio(key="picker_offender").value == "juvenile"
    assert at.selectbox(key="picker_cohort").value == "2020-04"
    text = all_text(at)
    assert "Plymouth: reoffending rate by cohort" in text
    assert "Apr to Jun 2020 cohort" in text
    assert all("juveniles" in t for t in titles(at))
    # Plymouth is highlighted: the bars colour it orange and the map outlines and labels it.
    assert selected_label(the_map(at)) == "Plymouth"
    funnel = next(f for f in figures(at) if " vs force " in f["layout"]["title"]["text"])
    csp_trace = next(t for t in funnel["data"] if t.get("name") == "CSP")
    sizes = dict(zip([c[0] for c in csp_trace["customdata"]], array(csp_trace["marker"]["size"]), strict=True))
    assert sizes[PLYMOUTH] > max(size for code, size in sizes.items() if code != PLYMOUTH)


def test_reoffending_juvenile_rates_differ_from_all_offenders():
    everyone = run_page(REOFFENDING, cohort="2023-04")
    juveniles = run_page(REOFFENDING, cohort="2023-04", offender="juvenile")
    assert array(funnel_trace(everyone)["y"]) != array(funnel_trace(juveniles)["y"])
    assert max(array(funnel_trace(juveniles)["x"])) < min(array(funnel_trace(everyone)["x"]))  # fewer juveniles than offenders
    force_line = [t for f in figures(juveniles) for t in f["data"] if str(t.get("name", "")).startswith("force value")]
    force_all = [t for f in figures(everyone) for t in f["data"] if str(t.get("name", "")).startswith("force value")]
    assert array(force_line[0]["y"])[0] != array(force_all[0]["y"])[0]


def test_reoffending_switches_update_the_url():
    at = run_page(REOFFENDING)
    at.radio(key="picker_offender").set_value("adult").run()
    assert at.query_params["offender"] == "adult"
    at.selectbox(key="picker_cohort").set_value("2019-01").run()
    assert not at.exception
    assert at.query_params["cohort"] == "2019-01"
    assert any("Jan to Mar 2019 cohort" in t for t in titles(at))


@pytest.mark.parametrize("params", [
    {"offender": "'; drop table reoffending_cohorts; --"},
    {"cohort": "2024-05"},
    {"cohort": "../../etc/passwd", "area": "E" * 5000},
    {"offender": ["juvenile", "x"]},
])
def test_reoffending_hostile_values_give_a_working_page(params):
    at = run_page(REOFFENDING, **params)
    assert len(at.get("plotly_chart")) >= 3
    assert any("address" in i.value for i in at.info)


# --- hidden crimes ----------------------------------------------------------------------------

def test_hidden_crimes_for_exeter_domestic_abuse_from_the_url():
    at = run_page(HIDDEN, area=EXETER, strand="domestic_abuse")
    assert at.selectbox(key="picker_area").value == EXETER
    assert at.selectbox(key="picker_strand").value == "domestic_abuse"
    text = all_text(at)
    assert "Exeter: records per month" in text
    assert hidden_view.NEUTRAL_STATEMENT in [i.value for i in at.info]  # on the page, not only in the docs
    chart_titles = titles(at)
    assert len(chart_titles) == 3  # trend (control chart), funnel, CSP bars
    assert all(ILLUSTRATIVE in t for t in chart_titles)
    assert any("Reported domestic abuse per month, Exeter" in t for t in chart_titles)
    assert len(map_specs(at)) == 1
    assert len(at.get("download_button")) == 4
    # The map's hover text holds each CSP's rate in words, and its colour bar the unit.
    assert "per 1,000 residents" in map_properties(at)[EXETER]["text"]
    assert colour_bar(the_map(at))["marker"]["colorbar"]["title"]["text"] == "per 1,000 residents"


@pytest.mark.parametrize("strand", hidden_view.STRANDS)
def test_each_strand_from_the_url(strand):
    at = run_page(HIDDEN, strand=strand, **{"from": "2024-01", "to": "2024-12"})
    assert at.selectbox(key="picker_strand").value == strand
    title = hidden_view.measure_for(strand).title
    assert any(title in t for t in titles(at))
    assert at.query_params["from"] == "2024-01" and at.query_params["to"] == "2024-12"
    assert "Jan 2024 to Dec 2024" in all_text(at)


def test_hidden_crimes_period_changes_the_figures():
    year = run_page(HIDDEN, strand="hate_crime", **{"from": "2024-01", "to": "2024-12"})
    quarter = run_page(HIDDEN, strand="hate_crime", **{"from": "2024-01", "to": "2024-03"})
    assert funnel_points(year) and funnel_points(quarter)
    year_table, quarter_table = year.dataframe[0].value, quarter.dataframe[0].value
    assert year_table.iloc[0]["Records"] != quarter_table.iloc[0]["Records"]  # the force row


def test_map_keeps_its_view_whatever_the_selected_area():
    """The same CSPs drawn at the same places (Plotly fits the view to them) whoever is selected."""
    views = [[(t["x"], t["y"]) for t in the_map(run_page(HIDDEN, area=code))["data"] if t.get("fill")]
             for code in (FORCE, EXETER, SCILLY)]
    assert views[0] == views[1] == views[2]


HOSTILE = [
    {"area": "'; drop table x; --"},
    {"area": "../../etc/passwd"},
    {"area": "E" * 5000},
    {"from": "2025-06", "to": "2019-01"},
    {"strand": ["hate_crime", "x"]},
    {"area": "%ff%fe"},
    {"area": "\ufffd\ufffd"},  # what %ff%fe decodes to in a real address
    {"strand": "knife_crime"},
    {"strand": "domestic_abuse' or 1=1 --", "from": "1999-01", "to": "<script>"},
]


@pytest.mark.parametrize("params", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hidden_crimes_hostile_values_give_a_working_default_view(params):
    at = run_page(HIDDEN, **params)
    assert len(figures(at)) >= 1
    assert len(map_specs(at)) == 1
    messages = [i.value for i in at.info]
    assert any("address" in m for m in messages), messages
    if "area" in params:
        assert at.selectbox(key="picker_area").value == FORCE
    if "strand" in params:
        assert at.selectbox(key="picker_strand").value in {"domestic_abuse", "hate_crime"}
    if params.get("to") in {"2019-01", "<script>"}:
        assert at.query_params["from"] == "2025-01" and at.query_params["to"] == "2025-12"  # the default period


# --- public mode ------------------------------------------------------------------------------

@pytest.fixture
def public(monkeypatch):
    monkeypatch.setenv("MEASURES_PUBLIC", "1")


def test_public_hidden_crimes_shows_a_small_count_as_suppressed_never_zero(public):
    # Modern slavery is published by CSP and year on the public site; North Devon had fewer than 5 in 2019.
    area = "E22000363"
    at = run_page(HIDDEN, area=area, strand="modern_slavery", **{"from": "2019-01", "to": "2019-12"})
    table = at.dataframe[0].value.set_index("Area")
    row = table.loc["North Devon and Torridge"]
    assert row["Records"] == "suppressed" and row["Note"] == "fewer than 5"
    assert row.filter(like="Value").iloc[0] == "suppressed"
    hidden_to_protect = table[table["Note"] == "hidden to protect another small count"]
    assert len(hidden_to_protect) >= 1  # its partner says why it is hidden, not "fewer than 5"
    assert "suppressed" in map_properties(at)[area]["text"]
    assert map_properties(at)[area]["value"] is None
    hatched = [t for t in the_map(at)["data"] if t.get("fillpattern")]
    assert "North Devon and Torridge" in [t["text"].split("<br>")[0].replace("<b>", "").replace("</b>", "")
                                          for t in hatched]
    # The funnel leaves it out and says so; the bars label its missing bar with the word.
    assert area not in {p[0] for p in funnel_points(at)}
    assert re.search(r"Not shown: [^.]*North Devon and Torridge", all_text(at))
    assert "North Devon and Torridge (fewer than 5)" in all_text(at)
    bars = next(f for f in figures(at) if "per 1,000 residents, Jan 2019" in f["layout"]["title"]["text"])
    assert "suppressed" in [a["text"] for a in bars["layout"].get("annotations", [])]
    bar_values = dict(zip(array(bars["data"][0]["x"]), array(bars["data"][0]["y"]), strict=True))
    assert bar_values["North Devon and Torridge"] is None  # no bar, never a bar of 0
    # The trend (by year for this strand) marks the suppressed year instead of drawing it.
    trend = next(f for f in figures(at) if "per year, North Devon and Torridge" in f["layout"]["title"]["text"])
    assert any(t.get("name", "").startswith("suppressed") for t in trend["data"])


def test_public_hidden_crimes_publishes_scilly_with_cornwall(public):
    at = run_page(HIDDEN, area=SCILLY, strand="sexual_offences")
    table = at.dataframe[0].value.set_index("Area")
    assert "Isles of Scilly" not in table.index and "Cornwall and Isles of Scilly" in table.index
    assert table.loc["Cornwall and Isles of Scilly", "Records"] != "suppressed"


def test_public_reoffending_suppresses_small_juvenile_counts(public):
    at = run_page(REOFFENDING, offender="juvenile", area="E22000049", cohort="2018-04")
    table = at.dataframe[0].value.set_index("Area")
    assert table.loc["Exeter", "Reoffenders"] == "suppressed"  # 2 of 9 juveniles
    assert table.loc["Exeter", "Note"] == "fewer than 5"
    assert (table["Reoffenders"] == "suppressed").any()
    for area, row in table.iterrows():
        if row["Reoffenders"] == "suppressed":
            assert row.filter(like="Value").iloc[0] == "suppressed", area
    assert "suppressed" in all_text(at)
