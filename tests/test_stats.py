"""Tests for measures.core.stats.

Two kinds of reference: scipy / statsmodels (independent implementations or
closed forms), and the published test data of the R package
PHEindicatormethods (the methods behind OHID Fingertips).  That data is read in
place from the shared folder and never copied into the repo; if the folder is
absent those tests skip.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson
from statsmodels.stats.weightstats import DescrStatsW

from measures.core import stats
from measures.core.spc import signal_meaning, spc
from measures.core.stats import (
    FUNNEL_FLAGS,
    compare_to_benchmark,
    count_interval,
    funnel_limits_proportion,
    funnel_limits_rate,
    funnel_significance,
    interpret_signal,
    mean_interval,
    poisson_rate_interval,
    wilson_interval,
)
from measures.paths import SHARED_DATA_DIR

# Any RuntimeWarning (0/0, log of 0, ...) is a bug: NaN must come out quietly.
pytestmark = pytest.mark.filterwarnings("error")

# Found through the one path setting (env MEASURES_SHARED_DATA), never a fixed path.
PEER_DIR = SHARED_DATA_DIR / "peer_tests" / "PHEindicatormethods"

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


def _every_peer_file() -> list[str]:
    if not PEER_DIR.is_dir():
        pytest.skip(f"PHEindicatormethods test data not available: {PEER_DIR} is missing")
    return sorted(p.name for p in PEER_DIR.iterdir() if p.suffix in (".csv", ".xlsx"))


def test_every_peer_file_is_used():
    # Each data file PHE publishes is named by at least one test below (PROVENANCE.md lists them).
    used = set(re.findall(r'"(testdata_[^"]+\.(?:csv|xlsx))"', Path(__file__).read_text()))
    unused = sorted(set(_every_peer_file()) - used)
    assert not unused, f"PHEindicatormethods files in {PEER_DIR} no test reads: {unused}"


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


def test_mean_interval_matches_phe_mean_sheet():
    # PHE's phe_mean takes the individual values; we take summary sums, so compute them here.
    values = _read_excel("testdata_Mean.xlsx", "testdata_Mean")
    results = _read_excel("testdata_Mean.xlsx", "testdata_Mean_results").set_index("area")
    groups = values.groupby("area")["values"]
    sums = pd.concat([groups.sum(), pd.Series({"No grouping": values["values"].sum()})])
    sums_sq = pd.concat(
        [groups.apply(lambda v: (v**2).sum()), pd.Series({"No grouping": (values["values"] ** 2).sum()})]
    )
    counts = pd.concat([groups.size(), pd.Series({"No grouping": len(values)})])
    assert sorted(sums.index) == sorted(results.index)  # both areas and the ungrouped total
    results = results.loc[sums.index]
    np.testing.assert_allclose(sums, results["value_sum"], rtol=1e-12)
    np.testing.assert_array_equal(counts, results["value_count"])
    for conf, lo_col, hi_col in (
        (0.95, "lower95_0cl", "upper95_0cl"),
        (0.998, "lower99_8cl", "upper99_8cl"),
    ):
        lo, hi = mean_interval(sums, sums_sq, counts, conf)
        np.testing.assert_allclose(lo, results[lo_col], rtol=RTOL)
        np.testing.assert_allclose(hi, results[hi_col], rtol=RTOL)
        # The centre is the mean, and the half-width is t * sd / sqrt(n) with PHE's sd.
        np.testing.assert_allclose((lo + hi) / 2, results["value"], rtol=1e-12)
        half = sps.t.ppf(1 - (1 - conf) / 2, counts - 1) * results["stdev"] / np.sqrt(counts)
        np.testing.assert_allclose((hi - lo) / 2, half, rtol=RTOL)


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


def test_funnel_proportion_matches_phe_outputs_with_axis_variation():
    # PHE's test: only areas under 31,000, so the largest is less than twice the smallest and its
    # 100 plotting populations start above 0 (the "axis variation"). We do not generate that axis;
    # we check the pooled baseline of those areas and our limits at PHE's populations.
    inputs = _read_csv("testdata_funnel_prop_inputs.csv")
    out = _read_csv("testdata_funnel_prop_outputs_with_axis_variation.csv")
    small = inputs[inputs["denominator"] < 31000]
    target = small["numerator"].sum() / small["denominator"].sum()
    assert target * 100 == pytest.approx(out["Baseline"].iloc[0], abs=5e-9)
    assert small["denominator"].max() < 2 * small["denominator"].min() and out["Population"].min() > 1
    for conf, lo_col, hi_col in (
        (0.95, "Lower2s0025limit", "Upper2s0025limit"),
        (0.998, "Lower3s0001limit", "Upper3s0001limit"),
    ):
        lo, hi = funnel_limits_proportion(target, out["Population"], conf)
        np.testing.assert_allclose(lo * 100, out[lo_col], rtol=RTOL)
        np.testing.assert_allclose(hi * 100, out[hi_col], rtol=RTOL)
    # Large populations only: no limit is clipped at 0 or 100 here.
    limits3 = out[["Lower3s0001limit", "Upper3s0001limit"]]
    assert (limits3.gt(0) & limits3.lt(100)).all().all()


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
    _assert_rate_funnel_limits(out, multiplier, years_of_data)


def _assert_rate_funnel_limits(out: pd.DataFrame, multiplier: int, years_of_data: int) -> None:
    """Our rate funnel limits, at PHE's populations, equal PHE's 2s (95%) and 3s (99.8%) limits."""
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


def _rate_funnel_inputs(case: str) -> tuple[pd.DataFrame, np.ndarray]:
    """PHE's test inputs for its crude-rate funnel cases, and the denominators it derives."""
    inputs = _read_csv("testdata_funnel_rate_input_funnels.csv")
    if case == "fewer_than_10_events":
        # testdata_funnel_rate_outputs_2: the largest count replaced by 5 events; populations
        # derived from the counts and rates.
        data = inputs.assign(ev=inputs["ev"].where(inputs["ev"] != inputs["ev"].max(), 5))
        return data, (100_000 * data["ev"] / data["rate"]).to_numpy()
    # testdata_funnel_rate_outputs_3: populations given, the largest count (and its rate) set to
    # 0, and only areas over half the largest population kept.
    data = inputs[["ev", "rate"]].assign(pop=100_000 * inputs["ev"] / inputs["rate"])
    top = data["ev"] == data["ev"].max()
    data = data.assign(ev=data["ev"].where(~top, 0), rate=data["rate"].where(~top, 0))
    data = data[data["pop"] > data["pop"].max() / 2]
    assert (data["ev"] == 0).sum() == 1
    return data, np.where(data["ev"] == 0, data["pop"], 100_000 * data["ev"] / data["rate"])


@pytest.mark.parametrize(
    ("case", "filename"),
    [
        ("fewer_than_10_events", "testdata_funnel_rate_outputs_2.csv"),
        ("zero_events_with_denominator", "testdata_funnel_rate_outputs_3.csv"),
    ],
)
def test_funnel_rate_matches_phe_crude_outputs(case, filename):
    out = _read_csv(filename)
    assert set(out["statistic"]) == {"rate (crude per 100,000)"}
    data, denominators = _rate_funnel_inputs(case)
    multiplier, years_of_data = 100_000, 3
    # The baseline is the pooled crude rate (a zero count adds its population, not its events).
    target = data["ev"].sum() / denominators.sum() * multiplier
    assert target == pytest.approx(out["baseline"].iloc[0], rel=1e-9)
    _assert_rate_funnel_limits(out, multiplier, years_of_data)


@pytest.mark.parametrize("multiplier", [100_000, 100])
@pytest.mark.parametrize("with_zero", [True, False])
def test_funnel_significance_matches_phe_crude_rate_flags(multiplier, with_zero):
    data = _read_csv("testdata_funnel_rate_dsr_inputs.csv")
    if not with_zero:
        data = data[data["count"] != 0]
    rate = data[f"rate_crude_per_{multiplier}"]
    # PHE derives each area's denominator from its count and rate (its population if 0 events).
    denominators = np.where(data["count"] == 0, data["pop"], data["count"] / rate * multiplier)
    flags = funnel_significance(data["count"], pd.Series(denominators, index=data.index), multiplier=multiplier)
    expected = data[f"crude_per_{multiplier}_{'with' if with_zero else 'without'}_0"]
    assert list(flags) == list(expected)
    assert expected.nunique() >= 3
    assert (data["count"] == 0).any() == with_zero


@pytest.mark.parametrize("multiplier", [100_000, 100])
@pytest.mark.parametrize("with_zero", [True, False])
def test_funnel_significance_matches_phe_dsr_flags_from_10_events(multiplier, with_zero):
    # We do not compute directly standardised rates (DSRs). What we do implement is the test PHE
    # applies to them: the same Poisson test of the count against a denominator derived from the
    # DSR (areas with 0 events drop out of the average). PHE reports no flag for a DSR of under
    # 10 events ("Not applicable ..."), a display rule of its own, so those rows are only counted.
    data = _read_csv("testdata_funnel_rate_dsr_inputs.csv")
    if not with_zero:
        data = data[data["count"] != 0]
    expected = data[f"dsr_per_{multiplier}_{'with' if with_zero else 'without'}_0"]
    denominators = np.where(data["count"] == 0, np.nan, data["count"] / data["rate_dsr"] * multiplier)
    target = data["count"].sum() / np.nansum(denominators) * multiplier
    flags = funnel_significance(data["count"].to_numpy(), denominators, target, multiplier)
    big = data["count"].to_numpy() >= 10
    assert list(flags[big]) == list(expected[big])
    assert set(expected[~big]) <= {"Not applicable for events less than 10 for dsrs"}
    assert (~big).sum() == int(with_zero)


def test_funnel_significance_by_hand_and_bad_inputs():
    # 30 events in 1,000 (30 per 1,000) against 10 per 1,000: Byar's 99.8% lower limit is ~17.
    assert funnel_significance(30, 1000, 10.0) == "High (0.001)"
    # 16 events: 95% lower ~9.1, 99.8% lower ~7.2: significant at 95% only.
    assert funnel_significance(16, 1000, 9.0) == "High (0.025)"
    assert funnel_significance(0, 1000, 10.0) == "Low (0.001)"  # upper limit 0 events: ~6.9 at 99.8%
    assert funnel_significance(10, 1000, 10.0) == "Not significant"
    out = funnel_significance([5, 5, -1, np.nan], [1000, 0, 1000, 1000], 5.0)
    assert list(out) == ["Not significant", "Not compared", "Not compared", "Not compared"]
    assert set(FUNNEL_FLAGS) >= {"High (0.001)", "Not significant"}
    # The default target is the pooled rate of the areas that can be compared.
    pooled = funnel_significance([10, 100, 7], [1000, 1000, np.nan])
    assert list(pooled) == list(funnel_significance([10, 100], [1000, 1000], 55.0)) + ["Not compared"]


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
# XmR (measures.core.spc, the port of NHSRplotthedots; tests/test_spc.py checks it on 306 series)
# --------------------------------------------------------------------------


def test_xmr_limits_by_hand():
    r = spc([10.0, 12.0, 11.0, 13.0], screen_outliers=False)
    assert r.mean[0] == pytest.approx(11.5)
    assert r.upl[0] == pytest.approx(11.5 + 2.66 * 5 / 3)
    assert r.lpl[0] == pytest.approx(11.5 - 2.66 * 5 / 3)


def test_xmr_shift_after_step_change():
    low = 10 + np.array([1.5, -1.8, 0.9, -1.2, 2.0, -0.6, 1.1, -1.9, 0.4, -1.4, 1.7, -0.8])
    high = 20 + np.array([1.2, -1.5, 0.6, -2.0, 1.8, -0.9, 1.4, -0.3])
    values = np.concatenate([low, high])
    r = spc(values, screen_outliers=False)
    assert r.mean[0] == pytest.approx(values.mean())
    assert not np.isin(r.point_type, ["Above UCL", "Below LCL"]).any()
    # 12 points below the mean, then 8 above it: every point is in a run on its side.
    np.testing.assert_array_equal(r.direction, [-1] * 12 + [1] * 8)
    assert r.point_type[-1] in ("7 Points Above CL", "2 in 3 Above CL")
    # With limits fixed on the first 12 points the new level is far outside.
    frozen = spc(values, screen_outliers=False, fix_after_n_points=12)
    assert frozen.mean[0] == pytest.approx(low.mean())
    assert (frozen.point_type[12:] == "Above UCL").all() and not (frozen.point_type[:12] == "Above UCL").any()


def test_xmr_shift_needs_seven_points_and_is_broken_by_the_mean():
    base = [9.0, 11.0] * 6  # mean 10, mean moving range 2 when fixed on these 12
    six = spc(base + [10.5] * 5, fix_after_n_points=12, screen_outliers=False)
    assert not (six.point_type == "7 Points Above CL").any()
    seven = spc(base + [10.5] * 6, fix_after_n_points=12, screen_outliers=False)
    np.testing.assert_array_equal(np.flatnonzero(seven.point_type == "7 Points Above CL"), np.arange(11, 18))
    # A point exactly on the mean breaks the run: 4 + 4 above is no run.
    on_mean = spc(base + [10.5] * 3 + [10.0] + [10.5] * 4, fix_after_n_points=12, screen_outliers=False)
    assert on_mean.mean[0] == 10.0 and not (on_mean.point_type == "7 Points Above CL").any()
    assert on_mean.point_type[-1] == "Common Cause"


def test_xmr_outside_limits_both_ways():
    values = np.array([10.0, 11.0] * 5 + [30.0] + [10.0, 11.0] * 5 + [-10.0])
    r = spc(values)
    assert np.flatnonzero(np.isin(r.point_type, ["Above UCL", "Below LCL"])).tolist() == [10, 21]
    assert (r.point_type[10], r.direction[10]) == ("Above UCL", 1)
    assert (r.point_type[21], r.direction[21]) == ("Below LCL", -1)


def test_xmr_trend():
    flat = [5.0, 6.0, 5.0, 6.0]
    rising7 = spc([*flat, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], screen_outliers=False)
    trend = np.char.startswith(rising7.point_type.astype(str), "7 Point Trend")
    np.testing.assert_array_equal(np.flatnonzero(trend), np.arange(4, 11))
    assert (rising7.direction[4:] == 1).all()
    rising6 = spc([*flat, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], screen_outliers=False)
    assert not np.char.startswith(rising6.point_type.astype(str), "7 Point Trend").any()
    falling = spc([*flat, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0], screen_outliers=False)
    # Outside a limit comes first (9.0 above, 2.0 below); the points between are the falling trend.
    assert (falling.point_type[5:11] == "7 Point Trend (Decreasing)").all()
    assert (falling.point_type[[4, 11]] == ["Above UCL", "Below LCL"]).all()
    # A repeated value is not an increase: it breaks the run.
    tie = spc([1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0, 7.0], screen_outliers=False)
    assert not np.char.startswith(tie.point_type.astype(str), "7 Point Trend").any()


def test_xmr_skips_missing_values():
    full = np.array([10.0, 12.0, 11.0, 13.0, 12.0, 10.0])
    gappy = np.array([10.0, np.nan, 12.0, 11.0, np.nan, np.nan, 13.0, 12.0, 10.0])
    a, b = spc(full), spc(gappy)
    present = ~np.isnan(gappy)
    assert b.mean[present][0] == pytest.approx(a.mean[0]) and b.upl[present][0] == pytest.approx(a.upl[0])
    np.testing.assert_array_equal(b.point_type[present], a.point_type)
    assert (b.point_type[~present] == "").all() and (b.direction[~present] == 0).all()
    # Treating the gaps as zero would give a different chart altogether.
    assert spc(np.nan_to_num(gappy)).mean[0] != pytest.approx(b.mean[0])


def test_xmr_short_or_empty_series():
    for values in ([], [np.nan, np.nan], [5.0]):
        r = spc(values)
        assert np.isnan(r.upl).all() and not np.isin(r.point_type, ["Above UCL", "Below LCL"]).any()


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
    r = spc([100.0, 102.0, 98.0, 101.0, 99.0, 100.0, 160.0], screen_outliers=False)
    assert (r.point_type[-1], r.direction[-1]) == ("Above UCL", 1)
    assert signal_meaning(r.point_type[-1], r.direction[-1], "lower_is_better") == "concern"
    assert signal_meaning(r.point_type[-1], r.direction[-1], "higher_is_better") == "improvement"
