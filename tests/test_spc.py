"""Tests for measures.core.spc: the XmR chart of NHSRplotthedots (NHS "Making Data Count").

The peer test reproduces every point of the package's results for 306 series
(``peer_tests/NHSRplotthedots/spc_point_types_expected.csv`` in the shared data folder, read in
place through ``measures.paths.SHARED_DATA_DIR``; the tests skip, naming the path, when it is
absent). The rest covers what the package does not do for us: gaps, rebasing, fixed limits, the
trial flag and reading a signal against a measure's polarity.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from measures.core.spc import COMMON_CAUSE, POINT_TYPES, TRIAL_BELOW, SPCResult, signal_meaning, spc
from measures.paths import SHARED_DATA_DIR

# Any RuntimeWarning (mean of nothing, 0/0) is a bug: missing data must come out quietly.
pytestmark = pytest.mark.filterwarnings("error")

PEER_FILE = SHARED_DATA_DIR / "peer_tests" / "NHSRplotthedots" / "spc_point_types_expected.csv"
# The reference was printed to about 10 significant figures.
RTOL = 1e-4


@functools.cache
def _reference() -> pd.DataFrame:
    if not PEER_FILE.is_file():
        pytest.skip(f"NHSRplotthedots reference results not available: {PEER_FILE} is missing")
    return pd.read_csv(PEER_FILE)


def _series_ids() -> list[str]:
    # Read at collection so that each series is its own test; one skipping test if absent.
    if not PEER_FILE.is_file():
        return ["reference-file-missing"]
    return list(pd.read_csv(PEER_FILE, usecols=["series_id"])["series_id"].unique())


# --------------------------------------------------------------------------
# The peer test: every point of every reference series
# --------------------------------------------------------------------------


def test_reference_is_complete():
    ref = _reference()
    assert ref["series_id"].nunique() == 306
    assert len(ref) == 16082
    # Every series both with and without outlier screening, each point once.
    counts = ref.groupby(["series_id", "screen_outliers"]).size()
    assert len(counts) == 2 * 306
    assert not ref.duplicated(["series_id", "screen_outliers", "index"]).any()
    # Every point type the package names occurs.
    assert set(ref["point_type"]) == set(POINT_TYPES)


@pytest.mark.parametrize("series_id", _series_ids())
def test_matches_nhsrplotthedots(series_id):
    ref = _reference()
    mismatches = []
    for screen in (False, True):
        exp = ref[(ref["series_id"] == series_id) & (ref["screen_outliers"] == screen)].sort_values("index")
        assert list(exp["index"]) == list(range(len(exp)))
        got = spc(exp["y"].to_numpy(), screen_outliers=screen)
        for i, row in enumerate(exp.itertuples()):
            ok = (
                got.point_type[i] == row.point_type
                and got.direction[i] == row.direction
                and np.isclose(got.mean[i], row.mean, rtol=RTOL, atol=0)
                and np.isclose(got.lpl[i], row.lpl, rtol=RTOL, atol=0)
                and np.isclose(got.upl[i], row.upl, rtol=RTOL, atol=0)
            )
            if not ok:
                mismatches.append(
                    f"screen_outliers={screen} index={i} y={row.y}: expected {row.point_type!r} {row.direction} "
                    f"[{row.lpl}, {row.mean}, {row.upl}], got {got.point_type[i]!r} {got.direction[i]} "
                    f"[{got.lpl[i]}, {got.mean[i]}, {got.upl[i]}]"
                )
    assert not mismatches, f"{series_id}: {len(mismatches)} points differ:\n" + "\n".join(mismatches)


# --------------------------------------------------------------------------
# The rules, by hand
# --------------------------------------------------------------------------


def test_result_shape_and_types():
    r = spc([10.0, 12.0, 11.0, 13.0])
    assert isinstance(r, SPCResult)
    for field in ("values", "mean", "lpl", "upl", "point_type", "direction", "segment", "segment_start", "trial", "crosses_gap"):
        assert getattr(r, field).shape == (4,), field
    assert r.mean == pytest.approx([11.5] * 4)
    assert r.upl == pytest.approx([11.5 + 2.66 * 5 / 3] * 4)
    assert r.lpl == pytest.approx([11.5 - 2.66 * 5 / 3] * 4)
    assert list(r.point_type) == [COMMON_CAUSE] * 4
    assert r.direction.dtype.kind == "i" and r.trial.dtype == bool and r.crosses_gap.dtype == bool


def test_outlier_screening_drops_large_moving_ranges_once():
    y = [10.0, 11.0] * 6 + [40.0] + [10.0, 11.0] * 2
    mr = np.abs(np.diff(y))
    kept = mr[mr < 3.267 * mr.mean()]
    screened, unscreened = spc(y), spc(y, screen_outliers=False)
    assert screened.upl[0] == pytest.approx(np.mean(y) + 2.66 * kept.mean())
    assert unscreened.upl[0] == pytest.approx(np.mean(y) + 2.66 * mr.mean())
    assert screened.point_type[12] == "Above UCL" and screened.direction[12] == 1


def test_two_in_three_flags_only_the_close_points():
    # Mean 10, mean moving range 2 (limits 4.68 / 15.32, "close" beyond 6.45 / 13.55) once frozen.
    base = [9.0, 11.0] * 6
    r = spc(base + [14.0, 11.0, 14.0] + [9.0, 11.0] * 2, fix_after_n_points=12)
    assert list(r.point_type[12:15]) == ["2 in 3 Above CL", COMMON_CAUSE, "2 in 3 Above CL"]
    assert list(r.direction[12:15]) == [1, 0, 1]
    # The middle point on the other side of the mean breaks it.
    r = spc(base + [14.0, 9.0, 14.0] + [9.0, 11.0] * 2, fix_after_n_points=12)
    assert (r.point_type == COMMON_CAUSE).all()


def test_trend_beats_run_and_a_tie_breaks_a_trend():
    base = [9.0, 11.0] * 6
    rising = [6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5]  # 7 rising points, all below the mean, none near a limit
    r = spc(base + rising, fix_after_n_points=12)
    assert list(r.point_type[12:]) == ["7 Point Trend (Increasing)"] * 7
    assert (r.direction[12:] == 1).all()
    tied = [6.5, 7.0, 7.5, 7.5, 8.0, 8.5, 9.0]
    r = spc(base + tied, fix_after_n_points=12)
    assert not any("Trend" in t for t in r.point_type)
    assert list(r.point_type[12:]) == ["7 Points Below CL"] * 7


def test_point_on_the_mean_breaks_a_run():
    base = [9.0, 11.0] * 6
    r = spc(base + [10.5] * 3 + [10.0] + [10.5] * 4, fix_after_n_points=12)
    assert r.mean[0] == 10.0 and (r.point_type == COMMON_CAUSE).all()
    r = spc(base + [10.5] * 6, fix_after_n_points=12)  # index 11 (11.0) and 6 more: 7 above
    assert list(r.point_type[11:]) == ["7 Points Above CL"] * 7
    assert (r.point_type[:11] == COMMON_CAUSE).all()


def test_fix_after_n_points_freezes_limits_per_segment():
    y = np.r_[np.tile([9.0, 11.0], 6), np.full(6, 20.0)]
    r = spc(y, fix_after_n_points=12)
    assert np.allclose(r.mean, 10.0) and np.allclose(r.upl, 10.0 + 2.66 * 2)
    assert list(r.point_type[12:]) == ["Above UCL"] * 6
    # Missing points do not count towards the n.
    gappy = np.r_[np.nan, y[:5], np.nan, y[5:]]
    g = spc(gappy, fix_after_n_points=12)
    present = np.isfinite(gappy)
    np.testing.assert_array_equal(g.point_type[present], r.point_type)
    with pytest.raises(ValueError):
        spc(y, fix_after_n_points=5)  # the package insists on at least 12


# --------------------------------------------------------------------------
# Missing values
# --------------------------------------------------------------------------


def test_missing_values_are_skipped_not_zero():
    rng = np.random.default_rng(7)
    y = np.r_[rng.normal(10, 1, 14), rng.normal(13, 1, 14)]
    full = spc(y)
    for where in ([5], [14, 15], [0, 27], [3, 9, 20]):
        gappy = y.copy()
        gappy[where] = np.nan
        present = np.isfinite(gappy)
        g = spc(gappy)
        short = spc(y[present])
        np.testing.assert_array_equal(g.point_type[present], short.point_type)
        np.testing.assert_array_equal(g.direction[present], short.direction)
        np.testing.assert_allclose(g.upl[present], short.upl)
        np.testing.assert_allclose(g.mean[present], short.mean)
        assert (g.point_type[~present] == "").all() and (g.direction[~present] == 0).all()
        assert np.isnan(g.mean[~present]).all() and np.isnan(g.upl[~present]).all()
        assert (g.segment[~present] == -1).all() and (g.segment_start[~present] == -1).all()
        assert not g.trial[~present].any() and not g.crosses_gap[~present].any()
    assert full.point_type.size == y.size
    # Treating a gap as zero would give a different chart altogether.
    gappy = y.copy()
    gappy[5] = np.nan
    assert spc(np.nan_to_num(gappy)).mean[0] != pytest.approx(spc(gappy).mean[0])


def test_a_nan_inside_a_run_gives_the_same_types_and_marks_the_run():
    # 12 alternating points, then 7 just above the mean: a 7-point run (indices 11-18 with the
    # 11.0 at index 11), no point near a limit.
    y = np.r_[np.tile([9.0, 11.0], 6), np.full(7, 10.5)]
    whole = spc(y)
    run = np.flatnonzero(whole.point_type == "7 Points Above CL")
    assert run.size >= 7 and not whole.crosses_gap.any()

    gappy = np.insert(y, 15, np.nan)  # a missing month inside the run
    g = spc(gappy)
    present = np.isfinite(gappy)
    np.testing.assert_array_equal(g.point_type[present], whole.point_type)
    np.testing.assert_array_equal(g.direction[present], whole.direction)
    np.testing.assert_allclose(g.upl[present], whole.upl)
    assert g.point_type[15] == ""
    in_run = np.insert(whole.point_type, 15, "") == "7 Points Above CL"
    np.testing.assert_array_equal(np.flatnonzero(g.crosses_gap), np.flatnonzero(in_run))

    # A gap among common-cause points marks nothing.
    g = spc(np.insert(y, 4, np.nan))
    assert not g.crosses_gap.any()
    assert (g.point_type == np.insert(whole.point_type, 4, "")).all()


def test_a_nan_inside_a_trend_marks_the_trend():
    y = [5.0, 6.0, 5.0, 6.0, 5.1, 5.2, 5.3, np.nan, 5.4, 5.5, 5.6, 5.7, 5.0]
    r = spc(y)
    trend = [i for i, t in enumerate(r.point_type) if "Trend" in t]
    assert trend == [4, 5, 6, 8, 9, 10, 11]
    assert (r.direction[trend] == 1).all()
    np.testing.assert_array_equal(np.flatnonzero(r.crosses_gap), trend)


def test_short_and_empty_series():
    empty = spc([])
    assert empty.point_type.shape == (0,) and empty.mean.shape == (0,)
    for y in ([5.0], [np.nan, np.nan], [np.nan, 5.0, np.nan]):
        r = spc(y)
        assert np.isnan(r.lpl).all() and np.isnan(r.upl).all()
        present = np.isfinite(np.asarray(y))
        assert (r.point_type[present] == COMMON_CAUSE).all() and (r.direction == 0).all()
        assert r.trial[present].all()
    assert spc([5.0]).mean[0] == 5.0
    # A constant series: every moving range is 0, so screening leaves none and the limits are NaN,
    # as in the package; unscreened, the limits sit on the mean. Either way nothing signals.
    for screen in (True, False):
        r = spc([3.0] * 15, screen_outliers=screen)
        assert (r.point_type == COMMON_CAUSE).all()
        assert np.isnan(r.upl).all() == screen
    # pandas input, with nullable NA, is read positionally; None in a list is missing.
    r = spc(pd.Series([1.0, pd.NA, 3.0], index=[2021, 2022, 2023], dtype="Float64"))
    assert list(r.point_type) == [COMMON_CAUSE, "", COMMON_CAUSE]
    assert list(spc([1.0, None, 3.0]).point_type) == [COMMON_CAUSE, "", COMMON_CAUSE]
    with pytest.raises(ValueError):
        spc([[1.0, 2.0], [3.0, 4.0]])


# --------------------------------------------------------------------------
# Rebasing
# --------------------------------------------------------------------------


def _step_series() -> np.ndarray:
    rng = np.random.default_rng(2024)
    return np.r_[15 + rng.normal(0, 1, 15), 40 + rng.normal(0, 1, 15), 5 + rng.normal(0, 1, 15)]


def test_rebase_at_the_steps_removes_the_false_signals():
    y = _step_series()
    one = spc(y)
    assert (one.point_type != COMMON_CAUSE).mean() > 0.9  # one set of limits: nearly all signal
    r = spc(y, rebase_at=[15, 30])
    assert "Above UCL" not in set(r.point_type[15:])
    assert (r.point_type == COMMON_CAUSE).mean() > 0.8
    np.testing.assert_array_equal(r.segment, [0] * 15 + [1] * 15 + [2] * 15)
    np.testing.assert_array_equal(r.segment_start, [0] * 15 + [15] * 15 + [30] * 15)
    for s, level in enumerate((15, 40, 5)):
        assert r.mean[15 * s] == pytest.approx(y[15 * s : 15 * (s + 1)].mean())
        assert abs(r.mean[15 * s] - level) < 1
    assert not r.trial.any()


def test_segments_are_independent_charts():
    # No moving range, run or trend crosses a rebase: the chart is the concatenation of the
    # segments' own charts, gaps and all.
    rng = np.random.default_rng(11)
    for _ in range(30):
        y = rng.normal(0, 1, 40).cumsum() * 0.3 + rng.normal(0, 1, 40)
        y[rng.random(40) < 0.1] = np.nan
        cuts = sorted(rng.choice(np.arange(5, 35), size=2, replace=False))
        r = spc(y, rebase_at=cuts)
        edges = [0, *cuts, 40]
        for s, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            part = spc(y[a:b])
            np.testing.assert_array_equal(r.point_type[a:b], part.point_type)
            np.testing.assert_array_equal(r.direction[a:b], part.direction)
            np.testing.assert_array_equal(r.crosses_gap[a:b], part.crosses_gap)
            np.testing.assert_allclose(r.upl[a:b], part.upl)
            present = np.isfinite(y[a:b])
            assert (r.segment[a:b][present] == s).all() and (r.segment_start[a:b][present] == a).all()


def test_rebase_positions():
    y = np.arange(20.0)
    assert (spc(y, rebase_at=[0, 20, 25]).segment == 0).all()  # 0 and beyond the end start nothing
    np.testing.assert_array_equal(spc(y, rebase_at=[10, 10]).segment, [0] * 10 + [1] * 10)
    with pytest.raises(ValueError):
        spc(y, rebase_at=[-1])


# --------------------------------------------------------------------------
# Trial limits
# --------------------------------------------------------------------------


def test_trial_flag_below_12_points():
    assert TRIAL_BELOW == 12
    assert spc(np.arange(11.0)).trial.all()
    assert not spc(np.arange(12.0)).trial.any()
    # 12 positions with one missing: limits from 11 points.
    y = np.arange(12.0)
    y[3] = np.nan
    assert spc(y).trial[np.isfinite(y)].all()
    # Per segment: only the short one is on trial.
    r = spc(np.arange(30.0), rebase_at=[24])
    np.testing.assert_array_equal(r.trial, [False] * 24 + [True] * 6)
    # Limits fixed on the first 12 points are not trial limits, however long the series.
    assert not spc(np.arange(40.0) % 7, fix_after_n_points=12).trial.any()


# --------------------------------------------------------------------------
# Meaning
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point_type", "direction", "polarity", "expected"),
    [
        ("Above UCL", 1, "higher_is_better", "improvement"),
        ("Above UCL", 1, "lower_is_better", "concern"),
        ("Below LCL", -1, "higher_is_better", "concern"),
        ("Below LCL", -1, "lower_is_better", "improvement"),
        ("7 Point Trend (Increasing)", 1, "lower_is_better", "concern"),
        ("7 Point Trend (Decreasing)", -1, "lower_is_better", "improvement"),
        ("2 in 3 Above CL", 1, "higher_is_better", "improvement"),
        ("7 Points Below CL", -1, "higher_is_better", "concern"),
        ("7 Points Above CL", 1, "neutral", "change"),
        ("Below LCL", -1, "neutral", "change"),
        ("Common Cause", 0, "higher_is_better", "none"),
        ("Common Cause", 0, "neutral", "none"),
        ("", 0, "lower_is_better", "none"),
    ],
)
def test_signal_meaning(point_type, direction, polarity, expected):
    assert signal_meaning(point_type, direction, polarity) == expected


def test_signal_meaning_rejects_unknown_polarity():
    with pytest.raises(ValueError):
        signal_meaning("Above UCL", 1, "up_is_good")


def test_meaning_of_a_chart_end_to_end():
    # Recorded crime jumping out of its limits is a concern; the same jump in a
    # higher-is-better measure (e.g. positive outcomes) an improvement.
    r = spc([100.0, 102.0, 98.0, 101.0, 99.0, 100.0, 103.0, 97.0, 100.0, 101.0, 99.0, 100.0, 160.0])
    assert r.point_type[-1] == "Above UCL"
    assert signal_meaning(r.point_type[-1], r.direction[-1], "lower_is_better") == "concern"
    assert signal_meaning(r.point_type[-1], r.direction[-1], "higher_is_better") == "improvement"
