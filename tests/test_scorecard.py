"""The Overview's card: latest value, comparisons, and the signal read through polarity."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from measures.core import pipeline, registry, scorecard


def frame(values: list[float | None], area: str = "E22000049", start: str = "2023-01-01") -> pd.DataFrame:
    periods = pd.date_range(start, periods=len(values), freq="MS")
    rows = pd.DataFrame({"period_start": periods, "area_code": area, "value": values})
    rows["lower_95"], rows["upper_95"], rows["suppressed"] = rows["value"] - 1, rows["value"] + 1, False
    return rows.dropna(subset=["value"])  # a month with no data has no row


def measure(polarity: str, **changes) -> registry.Measure:
    return dataclasses.replace(registry.get("calls_101_mean_wait"), polarity=polarity, change_points=(), **changes)


def card(m: registry.Measure, rows: pd.DataFrame, area: str, as_of=None) -> scorecard.Card:
    """The card of rows as the pipeline gives them (each row with its control-chart point)."""
    force = "E23000035"  # Exeter's force: the Plan's targets apply to its CSPs
    return scorecard.card(m, pipeline.add_assurance(pipeline.add_signals(rows, m), m, force), area, as_of)


SHIFT_UP = [10, 11, 9, 10, 10.5, 9.5, 10, 11, 9, 10, 10.5, 9.5] + [20, 21, 19, 20, 20.5, 19.5, 20]


def test_known_upward_shift_is_concern_when_lower_is_better():
    shown = card(measure("lower_is_better"), frame(SHIFT_UP), "E22000049")
    assert shown.signal == "concern"
    assert shown.signal_kind in {"7 Points Above CL", "Above UCL"}
    assert shown.latest["value"] == 20
    assert shown.previous["value"] == 19.5
    assert shown.year_before["value"] == 10  # Jul 2023 -> Jul 2024 is the 19th point, 12 back is the 7th


def test_same_series_is_improvement_when_higher_is_better_and_change_when_neutral():
    assert card(measure("higher_is_better", target=None), frame(SHIFT_UP), "E22000049").signal == "improvement"
    assert card(measure("neutral", target=None), frame(SHIFT_UP), "E22000049").signal == "change"


def test_stable_series_has_no_signal_and_target_is_judged():
    stable = list(10 + np.tile([0.5, -0.5, 0.3, -0.3], 5))
    shown = card(measure("lower_is_better"), frame(stable), "E22000049")
    assert shown.signal == "none"
    assert shown.target_met is True  # 9.7 minutes against a 20-minute target
    high = card(measure("lower_is_better"), frame([30.0] * 5, start="2024-01-01"), "E22000049")
    assert high.target_met is False
    # The 20-minute aim was stated in November 2023: a card of May 2023 has no target to meet.
    before = card(measure("lower_is_better"), frame([30.0] * 5), "E22000049")
    assert before.target is None and before.target_met is None
    assert "Target: none stated" in scorecard.figures_markdown(before)


def test_missing_previous_month_is_no_comparison_not_zero():
    values = [10.0, 11.0, 12.0, None, 13.0]
    shown = card(measure("lower_is_better"), frame(values), "E22000049")
    assert shown.previous is None
    assert scorecard.change_text(shown.latest, shown.previous, "minutes") == "no comparison"


def test_as_of_cuts_the_series():
    shown = card(measure("lower_is_better"), frame(SHIFT_UP), "E22000049", as_of=pd.Timestamp("2023-06-01"))
    assert shown.latest["period_start"] == pd.Timestamp("2023-06-01")
    # June 2023's own point, with limits over the area's whole history (the same on every page and in
    # the export): after the step to 20 minutes, the first months sit below the lower process limit.
    assert shown.signal == "improvement" and shown.signal_kind == "Below LCL"


def rolling(values: list[float], years: list[tuple[str, str]]) -> pd.DataFrame:
    rows = pd.DataFrame({"period_start": pd.to_datetime([s for s, _ in years]),
                         "period_end": pd.to_datetime([e for _, e in years]), "area_code": "E22000049",
                         "value": values})
    rows["lower_95"], rows["upper_95"], rows["suppressed"] = rows["value"] - 1, rows["value"] + 1, False
    return rows


ONS = registry.get("ons_total_recorded_crime")
ONS_YEARS = [("2023-01-01", "2023-12-31"), ("2024-01-01", "2024-12-31"), ("2024-07-01", "2025-06-30")]


def test_a_rolling_year_card_names_its_year_and_compares_only_with_a_year_before():
    shown = card(ONS, rolling([70.0, 90.0, 100.0], ONS_YEARS), "E22000049")
    # The edition before (Jan-Dec 2024) overlaps the latest by six months: it is not "previous".
    assert shown.previous is None and shown.year_before is None  # the year ending Jun 2024 is not loaded
    assert shown.signal == pipeline.NOT_ASSESSED_ROLLING and shown.signal_kind == "none"
    text = scorecard.figures_markdown(shown)
    assert text.startswith("Year ending Jun 2025: **100** per 1,000 residents"), text
    assert "Change since the year ending Jun 2024: no comparison  \n" in text and "previous" not in text
    assert "Signal: ![](data:image/svg+xml;base64," in text and ") **Not assessed (overlapping rolling years)**" in text


def test_a_rolling_year_counts_from_its_last_month():
    # Up to Dec 2024, the year ending Jun 2025 (which starts in Jul 2024) is not out yet.
    shown = card(ONS, rolling([70.0, 90.0, 100.0], ONS_YEARS), "E22000049", as_of=pd.Timestamp("2024-12-01"))
    assert scorecard.row_period_label(shown.latest, ONS.frequency) == "year ending Dec 2024"
    assert shown.year_before is not None and shown.year_before["value"] == 70.0
    assert "Change since the year ending Dec 2023: +20.00 (significant)" in scorecard.figures_markdown(shown)
    assert card(ONS, rolling([70.0, 90.0, 100.0], ONS_YEARS), "E22000049", as_of=pd.Timestamp("2023-11-01")).latest is None
