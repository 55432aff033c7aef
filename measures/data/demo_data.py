"""Illustrative raw files for the configured force, in the three input contracts.

`python -m measures demo-data --seed N --out DIR` writes

    DIR/calls_101/calls_101_YYYY-MM.csv        one row per 101 phone call, a file a month
    DIR/reoffending/reoffending_cohorts.csv    quarterly cohorts by district, adult and juvenile
    DIR/hidden_crime/hidden_crime_extract.csv  monthly counts by CSP and strand

in the layouts of docs/input-contracts.md, for the force in config/force.toml. The data
are invented: they are shaped by data/reference/calibration.toml so that they follow what
the force has published (101 waits and abandonment, hidden-crime totals, ONS Table C2) and
every row loaded from them is flagged illustrative.

Determinism: every month (and every cohort quarter, and every exact-total window) draws
from its own random stream, `numpy.random.default_rng([seed, stream, ...])`, and values are
written with fixed formats, so the same seed gives byte-identical files, and a month's file
is the same whether it is generated alone or as part of the whole period. The generator
reads only calibration.toml (never ../shared), so output does not depend on what sits
beside the repository.

A force with no section in calibration.toml gets generic rates per resident ([default]),
and the generator says so on standard error.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from measures.data import config
from measures.data.ingest import sources as ingest_sources
from measures.paths import REFERENCE_DIR

CALIBRATION_FILE = REFERENCE_DIR / "calibration.toml"
SOURCES = tuple(str(s.demo_folder) for s in ingest_sources.DEMO_SOURCES)  # one table: measures/ingest/sources.py
CALLS_COLUMNS = ["call_id", "received_at", "answered_at", "ended_at", "outcome", "queue", "caller_csp_code"]
REOFFENDING_COLUMNS = ["geography_code", "geography_name", "adult_juvenile", "cohort_start", "cohort_end",
                       "offenders", "reoffenders", "reoffences"]
HIDDEN_COLUMNS = ["month", "area_code", "strand", "count"]
DEFAULT_FROM = dt.date(2018, 4, 1)
DEFAULT_TO = dt.date(2025, 12, 1)
# Random streams: the second word of every seed sequence.
_CALLS, _HIDDEN, _HIDDEN_AREA, _HIDDEN_EXACT, _REOFF, _REOFF_AREA = 1, 2, 3, 4, 5, 6
_TIMESTAMP = "%Y-%m-%dT%H:%M:%S"


# --------------------------------------------------------------------------- calibration

def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_calibration(force_code: str, path: Path = CALIBRATION_FILE) -> tuple[dict, bool]:
    """([default] overridden by [force.<code>], whether the force has a section of its own)."""
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    own = raw.get("force", {}).get(force_code)
    return _merge(raw["default"], own or {}), own is not None


def _month_index(value: str | dt.date) -> int:
    if isinstance(value, str):
        year, month = int(value[:4]), int(value[5:7])
    else:
        year, month = value.year, value.month
    return year * 12 + month - 1


def _month_of(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def _path(anchors: list, index: np.ndarray | int, shift: float = 0.0) -> np.ndarray:
    """Linear interpolation of [[YYYY-MM, value], ...] at month indices (flat beyond the ends)."""
    xs = np.array([_month_index(a[0]) + shift for a in anchors], dtype="float64")
    ys = np.array([float(a[1]) for a in anchors])
    return np.interp(np.asarray(index, dtype="float64"), xs, ys)


def _seasonal(factors: list[float], month_number: int) -> float:
    values = np.asarray(factors, dtype="float64")
    return float(values[month_number - 1] / values.mean())


@dataclass(frozen=True)
class _Area:
    code: str            # CSP code
    population: float    # residents (Census 2021, or assumed)
    crime_factor: float  # recorded crime rate relative to the force's


@dataclass(frozen=True)
class _Geo:
    """The force as the generator sees it: CSPs and districts with residents."""
    areas: tuple[_Area, ...]                              # CSPs, by code
    districts: tuple[tuple[str, str, str, float], ...]    # (lad_code, lad_name, csp_code, residents), by code
    population: float
    crime_factor: float                                   # force recorded crime rate / England and Wales
    assumed_population: bool                              # some residents were not known and are assumed


def _geography(force: config.Force, cal: dict) -> _Geo:
    residents = config.population().set_index("lad_code")["usual_residents_2021"]
    csps = sorted(force.csps, key=lambda a: a.code)
    # The calibration was made against Census 2021 residents, so the generator keeps them (a CSP's
    # residents: the sum of its districts', where every one is known), whatever the rates' denominators.
    census: dict[str, float | None] = {}
    for a in csps:
        lads = [d[0] for d in force.districts if d[2] == a.code]
        census[a.code] = float(residents[lads].sum()) if lads and all(d in residents.index for d in lads) else None
    assumed = any(not census[a.code] for a in csps)
    known = [c for c in census.values() if c]
    fallback = float(np.mean(known)) if known else float(cal["assumed_csp_population"])
    populations = {a.code: float(census[a.code] or fallback) for a in csps}
    districts = []
    for lad, name, csp in sorted(force.districts):
        siblings = [d for d in force.districts if d[2] == csp]
        if lad in residents.index and all(d[0] in residents.index for d in siblings):
            districts.append((lad, name, csp, float(residents[lad])))
        else:  # share the CSP's residents equally among its districts
            assumed = True
            districts.append((lad, name, csp, populations.get(csp, fallback) / len(siblings)))
    total = sum(populations.values())
    c2 = cal.get("recorded_crime_c2", {}).get("total_recorded_crime", {})
    if c2 and all(a.code in c2 for a in csps) and not assumed:
        force_rate = sum(c2[a.code] for a in csps) / total
        areas = tuple(_Area(a.code, populations[a.code], c2[a.code] / populations[a.code] / force_rate) for a in csps)
        crime_factor = sum(c2.values()) / total * 1000 / cal["national_recorded_crime_per_1000"]
    else:
        areas = tuple(_Area(a.code, populations[a.code], 1.0) for a in csps)
        crime_factor = 1.0
    return _Geo(areas, tuple(districts), total, crime_factor, assumed)


# --------------------------------------------------------------------------- 101 calls

def expected_month(cal: dict, geo: _Geo, month: dt.date) -> tuple[float, float]:
    """(expected calls, target mean wait in minutes) for a month, before its noise."""
    calls_cal = cal["calls_101"]
    index = _month_index(month)
    season = _seasonal(calls_cal["seasonality"], month.month)
    if "monthly_calls_path" in calls_cal:
        calls = float(_path(calls_cal["monthly_calls_path"], index)) * season
    else:
        calls = geo.population * calls_cal["calls_per_resident_year"] / 12 * season
    return calls, float(_path(calls_cal["mean_wait_path"], index))


def abandon_share(cal: dict, mean_wait: float) -> float:
    c = cal["calls_101"]
    w = mean_wait ** c["abandon_power"]
    return c["abandon_max"] * w / (w + c["abandon_half_wait"] ** c["abandon_power"])


def call_back_share(cal: dict, mean_wait: float) -> float:
    c = cal["calls_101"]
    return c["call_back_base"] + c["call_back_max"] * mean_wait ** 2 / (mean_wait ** 2 + c["call_back_half_wait"] ** 2)


def _calls_month(seed: int, cal: dict, geo: _Geo, month: dt.date) -> pa.Table:
    c = cal["calls_101"]
    rng = np.random.default_rng([seed, _CALLS, month.year, month.month])
    expected_calls, target_wait = expected_month(cal, geo, month)
    volume_noise, wait_noise = rng.lognormal(0.0, c["monthly_noise_sd"], size=2)
    mean_wait = target_wait * wait_noise
    n = int(rng.poisson(expected_calls * volume_noise))

    # When: weekday x hour-of-day slots, uniform within the hour.
    days = calendar.monthrange(month.year, month.month)[1]
    first_weekday = month.weekday()
    weekday = (first_weekday + np.arange(days)) % 7
    hour_w = np.asarray(c["hour_weights"], dtype="float64")
    slot_w = (np.asarray(c["weekday_weights"], dtype="float64")[weekday][:, None] * hour_w[None, :]).ravel()
    slots = rng.choice(days * 24, size=n, p=slot_w / slot_w.sum())
    seconds = np.sort(slots.astype("int64") * 3600 + rng.integers(0, 3600, size=n))
    hour = (seconds // 3600) % 24

    # Busy hours abandon more (normalised to the month's share over all calls) and wait
    # longer (normalised so that the answered calls' mean wait is the month's mean wait).
    load = hour_w / np.average(hour_w, weights=hour_w)
    abandon_mult = load ** c["abandon_hour_elasticity"]
    abandon_mult /= np.average(abandon_mult, weights=hour_w)
    p_abandon_hour = np.clip(abandon_share(cal, mean_wait) * abandon_mult, 0.0, 0.95)
    p_call_back = call_back_share(cal, mean_wait)
    wait_mult = load ** c["wait_hour_elasticity"]
    wait_mult /= np.average(wait_mult, weights=hour_w * np.clip(1 - p_abandon_hour - p_call_back, 0.01, 1))

    p_abandon = p_abandon_hour[hour]
    u = rng.random(n)
    outcome = np.where(u < p_abandon, 1, np.where(u < p_abandon + p_call_back, 2, 0))  # 0 answered
    answered = outcome == 0

    # Waits of answered calls: quick answers, or a gamma tail; the mixture has the hour's mean.
    q, quick = c["quick_answer_share"], c["quick_answer_minutes"]
    shape = c["wait_gamma_shape"]
    hour_mean = mean_wait * wait_mult[hour]
    tail_mean = np.maximum((hour_mean - q * quick) / (1 - q), 0.5)
    is_quick = rng.random(n) < q
    wait_min = np.where(is_quick, rng.exponential(quick, size=n), rng.gamma(shape, tail_mean / shape))
    wait_s = np.rint(wait_min * 60).astype("int64")
    sigma = 0.6
    handle_s = np.rint(rng.lognormal(np.log(c["handle_minutes_mean"]) - sigma ** 2 / 2, sigma, size=n) * 60)
    handle_s = np.maximum(handle_s.astype("int64"), 10)
    give_up_s = np.rint(rng.exponential(c["abandon_after_share"] * mean_wait + 0.3, size=n) * 60).astype("int64")
    call_back_s = rng.integers(30, 240, size=n)
    end_offset = np.where(answered, wait_s + handle_s, np.where(outcome == 1, give_up_s, call_back_s))

    queue = rng.choice(len(c["queues"]), size=n, p=np.asarray(c["queue_shares"]) / np.sum(c["queue_shares"]))
    csps = geo.areas
    population = np.array([a.population for a in csps], dtype="float64")
    csp_index = rng.choice(len(csps), size=n, p=population / population.sum())
    no_csp = rng.random(n) < c["no_caller_csp_share"]

    base = np.datetime64(f"{month:%Y-%m}-01T00:00:00", "s")
    received = base + seconds.astype("timedelta64[s]")
    call_id = pa.array((month.year * 100 + month.month) * 1_000_000 + np.arange(1, n + 1, dtype="int64"))
    return pa.table({
        "call_id": call_id.cast(pa.string()),
        "received_at": pc.strftime(pa.array(received), format=_TIMESTAMP),
        "answered_at": pc.strftime(pa.array(received + wait_s.astype("timedelta64[s]"), mask=~answered),
                                   format=_TIMESTAMP),
        "ended_at": pc.strftime(pa.array(received + end_offset.astype("timedelta64[s]")), format=_TIMESTAMP),
        "outcome": pa.array(np.array(["answered", "abandoned", "call_back"], dtype=object)[outcome]),
        "queue": pa.array(np.array(c["queues"], dtype=object)[queue]),
        "caller_csp_code": pa.array(np.array([a.code for a in csps], dtype=object)[csp_index], mask=no_csp),
    })


def _write_csv(table: pa.Table, path: Path) -> Path:
    """Unquoted CSV, LF line endings, empty fields for missing values: byte-stable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pacsv.write_csv(table, tmp, pacsv.WriteOptions(include_header=True, quoting_style="none",
                                                   quoting_header="none", batch_size=65536))
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------- hidden crime

def _strand_shares(seed: int, cal: dict, areas: tuple[_Area, ...], strand_index: int, strand: str) -> np.ndarray:
    """Share of the force's records in each CSP (in `areas` order) and, last, unassigned."""
    h = cal["hidden_crime"]
    c2 = cal.get("recorded_crime_c2", {}).get(strand)
    if c2 and all(a.code in c2 for a in areas):
        counts = np.array([c2[a.code] for a in areas] + [c2.get("unassigned", 0)], dtype="float64")
        return counts / counts.sum()
    rng = np.random.default_rng([seed, _HIDDEN_AREA, strand_index])
    weights = np.array([a.population * a.crime_factor ** h["recorded_crime_elasticity"] for a in areas])
    weights = weights * rng.lognormal(0.0, h["area_noise_sd"], size=len(areas))
    weights = weights / weights.sum() * (1 - h["unassigned_share"])
    return np.append(weights, h["unassigned_share"])


def _hidden_expected(cal: dict, geo: _Geo, strand: str, months: np.ndarray) -> np.ndarray:
    """Expected force-wide records of a strand in each month (index array)."""
    h = cal["hidden_crime"]
    annual = h.get("annual_path", {}).get(strand)
    if annual:  # financial-year totals, centred on the middle of their year
        level = _path(annual, months, shift=5.5) / 12
    else:
        level = np.full(len(months), geo.population * h["rate_per_1000"][strand] / 1000 / 12)
    season = np.array([_seasonal(h["seasonality"][strand], int(m % 12) + 1) for m in months])
    shock = np.ones(len(months))
    for s in h.get("shocks", []):
        if s["strand"] == strand:
            shock[(months >= _month_index(s["from"])) & (months <= _month_index(s["to"]))] *= s["factor"]
    return level * season * shock


def _exact_windows(cal: dict, strand: str) -> list[dict]:
    windows = [dict(w) for w in cal.get("hidden_crime", {}).get("exact", []) if w["strand"] == strand]
    for w in windows:
        w["first"], w["last"] = _month_index(w["period_start"]), _month_index(w["period_end"])
    ordered = sorted(windows, key=lambda w: w["first"])
    for a, b in itertools.pairwise(ordered):
        if b["first"] <= a["last"]:
            raise ValueError(f"calibration: exact totals for {strand} overlap ({a['period_start']}, {b['period_start']})")
    return ordered


def hidden_crime_counts(seed: int, cal: dict, geo: _Geo, first: int, last: int) -> dict[str, np.ndarray]:
    """{strand: counts[month, area]} for months first..last (indices), areas = CSPs by code + unassigned."""
    h = cal["hidden_crime"]
    areas = geo.areas
    out = {}
    for strand_index, strand in enumerate(h["strands"]):
        windows = _exact_windows(cal, strand)
        lo = min([first, *(w["first"] for w in windows)])
        hi = max([last, *(w["last"] for w in windows)])
        months = np.arange(lo, hi + 1)
        shares = _strand_shares(seed, cal, areas, strand_index, strand)
        force_level = _hidden_expected(cal, geo, strand, months)
        counts = np.zeros((len(months), len(areas) + 1), dtype="int64")
        expected = np.zeros_like(counts, dtype="float64")
        for i, m in enumerate(months):  # one stream per strand and month
            rng = np.random.default_rng([seed, _HIDDEN, strand_index, int(m) // 12, int(m) % 12 + 1])
            expected[i] = force_level[i] * rng.lognormal(0.0, h["monthly_noise_sd"]) * shares
            counts[i] = rng.poisson(expected[i])
        for window_index, w in enumerate(windows):
            rng = np.random.default_rng([seed, _HIDDEN_EXACT, strand_index, window_index])
            rows = slice(w["first"] - lo, w["last"] - lo + 1)
            p = expected[rows]
            if w["level"] == "force":
                counts[rows] = rng.multinomial(int(w["value"]), (p / p.sum()).ravel()).reshape(p.shape)
            else:  # each CSP (and unassigned) to its own total, e.g. ONS Table C2
                totals = cal["recorded_crime_c2"][w["from_c2"]]
                for j, code in enumerate([a.code for a in areas] + ["unassigned"]):
                    column = p[:, j] if p[:, j].sum() > 0 else np.ones(p.shape[0])
                    counts[rows, j] = rng.multinomial(int(totals.get(code, 0)), column / column.sum())
        out[strand] = counts[first - lo:last - lo + 1]
    return out


def _hidden_table(seed: int, cal: dict, geo: _Geo, first: int, last: int) -> pa.Table:
    areas = [a.code for a in geo.areas] + [""]
    counts = hidden_crime_counts(seed, cal, geo, first, last)
    month_col, area_col, strand_col, count_col = [], [], [], []
    for i, m in enumerate(range(first, last + 1)):
        label = f"{m // 12:04d}-{m % 12 + 1:02d}"
        for strand in cal["hidden_crime"]["strands"]:
            row = counts[strand][i]
            for j, code in enumerate(areas):
                if code == "" and row[j] == 0:
                    continue  # a record with no area is listed only when there is one
                month_col.append(label)
                area_col.append(code or None)
                strand_col.append(strand)
                count_col.append(int(row[j]))
    return pa.table({"month": month_col, "area_code": pa.array(area_col, pa.string()), "strand": strand_col,
                     "count": pa.array(count_col, pa.int64())})


# --------------------------------------------------------------------------- reoffending

def _quarters(period_from: dt.date, period_to: dt.date, lag_months: int) -> list[tuple[dt.date, dt.date]]:
    """Quarterly cohorts from the quarter of period_from whose results are out by period_to."""
    last_month = _month_index(period_to) - lag_months  # a cohort must end by the end of this month
    index = _month_index(period_from) // 3 * 3
    quarters = []
    while index + 2 <= last_month:
        start = _month_of(index)
        end_month = _month_of(index + 2)
        quarters.append((start, dt.date(end_month.year, end_month.month,
                                         calendar.monthrange(end_month.year, end_month.month)[1])))
        index += 3
    return quarters


def _reoffending_table(seed: int, cal: dict, geo: _Geo, period_from: dt.date,
                       period_to: dt.date) -> pa.Table | None:
    r = cal["reoffending"]
    quarters = _quarters(period_from, period_to, r["lag_months"])
    if not quarters:
        return None
    csp_factor = {a.code: a.crime_factor for a in geo.areas}
    force_factor = geo.crime_factor
    districts = geo.districts
    types = ("adult", "juvenile")
    area_rng = np.random.default_rng([seed, _REOFF_AREA])
    rate_noise = area_rng.lognormal(0.0, r["area_noise_sd"], size=(len(districts), len(types)))
    rows: dict[str, list] = {c: [] for c in REOFFENDING_COLUMNS}
    for start, end in quarters:
        rng = np.random.default_rng([seed, _REOFF, start.year, start.month])
        size_factor = rate_factor = 1.0
        for s in r.get("shocks", []):
            if _month_index(s["from"]) <= _month_index(start) <= _month_index(s["to"]):
                size_factor, rate_factor = s["size_factor"], s["rate_factor"]
        for i, (lad_code, lad_name, csp_code, population) in enumerate(districts):
            crime = force_factor * csp_factor.get(csp_code, 1.0)
            for j, kind in enumerate(types):
                size = (population / 1000 * r[f"{kind}_cohort_per_1000_quarter"]
                        * crime ** r["crime_elasticity_size"] * size_factor)
                rate = min(r[f"{kind}_rate"] * csp_factor.get(csp_code, 1.0) ** r["crime_elasticity_rate"]
                           * rate_noise[i, j] * rate_factor, 0.95)
                offenders = int(rng.poisson(size))
                reoffenders = int(rng.binomial(offenders, rate))
                extra = r[f"{kind}_reoffences_per_reoffender"] - 1
                reoffences = reoffenders + int(rng.poisson(reoffenders * extra)) if reoffenders else 0
                for column, value in zip(REOFFENDING_COLUMNS, (
                        lad_code, lad_name, kind, start.isoformat(), end.isoformat(),
                        offenders, reoffenders, reoffences), strict=True):
                    rows[column].append(value)
    return pa.table({c: pa.array(v, pa.int64() if c in ("offenders", "reoffenders", "reoffences") else pa.string())
                     for c, v in rows.items()})


# --------------------------------------------------------------------------- entry point

def generate(seed: int, out_dir: Path, period_from: dt.date = DEFAULT_FROM, period_to: dt.date = DEFAULT_TO,
             *, sources: tuple[str, ...] = SOURCES) -> list[Path]:
    """Write the illustrative raw files for months period_from..period_to; return their paths.

    Reoffending cohorts are written only when complete: those whose follow-up and
    publication lag (calibration `lag_months`) end by period_to, so a short recent period
    may have no reoffending file.
    """
    from measures.data.validation import UsageError

    if not isinstance(seed, int) or seed < 0:
        raise UsageError(f"--seed must be a non-negative whole number, not {seed!r}")
    if period_from > period_to:
        raise UsageError(f"the period starts ({period_from:%Y-%m}) after it ends ({period_to:%Y-%m})")
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown sources {sorted(unknown)}")
    force = config.load_force()
    cal, calibrated = load_calibration(force.code)
    geo = _geography(force, cal)
    if not calibrated:
        print(f"note: {CALIBRATION_FILE.name} has no section for {force.name} ({force.code}): "
              "generic rates per resident are used", file=sys.stderr)
    if geo.assumed_population:
        print(f"note: residents of some areas of {force.name} are not in the reference data: "
              f"{cal['assumed_csp_population']:,} or the mean of the known CSPs is assumed", file=sys.stderr)
    out_dir = Path(out_dir)
    first, last = _month_index(period_from), _month_index(period_to)
    written: list[Path] = []
    if "calls_101" in sources:
        for index in range(first, last + 1):
            month = _month_of(index)
            table = _calls_month(seed, cal, geo, month)
            written.append(_write_csv(table, out_dir / "calls_101" / f"calls_101_{month:%Y-%m}.csv"))
    if "reoffending" in sources:
        table = _reoffending_table(seed, cal, geo, period_from, period_to)
        if table is not None:
            written.append(_write_csv(table, out_dir / "reoffending" / "reoffending_cohorts.csv"))
    if "hidden_crime" in sources:
        written.append(_write_csv(_hidden_table(seed, cal, geo, first, last),
                                  out_dir / "hidden_crime" / "hidden_crime_extract.csv"))
    return written
