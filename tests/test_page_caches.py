"""The pages' shared caches (measures.ui.app: frames, the Overview's cards, the area profile's pack) are
keyed on the data version: a publish is seen by the next page view, and what one caller does to a frame
it was given never reaches the cache."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from measures.core import export, registry, scorecard
from measures.data import config, db, store
from tests.conftest import copy_of_data, open_app_page

MEASURE = "calls_101_mean_wait"


def scorecard_row(at) -> pd.Series:
    """The Overview table's row for MEASURE (the table drops its id column: find it by title)."""
    table = next(frame.value for frame in at.dataframe if "Measure" in frame.value.columns)
    return table[table["Measure"] == registry.get(MEASURE).title].iloc[0]


def expected_card(data_dir: Path) -> scorecard.Card:
    """The force's card computed straight from the published data, no page cache involved."""
    force = config.load_force()
    frame = export.measure_frame(db.connect(data_dir), registry.get(MEASURE), force.code, None, None, False)
    return scorecard.card(registry.get(MEASURE), frame, force.code)


def drop_latest_calls_month(data_dir: Path) -> dt.date:
    """Publish a version of the data without the latest month of 101 calls; returns that month."""
    calls = pd.read_parquet(store.table_path(data_dir, "calls_101_monthly"))
    latest = max(calls["month"])

    def build(staging: Path, current: Path | None) -> dict:
        store.replace_table(staging, "calls_101_monthly",
                            lambda tmp: calls[calls["month"] != latest].to_parquet(tmp, index=False))
        return {"calls_101_monthly": {"source": "test: latest month removed"}}

    store.publish(data_dir, build)
    return pd.Timestamp(latest).date()


def test_the_overview_and_area_profile_show_a_new_publish_on_the_next_view(tmp_path, monkeypatch):
    data_dir = copy_of_data(tmp_path)
    monkeypatch.setenv("MEASURES_DATA_DIR", str(data_dir))
    before = scorecard_row(open_app_page(None))
    card = expected_card(data_dir)
    assert before["Period"] == scorecard.row_period_label(card.latest, "monthly")
    assert before["Value"] == float(card.latest["value"])
    profile_before = open_app_page("app_pages/area_profile.py")

    removed = drop_latest_calls_month(data_dir)
    after = scorecard_row(open_app_page(None))
    card = expected_card(data_dir)
    assert pd.Timestamp(card.latest["period_start"]).date() < removed  # the new data ends a month earlier
    assert after["Period"] == scorecard.row_period_label(card.latest, "monthly") != before["Period"]
    assert after["Value"] == float(card.latest["value"]) != before["Value"]
    # The area profile's cached pack and spine chart are keyed on the version too: its table changes.
    profile_after = open_app_page("app_pages/area_profile.py")
    tables = [next(f.value for f in at.dataframe if "Measure" in f.value.columns)
              for at in (profile_before, profile_after)]
    assert not tables[0].equals(tables[1])


def test_a_callers_change_to_a_frame_does_not_reach_the_next_caller(monkeypatch):
    """Frames are shared cached objects (st.cache_resource): each caller gets its own shallow copy."""
    from measures.ui import app

    first = app.measure(MEASURE)
    values = first["value"].copy()
    first["value"] = 0.0
    first.loc[first.index[0], "area_code"] = "changed"
    del first["lower_95"]
    again = app.measure(MEASURE)
    pd.testing.assert_series_equal(again["value"], values)
    assert "changed" not in set(again["area_code"]) and "lower_95" in again


def _specs(at) -> list[str]:
    return [chart.proto.spec for chart in at.get("plotly_chart")]


def test_a_second_visitor_is_served_the_cached_charts_and_a_publish_builds_them_again(tmp_path, monkeypatch):
    """The pages' chart parts are built once per data version (app.figure) and shared by every session."""
    from measures.render import charts

    data_dir = copy_of_data(tmp_path)
    monkeypatch.setenv("MEASURES_DATA_DIR", str(data_dir))
    built = []
    control_chart = charts.control_chart
    monkeypatch.setattr(charts, "control_chart", lambda *a, **k: built.append(1) or control_chart(*a, **k))
    first = open_app_page("app_pages/calls_101.py")
    assert len(built) == 1  # the mean wait's control chart
    second = open_app_page("app_pages/calls_101.py")
    assert len(built) == 1 and _specs(second) == _specs(first)  # the first session's parts, not built again
    drop_latest_calls_month(data_dir)
    after = open_app_page("app_pages/calls_101.py")
    assert len(built) == 2 and _specs(after) != _specs(first)


def test_a_new_area_redraws_the_selected_csp_but_not_the_funnel_limits(monkeypatch):
    """The CSPs' rows and funnel points are the same for every area: computed once per strand and period, and
    never changed by the parts drawn from them (a second area's page is as a fresh server draws it)."""
    import streamlit as st

    from measures.core import comparison

    calls = []
    funnel_points = comparison.funnel_points
    monkeypatch.setattr(comparison, "funnel_points", lambda *a, **k: calls.append(1) or funnel_points(*a, **k))
    csps = [a.code for a in config.load_force().csps]
    at = open_app_page("app_pages/hidden_crimes.py", area=csps[0])
    at.selectbox(key="picker_area").select(csps[1]).run()
    assert not at.exception and len(calls) == 1
    st.cache_data.clear()
    st.cache_resource.clear()
    assert _specs(open_app_page("app_pages/hidden_crimes.py", area=csps[1])) == _specs(at)
