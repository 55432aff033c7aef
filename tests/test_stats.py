"""Tests for measures.stats.

Two kinds of reference: scipy / statsmodels (independent implementations or
closed forms), and the published test data of the R package
PHEindicatormethods (the methods behind OHID Fingertips).  That data is read in
place from the shared folder and never copied into the repo; if the folder is
absent those tests skip.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson
from statsmodels.stats.weightstats import DescrStatsW

from measures import stats
from measures.stats import (
    XmRResult,
    compare_to_benchmark,
    count_interval,
    funnel_limits_proportion,
    funnel_limits_rate,
    interpret_signal,
    latest_signal,
    mean_interval,
    poisson_rate_interval,
    wilson_interval,
    xmr,
)

# Any RuntimeWarning (0/0, log of 0, ...) is a bug: NaN must come out quietly.
pytestmark = pytest.mark.filterwarnings("error")

PEER_DIR = Path("/work/shared/data/peer_tests/PHEindicatormethods")

# The peer data hold full-precision doubles, so we can ask for 1e-5 relative.
RTOL = 1e-5


def _peer_path(name: str) -> Path:
    path = PEER_DIR / name
    if not path.is_file():
        pytest.skip(f"PHEindicatormethods test data not available: {path} is missing")
    return path


@functools.cache
def _read_excel(name: str, sheet: str) -> pd.DataFrame:
    return pd.read_excel(_peer_path(name), sheet_name=sheet)


@functools.cache
def _read_csv(name: str) -> pd.DataFrame:
    # The proportion funnel CSVs start with a UTF-8 byte-order mark.
    return pd.read_csv(_peer_path(name), encoding="utf-8-sig")


def _conf(label: str) -> float:
    return {"95%": 0.95, "99.8%": 0.998}[label]


# --------------------------------------------------------------------------
# Wilson
# --------------------------------------------------------------------------


def test_wilson_matches_statsmodels_on_a_grid():
    n = np.array([1, 2, 7, 50, 100, 1000, 123456, 10**9], dtype=float)
    for conf in (0.8, 0.95, 0.998):
        for frac in (0.0, 0.001, 0.3, 0.5, 0.97, 1.0):
            x = np.round(frac * n)
            lo, hi = wilson_interval(x, n, conf)
            exp_lo, exp_hi = proportion_confint(x, n, alpha=1 - conf, method="wilson")
            np.testing.assert_allclose(lo, exp_lo, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(hi, exp_hi, rtol=1e-12, atol=1e-15)


def test_wilson_known_value_and_container_types():
    # 65 / 100 at 95%: a textbook value (also in the PHE sheets).
    lo, hi = wilson_interval(65, 100)
    assert isinstance(lo, float) and isinstance(hi, float)
    assert lo == pytest.approx(0.552544433, rel=1e-8)
    assert hi == pytest.approx(0.736357518, rel=1e-8)

    s = pd.Series([65, 5], index=["a", "b"])
    lo_s, _ = wilson_interval(s, 100)
    assert isinstance(lo_s, pd.Series) and list(lo_s.index) == ["a", "b"]
    assert lo_s["a"] == pytest.approx(lo)

    lo_a, _ = wilson_interval(np.array([65.0]), np.array([100.0]))
    assert isinstance(lo_a, np.ndarray) and lo_a.shape == (1,)


def test_wilson_bad_inputs_give_nan_without_warnings():
    x = np.array([0, 5, -1, 11, np.nan, 3, 0])
    n = np.array([0, 0, 10, 10, 10, np.nan, 10])
    lo, hi = wilson_interval(x, n)
    assert np.isnan(lo[:6]).all() and np.isnan(hi[:6]).all()
    # 0 / 10 is valid: lower limit 0, real upper limit.
    assert lo[6] == 0.0 and 0.2 < hi[6] < 0.35
    # Nullable pandas NA becomes NaN, not an exception.
    lo_na, _ = wilson_interval(pd.Series([1, pd.NA], dtype="Int64"), 10)
    assert np.isnan(lo_na.iloc[1]) and lo_na.iloc[0] > 0


def test_wilson_matches_phe_proportion_sheet():
    df = _read_excel("testdata_Proportion.xlsx", "testdata_Prop")
    for conf, lo_col, hi_col in (
        (0.95, "lower95_0cl", "upper95_0cl"),
        (0.998, "lower99_8cl", "upper99_8cl"),
    ):
        lo, hi = wilson_interval(df["Numerator"], df["Denominator"], conf)
        np.testing.assert_allclose(
            lo * df["multiplier"], df[lo_col], rtol=RTOL, equal_nan=True
        )
        np.testing.assert_allclose(
            hi * df["multiplier"], df[hi_col], rtol=RTOL, equal_nan=True
        )
    # The sheet's own missing-data rows really are tested (NaN both sides).
    assert df["lower95_0cl"].isna().sum() == 3


def test_wilson_matches_phe_grouped_proportion_sheet():
    df = _read_excel("testdata_Proportion.xlsx", "testdata_Prop_g")
    assert set(df["confidence"]) == {"95%"}
    lo, hi = wilson_interval(df["Numerator"], df["Denominator"], 0.95)
    np.testing.assert_allclose(
        lo * df["multiplier"], df["lowercl"], rtol=RTOL, equal_nan=True
    )
    np.testing.assert_allclose(
        hi * df["multiplier"], df["uppercl"], rtol=RTOL, equal_nan=True
    )


def test_wilson_matches_phe_byars_wilson_sheet():
    df = _read_excel("testdata_Byars_Wilson.xlsx", "testdata_B_W")
    rows = df[df["method"] == "Wilson"]
    assert len(rows) == 6  # includes a fractional numerator (0.445 of 1)
    for _, r in rows.iterrows():
        lo, hi = wilson_interval(r["x"], r["n"], _conf(r["confidence"]))
        assert lo == pytest.approx(r["lowercl"], rel=RTOL)
        assert hi == pytest.approx(r["uppercl"], rel=RTOL)


# --------------------------------------------------------------------------
# Poisson counts and rates
# --------------------------------------------------------------------------


def test_count_interval_exact_below_10_matches_chi2_and_statsmodels():
    x = np.arange(10, dtype=float)
    for conf in (0.95, 0.998):
        a = 1 - conf
        lo, hi = count_interval(x, conf)
        # The chi-squared form, written out independently.
        exp_lo = np.where(x > 0, sps.chi2.ppf(a / 2, 2 * np.maximum(x, 1)) / 2, 0.0)
        exp_hi = sps.chi2.ppf(1 - a / 2, 2 * x + 2) / 2
        np.testing.assert_allclose(lo, exp_lo, rtol=1e-12)
        np.testing.assert_allclose(hi, exp_hi, rtol=1e-12)
        # statsmodels' central exact (Garwood) interval is the same thing.
        sm_lo, sm_hi = confint_poisson(x, np.ones_like(x), method="exact-c", alpha=a)
        np.testing.assert_allclose(lo, sm_lo, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(hi, sm_hi, rtol=1e-9)


def test_count_zero_has_lower_zero_and_positive_upper():
    lo, hi = count_interval(0)
    assert lo == 0.0
    # P(X = 0 | mu) = exp(-mu) = 0.025  =>  mu = -ln(0.025)
    assert hi == pytest.approx(-np.log(0.025), rel=1e-12)


def test_count_interval_uses_byars_from_10():
    x = np.array([10, 11, 65, 1045, 1e6])
    z = sps.norm.ppf(0.975)
    lo, hi = count_interval(x)
    np.testing.assert_allclose(
        lo, x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3, rtol=1e-12
    )
    np.testing.assert_allclose(
        hi,
        (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3,
        rtol=1e-12,
    )
    # ... and Byar's really is an approximation to the exact limits, not something else.
    np.testing.assert_allclose(lo, sps.chi2.ppf(0.025, 2 * x) / 2, rtol=5e-3)
    np.testing.assert_allclose(hi, sps.chi2.ppf(0.975, 2 * x + 2) / 2, rtol=5e-3)
    # The switch is at exactly 10: 9 is exact.
    assert count_interval(9)[0] == pytest.approx(sps.chi2.ppf(0.025, 18) / 2, rel=1e-12)


def test_count_interval_bad_inputs():
    lo, hi = count_interval(np.array([-1, np.nan, np.inf]))
    assert np.isnan(lo).all() and np.isnan(hi).all()
    with pytest.raises(ValueError):
        count_interval(5, confidence=95)


def test_byars_matches_phe_byars_wilson_sheet():
    df = _read_excel("testdata_Byars_Wilson.xlsx", "testdata_B_W")
    rows = df[df["method"] == "Byars"]
    assert len(rows) == 7
    for _, r in rows.iterrows():
        conf = _conf(r["confidence"])
        z = sps.norm.ppf(1 - (1 - conf) / 2)
        x = np.array(r["x"])
        # The raw Byar's formulas (PHE byars_lower / byars_upper)...
        if pd.notna(r["lowercl"]):
            assert stats._byars_lower(x, z) == pytest.approx(r["lowercl"], rel=RTOL)
        assert stats._byars_upper(x, z) == pytest.approx(r["uppercl"], rel=RTOL)
        # ... which count_interval uses from 10 events up.
        if r["x"] >= 10:
            lo, hi = count_interval(r["x"], conf)
            assert lo == pytest.approx(r["lowercl"], rel=RTOL)
            assert hi == pytest.approx(r["uppercl"], rel=RTOL)


def test_rate_matches_phe_rate_sheet():
    df = _read_excel("testdata_Rate.xlsx", "testdata_Rate")
    # Our exact/Byar's switch agrees with the method the sheet says it used.
    has = df["Numerator"].notna()
    ours = np.where(df.loc[has, "Numerator"] < 10, "Exact", "Byars")
    assert list(ours) == list(df.loc[has, "method"])
    for conf, lo_col, hi_col in (
        (0.95, "lower95_0cl", "upper95_0cl"),
        (0.998, "lower99_8cl", "upper99_8cl"),
    ):
        lo, hi = poisson_rate_interval(
            df["Numerator"], df["Denominator"], df["multiplier"], conf
        )
        np.testing.assert_allclose(lo, df[lo_col], rtol=RTOL, equal_nan=True)
        np.testing.assert_allclose(hi, df[hi_col], rtol=RTOL, equal_nan=True)
    assert df["lower95_0cl"].isna().sum() == 3


def test_rate_matches_phe_grouped_rate_sheet():
    df = _read_excel("testdata_Rate.xlsx", "testdata_Rate_g")
    assert set(df["confidence"]) == {"95%"}
    lo, hi = poisson_rate_interval(
        df["Numerator"], df["Denominator"], df["multiplier"], 0.95
    )
    np.testing.assert_allclose(lo, df["lowercl"], rtol=RTOL, equal_nan=True)
    np.testing.assert_allclose(hi, df["uppercl"], rtol=RTOL, equal_nan=True)


def test_rate_zero_and_bad_populations():
    lo, hi = poisson_rate_interval(0, 5000, multiplier=1000)
    assert lo == 0.0 and hi == pytest.approx(-np.log(0.025) / 5, rel=1e-12)
    lo, hi = poisson_rate_interval([3, 3, 3, -2], [0, -10, np.nan, 100])
    assert np.isnan(lo).all() and np.isnan(hi).all()


# --------------------------------------------------------------------------
# Means
# --------------------------------------------------------------------------


def test_mean_interval_matches_scipy_and_statsmodels():
    rng = np.random.default_rng(20240601)
    for size in (2, 3, 10, 250):
        data = rng.gamma(2.0, 15.0, size=size)  # skewed, like waiting times
        for conf in (0.95, 0.998):
            lo, hi = mean_interval(data.sum(), (data**2).sum(), size, conf)
            exp = sps.t.interval(conf, size - 1, loc=data.mean(), scale=sps.sem(data))
            assert (lo, hi) == pytest.approx(exp, rel=1e-9)
            assert (lo, hi) == pytest.approx(
                DescrStatsW(data).tconfint_mean(alpha=1 - conf), rel=1e-9
            )


def test_mean_interval_vectorised_and_degenerate():
    # n = 1 and n = 0 cannot give a variance; equal values give a zero-width interval.
    lo, hi = mean_interval(
        [5.0, 0.0, 12.0, np.nan], [25.0, 0.0, 48.0, 1.0], [1, 0, 3, 2]
    )
    assert np.isnan(lo[[0, 1, 3]]).all() and np.isnan(hi[[0, 1, 3]]).all()
    assert lo[2] == pytest.approx(4.0) and hi[2] == pytest.approx(4.0)


# --------------------------------------------------------------------------
# Funnel plots
# --------------------------------------------------------------------------


def test_funnel_proportion_matches_phe_outputs():
    inputs = _read_csv("testdata_funnel_prop_inputs.csv")
    out = _read_csv("testdata_funnel_prop_outputs.csv")
    target = inputs["numerator"].sum() / inputs["denominator"].sum()
    # The baseline is PHE's pooled average, printed to 6 decimal places.
    assert target * 100 == pytest.approx(out["Baseline"].iloc[0], abs=5e-7)
    for conf, lo_col, hi_col in (
        (0.95, "Lower2s0025limit", "Upper2s0025limit"),
        (0.998, "Lower3s0001limit", "Upper3s0001limit"),
    ):
        lo, hi = funnel_limits_proportion(target, out["Population"], conf)
        # The CSV is rounded to 6 decimals (percent), hence the small atol for
        # the limits near 0.
        np.testing.assert_allclose(lo * 100, out[lo_col], rtol=RTOL, atol=5e-7)
        np.testing.assert_allclose(hi * 100, out[hi_col], rtol=RTOL, atol=5e-7)
    # The clipping at 0 is exercised (small populations).
    assert (out["Lower3s0001limit"] == 0).any()


def test_funnel_proportion_reproduces_phe_significance_flags():
    inputs = _read_csv("testdata_funnel_prop_inputs.csv")
    target = inputs["numerator"].sum() / inputs["denominator"].sum()
    p = inputs["numerator"] / inputs["denominator"]
    lo2, hi2 = funnel_limits_proportion(target, inputs["denominator"], 0.95)
    lo3, hi3 = funnel_limits_proportion(target, inputs["denominator"], 0.998)
    flags = np.select(
        [p < lo3, p < lo2, p > hi3, p > hi2],
        ["Low (0.001)", "Low (0.025)", "High (0.001)", "High (0.025)"],
        default="Not significant",
    )
    assert list(flags) == list(inputs["significance"])
    assert inputs["significance"].nunique() >= 3


def test_funnel_proportion_is_the_wilson_boundary():
    # At the funnel limit, the Wilson interval of the observed proportion just
    # reaches the target - i.e. these are Wilson-score-test funnels.
    target, n = 0.3, np.array([20.0, 150.0, 4000.0])
    lo, hi = funnel_limits_proportion(target, n, 0.95)
    _, w_hi = proportion_confint(lo * n, n, alpha=0.05, method="wilson")
    w_lo, _ = proportion_confint(hi * n, n, alpha=0.05, method="wilson")
    np.testing.assert_allclose(w_hi, target, rtol=1e-10)
    np.testing.assert_allclose(w_lo, target, rtol=1e-10)


def test_funnel_proportion_bad_inputs():
    lo, hi = funnel_limits_proportion(0.5, [0, -1, np.nan])
    assert np.isnan(lo).all() and np.isnan(hi).all()
    lo, hi = funnel_limits_proportion(0.5, 1)
    assert (lo, hi) == (0.0, 1.0)


def test_funnel_rate_matches_phe_outputs():
    inputs = _read_csv("testdata_funnel_rate_input_funnels.csv")
    out = _read_csv("testdata_funnel_rate_outputs.csv")
    multiplier, years_of_data = 100_000, 3  # as in PHE's test (rate_type = "dsr")
    target = (
        inputs["ev"].sum()
        / (multiplier * inputs["ev"] / inputs["rate"]).sum()
        * multiplier
    )
    assert target == pytest.approx(out["baseline"].iloc[0], rel=1e-9)
    target = out["baseline"].iloc[0]
    for conf, side in ((0.95, "2s"), (0.998, "3s")):
        for which, k in (("lower", 0), ("upper", 1)):
            # PHE reports populations per year of data; the limit is for the
            # whole period's population.
            pop = out[f"{which}_{side}_population_1_year"] * years_of_data
            ours = funnel_limits_rate(target, pop, conf, multiplier)[k]
            # PHE finds its points by bisection stopped at 1e-7, so agreement
            # is ~1e-6 relative at worst (at 1 event), not machine precision.
            np.testing.assert_allclose(ours, out[f"{which}_{side}_limit"], rtol=RTOL)


def test_funnel_rate_exact_poisson_points():
    # Choose populations at which the expected count equals an exact Poisson
    # limit of a whole count k: the funnel must then pass exactly through k.
    rate, mult = 50.0, 1000
    for conf in (0.95, 0.998):
        a = 1 - conf
        for k in (1, 4, 30, 500):
            mu_low = sps.chi2.ppf(1 - a / 2, 2 * k + 2) / 2  # k is the low limit here
            pop = mu_low / rate * mult
            assert funnel_limits_rate(rate, pop, conf, mult)[0] == pytest.approx(
                k / pop * mult, rel=1e-9
            )
            assert sps.poisson.cdf(k, mu_low) == pytest.approx(a / 2, rel=1e-9)

            mu_high = sps.chi2.ppf(a / 2, 2 * k) / 2  # k is the high limit here
            pop = mu_high / rate * mult
            assert funnel_limits_rate(rate, pop, conf, mult)[1] == pytest.approx(
                k / pop * mult, rel=1e-9
            )
            assert sps.poisson.sf(k - 1, mu_high) == pytest.approx(a / 2, rel=1e-9)


def test_funnel_rate_small_and_bad_populations():
    lo, hi = funnel_limits_rate(
        10.0, np.array([100.0, 0.0, -5.0, np.nan, 1e9]), 0.95, 1000
    )
    # Expected count 1: no count is significantly low, so the lower limit is 0.
    assert lo[0] == 0.0 and hi[0] > 10.0
    assert np.isnan(lo[1:4]).all() and np.isnan(hi[1:4]).all()
    # A huge population pinches the funnel onto the target.
    assert lo[4] == pytest.approx(10.0, rel=1e-3) and hi[4] == pytest.approx(
        10.0, rel=1e-3
    )
    assert lo[4] < 10.0 < hi[4]
    s_lo, _ = funnel_limits_rate(10.0, pd.Series([1000.0], index=["x"]))
    assert isinstance(s_lo, pd.Series) and s_lo.index[0] == "x"


# --------------------------------------------------------------------------
# Benchmark comparison
# --------------------------------------------------------------------------


def test_compare_to_benchmark():
    assert compare_to_benchmark(12, 11, 13, 10) == "higher"
    assert compare_to_benchmark(8, 7, 9, 10) == "lower"
    assert compare_to_benchmark(10, 9, 11, 10) == "similar"
    assert compare_to_benchmark(11, 10, 12, 10) == "similar"  # on the limit
    assert compare_to_benchmark(np.nan, 9, 11, 10) == "not compared"
    out = compare_to_benchmark(
        [12, 8, 10, 10], [11, 7, np.nan, 9], [13, 9, 11, 11], [10, 10, 10, np.nan]
    )
    assert list(out) == ["higher", "lower", "not compared", "not compared"]
    s = compare_to_benchmark(pd.Series([12.0], index=["a"]), 11, 13, 10)
    assert isinstance(s, pd.Series) and s["a"] == "higher"


# --------------------------------------------------------------------------
# XmR
# --------------------------------------------------------------------------


def test_xmr_limits_by_hand():
    r = xmr([10.0, 12.0, 11.0, 13.0])
    assert isinstance(r, XmRResult)
    assert r.mean == pytest.approx(11.5)
    assert r.mean_moving_range == pytest.approx(5 / 3)
    assert r.upper_limit == pytest.approx(11.5 + 2.66 * 5 / 3)
    assert r.lower_limit == pytest.approx(11.5 - 2.66 * 5 / 3)
    np.testing.assert_array_equal(r.moving_ranges, [np.nan, 2, 1, 2])


def test_xmr_shift_after_step_change():
    # Noisy enough that no single point leaves the limits: only the shift
    # rule can see the step.
    low = 10 + np.array(
        [1.5, -1.8, 0.9, -1.2, 2.0, -0.6, 1.1, -1.9, 0.4, -1.4, 1.7, -0.8]
    )
    high = 20 + np.array([1.2, -1.5, 0.6, -2.0, 1.8, -0.9, 1.4, -0.3])
    values = np.concatenate([low, high])
    r = xmr(values)
    assert r.mean == pytest.approx(values.mean())
    assert r.mean_moving_range == pytest.approx(np.abs(np.diff(values)).mean())
    assert not r.outside_limits.any()
    # 12 points below the mean, then 8 above it: all shift, in those directions.
    assert r.shift.all()
    np.testing.assert_array_equal(r.shift_direction, [-1] * 12 + [1] * 8)
    np.testing.assert_array_equal(r.direction, [-1] * 12 + [1] * 8)
    assert latest_signal(r) == ("shift", 1)

    # With limits frozen on the first 12 points the new level is far outside.
    frozen = xmr(values, baseline=12)
    assert frozen.mean == pytest.approx(low.mean())
    assert frozen.outside_limits[12:].all() and not frozen.outside_limits[:12].any()
    assert latest_signal(frozen) == ("outside_limits", 1)


def test_xmr_shift_needs_seven_points_and_is_broken_by_the_mean():
    base = [9.0, 11.0] * 6  # mean 10, mean moving range 2 when frozen
    six = xmr(base + [10.5] * 5, baseline=12)  # index 11 (11.0) + 5 = 6 above
    assert not six.shift.any()
    seven = xmr(base + [10.5] * 6, baseline=12)  # 7 above: indices 11..17
    np.testing.assert_array_equal(np.flatnonzero(seven.shift), np.arange(11, 18))
    assert (seven.shift_direction[11:] == 1).all()
    assert latest_signal(seven) == ("shift", 1)
    # A point exactly on the mean breaks the run: 4 + 4 above is no shift.
    on_mean = xmr(base + [10.5] * 3 + [10.0] + [10.5] * 4, baseline=12)
    assert on_mean.mean == 10.0 and not on_mean.shift.any()
    assert latest_signal(on_mean) == ("none", 0)


def test_xmr_outside_limits_both_ways():
    values = np.array([10.0, 11.0] * 5 + [30.0] + [10.0, 11.0] * 5 + [-10.0])
    r = xmr(values)
    assert np.flatnonzero(r.outside_limits).tolist() == [10, 21]
    assert r.outside_direction[10] == 1 and r.outside_direction[21] == -1
    assert r.direction[10] == 1 and r.direction[21] == -1
    assert latest_signal(r) == ("outside_limits", -1)


def test_xmr_trend():
    flat = [5.0, 6.0, 5.0, 6.0]
    rising7 = xmr([*flat, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    np.testing.assert_array_equal(np.flatnonzero(rising7.trend), np.arange(4, 11))
    assert (rising7.trend_direction[4:] == 1).all()
    assert not rising7.trend[:4].any()

    rising6 = xmr([*flat, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert not rising6.trend.any()

    falling = xmr([*flat, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0])
    np.testing.assert_array_equal(np.flatnonzero(falling.trend), np.arange(4, 12))
    assert (falling.trend_direction[4:] == -1).all()

    # A repeated value is not an increase: it breaks the run.
    tie = xmr([1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    assert not tie.trend.any()


def test_xmr_latest_signal_trend_priority():
    # Ends on a rising trend that is not (yet) a shift or outside the limits.
    values = [3.0, 7.0, 2.0, 8.0, 3.0, 7.0, 2.0, 8.0, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0]
    r = xmr(values)
    assert not r.outside_limits[-1] and not r.shift[-1]
    assert latest_signal(r) == ("trend", 1)
    assert r.direction[-1] == 1


def test_xmr_skips_missing_values():
    full = np.array([10.0, 12.0, 11.0, 13.0, 12.0, 10.0])
    gappy = np.array([10.0, np.nan, 12.0, 11.0, np.nan, np.nan, 13.0, 12.0, 10.0])
    a, b = xmr(full), xmr(gappy)
    assert b.mean == pytest.approx(a.mean)
    assert b.mean_moving_range == pytest.approx(a.mean_moving_range)
    assert b.upper_limit == pytest.approx(a.upper_limit)
    # Moving ranges join present neighbours across the gap; gaps have none.
    np.testing.assert_array_equal(
        b.moving_ranges, [np.nan, np.nan, 2, 1, np.nan, np.nan, 2, 1, 2]
    )
    missing = np.isnan(gappy)
    assert not (b.outside_limits | b.shift | b.trend)[missing].any()
    assert (b.direction[missing] == 0).all()
    # Treating the gaps as zero would give a different chart altogether.
    zeros = xmr(np.nan_to_num(gappy))
    assert zeros.mean != pytest.approx(b.mean)

    # A run of 7 present points above the mean still counts across a gap...
    series = [2.0, 1.0] * 4 + [9.0, 9.5, 9.0, np.nan, 9.5, 9.0, 9.5, 9.0]
    r = xmr(series, baseline=8)
    np.testing.assert_array_equal(np.flatnonzero(r.shift), [8, 9, 10, 12, 13, 14, 15])
    # ... and the latest point with data decides when the last month is missing.
    assert latest_signal(xmr([*series, np.nan], baseline=8)) == latest_signal(r)
    assert latest_signal(r)[0] in {"outside_limits", "shift"}


def test_xmr_short_or_empty_series():
    for values in ([], [np.nan, np.nan], [5.0]):
        r = xmr(values)
        assert np.isnan(r.upper_limit) and np.isnan(r.lower_limit)
        assert not (r.outside_limits | r.shift | r.trend).any()
        assert latest_signal(r) == ("none", 0)
    # A pandas Series is accepted (positionally).
    r = xmr(pd.Series([1.0, 2.0, 3.0], index=[2021, 2022, 2023]))
    assert r.mean == pytest.approx(2.0) and r.values.shape == (3,)


# --------------------------------------------------------------------------
# Interpretation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "polarity", "expected"),
    [
        (1, "higher_is_better", "improvement"),
        (-1, "higher_is_better", "concern"),
        (1, "lower_is_better", "concern"),
        (-1, "lower_is_better", "improvement"),
        (1, "neutral", "change"),
        (-1, "neutral", "change"),
        (0, "higher_is_better", "none"),
        (0, "lower_is_better", "none"),
        (0, "neutral", "none"),
    ],
)
def test_interpret_signal(direction, polarity, expected):
    assert interpret_signal(direction, polarity) == expected


def test_interpret_signal_rejects_unknown_polarity():
    with pytest.raises(ValueError):
        interpret_signal(1, "up_is_good")


def test_interpret_latest_signal_end_to_end():
    # Recorded crime rising out of its limits is a concern; for a
    # higher-is-better measure (e.g. positive outcomes) the same rise is good.
    r = xmr([100.0, 102.0, 98.0, 101.0, 99.0, 100.0, 160.0])
    kind, direction = latest_signal(r)
    assert (kind, direction) == ("outside_limits", 1)
    assert interpret_signal(direction, "lower_is_better") == "concern"
    assert interpret_signal(direction, "higher_is_better") == "improvement"
