"""Funnel-plot data: each CSP against the force value, with 95% and 99.8% limits.

A CSP's value is compared with the limits at its own denominator (offenders for a
proportion, residents for a rate per 1,000, reoffenders for reoffences per reoffender),
so a small area is not flagged for the noise its size makes. A point beyond a limit is
read through the measure's polarity: "better"/"worse" for a measure with a direction,
"higher"/"lower" for a neutral one (hidden crimes: more reports can mean more confidence
to report), never "better" or "worse" there.

Streamlit-free: the pages' view modules turn these frames into charts and sentences.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from measures.core import stats

CONFIDENCE_LEVELS = (0.95, 0.998)
# Position of a point against the limits: +2 above the 99.8% limit, +1 above the 95% limit only, 0 within.
POSITION_TEXT = {2: "above the 99.8% limit", 1: "above the 95% limit", 0: "within the 95% limits",
                 -1: "below the 95% limit", -2: "below the 99.8% limit"}
# Icon and word for each outcome (a signal is never shown by colour alone).
OUTCOME_ICONS = {"better": "✔ better", "worse": "⚠ worse", "higher": "▲ higher", "lower": "▼ lower",
                 "similar": "● similar"}


def limits(force_value: float, denominators: np.ndarray | pd.Series, method: str,
           confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Funnel limits in the measure's units (% for a proportion, per 1,000 for a rate, per unit for a mean count).

    A proportion uses the normal-approximation limits around the force proportion
    (stats.funnel_limits_proportion); a rate per 1,000 and a mean count per person
    (reoffences per reoffender) use exact Poisson limits (stats.funnel_limits_rate).
    """
    denominators = np.asarray(denominators, dtype="float64")
    if method == "proportion":
        lower, upper = stats.funnel_limits_proportion(force_value / 100, denominators, confidence)
        return 100 * np.asarray(lower), 100 * np.asarray(upper)
    if method == "rate_per_1000":
        lower, upper = stats.funnel_limits_rate(force_value, denominators, confidence, multiplier=1000)
    elif method == "mean":  # a count per person: the count is Poisson (as export.add_values does)
        lower, upper = stats.funnel_limits_rate(force_value, denominators, confidence, multiplier=1)
    else:
        raise ValueError(f"no funnel limits for method {method!r}")
    return np.asarray(lower, dtype="float64"), np.asarray(upper, dtype="float64")


def outcome_word(direction: int, polarity: str) -> str:
    """better / worse (a measure with a direction), higher / lower (neutral), or similar."""
    if direction == 0:
        return "similar"
    signal = stats.interpret_signal(direction, polarity)
    if signal == "change":
        return "higher" if direction > 0 else "lower"
    return "better" if signal == "improvement" else "worse"


def funnel_points(areas: pd.DataFrame, force_value: float, method: str, polarity: str) -> pd.DataFrame:
    """Each area's value and its position against the force value's 95% and 99.8% limits.

    `areas` has area_code, area_name, numerator, denominator and value (in the measure's
    units). Areas without a value (suppressed, or no data) are left out: the caller names
    them in a note. Returns the input columns plus lower_95, upper_95, lower_998,
    upper_998 (the limits at the area's denominator), position (-2..2), direction (-1, 0,
    1), signal (stats.interpret_signal: improvement / concern / change / none), outcome
    (better / worse / higher / lower / similar) and label (icon, word and limit).
    """
    points = areas.dropna(subset=["value", "denominator"]).copy()
    points = points[points["denominator"] > 0]
    denominators = points["denominator"].to_numpy(dtype="float64")
    lower_95, upper_95 = limits(force_value, denominators, method, 0.95)
    lower_998, upper_998 = limits(force_value, denominators, method, 0.998)
    values = points["value"].to_numpy(dtype="float64")
    # Strictly beyond a limit; a value exactly on a limit counts as within (as compare_to_benchmark does).
    position = np.select([values > upper_998, values > upper_95, values < lower_998, values < lower_95],
                         [2, 1, -2, -1], default=0)
    points["lower_95"], points["upper_95"] = lower_95, upper_95
    points["lower_998"], points["upper_998"] = lower_998, upper_998
    points["position"] = position.astype(int)
    points["direction"] = np.sign(position).astype(int)
    points["signal"] = [stats.interpret_signal(int(d), polarity) for d in points["direction"]]
    points["outcome"] = [outcome_word(int(d), polarity) for d in points["direction"]]
    points["label"] = [
        f"{OUTCOME_ICONS[outcome]} than the force ({POSITION_TEXT[int(p)]})" if p else
        f"{OUTCOME_ICONS[outcome]} to the force ({POSITION_TEXT[0]})"
        for outcome, p in zip(points["outcome"], points["position"], strict=True)
    ]
    return points.reset_index(drop=True)


def funnel_curves(force_value: float, method: str, smallest: float, largest: float, steps: int = 120) -> pd.DataFrame:
    """The 95% and 99.8% limits over a range of denominators (the funnel's curves).

    Spaced evenly on a log scale from a little below the smallest area to a little above the
    largest, so the curve is smooth where the funnel narrows fastest.
    """
    low = max(1.0, 0.8 * float(smallest))
    high = max(low * 1.5, 1.1 * float(largest))
    denominators = np.unique(np.geomspace(low, high, steps))
    curves = pd.DataFrame({"denominator": denominators})
    for confidence, suffix in ((0.95, "95"), (0.998, "998")):
        curves[f"lower_{suffix}"], curves[f"upper_{suffix}"] = limits(force_value, denominators, method, confidence)
    return curves


def funnel_summary(points: pd.DataFrame, force_value: float, unit: str, left_out: list[str]) -> str:
    """One sentence: how many areas lie within the limits, and which lie outside, with their word."""
    if points.empty:
        return "No CSP has a value to compare with the force" + (f" ({', '.join(left_out)} suppressed or without data)."
                                                                  if left_out else ".")
    within = points[points["position"] == 0]
    outside = points[points["position"] != 0]
    text = (f"Against the force value of {force_value:.2f} {unit}, {len(within)} of {len(points)} CSPs lie within "
            "the 95% limits")
    if outside.empty:
        text += ": the differences between CSPs are consistent with chance."
    else:
        groups = []
        for (position, outcome), rows in outside.sort_values("position", ascending=False).groupby(
                ["position", "outcome"], sort=False):
            groups.append(f"{', '.join(rows['area_name'])} {outcome} ({POSITION_TEXT[int(position)]})")
        text += "; " + "; ".join(groups) + "."
    if left_out:
        text += f" Not shown: {', '.join(left_out)} (suppressed or without data)."
    return text
