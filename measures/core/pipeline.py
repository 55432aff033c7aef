"""The one measure pipeline: every page, export and pack gets a measure's figures from here.

    query (rows per CSP and unassigned bucket, queries/<measure.query>.sql)
 -> combined areas (public mode: e.g. the Isles of Scilly published with Cornwall)
 -> force total (once, here: the sum of the rows, for every measure)
 -> values and 95% intervals (by the measure's method)
 -> control chart (NHSRplotthedots rules, per area over its whole history, re-baselined at the
    registry's change points)
 -> disclosure control (public mode: over every variant of the measure's family together)
 -> the window a caller asked for.

Period values (a CSP's figure over any window of months or cohorts) are built from these rows
by `period_values`, and are suppressed whenever any row they add up is: so a window figure
never tells an outsider more than the rows themselves, and the disclosure audit of the rows
(measures.core.disclosure.audit) covers every figure the public can see.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from measures.core import disclosure, registry, spc, stats
from measures.data import config, db

EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 1)
AREA_TYPE_ORDER = {"force": 0, "csp": 1, "unassigned": 2}
COUNT_COLUMNS = ("numerator", "denominator", "numerator_sq")
ILLUSTRATIVE = "illustrative"  # every measure query's flag column (queries/README.md), carried by every sum
SIGNAL_COLUMNS = ["signal", "signal_meaning", "baseline_start", "mean", "lower_process_limit",
                  "upper_process_limit", "trial_limits", "signal_crosses_gap"]
NOT_ASSESSED = "not assessed"  # public mode: a baseline with a suppressed period has no published chart
# Rolling years (ONS editions: Jan-Dec 2024 and Jul 2024-Jun 2025 share six months) are not independent
# points, so an XmR chart over them would find "signals" in shared months: they get no chart at all.
ROLLING_YEAR = "rolling_year"
NOT_ASSESSED_ROLLING = "not assessed (rolling years)"
NOT_CHARTED = (NOT_ASSESSED, NOT_ASSESSED_ROLLING)  # meanings of rows with no chart (every page reads them so)
# The suppression column's values: why a cell is hidden (wording in measures.core.vocabulary).
PRIMARY, SECONDARY = "primary", "secondary"
# Small counts are suppressed in areas with residents (CSPs). The unassigned bucket (records with no
# place, or a place outside the force) names no area, so its count is published as the force's is.
PRIMARY_AREA_TYPES = ("csp",)


# --- query -> force total -> values ---------------------------------------------------------

def _total(values: pd.Series) -> float:
    """A sum that stays missing where every value is (a count with no data is not 0)."""
    return values.sum(min_count=1)


def count_sums(frame: pd.DataFrame, measure: registry.Measure | None = None) -> dict[str, tuple[str, Any]]:
    """How a frame's counts add up over areas or periods (pandas named aggregation).

    Over periods (`measure` given), a rate's residents do not add up: they are the mean
    population; counts of people (a proportion's denominator) do. Over areas everything adds.
    """
    sums: dict[str, tuple[str, Any]] = {c: (c, _total) for c in COUNT_COLUMNS if c in frame}
    if measure is not None and measure.method == "rate_per_1000" and "denominator" in frame:
        sums["denominator"] = ("denominator", "mean")
    if ILLUSTRATIVE in frame:  # a sum is illustrative if any row in it is (the flag travels with the counts)
        sums[ILLUSTRATIVE] = (ILLUSTRATIVE, "any")
    return sums


def illustrative(*frames: pd.DataFrame) -> bool:
    """Whether what the frames' rows show is illustrative (generated) data: any row of them is.

    The one test every page, chart, table, export note and pack uses: the flag comes from the
    rows as loaded (the ingest's --illustrative), never from the registry, so rows loaded as real
    are shown as real, and a mix is labelled illustrative (it partly is).
    """
    return any(_any_flag(frame[ILLUSTRATIVE]) for frame in frames if ILLUSTRATIVE in frame)


def _any_flag(flags: pd.Series) -> bool:
    if flags.dtype == bool:  # the usual case, read as an array (a fillna copy per card cost more than the rest)
        return bool(flags.to_numpy().any())
    return bool(flags.fillna(False).astype(bool).any())


def _areas_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["area_type"].isin(("csp", "unassigned"))].reset_index(drop=True)


def query_rows(con: duckdb.DuckDBPyConnection, measure: registry.Measure, force_code: str,
               first: dt.date = EARLIEST, last: dt.date = LATEST) -> pd.DataFrame:
    """The measure's rows for each CSP and the unassigned bucket (the whole history by default)."""
    params = {"force": force_code, "from": first, "to": last, **measure.params}
    rows = db.query(con, measure.query, params)
    if ILLUSTRATIVE not in rows:  # no silent default: a missing flag would show generated rows as real
        raise ValueError(f"query {measure.query} returns no {ILLUSTRATIVE} column (queries/README.md)")
    rows[ILLUSTRATIVE] = rows[ILLUSTRATIVE].fillna(False).astype(bool)
    return _areas_rows(rows)


def query_with_force(con: duckdb.DuckDBPyConnection, name: str, params: dict) -> pd.DataFrame:
    """A measure query's rows with the force row added (for queries run outside a registry measure)."""
    return add_force_total(_areas_rows(db.query(con, name, params)), str(params["force"]))


def combine_areas(frame: pd.DataFrame, force: config.Force) -> pd.DataFrame:
    """Rows of combined areas' parts added together under the combined code (public mode)."""
    parts = force.part_of()
    if not parts or frame.empty or not frame["area_code"].isin(list(parts)).any():
        return frame
    frame = frame.copy()
    frame["area_code"] = frame["area_code"].replace(parts)
    return frame.groupby(["period_start", "period_end", "area_code", "area_type"], as_index=False,
                         sort=False).agg(**count_sums(frame))


def add_force_total(frame: pd.DataFrame, force_code: str) -> pd.DataFrame:
    """The force row of each period: the sum of its CSP and unassigned rows (residents: of its CSPs)."""
    if frame.empty:
        return frame
    force = frame.groupby(["period_start", "period_end"], as_index=False).agg(**count_sums(frame))
    force["area_code"], force["area_type"] = force_code, "force"
    return pd.concat([frame, force[frame.columns]], ignore_index=True)


def csp_by_year(frame: pd.DataFrame, measure: registry.Measure) -> pd.DataFrame:
    """CSP and unassigned rows added up by calendar year; the force stays by period (public mode, for a
    rare strand the registry publishes that way: public_csp_period = "year").

    A year row runs from its first to its last period with data (a year the data starts or ends in
    is part of a year, and its dates say so); `period_type` is "year" on it.
    """
    below = frame[frame["area_type"] != "force"].copy()
    if below.empty:
        return frame
    below["year"] = pd.to_datetime(below["period_start"]).dt.year
    yearly = below.groupby(["year", "area_code", "area_type"], as_index=False, sort=False).agg(
        **count_sums(below, measure))
    # Every area's row of a year covers the months the data has that year (an area with no row in a
    # month had none that month), so all of a year's rows carry the same dates.
    bounds = below.groupby("year", as_index=False).agg(period_start=("period_start", "min"),
                                                       period_end=("period_end", "max"))
    yearly = yearly.merge(bounds, on="year")
    yearly["period_type"] = "year"
    force = frame[frame["area_type"] == "force"].assign(period_type="period")
    return pd.concat([force, yearly.reindex(columns=force.columns)], ignore_index=True)


def year_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows that stand for a calendar year (csp_by_year), not one period."""
    if "period_type" not in frame:
        return pd.Series(False, index=frame.index)
    return frame["period_type"].eq("year").fillna(False).astype(bool)


def series_frequency(measure: registry.Measure, rows: pd.DataFrame) -> str:
    """The calendar step of one area's rows: a year ("YS") where they are year rows, else the measure's."""
    return "YS" if len(rows) and bool(year_rows(rows).all()) else frequency_alias(measure)


def add_values(frame: pd.DataFrame, measure: registry.Measure, confidence: float = 0.95) -> pd.DataFrame:
    """value, lower and upper limits from numerator/denominator by the measure's method."""
    numerator = frame["numerator"].astype("float64").to_numpy()
    denominator = frame["denominator"].astype("float64").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure.method == "proportion":
            value = 100 * numerator / denominator
            lower, upper = stats.wilson_interval(numerator, denominator, confidence)
            lower, upper = 100 * np.asarray(lower), 100 * np.asarray(upper)
            # Wilson's limits are exactly 0% at 0 and 100% at n; rounding (e.g. 5.6e-15) must
            # not put the lower limit above a value of 0 (or the upper below 100).
            lower = np.where((numerator == 0) & (denominator > 0), 0.0, lower)
            upper = np.where((numerator == denominator) & (denominator > 0), 100.0, upper)
        elif measure.method == "rate_per_1000":
            value = 1000 * numerator / denominator
            lower, upper = stats.poisson_rate_interval(numerator, denominator, 1000, confidence)
        else:  # mean
            value = numerator / denominator
            if "numerator_sq" in frame and frame["numerator_sq"].notna().any():
                lower, upper = stats.mean_interval(numerator, frame["numerator_sq"].astype("float64").to_numpy(),
                                                   denominator, confidence)
            else:  # a mean count per person: the count is Poisson
                lower, upper = stats.poisson_rate_interval(numerator, denominator, 1, confidence)
    frame = frame.copy()
    frame["value"] = np.where(np.isfinite(value), value, np.nan)
    frame["lower_95"] = np.asarray(lower, dtype="float64")
    frame["upper_95"] = np.asarray(upper, dtype="float64")
    return frame


def frequency_alias(measure: registry.Measure | str) -> str:
    """The calendar step of a measure's periods (pandas offset alias), from the measure or its frequency.
    Rolling years have none: their editions are not evenly spaced (ROLLING_YEAR, which `calendar` reads)."""
    frequency = measure if isinstance(measure, str) else measure.frequency
    if frequency in (ROLLING_YEAR, "YS", "QS", "MS"):
        return frequency
    return "QS" if frequency == "quarterly_cohort" else "MS"


def calendar(starts: pd.Series | pd.Index, step: str) -> pd.DatetimeIndex:
    """Every period from the first start to the last at the step (a frequency or its alias), so a missing
    period is a gap; rolling years as published (their editions overlap and are not evenly spaced)."""
    when = starts if isinstance(starts, pd.DatetimeIndex) else pd.DatetimeIndex(pd.to_datetime(starts))
    when = when.dropna().unique().sort_values()
    alias = frequency_alias(step)
    if alias == ROLLING_YEAR or when.empty:
        return when
    return _periods(when[0], when[-1], alias)


@functools.lru_cache(maxsize=4096)
def _periods(first: pd.Timestamp, last: pd.Timestamp, alias: str) -> pd.DatetimeIndex:
    # Kept: every card's trend and every signal run asks for the same few ranges (an index is immutable).
    return pd.date_range(first, last, freq=alias)


# --- control chart --------------------------------------------------------------------------

def add_signals(frame: pd.DataFrame, measure: registry.Measure) -> pd.DataFrame:
    """Each row's control-chart point: its type, meaning, baseline and limits (per area, whole history).

    The series of an area runs over calendar periods from its first to its last period with a
    value; a period with no row is a gap (bridged by the rules, never a zero). A new baseline
    starts at each of the measure's registered change points.

    A rolling-year measure gets no chart: its signal columns stay empty and its rows with a value
    read NOT_ASSESSED_ROLLING, as a withheld chart reads NOT_ASSESSED.
    """
    frame = frame.copy()
    for column in SIGNAL_COLUMNS:
        frame[column] = pd.Series([None] * len(frame), dtype="object", index=frame.index)
    if measure.frequency == ROLLING_YEAR:
        frame.loc[frame["value"].notna(), "signal_meaning"] = NOT_ASSESSED_ROLLING
        for column in ("mean", "lower_process_limit", "upper_process_limit"):
            frame[column] = np.nan
        return frame
    change_points = [pd.Timestamp(f"{c['period']}-01") for c in measure.change_points]
    starts = pd.to_datetime(frame["period_start"])
    for _, rows in frame[frame["value"].notna()].groupby("area_code", sort=False):
        when = starts[rows.index]
        if series_frequency(measure, rows) == "YS":  # an area published by year: a point a year, as dated
            periods = pd.DatetimeIndex(sorted(when.unique()))
        else:  # calendar periods, a missing one a gap
            periods = calendar(when, measure.frequency)
        values = pd.Series(rows["value"].to_numpy(dtype="float64"), index=when.to_numpy()).reindex(periods)
        rebase = [int(periods.searchsorted(c)) for c in change_points if periods[0] < c <= periods[-1]]
        result = spc.spc(values.to_numpy(), rebase_at=rebase)
        position = periods.get_indexer(when)
        frame.loc[rows.index, "signal"] = result.point_type[position]
        frame.loc[rows.index, "signal_meaning"] = [
            spc.signal_meaning(t, int(d), measure.polarity)
            for t, d in zip(result.point_type[position], result.direction[position], strict=True)]
        frame.loc[rows.index, "baseline_start"] = periods[result.segment_start[position]].date
        frame.loc[rows.index, "mean"] = result.mean[position]
        frame.loc[rows.index, "lower_process_limit"] = result.lpl[position]
        frame.loc[rows.index, "upper_process_limit"] = result.upl[position]
        frame.loc[rows.index, "trial_limits"] = result.trial[position]
        frame.loc[rows.index, "signal_crosses_gap"] = result.crosses_gap[position]
    for column in ("mean", "lower_process_limit", "upper_process_limit"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def withhold_signals(frame: pd.DataFrame) -> pd.DataFrame:
    """Public mode: no chart is published for a baseline with a suppressed period in it.

    Its mean and limits are computed from every value, the hidden ones too, so publishing them
    would let the hidden values be worked back; one rule for every page.
    """
    if not frame["suppressed"].any() or "baseline_start" not in frame:
        return frame
    frame = frame.copy()
    key = [frame["area_code"], frame["baseline_start"].astype(str)]
    hit = frame.groupby(key)["suppressed"].transform("any").astype(bool)
    hit |= frame["suppressed"].astype(bool)
    for column in SIGNAL_COLUMNS:
        frame.loc[hit, column] = None
    frame.loc[hit, "signal_meaning"] = NOT_ASSESSED
    for column in ("mean", "lower_process_limit", "upper_process_limit"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


# --- disclosure control over the family -----------------------------------------------------

# Which count each measure's numerator and denominator are, where a family's measures share
# counts (reoffending: reoffenders are the rate's numerator and the per-reoffender denominator).
def _quantities(measure: registry.Measure) -> tuple[str, str | None]:
    if measure.disclosure_counts:  # the registry checks there are two
        return measure.disclosure_counts[0], measure.disclosure_counts[1]
    # Rates per 1,000 residents: the residents are public, only the count is controlled.
    return "count", (None if measure.method == "rate_per_1000" else "denominator")


def _family_measures(measure: registry.Measure) -> list[registry.Measure]:
    """Every measure and variant the public sees whose counts are shared with this one's.

    Measures that declare their counts (reoffending: reoffenders, offenders, reoffences) are
    audited with every member and variant of their family that declares them too; any other
    measure's counts are its own (each hidden-crime strand stands alone).
    """
    if not measure.disclosure_counts:
        return [measure]
    members = [m for m in registry.members(measure.family) if m.disclosure_control and m.disclosure_counts]
    variants = family_variants(measure)
    return [registry.variant(m, v) for m in members for v in variants] if variants else members


def _family(measure: registry.Measure) -> registry.Family | None:
    """The measure's family (None for a measure built in code with none)."""
    try:
        return registry.family(measure.family)
    except KeyError:
        return None


def family_variants(measure: registry.Measure) -> list[str]:
    """The variant values of the measure's family (e.g. all, adult, juvenile), or none."""
    family = _family(measure)
    return list(family.variants) if family else []


def _variant_of(measure: registry.Measure) -> str:
    """Which of its family's variants a measure is ("" where the family has none: strands stand alone)."""
    family = _family(measure)
    return str(measure.params.get(family.variant_param, "")) if family and family.variants else ""


def _cells(frames: Iterable[tuple[registry.Measure, pd.DataFrame]]) -> pd.DataFrame:
    """The counts behind the frames as disclosure cells, each count once."""
    pieces = []
    for measure, frame in frames:
        numerator_q, denominator_q = _quantities(measure)
        base = frame[["period_start", "area_code", "area_type"]].copy()
        base["variant"] = _variant_of(measure)
        pieces.append(base.assign(quantity=numerator_q, value=frame["numerator"].to_numpy()))
        if denominator_q is not None:
            pieces.append(base.assign(quantity=denominator_q, value=frame["denominator"].to_numpy()))
    cells = pd.concat(pieces, ignore_index=True)
    cells = cells.drop_duplicates(["period_start", "area_code", "variant", "quantity"]).reset_index(drop=True)
    cells["value"] = pd.to_numeric(cells["value"], errors="coerce").fillna(0).round().astype("int64")
    return _complete(cells)


def _complete(cells: pd.DataFrame) -> pd.DataFrame:
    """A cell for every area, variant and quantity of each period: an area with no row has a known 0."""
    areas = cells[["area_code", "area_type"]].drop_duplicates()
    keys = cells[["period_start", "variant", "quantity"]].drop_duplicates()
    full = keys.merge(areas, how="cross")
    full = full.merge(cells, on=["period_start", "area_code", "area_type", "variant", "quantity"], how="left")
    full["value"] = full["value"].fillna(0).astype("int64")
    return full.reset_index(drop=True)


def family_relations(measure: registry.Measure) -> dict:
    """What an outsider knows links the family's counts (measures.core.disclosure's relations)."""
    family = _family(measure)
    if family is None:
        return {}
    relations: dict = {}
    variants = list(family.variants)
    if len(variants) > 2:  # the first variant is the total of the others (all = adult + juvenile)
        relations["variant_sum"] = (variants[0], tuple(variants[1:]))
    if family.at_most:
        relations["at_most"] = family.at_most
    return relations


def suppress(frame: pd.DataFrame, measure: registry.Measure,
             shared: Iterable[tuple[registry.Measure, pd.DataFrame]] = ()) -> pd.DataFrame:
    """Public-mode disclosure control of a measure's frame, decided over its counts and those of the
    `shared` frames (the other members and variants of its family that share counts); the frame's
    hidden counts are blanked and its charts withheld where a baseline holds a hidden period."""
    cells = _cells([(measure, frame), *shared])
    if bool(year_rows(frame).any()):
        cells = force_by_year(cells, frame)
    status = disclosure.protect(cells, primary_area_types=PRIMARY_AREA_TYPES, **family_relations(measure))
    cells["status"] = status.to_numpy()
    return withhold_signals(apply_status(frame, measure, cells))


def protect(con: duckdb.DuckDBPyConnection, measure: registry.Measure, frame: pd.DataFrame,
            force: config.Force) -> pd.DataFrame:
    """Public-mode disclosure control of one measure's frame, decided over its whole family."""
    own = (measure.id, _variant_of(measure))
    shared = [(member, counted_rows(con, member, force)) for member in _family_measures(measure)
              if (member.id, _variant_of(member)) != own]
    return suppress(frame, measure, shared)


def force_by_year(cells: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """For CSPs published by year: the force cells become the force's years (the sums of its published
    months, which an outsider can add up), dated as the CSPs' year rows, so that force = its areas holds."""
    years = frame.loc[year_rows(frame), ["period_start"]].drop_duplicates()
    years["year"] = pd.to_datetime(years["period_start"]).dt.year
    force = cells[cells["area_type"] == "force"].copy()
    force["year"] = pd.to_datetime(force["period_start"]).dt.year
    force = force.groupby(["year", "area_code", "area_type", "variant", "quantity"], as_index=False)["value"].sum()
    force = force.merge(years, on="year").drop(columns="year")
    below = cells[cells["area_type"] != "force"]
    return pd.concat([below, force.reindex(columns=below.columns)], ignore_index=True)


def apply_status(frame: pd.DataFrame, measure: registry.Measure, cells: pd.DataFrame) -> pd.DataFrame:
    """Blank the hidden counts of a frame (and the value and limits of its hidden rows)."""
    numerator_q, denominator_q = _quantities(measure)
    variant = _variant_of(measure)
    mine = cells[cells["variant"] == variant].set_index(["period_start", "area_code", "quantity"])["status"]
    frame = frame.copy()
    keys = list(zip(frame["period_start"], frame["area_code"], strict=True))
    num_status = np.array([mine.get((p, a, numerator_q), "") for p, a in keys], dtype=object)
    den_status = (np.array([mine.get((p, a, denominator_q), "") for p, a in keys], dtype=object)
                  if denominator_q is not None else np.full(len(frame), "", dtype=object))
    hidden_num, hidden_den = num_status != "", den_status != ""
    suppressed = hidden_num | hidden_den
    frame["suppressed"] = suppressed
    frame["suppression"] = np.where((num_status == PRIMARY) | (den_status == PRIMARY), PRIMARY,
                                    np.where(suppressed, SECONDARY, ""))
    frame.loc[suppressed, ["numerator", "value", "lower_95", "upper_95"]] = np.nan
    if "numerator_sq" in frame:
        frame.loc[suppressed, "numerator_sq"] = np.nan
    frame.loc[hidden_den, "denominator"] = np.nan
    return frame


# --- the whole pipeline ---------------------------------------------------------------------

def counted_rows(con: duckdb.DuckDBPyConnection, measure: registry.Measure, force: config.Force,
                 combined: bool = True, first: dt.date = EARLIEST, last: dt.date = LATEST) -> pd.DataFrame:
    """The pipeline's first steps: the query's CSP and unassigned rows, combined areas (public), the
    force total added once. A window value with no control chart (a comparison across forces) starts here."""
    rows = query_rows(con, measure, force.code, first, last)
    if combined:
        rows = combine_areas(rows, force)
    return add_force_total(rows, force.code)


def area_names(con: duckdb.DuckDBPyConnection, force: config.Force) -> pd.DataFrame:
    """area_code -> area_name: every area of England and Wales, and the force's combined areas."""
    names = con.cursor().execute("select area_code, area_name from areas").df()
    combined = pd.DataFrame([(c.code, c.name) for c in force.public_combined], columns=["area_code", "area_name"])
    return pd.concat([names, combined], ignore_index=True)


def measure_frame(con: duckdb.DuckDBPyConnection, measure: registry.Measure, force_code: str,
                  period_from: dt.date | None = None, period_to: dt.date | None = None,
                  public: bool = False, combined: bool | None = None) -> pd.DataFrame:
    """Every row of a measure for a force: counts, value, interval, control chart, suppression.

    `combined` (default: as `public`) publishes combined areas in place of their parts; an
    auditor's true figures for the public's areas are `public=False, combined=True`.

    Control charts and disclosure control are decided over the whole history, then the rows
    of the window [period_from, period_to] are returned: the same period shows the same
    signal and the same suppression whatever window a page or export asks for.
    """
    force = force_of(force_code)
    rows = counted_rows(con, measure, force, public if combined is None else combined)
    if public and measure.public_csp_period == "year":
        rows = csp_by_year(rows, measure)
    frame = rows.merge(area_names(con, force), on="area_code", how="left")
    frame["area_name"] = frame["area_name"].fillna(frame["area_code"])
    frame = add_values(frame, measure)
    frame = add_signals(frame, measure)
    frame["measure_id"] = measure.id
    frame["unit"] = measure.unit
    frame["suppressed"] = False
    frame["suppression"] = ""
    if public and measure.disclosure_control and not frame.empty:
        frame = protect(con, measure, frame, force)
    frame = _typed_signals(frame)
    frame = add_assurance(frame, measure, force.code)
    frame["order"] = frame["area_type"].map(AREA_TYPE_ORDER)
    frame = frame.sort_values(["period_start", "order", "area_name"]).drop(columns="order").reset_index(drop=True)
    if period_from is not None or period_to is not None:
        starts = pd.to_datetime(frame["period_start"])
        keep = (starts >= pd.Timestamp(period_from or EARLIEST)) & (starts <= pd.Timestamp(period_to or LATEST))
        frame = frame[keep].reset_index(drop=True)
    return frame


def target_values(frame: pd.DataFrame, measure: registry.Measure, force_code: str) -> np.ndarray:
    """Each row's target (NaN where none applies): the measure's target, for the force whose Plan sets
    it and its areas, from the period it applies from."""
    target = measure.target
    if target is None or target.force != force_code or frame.empty:
        return np.full(len(frame), np.nan)
    starts = pd.to_datetime(frame["period_start"])
    applies = starts >= pd.Timestamp(f"{target.start}-01") if target.start else np.ones(len(frame), dtype=bool)
    return np.where(applies, target.value, np.nan)


def add_assurance(frame: pd.DataFrame, measure: registry.Measure, force_code: str) -> pd.DataFrame:
    """`target` and `assurance` of every row: the target against the limits of the row's baseline
    (measures.core.spc.assurance). A row with a target but no chart (withheld in public mode, rolling
    years) reads "not assessed"; a row with no target has none ("")."""
    frame = frame.copy()
    frame["target"] = target_values(frame, measure, force_code)
    charted = ~frame["signal_meaning"].isin(NOT_CHARTED) & frame["value"].notna()
    frame["assurance"] = [
        "" if np.isnan(target) else
        (spc.assurance(target, lpl, upl, measure.polarity) or NOT_ASSESSED) if ok else NOT_ASSESSED
        for target, lpl, upl, ok in zip(frame["target"], frame["lower_process_limit"], frame["upper_process_limit"],
                                        charted, strict=True)]
    return frame


def _typed_signals(frame: pd.DataFrame) -> pd.DataFrame:
    """One type per signal column, whatever rows had none (text, dates, booleans with gaps)."""
    frame = frame.copy()
    for column in ("signal", "signal_meaning", "suppression"):
        frame[column] = frame[column].astype("str").where(frame[column].notna())
    frame["baseline_start"] = pd.to_datetime(frame["baseline_start"])
    if pd.api.types.is_datetime64_any_dtype(frame["period_start"]):  # the same resolution as the periods
        frame["baseline_start"] = frame["baseline_start"].astype(frame["period_start"].dtype)
    for column in ("trial_limits", "signal_crosses_gap"):
        frame[column] = frame[column].astype("boolean")
    return frame


def force_of(force_code: str) -> config.Force:
    """The force by code: the configured one with its combined areas for public mode, or any other."""
    try:
        return config.force_by_code(force_code)
    except KeyError:  # a code the reference tables do not know has no CSPs and nothing to combine
        return config.Force(force_code, force_code, "", (), (), None)


# --- period values: any window of a frame ---------------------------------------------------

PERIOD_COLUMNS = ["area_code", "area_name", "area_type", "numerator", "denominator", "value", "lower_95", "upper_95",
                  "lower_998", "upper_998", "periods", "suppressed", "suppression", ILLUSTRATIVE]


def period_values(frame: pd.DataFrame, measure: registry.Measure, first: dt.date, last: dt.date) -> pd.DataFrame:
    """One row per area: the window's numerator, denominator, value and 95% / 99.8% limits.

    Counts are summed over the periods that start in the window (proportions and means add
    numerators and denominators; a rate's residents are the window's mean population, so 12
    months give an annual rate). An area with any suppressed period in the window is
    suppressed for the window ("secondary": it would otherwise give the hidden period away
    by subtraction), so a window figure is only ever the sum of published figures. A window
    figure is illustrative if any period it adds up is.

    Rolling years (frequency "rolling_year") overlap, so they are never added up: a window takes the
    latest rolling year that ends in it (its last month between `first` and `last`), the same year for
    every area (an area with no figure for that year has no row), and `periods` is 1.
    """
    if measure.frequency == ROLLING_YEAR:  # one year, which may start before the window
        rows = latest_rolling_year(frame, first, last).copy()
    else:
        starts = pd.to_datetime(frame["period_start"])
        inside = (starts >= pd.Timestamp(first)) & (starts <= pd.Timestamp(last))
        # A CSP's year row (public mode, rare strands) counts only in a window that holds the whole of it.
        yearly = year_rows(frame)
        if bool(yearly.any()):
            inside &= ~yearly | (pd.to_datetime(frame["period_end"]) <= pd.Timestamp(last) + pd.offsets.MonthEnd(0))
        rows = frame[inside].copy()
    if rows.empty:
        return pd.DataFrame(columns=PERIOD_COLUMNS)
    for column in COUNT_COLUMNS:
        if column in rows:
            rows[column] = pd.to_numeric(rows[column], errors="coerce").astype("float64")
    if "suppression" not in rows:
        rows["suppression"] = np.where(rows["suppressed"].astype(bool), PRIMARY, "")
    if "numerator_sq" in rows and rows["numerator_sq"].isna().all():
        rows = rows.drop(columns="numerator_sq")
    sums = {**count_sums(rows, measure),
            "suppressed": ("suppressed", "any"),
            "suppression": ("suppression", lambda s: PRIMARY if (s == PRIMARY).any() else
                            (SECONDARY if (s != "").any() else "")),
            "periods": ("period_start", "nunique")}
    period = rows.groupby(["area_code", "area_name", "area_type"], as_index=False, sort=False).agg(**sums)
    period["suppressed"] = period["suppressed"].astype(bool)
    # A window with a hidden period is hidden as a whole; it says why through its own rows.
    period.loc[period["suppressed"] & (period["suppression"] == ""), "suppression"] = SECONDARY
    # Residents are public (a rate's denominator stays for the table); counts of people are hidden.
    hidden_counts = ["numerator"] if measure.method == "rate_per_1000" else ["numerator", "denominator"]
    period.loc[period["suppressed"], hidden_counts] = np.nan
    period = add_values(period, measure, 0.95)
    strong = add_values(period[[c for c in period if c not in ("value", "lower_95", "upper_95")]], measure, 0.998)
    period["lower_998"], period["upper_998"] = strong["lower_95"].to_numpy(), strong["upper_95"].to_numpy()
    period.loc[period["suppressed"], ["value", "lower_95", "upper_95", "lower_998", "upper_998"]] = np.nan
    return period[PERIOD_COLUMNS]


def latest_rolling_year(frame: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    """The rows of the latest rolling year whose last month is in [first, last] (none: no rows)."""
    ends = pd.to_datetime(frame["period_end"]).dt.to_period("M").dt.to_timestamp()
    ending = ends[(ends >= pd.Timestamp(first)) & (ends <= pd.Timestamp(last))]
    if ending.empty:
        return frame.iloc[0:0]
    return frame[ends == ending.max()]


# --- the benchmark a CSP is compared with ---------------------------------------------------

def benchmark(rows: pd.DataFrame, measure: registry.Measure) -> tuple[float | None, str]:
    """The value CSPs are compared with, and what it is, from one period's (or window's) rows.

    The force's records located in one of its CSPs (the force less its unassigned bucket),
    so that records with no place do not lift the benchmark above the CSPs. Where the
    unassigned figure is suppressed, that subtraction would give it away: the force figure
    (all records) is the benchmark then, and the words say so. Both include the area itself.
    """
    force = rows[rows["area_type"] == "force"]
    if force.empty or pd.isna(force["value"].iloc[0]):
        return None, "no force value"
    unassigned = rows[rows["area_type"] == "unassigned"]
    if unassigned.empty or not bool(unassigned["suppressed"].astype(bool).any()):
        numerator = float(force["numerator"].iloc[0]) - float(pd.to_numeric(unassigned["numerator"]).sum())
        denominator = float(force["denominator"].iloc[0])
        if measure.method != "rate_per_1000":
            denominator -= float(pd.to_numeric(unassigned["denominator"]).fillna(0).sum())
        if denominator > 0:
            located = pd.DataFrame({"numerator": [numerator], "denominator": [denominator],
                                    "numerator_sq": [np.nan]})
            value = float(add_values(located, measure)["value"].iloc[0])
            share = "" if unassigned.empty or float(force["numerator"].iloc[0]) == 0 else (
                f" ({100 * (1 - numerator / float(force['numerator'].iloc[0])):.1f}% of the force's records, with no "
                "CSP, are left out)")
            return value, f"the force's records located in a CSP{share}; it includes the area itself"
    return float(force["value"].iloc[0]), "the force's figure for all its records; it includes the area itself"
