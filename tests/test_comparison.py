"""Funnel-plot data (measures.core.comparison) and period totals (measures.ui.hidden_view) on constructed data,
checked against measures.core.stats and against sums and Poisson tail probabilities worked out independently."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from measures.core import comparison, stats


def areas(values: list[float], denominators: list[float], numerators: list[float] | None = None) -> pd.DataFrame:
    codes = [f"E2200{i:04d}" for i in range(len(values))]
    return pd.DataFrame({"area_code": codes, "area_name": [f"Area {i}" for i in range(len(values))],
                         "numerator": numerators if numerators is not None else [np.nan] * len(values),
                         "denominator": denominators, "value": values})


def test_proportion_limits_by_hand():
    # Force 20%, 100 offenders: 20 -/+ 1.96 * sqrt(0.2 * 0.8 / 100) * 100 = 20 -/+ 7.84; 99.8%: z = 3.0902.
    lower_95, upper_95 = comparison.limits(20.0, [100], "proportion", 0.95)
    lower_998, upper_998 = comparison.limits(20.0, [100], "proportion", 0.998)
    assert lower_95[0] == pytest.approx(20 - 1.959964 * 4, abs=1e-4)
    assert upper_95[0] == pytest.approx(20 + 1.959964 * 4, abs=1e-4)
    assert upper_998[0] == pytest.approx(20 + 3.090232 * 4, abs=1e-4)
    assert lower_998[0] == pytest.approx(20 - 3.090232 * 4, abs=1e-4)


def test_proportion_positions_and_polarity_words():
    points = comparison.funnel_points(areas([20.0, 28.0, 33.0, 12.0, 7.0], [100] * 5), 20.0, "proportion",
                                      "lower_is_better")
    assert points["position"].tolist() == [0, 1, 2, -1, -2]
    # Reoffending: lower is better, so above the limits is worse.
    assert points["outcome"].tolist() == ["similar", "worse", "worse", "better", "better"]
    assert points["signal"].tolist() == ["none", "concern", "concern", "improvement", "improvement"]
    assert points.loc[2, "label"] == "⚠ worse than the force (above the 99.8% limit)"
    assert points.loc[0, "label"] == "● similar to the force (within the 95% limits)"
    higher_better = comparison.funnel_points(areas([28.0, 12.0], [100, 100]), 20.0, "proportion", "higher_is_better")
    assert higher_better["outcome"].tolist() == ["better", "worse"]


def test_neutral_measure_is_never_better_or_worse():
    points = comparison.funnel_points(areas([28.0, 12.0, 20.0], [100] * 3), 20.0, "proportion", "neutral")
    assert points["outcome"].tolist() == ["higher", "lower", "similar"]
    assert points["signal"].tolist() == ["change", "change", "none"]
    assert not any("better" in label or "worse" in label for label in points["label"])


def test_the_same_value_is_within_the_limits_of_a_small_area_and_outside_those_of_a_large_one():
    points = comparison.funnel_points(areas([25.0, 25.0], [50, 5000]), 20.0, "proportion", "lower_is_better")
    assert points["position"].tolist() == [0, 2]


def test_a_value_exactly_on_a_limit_is_within():
    _, upper = comparison.limits(20.0, [100], "proportion", 0.95)
    points = comparison.funnel_points(areas([float(upper[0])], [100]), 20.0, "proportion", "lower_is_better")
    assert points["position"].tolist() == [0]


@pytest.mark.parametrize("expected", [2.0, 10.0, 55.0])
def test_rate_positions_agree_with_an_exact_poisson_test(expected):
    # Force 10 per 1,000: an area of `population` expects `expected` records. A count is above the 95%
    # limit exactly when P(X >= count) < 2.5%, below when P(X <= count) < 2.5% (X ~ Poisson(expected)).
    population = expected * 100
    counts = np.arange(0, int(expected * 3) + 10)
    rates = 1000 * counts / population
    points = comparison.funnel_points(areas(list(rates), [population] * len(counts), list(counts)), 10.0,
                                      "rate_per_1000", "neutral")
    for count, position in zip(counts, points["position"], strict=True):
        high_95 = sps.poisson.sf(count - 1, expected) < 0.025
        low_95 = sps.poisson.cdf(count, expected) < 0.025
        high_998 = sps.poisson.sf(count - 1, expected) < 0.001
        low_998 = sps.poisson.cdf(count, expected) < 0.001
        want = 2 if high_998 else 1 if high_95 else -2 if low_998 else -1 if low_95 else 0
        assert position == want, (count, expected)


def test_rate_limits_match_stats_and_known_counts():
    lower, upper = comparison.limits(10.0, [1000.0], "rate_per_1000", 0.95)
    want_lower, want_upper = stats.funnel_limits_rate(10.0, 1000.0, 0.95, multiplier=1000)
    assert (lower[0], upper[0]) == pytest.approx((want_lower, want_upper))
    # Poisson(10): P(X >= 17) = 0.027 and P(X >= 18) = 0.014, so the upper limit lies between 17 and 18 records;
    # P(X <= 3) = 0.010 and P(X <= 4) = 0.029, so the lower limit lies between 3 and 4.
    assert 17 < upper[0] < 18
    assert 3 < lower[0] < 4


def test_mean_count_per_person_uses_poisson_limits_on_the_count():
    # Reoffences per reoffender: 3.0 per reoffender over 50 reoffenders expects 150 reoffences.
    lower, upper = comparison.limits(3.0, [50.0], "mean", 0.95)
    # The same expected count as 150 per 1,000 over 1,000 residents, whose limits are then counts.
    want_lower, want_upper = stats.funnel_limits_rate(150.0, 1000.0, 0.95, multiplier=1000)
    assert lower[0] * 50 == pytest.approx(want_lower, rel=1e-6)
    assert upper[0] * 50 == pytest.approx(want_upper, rel=1e-6)
    assert lower[0] < 3.0 < upper[0]


def test_areas_without_a_value_are_left_out_and_named_in_the_summary():
    frame = areas([np.nan, 40.0, 20.0], [100, 100, 100])
    points = comparison.funnel_points(frame, 20.0, "proportion", "lower_is_better")
    assert points["area_name"].tolist() == ["Area 1", "Area 2"]
    text = comparison.funnel_summary(points, 20.0, "%", ["Area 0"])
    assert "1 of 2 CSPs lie within the 95% limits" in text
    assert "Area 1 worse (above the 99.8% limit)" in text
    assert "Not shown: Area 0" in text
    assert "consistent with chance" in comparison.funnel_summary(points[points["position"] == 0], 20.0, "%", [])


def test_funnel_curves_narrow_with_size_and_the_wider_limit_is_outside():
    for method, force_value in (("proportion", 25.0), ("rate_per_1000", 12.0)):
        curves = comparison.funnel_curves(force_value, method, 40, 60_000)
        assert curves["denominator"].min() <= 40 and curves["denominator"].max() >= 60_000
        assert (curves["upper_95"].diff().dropna() <= 1e-9).all()
        assert (curves["lower_95"].diff().dropna() >= -1e-9).all()
        assert (curves["upper_998"] >= curves["upper_95"]).all() and (curves["lower_998"] <= curves["lower_95"]).all()
        assert (curves["lower_95"] <= force_value).all() and (curves["upper_95"] >= force_value).all()


def test_period_totals_sum_months_and_suppress_a_period_with_a_suppressed_month():
    from measures.ui import hidden_view

    months = [dt.date(2025, m, 1) for m in (1, 2, 3, 4)]
    rows = []
    for month, a, b in zip(months, [10, 20, None, 99], [5, 6, 7, 99], strict=True):
        rows.append({"period_start": month, "area_code": "A", "area_name": "Alpha", "area_type": "csp",
                     "numerator": a, "denominator": 2000.0, "suppressed": a is None, "illustrative": False})
        rows.append({"period_start": month, "area_code": "B", "area_name": "Beta", "area_type": "csp",
                     "numerator": b, "denominator": 4000.0, "suppressed": False, "illustrative": False})
    frame = pd.DataFrame(rows)
    totals = hidden_view.period_totals(frame, months[0], months[2]).set_index("area_code")
    # Alpha has a suppressed March: its January-March total would give March away, so it is suppressed too.
    assert bool(totals.loc["A", "suppressed"]) and math.isnan(totals.loc["A", "value"])
    # Beta: 5 + 6 + 7 = 18 records over 4,000 residents = 4.5 per 1,000; April is outside the period.
    assert totals.loc["B", "numerator"] == 18
    assert totals.loc["B", "value"] == pytest.approx(4.5)
    assert totals.loc["B", "months"] == 3
    lower, upper = stats.poisson_rate_interval(18, 4000, 1000)
    assert (totals.loc["B", "lower_95"], totals.loc["B", "upper_95"]) == pytest.approx((lower, upper))
    # Without the suppressed month, Alpha's January-February total is shown: 30 over 2,000 = 15 per 1,000.
    early = hidden_view.period_totals(frame, months[0], months[1]).set_index("area_code")
    assert not early.loc["A", "suppressed"] and early.loc["A", "value"] == pytest.approx(15.0)
