"""Targets and "Making Data Count" assurance, and the scorecard's change since a reference period.

Peers: NHSRplotthedots' own tests of ptd_calculate_assurance_type (tests/testthat/
test-ptd_calculate_assurance_type.R, transcribed case by case below), and statsmodels'
Newcombe interval for a difference of proportions (with Newcombe's 1998 worked example).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from measures.core import export, pipeline, registry, scorecard, spc, stats
from measures.data import db
from measures.paths import DEFAULT_DATA_DIR

DC, KENT, EXETER = "E23000035", "E23000032", "E22000049"
TARGETED = ["calls_101_mean_wait", "calls_101_answered_within_10min", "calls_101_abandoned"]

# NHSRplotthedots' cases: three facets with (lpl, upl) = (1, 3), (5, 7), (1, 5) and a target of 4.
PEER_LIMITS = [(1, 3), (5, 7), (1, 5)]
PEER_EXPECTED = {
    "higher_is_better": ["consistently fails", "consistently passes", "hit and miss"],  # "increase"
    "lower_is_better": ["consistently passes", "consistently fails", "hit and miss"],  # "decrease"
    "neutral": [None, None, None],
}


@pytest.mark.parametrize("polarity", list(PEER_EXPECTED))
def test_assurance_matches_nhsrplotthedots(polarity):
    got = [spc.assurance(4, lpl, upl, polarity) for lpl, upl in PEER_LIMITS]
    assert got == PEER_EXPECTED[polarity]


def test_assurance_uses_the_latest_baseline_and_needs_limits():
    # The package reads the last row's limits: after a rebase, the latest baseline decides.
    assert spc.assurance(4, 1, 5, "lower_is_better") == "hit and miss"
    assert spc.assurance(4, 5, 7, "lower_is_better") == "consistently fails"
    assert spc.assurance(4, np.nan, np.nan, "lower_is_better") is None  # no chart: no assurance
    assert spc.assurance(3, 1, 3, "higher_is_better") == "hit and miss"  # on a limit: not beyond it


def test_change_interval_is_newcombes_hybrid_score_interval():
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II example (a): 56/70 - 48/80, method 10.
    (l1, u1), (l2, u2) = (stats.wilson_interval(56, 70)), (stats.wilson_interval(48, 80))
    delta, lower, upper = stats.difference_interval(56 / 70, l1, u1, 48 / 80, l2, u2)
    assert (round(delta, 4), round(lower, 4), round(upper, 4)) == (0.2, 0.0524, 0.3339)
    rng = np.random.default_rng(14)
    for _ in range(50):
        n1, n2 = rng.integers(20, 5000, size=2)
        x1, x2 = rng.integers(0, n1 + 1), rng.integers(0, n2 + 1)
        (l1, u1), (l2, u2) = stats.wilson_interval(x1, n1), stats.wilson_interval(x2, n2)
        _, lower, upper = stats.difference_interval(x1 / n1, l1, u1, x2 / n2, l2, u2)
        peer = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
        assert np.allclose((lower, upper), peer, atol=1e-9), (x1, n1, x2, n2)
    assert np.isnan(stats.difference_interval(1, 0, 2, np.nan, 0, 1)[0])


def test_the_registry_holds_the_plans_targets_with_unit_force_and_source():
    wait, within_10, abandoned = (registry.get(m).target for m in TARGETED)
    assert (wait.value, wait.direction, wait.unit, wait.start) == (20, "at_most", "minutes", "2023-11")
    assert (within_10.value, within_10.direction, within_10.unit) == (90, "at_least", "%")
    assert (abandoned.value, abandoned.direction, abandoned.unit) == (5, "at_most", "%")
    assert {t.force for t in (wait, within_10, abandoned)} == {DC}
    assert all("http" in t.source for t in (wait, within_10, abandoned))
    assert wait.text() == "at most 20 minutes" and within_10.text() == "at least 90%"
    assert [m.id for m in registry.measures() if m.target] == TARGETED


@pytest.mark.parametrize(("change", "problem"), [
    ({"direction": "at_least"}, "does not fit polarity"),
    ({"unit": "%"}, "not the measure's unit"),
    ({"from": "2023-13"}, "not a month"),
    ({"force": "Devon"}, "force code"),
])
def test_a_wrong_target_is_refused_when_the_registry_loads(tmp_path, monkeypatch, change, problem):
    text = registry.registry_file().read_text()
    good = ('target = { value = 20, direction = "at_most", unit = "minutes", force = "E23000035", '
            'from = "2023-11", source = ')
    assert good in text
    values = {"direction": "at_most", "unit": "minutes", "force": "E23000035", "from": "2023-11", **change}
    bad = ", ".join(f'{k} = "{v}"' for k, v in values.items())
    path = tmp_path / "measures.toml"
    path.write_text(text.replace(good, f"target = {{ value = 20, {bad}, source = "))
    monkeypatch.setenv("MEASURES_REGISTRY", str(path))
    registry.cache_clear()
    try:
        with pytest.raises(ValueError, match=problem):
            registry.measures()
    finally:
        monkeypatch.delenv("MEASURES_REGISTRY")
        registry.cache_clear()


@pytest.fixture(scope="module")
def con():
    return db.connect(DEFAULT_DATA_DIR)


@pytest.mark.parametrize("measure_id", TARGETED)
def test_every_row_carries_its_target_and_the_assurance_of_its_baseline(con, measure_id):
    measure = registry.get(measure_id)
    frame = pipeline.measure_frame(con, measure, DC)
    applies = pd.to_datetime(frame["period_start"]) >= pd.Timestamp(f"{measure.target.start or '2000-01'}-01")
    assert (frame.loc[applies, "target"] == measure.target.value).all()
    assert frame.loc[~applies, "target"].isna().all() and (frame.loc[~applies, "assurance"] == "").all()
    for row in frame[applies & frame["value"].notna()].itertuples():
        assert row.assurance == spc.assurance(measure.target.value, row.lower_process_limit,
                                              row.upper_process_limit, measure.polarity)
    force = frame[frame["area_type"] == "force"].iloc[-1]
    assert force["assurance"] in ("consistently passes", "consistently fails", "hit and miss")


def test_another_forces_rows_have_no_target(con):
    frame = pipeline.measure_frame(con, registry.get("recorded_crime"), KENT)
    assert frame["target"].isna().all() and (frame["assurance"] == "").all()


def test_the_export_carries_target_and_assurance():
    frame = export.export("calls_101_abandoned", DEFAULT_DATA_DIR, area=DC, period_from="2025-01")
    text = export.to_csv(frame)
    header = text.splitlines()[0].split(",")
    assert header[-2:] == ["target", "assurance"]
    assert set(frame["target"]) == {5.0}
    assert set(frame["assurance"]) <= {"consistently passes", "consistently fails", "hit and miss"}


def rows(values: list[float], start: str = "2024-01-01") -> pd.DataFrame:
    periods = pd.date_range(start, periods=len(values), freq="MS")
    frame = pd.DataFrame({"period_start": periods, "area_code": EXETER, "value": values})
    frame["lower_95"], frame["upper_95"], frame["suppressed"] = frame["value"] - 1, frame["value"] + 1, False
    return frame


def test_change_since_a_chosen_month_and_its_significance():
    measure = dataclasses.replace(registry.get("calls_101_mean_wait"), change_points=())
    values = [10.0] * 12 + [10.5] * 5 + [14.0]
    shown = scorecard.card(measure, pipeline.add_signals(rows(values), measure), EXETER)
    assert shown.since["period_start"] == pd.Timestamp("2024-06-01")  # by default the same month a year before
    assert shown.change.delta == pytest.approx(4.0) and shown.change.significant  # +-1 each: MOVER +-1.41
    chosen = scorecard.card(measure, pipeline.add_signals(rows(values), measure), EXETER, since=dt.date(2025, 5, 1))
    assert chosen.since["value"] == 10.5 and chosen.change.delta == pytest.approx(3.5)
    close = scorecard.card(measure, pipeline.add_signals(rows(values[:-1] + [11.0]), measure), EXETER,
                           since=dt.date(2025, 5, 1))
    assert close.change.delta == pytest.approx(0.5) and not close.change.significant
    assert "since May 2025: +0.50 min (not significant)" in scorecard.figures_markdown(close, dt.date(2025, 5, 1))
    later = scorecard.card(measure, pipeline.add_signals(rows(values), measure), EXETER, since=dt.date(2025, 7, 1))
    assert later.since is None and later.change is None  # not before the latest month: nothing to compare
    missing = scorecard.card(measure, pipeline.add_signals(rows(values), measure), EXETER, since=dt.date(2020, 1, 1))
    assert "since Jan 2020: no comparison" in scorecard.figures_markdown(missing, dt.date(2020, 1, 1))


def test_the_overview_shows_target_assurance_and_since_for_every_targeted_measure():
    from conftest import open_app_page

    at = open_app_page(None, since="2025-06")
    assert at.selectbox(key="picker_since").value == "2025-06"
    texts = [str(m.value) for m in at.markdown]
    for measure_id in TARGETED:
        measure = registry.get(measure_id)
        title = next(i for i, t in enumerate(texts) if t.startswith(f"**{measure.title}**"))
        figures = next(t for t in texts[title:] if "Signal:" in t)
        assert f"Target: {measure.target.text()}" in figures, figures
        assert any(word in figures for word in ("Consistently passes", "Consistently fails", "Hit and miss")), figures
        assert "since Jun 2025: " in figures, figures
    table = at.dataframe[0].value
    shown = table.set_index("Measure")
    for measure_id in TARGETED:
        row = shown.loc[registry.get(measure_id).title]
        assert row["Target"] == registry.get(measure_id).target.text()
        assert row["Assurance"].startswith(("Consistently", "Hit and miss"))
        assert row["Change since"] == "Jun 2025" and row["Significant change"] in ("yes", "no")
    assert (shown.drop(index=[registry.get(m).title for m in TARGETED])["Target"] == "none stated").all()
    assert any(b.proto.label == "Download the scorecard (CSV)" for b in at.get("download_button"))


def test_a_since_the_dashboard_does_not_have_gives_the_default():
    from conftest import open_app_page

    at = open_app_page(None, since="1999-01")
    assert at.selectbox(key="picker_since").value == ""
    assert any("reference period" in i.value for i in at.info)


def test_the_pack_gives_each_targeted_measure_its_target_and_assurance(tmp_path):
    from measures.core import profile
    from measures.render import briefing

    out = tmp_path / "force.html"
    pack = briefing.briefing(DC, out, DEFAULT_DATA_DIR, "2025-01", "2025-12")
    html = out.read_text()
    for row in pack.rows:
        expected = profile.assurance_text(row)
        if row.measure.target is not None:
            assert expected.startswith(f"Target {row.measure.target.text()}: "), expected
            assert expected.split(": ", 1)[1].startswith(("Consistently", "Hit and miss"))
        else:
            assert expected == "No target"
        assert expected in html  # beside the measure's signal in its theme's table
