"""Comparison with similar areas: one truth with the pipeline, the similar CSPs in rank order, the national
sum, the area profile's section and the pack's panel. Works on whatever forces the data folder has."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from measures.core import peer_comparison, pipeline, registry, similar
from measures.data import config, db
from measures.paths import DEFAULT_DATA_DIR
from measures.render import briefing, peer_charts
from tests.conftest import open_app_page
from tests.test_chart_build import assert_valid
from tests.test_maps import map_areas, map_specs, selected_label

EXETER = "E22000049"
VALUE_COLUMNS = ["numerator", "denominator", "value", "lower_95", "upper_95"]
MEASURE = registry.get("recorded_crime")


@pytest.fixture(scope="module")
def con():
    return db.connect(DEFAULT_DATA_DIR)


# The national police.uk months: every force present in the shared files (Avon and Somerset 4 of 6 months).
WINDOW = (dt.date(2025, 1, 1), dt.date(2025, 6, 1))


@pytest.fixture(scope="module")
def forces_with_data(con) -> list[str]:
    """Forces with police.uk data in the window."""
    return [row[0] for row in con.execute("select distinct force_code from police_uk_counts where month between $1 "
                                          "and $2 order by 1", list(WINDOW)).fetchall()]


def latest_year(con, force_code: str) -> tuple[dt.date, dt.date]:
    frame = pipeline.measure_frame(con, MEASURE, force_code)
    window = peer_comparison.latest_window(frame)
    assert window is not None
    return window


def pipeline_values(con, force_code: str, first: dt.date, last: dt.date, public: bool = False) -> pd.DataFrame:
    frame = pipeline.measure_frame(con, MEASURE, force_code, first, last, public)
    return pipeline.period_values(frame, MEASURE, first, last).set_index("area_code")


@pytest.mark.parametrize("public", [False, True])
def test_the_areas_value_is_the_pipelines(con, public):
    force = config.load_force()
    first, last = latest_year(con, force.code)
    group = peer_comparison.group_values(con, MEASURE, EXETER, first, last, public)
    expected = pipeline_values(con, force.code, first, last, public)
    area = group[group["role"] == "area"].iloc[0]
    assert area["area_code"] == EXETER
    for column in VALUE_COLUMNS:
        assert area[column] == pytest.approx(expected.loc[EXETER, column], rel=1e-12), column
    mine = group[group["role"] == "force"].iloc[0]
    assert mine["value"] == pytest.approx(expected.loc[force.code, "value"], rel=1e-12)
    assert area["position"].endswith(f"of {int(group[group['role'].isin(['area', 'similar'])]['value'].notna().sum())}") \
        or "not ranked" in area["position"]


@pytest.mark.parametrize("public", [False, True])
def test_every_forces_window_values_are_the_pipelines(con, forces_with_data, public):
    # The national frame skips the control chart for speed: its window values must still be measure_frame's.
    first, last = WINDOW
    values = peer_comparison.all_force_values(con, MEASURE, first, last, public).set_index("area_code")
    for force_code in forces_with_data:
        expected = pipeline_values(con, force_code, first, last, public)
        assert set(values[values["force_code"] == force_code].index) == set(expected.index), force_code
        mine = values.loc[expected.index]
        for column in VALUE_COLUMNS:
            np.testing.assert_allclose(mine[column].to_numpy(dtype=float), expected[column].to_numpy(dtype=float),
                                       rtol=1e-12, err_msg=f"{force_code} {column}")


def test_the_15_similar_csps_are_there_in_rank_order(con):
    first, last = latest_year(con, config.load_force().code)
    group = peer_comparison.group_values(con, MEASURE, EXETER, first, last, False)
    expected = similar.similar_areas(EXETER)
    rows = group[group["role"] == "similar"]
    assert len(rows) == 15
    assert rows["area_code"].tolist() == expected.sort_values("rank")["similar_code"].tolist()
    assert rows["rank_among_similar"].tolist() == list(range(1, 16))
    assert group["role"].tolist() == ["area", *["similar"] * 15, "force", "national"]
    assert group.loc[group["role"] == "national", "area_name"].iloc[0] == "England and Wales (forces with data)"


def test_similar_csps_in_other_forces_get_their_forces_values(con, forces_with_data, monkeypatch):
    others = [code for code in forces_with_data if code != config.load_force().code]
    if not others:
        pytest.skip("the data folder has police.uk data for the configured force only")
    first, last = WINDOW
    # A small neighbour table: one CSP of each other force with data, then a CSP of a force without data.
    picks = [config.force_by_code(code).csps[0] for code in others]
    no_data = next(f for f in config.forces()["pfa_code"] if f not in forces_with_data)
    picks.append(config.force_by_code(no_data).csps[0])
    fake = pd.DataFrame({"area_code": EXETER, "area_name": "Exeter", "rank": range(1, len(picks) + 1),
                         "similar_code": [a.code for a in picks], "similar_name": [a.name for a in picks]})
    monkeypatch.setattr(similar, "similar_areas", lambda code, n=15: fake)
    group = peer_comparison.group_values(con, MEASURE, EXETER, first, last, False).set_index("area_code")
    own = int(group.loc[EXETER, "periods"])
    partial = 0
    for area, force_code in zip(picks[:-1], others, strict=True):
        expected = pipeline_values(con, force_code, first, last)
        assert group.loc[area.code, "role"] == "similar"
        assert group.loc[area.code, "force_code"] == force_code
        assert group.loc[area.code, "numerator"] == expected.loc[area.code, "numerator"]
        if int(expected.loc[area.code, "periods"]) == own:
            assert group.loc[area.code, "value"] == pytest.approx(expected.loc[area.code, "value"], rel=1e-12)
            assert group.loc[area.code, "not_comparable"] == ""
        else:  # fewer months (Avon and Somerset: 4 of 6): a count over fewer months is not shown beside the rest
            partial += 1
            assert pd.isna(group.loc[area.code, "value"])
            assert "for the area" in group.loc[area.code, "not_comparable"]
    assert partial >= 1  # the national files lack Avon and Somerset's 2025-05 and 2025-06
    missing = group.loc[picks[-1].code]  # no data: empty, never a 0
    assert pd.isna(missing["value"]) and pd.isna(missing["numerator"]) and not missing["suppressed"]


def test_the_national_total_is_the_sum_over_the_forces(con, forces_with_data):
    first, last = WINDOW
    values = peer_comparison.all_force_values(con, MEASURE, first, last, False)
    whole = peer_comparison.national(values, MEASURE)
    forces = [pipeline_values(con, code, first, last).loc[code] for code in forces_with_data]
    full = max(int(f["periods"]) for f in forces)
    included = [f for f in forces if int(f["periods"]) == full]
    assert sorted(whole.included) == sorted(code for code, f in zip(forces_with_data, forces, strict=True)
                                            if int(f["periods"]) == full)
    row = whole.row.iloc[0]
    assert row["numerator"] == pytest.approx(sum(f["numerator"] for f in included))
    assert row["denominator"] == pytest.approx(sum(f["denominator"] for f in included))
    assert row["value"] == pytest.approx(1000 * row["numerator"] / row["denominator"])
    assert row["lower_95"] < row["value"] < row["upper_95"]
    # A force with only part of the window is left out, and the note says so.
    assert f"{len(included)} of {len(config.forces())} forces" in whole.note


def test_national_csp_values_has_one_row_per_csp_with_data(con, forces_with_data):
    first, last = WINDOW
    csps = peer_comparison.national_csp_values(con, MEASURE, first, last, False)
    assert csps["area_code"].is_unique and (csps["area_type"] == "csp").all()
    assert set(csps["force_code"]) == set(forces_with_data)
    part = peer_charts.national_map(csps, MEASURE, first, last, selected=EXETER)
    assert part.figure is not None and "CSPs of England and Wales have data" in part.summary
    assert "Exeter (outlined)" in part.summary


def test_illustrative_measures_are_not_compared(con):
    illustrative = registry.get("calls_101_mean_wait")  # the default data's 101 rows were loaded as illustrative
    with pytest.raises(ValueError, match="illustrative"):
        peer_comparison.group_values(con, illustrative, EXETER, dt.date(2024, 1, 1), dt.date(2024, 4, 1), False)
    real = {m.id for m in peer_comparison.real_measures(con)}
    assert real == {m.id for m in registry.measures() if m.family in ("police_uk", "ons_csp")}


def test_ranked_chart_and_funnel_describe_the_group(con):
    first, last = latest_year(con, config.load_force().code)
    group = peer_comparison.group_values(con, MEASURE, EXETER, first, last, False)
    ranked = peer_charts.ranked_chart(group, MEASURE, first, last)
    assert "Exeter" in ranked.summary and "most similar CSPs" in ranked.summary
    assert {"Area", "Compared as", "Similarity rank (1 = most similar)", "95% interval, lower"} <= set(ranked.table)
    funnel = peer_charts.funnel_chart(group, MEASURE, first, last)
    assert funnel.summary  # a figure, or the reason there is none
    # Both are made unvalidated (issue 16's page CPU): Plotly accepts them as they are.
    assert_valid(ranked.figure)
    if funnel.figure is not None:
        assert_valid(funnel.figure)


def profile_charts(at) -> list[str]:
    # Titles are wrapped for phones (charts.wrap_title): read them as one line.
    return [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "").replace("<br>", " ")
            for c in at.get("plotly_chart")]


def test_the_area_profile_draws_the_comparison():
    at = open_app_page("app_pages/area_profile.py", 120, force=config.load_force().code, area=EXETER)
    assert "Compared with similar areas" in [h.value for h in at.header]
    titles = profile_charts(at)
    assert any("Exeter and its most similar CSPs" in t for t in titles), titles
    assert any("funnel plot of the similar areas" in t for t in titles), titles
    (national,) = map_specs(at)  # the national map, with the area outlined and labelled
    assert selected_label(national) == "Exeter"
    text = "\n".join(m.value for m in at.markdown)
    assert "**Position.**" in text and "highest of" in text or "not ranked" in text
    assert at.selectbox(key="picker_peer").value == MEASURE.id
    assert at.dataframe[0].value.shape[0] == len(registry.measures())  # the profile's own table stays first


def test_the_area_profile_of_a_csp_of_another_force(forces_with_data):
    others = [code for code in forces_with_data if code != config.load_force().code]
    if not others:
        pytest.skip("the data folder has police.uk data for the configured force only")
    force = config.force_by_code(others[0])
    area = sorted(force.csps, key=lambda a: a.name)[0]
    at = open_app_page("app_pages/area_profile.py", 120, force=force.code, area=area.code)
    assert "Compared with similar areas" in [h.value for h in at.header]
    assert any(f"{area.name} and its most similar CSPs" in t for t in profile_charts(at))


def test_the_force_row_shows_the_national_map_and_says_similar_areas_are_for_csps():
    at = open_app_page("app_pages/recorded_crime.py", 90)  # the default area is the force
    assert any("Similar areas are for CSPs" in i.value for i in at.info)
    *_, national = map_specs(at)  # after the page's own CSP and hexagon maps
    assert len(map_areas(national)) > 300  # every CSP of England and Wales


def test_the_pack_html_has_the_panel(con):
    force = config.load_force()
    frames = briefing.load_frames(con, force.code, False)
    first, last = latest_year(con, force.code)
    pack = briefing.build(frames, force, EXETER, first, last, False)
    pack.similar = peer_comparison.peer_panel(con, pack.area, first, last, False)
    html = briefing.render_html(pack)
    assert "<h2>Compared with similar areas</h2>" in html
    neighbours = similar.similar_areas(EXETER)["similar_name"].tolist()
    assert all(name in html for name in neighbours)
    assert "England and Wales (forces with data)" in html and "highest of" in html
    # The force as the area has no panel.
    pack = briefing.build(frames, force, force.code, first, last, False)
    assert peer_comparison.peer_panel(con, pack.area, first, last, False) is None
    assert "<h2>Compared with similar areas</h2>" not in briefing.render_html(pack)


def test_the_cli_pack_has_the_panel(tmp_path):
    out = briefing.briefing(EXETER, tmp_path / "exeter.html", DEFAULT_DATA_DIR)
    assert out.similar is not None
    assert "<h2>Compared with similar areas</h2>" in (tmp_path / "exeter.html").read_text()
