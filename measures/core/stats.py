"""Statistics for Police and Crime Plan indicators.

Confidence intervals, funnel-plot limits and XmR (statistical process control)
charts, following the methods OHID Fingertips uses and the R package
PHEindicatormethods implements, so that our figures can be checked against
that package's published test data.

Conventions shared by every interval function here:

* Inputs may be scalars, numpy arrays or pandas Series (they are broadcast
  together).  A scalar in gives a float out; a Series in gives a Series out
  (with the first Series' index); anything else gives a numpy array.
* Missing or impossible inputs (NaN, a zero or negative denominator, a
  negative count, a numerator above its denominator for a proportion) give
  NaN out for that element.  Data problems never raise: one bad month must not
  blank a whole dashboard page.  Only programming errors (a confidence level
  outside (0, 1), an unknown polarity) raise ``ValueError``.
* ``confidence`` is a fraction, e.g. 0.95 or 0.998 (Fingertips' "99.8%").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as _sps
from scipy.optimize.elementwise import find_root
from scipy.special import gammainc, gammaincc
from statsmodels.stats.proportion import proportion_confint

__all__ = [
    "FUNNEL_FLAGS",
    "POLARITIES",
    "compare_to_benchmark",
    "count_interval",
    "funnel_limits_proportion",
    "funnel_limits_rate",
    "funnel_significance",
    "interpret_signal",
    "mean_interval",
    "poisson_rate_interval",
    "wilson_interval",
]

#: What a float-valued result can be: matches the shape/type of the inputs.
FloatResult = Any

#: Counts below this use exact Poisson limits, at or above it Byar's
#: approximation (the Fingertips / PHEindicatormethods ``phe_rate`` rule).
EXACT_POISSON_BELOW = 10


POLARITIES = ("lower_is_better", "higher_is_better", "neutral")


# --------------------------------------------------------------------------
# Input / output plumbing
# --------------------------------------------------------------------------


def _to_array(x: ArrayLike) -> np.ndarray:
    """Float array view of *x*; pandas NA / None become NaN rather than raising."""
    if isinstance(x, (pd.Series, pd.Index)):
        return x.to_numpy(dtype=float, na_value=np.nan)
    if x is None:
        return np.array(np.nan)
    return np.asarray(x, dtype=float)


def _broadcast(*xs: ArrayLike) -> list[np.ndarray]:
    # Copies, because callers fill results in place and np.broadcast_arrays
    # returns read-only views.
    return [
        np.array(a, dtype=float)
        for a in np.broadcast_arrays(*(_to_array(x) for x in xs))
    ]


def _wrap(result: np.ndarray, *inputs: ArrayLike) -> FloatResult:
    """Give *result* the container type of the inputs (see module docstring)."""
    for x in inputs:
        if isinstance(x, pd.Series) and result.shape == x.shape:
            return pd.Series(result, index=x.index)
    if all(np.ndim(x) == 0 for x in inputs):
        return result.item()
    return result


def _alpha(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be a fraction in (0, 1), got {confidence!r}")
    return 1.0 - confidence


def _z(confidence: float) -> float:
    # Two-sided: 0.95 -> 1.96, 0.998 -> 3.09 (PHE's qnorm(0.975), qnorm(0.999)).
    return float(_sps.norm.ppf(1.0 - _alpha(confidence) / 2.0))


# --------------------------------------------------------------------------
# Confidence intervals
# --------------------------------------------------------------------------


def wilson_interval(
    numerator: ArrayLike, denominator: ArrayLike, confidence: float = 0.95
) -> tuple[FloatResult, FloatResult]:
    """Wilson score interval for a proportion, as proportions in [0, 1].

    Fingertips' method for proportions (PHEindicatormethods ``wilson_lower`` /
    ``wilson_upper``).  Multiply by 100 for percentages.  NaN where the
    denominator is not positive or the numerator is negative, missing or above
    the denominator.
    """
    alpha = _alpha(confidence)
    x, n = _broadcast(numerator, denominator)
    lower = np.full(x.shape, np.nan)
    upper = np.full(x.shape, np.nan)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0) & (x <= n)
    if ok.any():
        # statsmodels is only given valid cells, so it never sees 0/0.
        lo, hi = proportion_confint(x[ok], n[ok], alpha=alpha, method="wilson")
        lower[ok] = lo
        upper[ok] = hi
    return _wrap(lower, numerator, denominator), _wrap(upper, numerator, denominator)


def _byars_lower(x: np.ndarray, z: float) -> np.ndarray:
    # Byar's approximation to the exact Poisson lower limit (PHE byars_lower).
    with np.errstate(divide="ignore", invalid="ignore"):
        return x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))) ** 3


def _byars_upper(x: np.ndarray, z: float) -> np.ndarray:
    # Byar's approximation to the exact Poisson upper limit (PHE byars_upper).
    with np.errstate(divide="ignore", invalid="ignore"):
        return (x + 1.0) * (
            1.0 - 1.0 / (9.0 * (x + 1.0)) + z / (3.0 * np.sqrt(x + 1.0))
        ) ** 3


def count_interval(
    count: ArrayLike, confidence: float = 0.95
) -> tuple[FloatResult, FloatResult]:
    """Confidence limits for an observed count of events (Poisson).

    Exact limits below 10 events, in chi-squared form
    ``lower = chi2.ppf(a/2, 2x) / 2`` and ``upper = chi2.ppf(1 - a/2, 2x + 2) / 2``;
    Byar's approximation from 10 events up, as Fingertips does.  A count of 0
    has lower limit 0 and a positive upper limit (3.69 at 95%).  Negative or
    missing counts give NaN.
    """
    alpha = _alpha(confidence)
    z = _z(confidence)
    (x,) = _broadcast(count)
    lower = np.full(x.shape, np.nan)
    upper = np.full(x.shape, np.nan)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & (x >= 0)
        exact = ok & (x < EXACT_POISSON_BELOW)
        byars = ok & (x >= EXACT_POISSON_BELOW)
    xe = x[exact]
    # chi2 with 0 degrees of freedom is undefined in scipy (NaN), but the
    # exact lower limit for zero events is 0 by definition.
    with np.errstate(invalid="ignore"):
        lower[exact] = np.where(xe > 0, _sps.chi2.ppf(alpha / 2.0, 2.0 * xe) / 2.0, 0.0)
    upper[exact] = _sps.chi2.ppf(1.0 - alpha / 2.0, 2.0 * xe + 2.0) / 2.0
    lower[byars] = _byars_lower(x[byars], z)
    upper[byars] = _byars_upper(x[byars], z)
    return _wrap(lower, count), _wrap(upper, count)


def poisson_rate_interval(
    count: ArrayLike,
    population: ArrayLike,
    multiplier: float = 1000,
    confidence: float = 0.95,
) -> tuple[FloatResult, FloatResult]:
    """Confidence limits for a crude rate per ``multiplier`` residents.

    The count's limits from :func:`count_interval` (exact below 10, Byar's
    from 10) divided by the population, as PHEindicatormethods ``phe_rate``.
    NaN where the population is missing, zero or negative.
    """
    c, pop = _broadcast(count, population)
    lo, hi = count_interval(c, confidence)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(pop) & (pop > 0))
    pop = np.where(bad, np.nan, pop)
    lower = np.asarray(lo) / pop * multiplier
    upper = np.asarray(hi) / pop * multiplier
    return _wrap(lower, count, population), _wrap(upper, count, population)


def mean_interval(
    total: ArrayLike, total_sq: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[FloatResult, FloatResult]:
    """Student's t confidence interval for a mean, from summary sums.

    Takes the sum of the values, the sum of their squares and their number, so
    a mean (e.g. days waited) can be computed from aggregated data without the
    individual records: ``mean = total / n``, sample variance
    ``(total_sq - total**2 / n) / (n - 1)``, limits ``mean -/+ t(n - 1) * sd /
    sqrt(n)`` - the same t-interval PHEindicatormethods ``phe_mean`` uses.
    NaN when ``n < 2`` (no variance can be estimated).

    The sum-of-squares form loses precision when the spread is tiny compared
    with the mean (roughly sd / mean < 1e-6); a slightly negative variance
    from that rounding is treated as 0.
    """
    alpha = _alpha(confidence)
    s, ss, k = _broadcast(total, total_sq, n)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(s) & np.isfinite(ss) & np.isfinite(k) & (k >= 2)
    k = np.where(ok, k, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s / k
        var = np.maximum((ss - s * s / k) / (k - 1.0), 0.0)
        half = _sps.t.ppf(1.0 - alpha / 2.0, k - 1.0) * np.sqrt(var / k)
    return _wrap(mean - half, total, total_sq, n), _wrap(
        mean + half, total, total_sq, n
    )


# --------------------------------------------------------------------------
# Funnel plots
# --------------------------------------------------------------------------


def funnel_limits_proportion(
    target_proportion: ArrayLike, denominators: ArrayLike, confidence: float = 0.95
) -> tuple[FloatResult, FloatResult]:
    """Funnel-plot control limits around a target proportion.

    ``target -/+ z * sqrt(target * (1 - target) / n)``, clipped to [0, 1]: the
    proportions an area of size ``n`` could show before a Wilson score test
    against the target becomes significant.  This equals the
    quadratic-formula form in PHEindicatormethods ``phe_funnels`` (its
    ``sigma_adjustment``); use confidence 0.95 for its "2s" limits and 0.998
    for its "3s" limits.  Returned in proportion units (multiply by 100 for %).
    """
    z = _z(confidence)
    p, n = _broadcast(target_proportion, denominators)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(n) & (n > 0) & (p >= 0) & (p <= 1))
    n = np.where(bad, np.nan, n)
    with np.errstate(invalid="ignore"):
        half = z * np.sqrt(p * (1.0 - p) / n)
        lower = np.clip(p - half, 0.0, 1.0)
        upper = np.clip(p + half, 0.0, 1.0)
    return _wrap(lower, target_proportion, denominators), _wrap(
        upper, target_proportion, denominators
    )


def _poisson_funnel_counts(
    mu: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lowest/highest counts consistent (two-sided) with a Poisson mean ``mu``.

    The lower limit is the (continuous) count ``e`` whose exact upper
    confidence limit equals ``mu``, i.e. ``P(X <= e | mu) = a/2`` written with
    the regularised gamma function, ``gammaincc(e + 1, mu) = a/2``; the upper
    limit is the ``e`` whose exact lower limit equals ``mu``,
    ``gammainc(e, mu) = a/2``.  PHEindicatormethods draws the same curves
    parametrically (for each whole count, the population at which it sits on
    the limit); solving for the count instead lets us evaluate the limits at
    the populations we actually have.  Expects finite ``mu >= 0``.
    """
    half_alpha = _alpha(confidence) / 2.0
    lower = np.zeros(mu.shape)
    upper = np.zeros(mu.shape)
    pos = mu > 0
    if not pos.any():
        return lower, upper
    m = mu[pos]
    # Safely beyond any plausible limit (about 10 Poisson sd above the mean).
    hi = m + 10.0 * np.sqrt(m) + 20.0

    # Below this mean even 0 events is not significantly low, so the lower
    # limit is 0 (gammaincc(1, mu) = exp(-mu) is its value at e = 0).
    has_lower = np.exp(-m) < half_alpha
    lo_e = np.zeros(m.shape)
    if has_lower.any():
        ml = m[has_lower]
        res = find_root(
            lambda e, mm: gammaincc(e + 1.0, mm) - half_alpha,
            (np.zeros(ml.shape), hi[has_lower]),
            args=(ml,),
        )
        lo_e[has_lower] = res.x
    res = find_root(
        lambda e, mm: gammainc(e, mm) - half_alpha,
        (np.full(m.shape, np.finfo(float).tiny), hi),
        args=(m,),
    )
    lower[pos] = lo_e
    upper[pos] = res.x
    return lower, upper


def funnel_limits_rate(
    target_rate: ArrayLike,
    populations: ArrayLike,
    confidence: float = 0.95,
    multiplier: float = 1000,
) -> tuple[FloatResult, FloatResult]:
    """Funnel-plot control limits for a rate per ``multiplier`` residents.

    The expected count is ``target_rate * population / multiplier``; the
    limits are the fewest/most events an area of that population could have
    before an exact Poisson test against the target becomes significant,
    divided back into rates.  Exact Poisson throughout (no Byar's switch), as
    PHEindicatormethods ``phe_funnels(statistic = "rate")``, whose published
    limits this reproduces (use 0.95 for its "2s", 0.998 for its "3s").
    The lower limit is 0 for populations too small for any count to be
    significantly low.
    """
    r, pop = _broadcast(target_rate, populations)
    _alpha(confidence)  # validate before doing any work
    with np.errstate(invalid="ignore"):
        mu = r * pop / multiplier
        ok = np.isfinite(mu) & np.isfinite(pop) & (pop > 0) & (r >= 0)
    lower = np.full(mu.shape, np.nan)
    upper = np.full(mu.shape, np.nan)
    if ok.any():
        lo_e, hi_e = _poisson_funnel_counts(mu[ok], confidence)
        lower[ok] = lo_e / pop[ok] * multiplier
        upper[ok] = hi_e / pop[ok] * multiplier
    return _wrap(lower, target_rate, populations), _wrap(
        upper, target_rate, populations
    )


#: Funnel-plot flags, in Fingertips' order of precedence (PHEindicatormethods' labels).
FUNNEL_FLAGS = ("High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)", "Not significant")


def funnel_significance(
    count: ArrayLike,
    population: ArrayLike,
    target_rate: float | None = None,
    multiplier: float = 1000,
) -> Any:
    """Funnel-plot significance of each area's crude rate against a target rate.

    The area's own 99.8% and 95% limits (:func:`poisson_rate_interval`: exact
    Poisson below 10 events, Byar's from 10) are compared with the target:
    "High (0.001)" if the 99.8% lower limit is above it, else "High (0.025)"
    if the 95% lower limit is, else "Low (0.001)" / "Low (0.025)" likewise for
    the upper limits, else "Not significant" - the test and the labels of
    PHEindicatormethods ``assign_funnel_significance(statistic = "rate")``.
    (It tests the area's interval, not its position against the drawn funnel
    of :func:`funnel_limits_rate`, which is exact Poisson throughout; the two
    can disagree only for areas within a hair of a limit.)

    ``target_rate`` (per ``multiplier``) defaults to the pooled rate
    ``sum(count) / sum(population)`` over the areas that can be compared.
    A zero count is compared like any other (its lower limit is 0).  "Not
    compared" where the count or population is missing or impossible.
    Returns a str for scalar inputs, else an array / Series of str.
    """
    c, pop = _broadcast(count, population)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(c) & np.isfinite(pop) & (pop > 0) & (c >= 0)
    if target_rate is None:
        target_rate = c[ok].sum() / pop[ok].sum() * multiplier if ok.any() else np.nan
    lo3, hi3 = poisson_rate_interval(c, pop, multiplier, 0.998)
    lo2, hi2 = poisson_rate_interval(c, pop, multiplier, 0.95)
    with np.errstate(invalid="ignore"):
        out = np.select(
            [~ok | ~np.isfinite(target_rate), lo3 > target_rate, lo2 > target_rate, hi3 < target_rate, hi2 < target_rate],
            ["Not compared", *FUNNEL_FLAGS[:4]],
            default=FUNNEL_FLAGS[4],
        )
    return _wrap(out, count, population)


# --------------------------------------------------------------------------
# Benchmark comparison (spine charts)
# --------------------------------------------------------------------------


def compare_to_benchmark(
    value: ArrayLike, lower: ArrayLike, upper: ArrayLike, benchmark: ArrayLike
) -> Any:
    """Fingertips-style comparison of an area's interval with a benchmark.

    "higher" if the whole interval lies above the benchmark (lower > benchmark),
    "lower" if it lies below (upper < benchmark), otherwise "similar"; a
    benchmark exactly on a limit counts as similar.  "not compared" where the
    value, either limit or the benchmark is missing (the value itself only
    decides whether there is anything to compare).  Returns a str for scalar
    inputs, else an array / Series of str.  Whether "higher" is good depends on
    the measure's polarity, which the caller applies.
    """
    v, lo, hi, b = _broadcast(value, lower, upper, benchmark)
    missing = ~(np.isfinite(v) & np.isfinite(lo) & np.isfinite(hi) & np.isfinite(b))
    with np.errstate(invalid="ignore"):
        out = np.select(
            [missing, lo > b, hi < b],
            ["not compared", "higher", "lower"],
            default="similar",
        )
    return _wrap(out, value, lower, upper, benchmark)


def interpret_signal(direction: int, polarity: str) -> str:
    """Read a signal's direction against a measure's polarity.

    "none" for direction 0; "change" for a neutral measure; otherwise
    "improvement" or "concern" (e.g. a rise in a lower-is-better measure is a
    concern).
    """
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    if direction == 0:
        return "none"
    if polarity == "neutral":
        return "change"
    good = 1 if polarity == "higher_is_better" else -1
    return "improvement" if np.sign(direction) == good else "concern"


# --------------------------------------------------------------------------
# Change between two periods
# --------------------------------------------------------------------------


def difference_interval(value_1: float, lower_1: float, upper_1: float,
                        value_2: float, lower_2: float, upper_2: float) -> tuple[float, float, float]:
    """The difference value_1 - value_2 and its interval, from the two values' own intervals (MOVER:
    Zou and Donner 2008; for two Wilson intervals this is Newcombe's 1998 hybrid score interval, his
    method 10). It keeps each interval's asymmetry, so it suits Wilson, Byar and exact Poisson limits
    alike; the two periods are taken as independent. NaN where any input is missing.
    """
    values = np.array([value_1, lower_1, upper_1, value_2, lower_2, upper_2], dtype="float64")
    if not np.isfinite(values).all():
        return (np.nan, np.nan, np.nan)
    delta = value_1 - value_2
    lower = delta - np.sqrt((value_1 - lower_1) ** 2 + (upper_2 - value_2) ** 2)
    upper = delta + np.sqrt((upper_1 - value_1) ** 2 + (value_2 - lower_2) ** 2)
    return (float(delta), float(lower), float(upper))
