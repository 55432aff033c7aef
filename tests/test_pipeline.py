"""The one pipeline: every row's control-chart point is NHSRplotthedots' result for its series and
baseline, the force row is the sum of its areas, and the Overview card, the measure page and the
area profile name the same signal for the same period."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from measures.core import export, measure_view, pipeline, profile, registry, scorecard, spc, vocabulary
from measures.data import config, db
from measures.render.measure_parts import trend_part

ROOT = Path(__file__).resolve().parent.parent
FORCE = config.load_force()
SERIES_MEASURES = [m.id for m in registry.measures() if m.frequency in ("monthly", "quarterly_cohort")]


@cache
def connection():
    return db.connect(ROOT / "data", lockdown=False)


@cache
def frame(measure_id: str, public: bool = False) -> pd.DataFrame:
    return export.measure_frame(connection(), registry.get(measure_id), FORCE.code, None, None, public)


@pytest.mark.parametrize("measure_id", SERIES_MEASURES)
@pytest.mark.parametrize("public", [False, True], ids=["analyst", "public"])
def test_every_exported_signal_is_the_reference_result_for_its_series_and_baseline(measure_id: str, public: bool):
    """Each area's rows of one baseline, oldest first, are a series: the reference port's point types
    (tests/test_spc.py reproduces NHSRplotthedots on 306 series) must be the exported ones, row by row."""
    rows = export.export(measure_id, ROOT / "data", public=public, con=connection())
    assert {"signal", "signal_meaning", "baseline_start", "mean", "lower_process_limit",
            "upper_process_limit"} <= set(rows.columns)
    assessed = rows[rows["value"].notna() & rows["signal"].notna()]
    assert len(assessed) > 0.5 * rows["value"].notna().sum()
    checked = 0
    for (_, _), series in assessed.groupby(["area_code", "baseline_start"]):
        series = series.sort_values("period_start")
        reference = spc.spc(series["value"].to_numpy(dtype="float64"))
        assert list(series["signal"]) == list(reference.point_type), (measure_id, series["area_code"].iloc[0])
        np.testing.assert_allclose(series["mean"].to_numpy(dtype="float64"), reference.mean, rtol=1e-9)
        np.testing.assert_allclose(series["upper_process_limit"].to_numpy(dtype="float64"), reference.upl, rtol=1e-9)
        measure = registry.get(measure_id)
        assert list(series["signal_meaning"]) == [spc.signal_meaning(t, int(d), measure.polarity)
                                                  for t, d in zip(reference.point_type, reference.direction,
                                                                  strict=True)]
        checked += len(series)
    assert checked == len(assessed)


@pytest.mark.parametrize("measure_id", SERIES_MEASURES)
def test_force_row_is_the_sum_of_its_areas(measure_id: str):
    rows = frame(measure_id)
    force = rows[rows["area_type"] == "force"].set_index("period_start")
    parts = rows[rows["area_type"] != "force"].groupby("period_start")[["numerator"]].sum()
    pd.testing.assert_series_equal(force["numerator"], parts["numerator"].reindex(force.index), check_names=False)


def _profile_row(measure: registry.Measure, rows: pd.DataFrame, area: str, as_of: pd.Timestamp):
    return profile.profile_row(measure, rows, area, FORCE.code, as_of.date(), as_of.date())


@pytest.mark.parametrize("measure_id", SERIES_MEASURES)
@pytest.mark.parametrize("public", [False, True], ids=["analyst", "public"])
def test_card_measure_page_and_profile_name_the_same_signal(measure_id: str, public: bool):
    measure = registry.get(measure_id)
    rows = frame(measure_id, public)
    force = FORCE.published() if public else FORCE
    for area in force.areas():
        mine = rows[rows["area_code"] == area.code]
        if mine.empty:
            continue
        latest = pd.Timestamp(mine["period_start"].max())
        card = scorecard.card(measure, rows, area.code)
        row = _profile_row(measure, rows, area.code, latest)
        expected, _ = scorecard.latest_signal(mine.sort_values("period_start").iloc[-1])
        assert card.signal == row.signal == expected, (area.code, card.signal, row.signal, expected)
        series = mine.assign(period_start=pd.to_datetime(mine["period_start"])).sort_values("period_start")
        part = trend_part(measure, series.tail(12), area.name, "t", "f.csv")
        if part.figure is not None and "Latest period:" in part.summary:
            # The signal, then the target and its assurance (the Overview's), as the last two sentences.
            assert part.summary.endswith(f"Latest period: {vocabulary.signal_label(expected)}. "
                                         + measure_view.target_sentence(measure, series.tail(12))), part.summary


def test_signal_does_not_depend_on_the_window_shown():
    """The measure page shows the last 12 months; the export the whole history: the same point, the same signal."""
    rows = frame("hidden_domestic_abuse")
    last = pd.Timestamp(rows["period_start"].max())
    window = export.measure_frame(connection(), registry.get("hidden_domestic_abuse"), FORCE.code,
                                  (last - pd.DateOffset(months=11)).date(), last.date())
    full = rows[pd.to_datetime(rows["period_start"]) >= last - pd.DateOffset(months=11)].reset_index(drop=True)
    pd.testing.assert_series_equal(window["signal"], full["signal"])


def test_change_point_starts_a_new_baseline_for_101_waits():
    measure = registry.get("calls_101_mean_wait")
    assert measure.change_points, "the 101 service change of 2024 is registered with its reason and source"
    point = measure.change_points[0]
    assert point["reason"] and point["source"]
    rows = frame("calls_101_mean_wait")
    force = rows[rows["area_type"] == "force"]
    starts = set(pd.to_datetime(force["baseline_start"]).dt.strftime("%Y-%m"))
    assert point["period"] in starts and len(starts) == 1 + len(measure.change_points)
    after = force[pd.to_datetime(force["period_start"]) >= pd.Timestamp(f"{point['period']}-01")]
    # One set of limits over 15 -> 40 -> 5 minutes made every recent month "Below LCL"; the new baseline does not.
    assert (after["signal"] != "Below LCL").mean() > 0.5


def test_public_mode_publishes_scilly_with_cornwall():
    rows = frame("hidden_domestic_abuse", True)
    combined = FORCE.public_combined[0]
    assert combined.code in set(rows["area_code"]) and not set(combined.parts) & set(rows["area_code"])
    analyst = frame("hidden_domestic_abuse")
    parts = analyst[analyst["area_code"].isin(combined.parts)].groupby("period_start")["numerator"].sum()
    shown = rows[(rows["area_code"] == combined.code) & ~rows["suppressed"]].set_index("period_start")["numerator"]
    pd.testing.assert_series_equal(shown, parts.reindex(shown.index), check_names=False)
    assert (rows.loc[rows["area_code"] == combined.code, "area_name"] == combined.name).all()


def test_benchmark_is_the_force_less_its_unassigned_records():
    rows = frame("recorded_crime")
    last = rows[rows["period_start"] == rows["period_start"].max()]
    value, text = pipeline.benchmark(last, registry.get("recorded_crime"))
    csps = last[last["area_type"] == "csp"]
    assert value == pytest.approx(1000 * csps["numerator"].sum() / csps["denominator"].sum())
    force_value = float(last.loc[last["area_type"] == "force", "value"].iloc[0])
    assert value < force_value and "located in a CSP" in text and "includes the area itself" in text


def test_period_values_hide_a_window_with_a_hidden_period():
    rows = frame("hidden_modern_slavery", True)
    hidden = rows[rows["suppressed"] & (rows["area_type"] == "csp")]
    assert len(hidden), "the rare strand has suppressed cells in public mode"
    # Published by year: a window holds a CSP's year only when it holds the whole year.
    first = pd.Timestamp(hidden["period_start"].iloc[0]).date()
    last = pd.Timestamp(hidden["period_end"].iloc[0]).replace(day=1).date()
    window = pipeline.period_values(rows, registry.get("hidden_modern_slavery"), first, last)
    area = window.set_index("area_code").loc[hidden["area_code"].iloc[0]]
    assert bool(area["suppressed"]) and pd.isna(area["value"]) and area["suppression"] in ("primary", "secondary")
    part = pipeline.period_values(rows, registry.get("hidden_modern_slavery"), first, first)
    assert set(part["area_type"]) == {"force"}, "no CSP figure for part of a year"


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize(("measure_id", "area", "page", "params"), [
    ("hidden_domestic_abuse", FORCE.code, "app_pages/hidden_crimes.py", {"strand": "domestic_abuse"}),
    ("calls_101_mean_wait", "E22000060", "app_pages/calls_101.py", {}),  # Torbay
])
def test_overview_measure_page_and_profile_show_one_signal(monkeypatch, measure_id, area, page, params):
    """The two contradictions users met (force domestic abuse, Torbay's 101 wait) now read the same everywhere."""
    from conftest import open_app_page

    monkeypatch.delenv("MEASURES_PUBLIC", raising=False)
    rows = frame(measure_id)
    mine = rows[rows["area_code"] == area].sort_values("period_start")
    latest = pd.Timestamp(mine["period_start"].iloc[-1])
    label = vocabulary.signal_label(scorecard.latest_signal(mine.iloc[-1])[0])
    month = f"{latest:%Y-%m}"

    overview = open_app_page(None, area=area, to=month)
    texts = [str(m.value) for m in overview.markdown]
    # The card's title, then its figures.
    title = next(i for i, t in enumerate(texts) if t.startswith(f"**{registry.get(measure_id).title}**"))
    figures = next(t for t in texts[title:] if "Signal:" in t)
    assert "Signal: ![](data:image/svg+xml;base64," in figures and f") **{label}**" in figures, figures

    measure_page = open_app_page(page, area=area, to=month, **params)
    assert label in _texts(measure_page), label

    area_profile = open_app_page("app_pages/area_profile.py", area=area, **{"from": month, "to": month})
    table = area_profile.dataframe[0].value
    signal = table.loc[table["Measure"].str.startswith(registry.get(measure_id).title), "Signal"].iloc[0]
    assert signal == label


# --- rolling years (ONS editions overlap): no chart, never added up -----------------------------

ONS = registry.get("ons_total_recorded_crime")
EXETER = "E22000049"
# Three rolling years as the ONS tables give them: the last two share Jul-Dec 2024.
YEARS = [("2023-01-01", "2023-12-31"), ("2024-01-01", "2024-12-31"), ("2024-07-01", "2025-06-30")]


def rolling_rows(numerators: list[float], years: list[tuple[str, str]] = YEARS) -> pd.DataFrame:
    """One CSP and its force over rolling years, 1,000 residents each year, valued as the pipeline does."""
    records = [{"period_start": pd.Timestamp(start), "period_end": pd.Timestamp(end), "area_code": code,
                "area_name": code, "area_type": kind, "numerator": float(n), "denominator": 1000.0}
               for (start, end), n in zip(years, numerators, strict=True)
               for code, kind in ((EXETER, "csp"), (FORCE.code, "force"))]
    frame = pipeline.add_values(pd.DataFrame(records), ONS)
    return frame.assign(suppressed=False, suppression="", illustrative=False)  # ONS rows are real, as loaded


def test_a_rolling_year_measure_gets_no_signal():
    """Overlapping years are not independent points: even an obvious shift is not charted, and every
    page reads the rows as not assessed, with the reason (not "no signal")."""
    years = [(f"{y}-01-01", f"{y}-12-31") for y in range(2010, 2025)]
    rows = pipeline.add_signals(rolling_rows([50] * 8 + [90] * 7, years), ONS)
    assert rows["signal"].isna().all() and rows["baseline_start"].isna().all()
    assert rows[["mean", "lower_process_limit", "upper_process_limit"]].isna().all().all()
    assert (rows["signal_meaning"] == pipeline.NOT_ASSESSED_ROLLING).all()
    # The same series as months would be charted (the rule is the frequency's, not the data's).
    monthly = pipeline.add_signals(rolling_rows([50] * 8 + [90] * 7, years), replace(ONS, frequency="monthly"))
    assert monthly["signal"].notna().all()
    latest = rows.iloc[-1]
    meaning, kind = scorecard.latest_signal(latest)
    assert (meaning, kind) == (pipeline.NOT_ASSESSED_ROLLING, "none")
    assert vocabulary.signal_label(meaning) == "Not assessed (overlapping rolling years)"
    assert vocabulary.SIGNAL_WORDS[meaning] == "not assessed"


def test_period_values_take_the_latest_rolling_year_never_a_sum():
    rows = pipeline.add_signals(rolling_rows([100, 120, 130]), ONS)
    # Jan 2024 to Jun 2025 holds two overlapping years (ending Dec 2024 and Jun 2025): the later one, alone.
    window = pipeline.period_values(rows, ONS, dt.date(2024, 1, 1), dt.date(2025, 6, 1)).set_index("area_code")
    mine = window.loc[EXETER]
    assert (mine["numerator"], mine["denominator"], mine["periods"]) == (130, 1000, 1)
    assert mine["value"] == pytest.approx(130.0)  # not (120 + 130) / 1000
    # A year counts in a window it ends in (its start may be before the window), the latest such year.
    assert pipeline.period_values(rows, ONS, dt.date(2024, 12, 1), dt.date(2025, 5, 1)).set_index(
        "area_code").loc[EXETER, "numerator"] == 120
    assert pipeline.period_values(rows, ONS, dt.date(2023, 1, 1), dt.date(2025, 12, 1)).set_index(
        "area_code").loc[EXETER, "numerator"] == 130
    assert pipeline.period_values(rows, ONS, dt.date(2025, 7, 1), dt.date(2025, 12, 1)).empty  # none ends in it
    # The area profile reads that year and names it.
    row = profile.profile_row(ONS, rows.assign(measure_id=ONS.id, unit=ONS.unit, illustrative=False), EXETER,
                              FORCE.code, dt.date(2024, 1, 1), dt.date(2025, 6, 1))
    assert row.status == "ok" and row.value == pytest.approx(130.0)
    assert row.value_unit == "per 1,000 residents in the year ending Jun 2025"
    assert row.signal == pipeline.NOT_ASSESSED_ROLLING and row.run is None


def test_overview_card_and_area_profile_name_the_rolling_year(monkeypatch):
    from conftest import open_app_page

    monkeypatch.delenv("MEASURES_PUBLIC", raising=False)
    label = vocabulary.signal_label(pipeline.NOT_ASSESSED_ROLLING)

    overview = open_app_page(None, area=EXETER, to="2025-06")
    texts = [str(m.value) for m in overview.markdown]
    title = next(i for i, t in enumerate(texts) if t.startswith(f"**{ONS.title}**"))
    figures = next(t for t in texts[title:] if "Signal:" in t)
    assert figures.startswith("Year ending Jun 2025: **"), figures
    # The year ending Jun 2024 is not loaded (and the edition before overlaps): no comparison, no "previous".
    assert "Change since the year ending Jun 2024: no comparison" in figures and "previous" not in figures
    assert "Signal: ![](data:image/svg+xml;base64," in figures and f") **{label}**" in figures, figures
    # Up to Dec 2024 the year ending Jun 2025 has not ended: the card is the year ending Dec 2024.
    figures = next(t for t in [str(m.value) for m in open_app_page(None, area=EXETER, to="2024-12").markdown][title:]
                   if "Signal:" in t)
    assert figures.startswith("Year ending Dec 2024: **") and "Change since the year ending Dec 2023: +" in figures

    area_profile = open_app_page("app_pages/area_profile.py", area=EXETER, **{"from": "2025-01", "to": "2025-12"})
    table = area_profile.dataframe[0].value.set_index("Measure")
    assert table.loc[ONS.title, "Unit"] == "per 1,000 residents in the year ending Jun 2025"
    assert table.loc[ONS.title, "Signal"] == label
    findings = "\n".join(str(m.value) for m in area_profile.markdown)
    assert "In the year ending Jun 2025, Exeter's rate of total recorded crime excluding fraud" in findings
