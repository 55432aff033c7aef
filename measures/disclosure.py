"""Disclosure control for the public: no count from 1 to 4 below force level.

Primary suppression: a CSP or unassigned row whose count (numerator) is 1 to 4 - or,
for proportions and means, whose denominator is 1 to 4 - loses its numerator, value
and limits, and is flagged `suppressed`.
Secondary suppression: the force row equals the sum of its CSPs and unassigned row, so
the force total minus the rows shown gives the total of the rows hidden. Rows are hidden
until that total cannot be worked back to a small count: at least two rows, and their
total (numerators, and denominators where those are checked) not from 1 to 4. The next
row hidden is the smallest non-zero one (a zero adds nothing to the hidden total), a
zero only when no other is left.
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
        hidden = period["suppressed"].copy()
        while hidden.any() and not hidden.all() and _derivable(period[hidden], check_denominator):
            shown = period[~hidden]
            next_row = shown.assign(zero=shown["numerator"].eq(0)).sort_values(["zero", "numerator"]).index[0]
            hidden[next_row] = True
        frame.loc[hidden[hidden].index, "suppressed"] = True
    frame.loc[frame["suppressed"], HIDDEN] = pd.NA
    if check_denominator:
        frame.loc[frame["suppressed"], "denominator"] = pd.NA
    return frame


def _derivable(hidden: pd.DataFrame, check_denominator: bool) -> bool:
    """Could the hidden rows' own figures, or a small count among them, be worked out by subtraction?"""
    if len(hidden) < 2:
        return True
    counts = ["numerator", "denominator"] if check_denominator else ["numerator"]
    return bool(is_small(hidden[counts].sum()).any())
