"""Disclosure control for the public: no count from 1 to 4 below force level.

Primary suppression: a CSP or unassigned row whose count (numerator) is 1 to 4 - or,
for proportions and means, whose denominator is 1 to 4 - loses its numerator, value
and limits, and is flagged `suppressed`.
Secondary suppression: the force row equals the sum of its CSPs and unassigned row,
so if exactly one row of a period is suppressed its count could be worked out by
subtraction; the next smallest row of that period is suppressed as well.
"""

from __future__ import annotations

import pandas as pd

SMALL_MIN, SMALL_MAX = 1, 4
HIDDEN = ["numerator", "value", "lower_95", "upper_95"]


def is_small(series: pd.Series) -> pd.Series:
    return series.between(SMALL_MIN, SMALL_MAX)


def suppress(frame: pd.DataFrame, check_denominator: bool | None = None) -> pd.DataFrame:
    frame = frame.copy()
    below_force = frame["area_type"] != "force"
    small = is_small(frame["numerator"])
    if check_denominator is None:  # proportions and means: the denominator is a count of people too
        check_denominator = frame["unit"].iloc[0] != "per 1,000 residents" if len(frame) else False
    if check_denominator:
        small |= is_small(frame["denominator"])
    frame["suppressed"] = below_force & small
    for _, period in frame[below_force].groupby("period_start"):
        hidden = period["suppressed"]
        if hidden.sum() == 1:
            candidates = period[~hidden].sort_values("numerator")
            if len(candidates):
                frame.loc[candidates.index[0], "suppressed"] = True
    frame.loc[frame["suppressed"], HIDDEN] = pd.NA
    if check_denominator:
        frame.loc[frame["suppressed"], "denominator"] = pd.NA
    return frame
