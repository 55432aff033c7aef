"""Statistical process control (XmR charts) as NHS England's "Making Data Count" draws them.

One implementation, reproducing the R package NHSRplotthedots (NHS-R Community) point for point:
its ``ptd_spc_standard`` (centre line and process limits) and ``ptd_calculate_point_type`` (which
points are special cause, and of which kind). Matching a published, widely used tool matters more
here than any local preference about the rules: a chart on our dashboard must say what the same
data would say in the NHS tool, and the peer test (``tests/test_spc.py``) checks every point of
306 reference series.

What the package does, and so what this does, per baseline segment:

* centre line = mean of the values; moving ranges = absolute differences of consecutive values;
  process limits = mean -/+ 2.66 x mean moving range. With ``screen_outliers`` (the package's
  default) moving ranges not below 3.267 x their mean are dropped once and the mean moving range
  taken again. If every moving range is dropped (a constant series) the limits are NaN, as in the
  package.
* rules, in the package's order of precedence (the first that applies names the point):
  "Above UCL" / "Below LCL" (strictly outside a limit); "7 Point Trend (Increasing|Decreasing)"
  (7 points each strictly higher, or lower, than the one before: a tie breaks it); "2 in 3 Above|
  Below CL" (in 3 consecutive points, all strictly on one side of the mean, at least 2 lie beyond
  two thirds of the way to a limit but not outside it; only those close points are flagged, not
  the third); "7 Points Above|Below CL" (7 consecutive points strictly on one side of the mean: a
  point on the mean breaks the run); otherwise "Common Cause". Every point of a trend or run
  carries its type, not only the 7th.
* a point that belongs both to a rising and to a falling trend (the peak or trough between them)
  takes the later trend's direction, as the package does.

Where we go beyond the package (it expects complete data): missing values (NaN) are skipped, never
treated as zero. The moving ranges and every rule run over the sequence of present points, so a
gap is bridged: one missing month says nothing about the process, and dropping the ranges either
side would leave patchy series with too few of them. ``crosses_gap`` marks the signals that rely
on such a bridge, so a page can say so.

Rebasing (``rebase_at``) starts a new segment with its own limits, as the package's ``rebase``
does: no moving range, run or trend crosses a segment boundary.

Pure numpy, vectorised over points (only the per-segment means loop, once per segment), because
a page may chart a hundred series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from measures.core import stats

__all__ = [
    "CLOSE_SCALING",
    "COMMON_CAUSE",
    "LIMIT_SCALING",
    "POINT_TYPES",
    "SCREEN_SCALING",
    "TRIAL_BELOW",
    "SPCResult",
    "signal_meaning",
    "spc",
]

#: 3 / d2 (d2 = 1.128 for ranges of two points): mean moving range -> 3-sigma process limits.
LIMIT_SCALING = 2.66
#: Two thirds of the way to a limit: the package's "near process limits" for the 2-in-3 rule.
CLOSE_SCALING = 2 * LIMIT_SCALING / 3
#: Moving ranges at or above this multiple of their mean are screened out (the package's D4 = 3.267).
SCREEN_SCALING = 3.267
#: Points in a run or trend (the package's, and Making Data Count's, 7).
RUN_POINTS = 7
#: Segments whose limits rest on fewer points than this are "trial" limits (the package warns
#: below 12 points, and will not fix limits on fewer).
TRIAL_BELOW = 12

ABOVE_UCL = "Above UCL"
BELOW_LCL = "Below LCL"
TREND_UP = "7 Point Trend (Increasing)"
TREND_DOWN = "7 Point Trend (Decreasing)"
TWO_IN_THREE_ABOVE = "2 in 3 Above CL"
TWO_IN_THREE_BELOW = "2 in 3 Below CL"
RUN_ABOVE = "7 Points Above CL"
RUN_BELOW = "7 Points Below CL"
COMMON_CAUSE = "Common Cause"

#: Every point type, in the package's order of precedence ("" marks a missing point).
POINT_TYPES = (
    ABOVE_UCL,
    BELOW_LCL,
    TREND_UP,
    TREND_DOWN,
    TWO_IN_THREE_ABOVE,
    TWO_IN_THREE_BELOW,
    RUN_ABOVE,
    RUN_BELOW,
    COMMON_CAUSE,
)

POLARITIES = stats.POLARITIES


@dataclass(frozen=True)
class SPCResult:
    """An XmR chart, every array aligned position for position with the input series.

    Limits are per point because each baseline segment has its own. A missing point has NaN
    ``mean``/``lpl``/``upl``, ``point_type`` "", ``direction`` 0, ``segment`` and
    ``segment_start`` -1 and both flags False.

    * ``direction``: +1 (above the mean / increasing), -1 (below / decreasing), 0 (common cause).
    * ``segment``: 0, 1, ... the baseline segment the point belongs to.
    * ``segment_start``: position where that segment begins (0 or its ``rebase_at`` index; that
      position may itself be missing).
    * ``trial``: the segment's limits rest on fewer than ``TRIAL_BELOW`` present points, so they
      are provisional (Making Data Count's advice: recalculate once there are 12 or more).
    * ``crosses_gap``: the point's trend, run or 2-in-3 signal is part of a stretch of points that
      bridges a missing value, i.e. it relies on joining the data either side of a gap.
    """

    values: np.ndarray
    mean: np.ndarray
    lpl: np.ndarray
    upl: np.ndarray
    point_type: np.ndarray
    direction: np.ndarray
    segment: np.ndarray
    segment_start: np.ndarray
    trial: np.ndarray
    crosses_gap: np.ndarray


def _as_series(values: ArrayLike) -> np.ndarray:
    """1-D float copy of *values*; pandas NA / None become NaN (duck-typed, so no pandas import)."""
    if hasattr(values, "to_numpy"):
        y = np.array(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)
    else:
        y = np.array(values, dtype=float)
    if y.ndim != 1:
        raise ValueError("spc expects a one-dimensional series")
    return y


def _segment_bounds(rebase_at: Sequence[int], size: int) -> np.ndarray:
    """Sorted, distinct segment starts after 0; positions at or beyond the end start nothing."""
    starts = np.asarray(list(rebase_at), dtype=float)
    if starts.size and (np.any(starts != np.round(starts)) or np.any(starts < 0)):
        raise ValueError(f"rebase_at must hold non-negative integer positions, got {list(rebase_at)!r}")
    starts = np.unique(starts.astype(int))
    return starts[(starts > 0) & (starts < size)]


def _windows(cond: np.ndarray, width: int, valid: np.ndarray) -> np.ndarray:
    """q[e]: cond holds at every one of the ``width`` entries ending at e, and the window is valid."""
    q = np.zeros(cond.size, dtype=bool)
    if cond.size >= width:
        c = np.concatenate(([0], np.cumsum(cond, dtype=np.int64)))
        q[width - 1 :] = c[width:] - c[: c.size - width] == width
    return q & valid


def _covered(q: np.ndarray, width: int) -> np.ndarray:
    """Point i lies in some qualifying window (of ``width`` points ending at e, q[e]): e in [i, i+width-1]."""
    c = np.concatenate(([0], np.cumsum(q, dtype=np.int64)))
    hi = np.minimum(np.arange(q.size) + width, q.size)
    return c[hi] - c[np.arange(q.size)] > 0


def _bridges(q: np.ndarray, width: int, gap_edge: np.ndarray) -> np.ndarray:
    """Point i is in a stretch of overlapping qualifying windows that spans a gap.

    Points k and k+1 are linked when some qualifying window holds both (window end e in
    [k+1, k+width-1]); linked points form a stretch (the run as drawn), and the stretch bridges a
    gap when one of its links is a gap between present points.
    """
    m = q.size
    if m < 2:
        return np.zeros(m, dtype=bool)
    c = np.concatenate(([0], np.cumsum(q, dtype=np.int64)))
    k = np.arange(m - 1)
    link = c[np.minimum(k + width, m)] - c[k + 1] > 0
    stretch = np.concatenate(([0], np.cumsum(~link)))
    bridged = np.bincount(stretch[:-1], weights=link & gap_edge, minlength=stretch[-1] + 1) > 0
    return bridged[stretch] & _covered(q, width)


def spc(
    values: ArrayLike,
    *,
    rebase_at: Sequence[int] = (),
    screen_outliers: bool = True,
    fix_after_n_points: int | None = None,
) -> SPCResult:
    """XmR chart of a time series with Making Data Count point types (see the module docstring).

    ``values``: the series in time order (list, numpy array or pandas Series, read positionally);
    NaN / None / infinite values are missing and skipped.
    ``rebase_at``: positions at which a new baseline segment starts (its own mean and limits).
    ``screen_outliers``: drop moving ranges of 3.267 x their mean or more before the limits (the
    package's default, True); False gives the Making Data Count Excel tool's limits.
    ``fix_after_n_points``: compute each segment's mean and limits from its first n present points
    only and extend them over the rest of it; as in the package, n must be at least 12.
    """
    if fix_after_n_points is not None and (int(fix_after_n_points) != fix_after_n_points or fix_after_n_points < TRIAL_BELOW):
        raise ValueError(f"fix_after_n_points must be a whole number >= {TRIAL_BELOW}, got {fix_after_n_points!r}")
    y = _as_series(values)
    size = y.size
    bounds = _segment_bounds(rebase_at, size)
    seg_of_pos = np.searchsorted(bounds, np.arange(size), side="right")
    seg_starts = np.concatenate(([0], bounds))

    pidx = np.flatnonzero(np.isfinite(y))
    yp = y[pidx]
    sp = seg_of_pos[pidx]
    m = yp.size

    # Per-segment centre line and mean moving range (the only loop: once per segment).
    n_seg = seg_starts.size
    seg_mean = np.full(n_seg, np.nan)
    seg_amr = np.full(n_seg, np.nan)
    seg_n = np.zeros(n_seg, dtype=int)
    cut = np.searchsorted(sp, np.arange(n_seg + 1))
    for s in range(n_seg):
        base = yp[cut[s] : cut[s + 1]]
        if fix_after_n_points is not None:
            base = base[: int(fix_after_n_points)]
        seg_n[s] = base.size
        if base.size == 0:
            continue
        seg_mean[s] = base.mean()
        mr = np.abs(np.diff(base))
        if mr.size:
            amr = mr.mean()
            if screen_outliers:
                mr = mr[mr < SCREEN_SCALING * amr]
                amr = mr.mean() if mr.size else np.nan
            seg_amr[s] = amr

    mean_p = seg_mean[sp]
    amr_p = seg_amr[sp]
    lpl_p = mean_p - LIMIT_SCALING * amr_p
    upl_p = mean_p + LIMIT_SCALING * amr_p
    # NaN limits compare False: nothing is outside, or close to, limits that do not exist.
    outside = (yp > upl_p) | (yp < lpl_p)
    close = ~outside & ((yp < mean_p - CLOSE_SCALING * amr_p) | (yp > mean_p + CLOSE_SCALING * amr_p))
    side = np.sign(yp - mean_p)

    def within_segment(width: int) -> np.ndarray:
        ok = np.zeros(m, dtype=bool)
        if m >= width:
            ok[width - 1 :] = sp[width - 1 :] == sp[: m - width + 1]
        return ok

    valid7, valid3 = within_segment(RUN_POINTS), within_segment(3)

    # 7 points on one side of the mean.
    run_up = _windows(side > 0, RUN_POINTS, valid7)
    run_down = _windows(side < 0, RUN_POINTS, valid7)
    in_run = _covered(run_up | run_down, RUN_POINTS)

    # 7-point trends: 6 strict rises (or falls) in a row. rises[e] says y[e] > y[e - 1].
    step = np.sign(np.diff(yp))
    rises = np.concatenate(([False], step > 0))
    falls = np.concatenate(([False], step < 0))
    trend_up = _windows(rises, RUN_POINTS - 1, np.ones(m, dtype=bool)) & valid7
    trend_down = _windows(falls, RUN_POINTS - 1, np.ones(m, dtype=bool)) & valid7
    in_trend = _covered(trend_up | trend_down, RUN_POINTS)

    # 2 in 3: a window of 3, all on one side of the mean, with 2 or more close to a limit; only the
    # close points themselves are flagged (the package's ptd_part_of_two_in_three).
    c = np.concatenate(([0], np.cumsum(close, dtype=np.int64)))
    close_in3 = np.zeros(m, dtype=bool)
    if m >= 3:
        close_in3[2:] = c[3:] - c[:-3] >= 2
    two3 = close_in3 & (_windows(side > 0, 3, valid3) | _windows(side < 0, 3, valid3))
    in_two3 = _covered(two3, 3) & close

    # Trend direction as the package reads it: from the step to the next point when that point is
    # in a trend too, else from the step from the previous point (so a peak takes the later trend).
    same_next = np.zeros(m, dtype=bool)  # the next present point is in the same segment
    same_next[:-1] = sp[1:] == sp[:-1]
    step_next = np.zeros(m)
    step_next[:-1] = step
    step_prev = np.zeros(m)  # 0 at a segment's first point
    step_prev[1:] = np.where(same_next[:-1], step, 0.0)
    next_in_trend = np.zeros(m, dtype=bool)
    next_in_trend[:-1] = in_trend[1:] & same_next[:-1]
    trend_step = np.where(in_trend & next_in_trend, step_next, step_prev)

    above = side > 0
    conditions = [outside, in_trend, in_two3, in_run]
    type_p = np.select(
        conditions,
        [
            np.where(side == 1, ABOVE_UCL, BELOW_LCL),
            np.where(trend_step == 1, TREND_UP, TREND_DOWN),
            np.where(above, TWO_IN_THREE_ABOVE, TWO_IN_THREE_BELOW),
            np.where(above, RUN_ABOVE, RUN_BELOW),
        ],
        default=COMMON_CAUSE,
    ).astype("<U26")
    up = [side == 1, trend_step == 1, above, above]
    direction_p = np.select(conditions, [np.where(u, 1, -1) for u in up], default=0)

    # Which signals lean on a bridged gap: a link between consecutive present points that are not
    # neighbours in the series, within one segment.
    gap_edge = (np.diff(pidx) > 1) & (sp[1:] == sp[:-1]) if m > 1 else np.zeros(0, dtype=bool)
    is_trend = ~outside & in_trend
    is_two3 = ~outside & ~in_trend & in_two3
    is_run = ~outside & ~in_trend & ~in_two3 & in_run
    crosses_p = (
        (is_trend & (_bridges(trend_up, RUN_POINTS, gap_edge) | _bridges(trend_down, RUN_POINTS, gap_edge)))
        | (is_two3 & _bridges(two3, 3, gap_edge))
        | (is_run & (_bridges(run_up, RUN_POINTS, gap_edge) | _bridges(run_down, RUN_POINTS, gap_edge)))
    )

    def spread(p: np.ndarray, fill: Any, dtype: Any) -> np.ndarray:
        out = np.full(size, fill, dtype=dtype)
        out[pidx] = p
        return out

    return SPCResult(
        values=y,
        mean=spread(mean_p, np.nan, float),
        lpl=spread(lpl_p, np.nan, float),
        upl=spread(upl_p, np.nan, float),
        point_type=spread(type_p, "", "<U26"),
        direction=spread(direction_p, 0, int),
        segment=spread(sp, -1, int),
        segment_start=spread(seg_starts[sp], -1, int),
        trial=spread(seg_n[sp] < TRIAL_BELOW, False, bool),
        crosses_gap=spread(crosses_p, False, bool),
    )


def signal_meaning(point_type: str, direction: int, polarity: str) -> str:
    """What a point's signal means for a measure: "improvement", "concern", "change" or "none".

    Common cause (or a missing point, "") means "none" whatever the direction. For a neutral
    measure any special cause is a "change"; otherwise the direction is read against the polarity
    (a rise in a lower-is-better measure is a concern), as the package's ``improvement_direction``.
    """
    if point_type in ("", COMMON_CAUSE):
        direction = 0
    return stats.interpret_signal(int(np.sign(direction)), polarity)


# "Making Data Count" assurance: can the process be relied on to meet its target?
CONSISTENTLY_PASSES, CONSISTENTLY_FAILS, HIT_AND_MISS = "consistently passes", "consistently fails", "hit and miss"


def assurance(target: float, lpl: float, upl: float, polarity: str) -> str | None:
    """Whether a target is met by the process whose limits are [lpl, upl]: NHSRplotthedots'
    ``ptd_calculate_assurance_type`` (the limits of the last point, i.e. the latest baseline).

    A target above the upper limit is failed every time when higher is better (the process cannot
    reach it) and passed every time when lower is better; below the lower limit the other way round;
    between the limits (or on one) the process passes and fails by chance: "hit and miss". Neutral
    measures and points with no limits (no chart, or too few points) have no assurance (None).
    """
    if polarity == "neutral" or not np.isfinite(target) or not (np.isfinite(lpl) and np.isfinite(upl)):
        return None
    increasing = polarity == "higher_is_better"
    if target > upl:
        return CONSISTENTLY_FAILS if increasing else CONSISTENTLY_PASSES
    if target < lpl:
        return CONSISTENTLY_PASSES if increasing else CONSISTENTLY_FAILS
    return HIT_AND_MISS
