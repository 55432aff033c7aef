"""Area profile: every registry measure for one area and period, against the force and the CSPs.

The data behind the spine chart (Fingertips style), the findings and the briefing pack:
for each measure, the area's value over the period with 95% and 99.8% intervals, the
force value, the range of the CSPs, the comparison with the force read through the
measure's polarity, and the control-chart (XmR) signal at the end of the period.

Period values add up the months (or quarterly cohorts) that start inside the period (for
cohorts, the latest year of them when none starts inside it: see measure_window):
numerators and denominators are summed (proportions, means), and a rate per 1,000
residents is the period's count over the residents, so a 12-month period gives an
annual rate. A month with no data adds nothing; a period with no data has no value.
Rolling years (ONS editions, which overlap) are never added up: a period is read as the latest
rolling year that ends in it, or the latest that ends before its end when none does (see
pipeline.period_values and measure_window), and the words name that year ("year ending Jun 2025").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from measures.core import export, pipeline, registry, scorecard, stats, vocabulary

CONFIDENCE_LEVELS = (0.998, 0.95)  # tested in this order: the stronger claim first

# What a comparison with the force means for each polarity (neutral measures are not judged).
JUDGEMENTS = {
    "higher_is_better": {"higher": "better", "lower": "worse"},
    "lower_is_better": {"higher": "worse", "lower": "better"},
    "neutral": {"higher": "higher", "lower": "lower"},
}


@dataclass
class SignalRun:
    """The control-chart signal at the latest period with data, and how long it has lasted."""

    kind: str  # outside_limits | trend | two_in_three | shift
    direction: int  # +1 up / above, -1 down / below
    points: int  # points in the run ending at the latest period (1 for a point outside the limits)
    since: pd.Timestamp  # first period of the run
    latest: pd.Timestamp
    contiguous: bool  # False when the run bridges periods with no data


@dataclass
class ProfileRow:
    """One measure on the spine chart for one area and period."""

    measure: registry.Measure
    status: str  # "ok" | "suppressed" | "no data"
    value: float = np.nan
    lower_95: float = np.nan
    upper_95: float = np.nan
    lower_998: float = np.nan
    upper_998: float = np.nan
    numerator: float = np.nan
    denominator: float = np.nan
    force_value: float = np.nan  # the benchmark the area is compared with (measures.core.pipeline.benchmark)
    benchmark_text: str = ""  # what that benchmark is, in words
    csp_values: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))  # area_name -> value
    csp_suppressed: int = 0  # CSPs whose value is suppressed (not in the range)
    comparison: str = "not compared"  # higher | lower | similar | not compared
    confidence: float | None = None  # 0.998 or 0.95 when the difference is significant
    judgement: str = "not compared"  # better | worse | higher | lower | similar | not compared
    periods: list[pd.Timestamp] = field(default_factory=list)  # periods with data inside the chosen period
    latest_available: pd.Timestamp | None = None  # the area's latest period with data at all
    card: scorecard.Card | None = None  # sparkline series and the Overview's signal word
    signal: str = "none"  # improvement | concern | change | none | not assessed
    run: SignalRun | None = None
    sparkline: pd.DataFrame = field(default_factory=pd.DataFrame)  # period_start, value (gaps as NaN)
    # Whether any row the profile row shows is illustrative (pipeline.illustrative): the window's values of
    # every area (the area, the benchmark, the CSP range) and the area's sparkline periods.
    illustrative: bool = False

    @property
    def value_unit(self) -> str:
        """The unit of the period value (a rate is per 1,000 residents over the whole period)."""
        if self.measure.method == "rate_per_1000":
            if self.measure.frequency == pipeline.ROLLING_YEAR:  # one year, named (periods holds its start)
                return f"{self.measure.unit} in the {self.period_text()}" if self.periods else self.measure.unit
            months = len(self.periods)
            return f"per 1,000 residents in {months} month{'s' if months != 1 else ''}"
        return self.measure.unit

    def period_text(self) -> str:
        """The period the value is for: "the year ending Jun 2025" for a rolling year, else the
        first to the last period with data ("" when there is none)."""
        if not self.periods:
            return ""
        first, last = (vocabulary.period_label(p, self.measure.frequency) for p in (self.periods[0], self.periods[-1]))
        return last if first == last else f"{first} to {last}"

    def csp_quantiles(self) -> tuple[float, float, float, float]:
        """(lowest, 25th percentile, 75th percentile, highest) of the CSP values: pandas' quantile (linear
        interpolation) worked on the array, as the Series methods' overhead is most of a spine table's cost."""
        values = self.csp_values.to_numpy(dtype="float64")
        values = values[~np.isnan(values)]
        if not len(values):
            return (np.nan,) * 4
        q1, q3 = np.quantile(values, [0.25, 0.75], method="linear")
        return (float(values.min()), float(q1), float(q3), float(values.max()))


def period_values(frame: pd.DataFrame, measure: registry.Measure, first: dt.date, last: dt.date,
                  public: bool = False) -> pd.DataFrame:
    """One row per area over the period: measures.core.pipeline.period_values (the frame is already
    suppressed in public mode, and a window with a hidden period is hidden as a whole there)."""
    return pipeline.period_values(frame, measure, first, last)


def compare(value: float, limits: dict[float, tuple[float, float]], benchmark: float) -> tuple[str, float | None]:
    """("higher" | "lower" | "similar" | "not compared", the confidence it is significant at, or None).

    `limits` maps a confidence (0.998, 0.95) to the area's interval at that confidence; the
    difference is significant at the highest confidence whose interval excludes the benchmark.
    """
    for confidence in CONFIDENCE_LEVELS:
        lower, upper = limits[confidence]
        outcome = stats.compare_to_benchmark(value, lower, upper, benchmark)
        if outcome == "not compared":
            return outcome, None
        if outcome in ("higher", "lower"):
            return outcome, confidence
    return "similar", None


def judge(comparison: str, polarity: str) -> str:
    """A comparison read through the measure's polarity: better / worse, or higher / lower when neutral."""
    return JUDGEMENTS[polarity].get(comparison, comparison)


# The run a point type belongs to, and its direction (NHSRplotthedots' names).
POINT_TYPE_RUNS = {
    "Above UCL": ("outside_limits", 1), "Below LCL": ("outside_limits", -1),
    "7 Point Trend (Increasing)": ("trend", 1), "7 Point Trend (Decreasing)": ("trend", -1),
    "2 in 3 Above CL": ("two_in_three", 1), "2 in 3 Below CL": ("two_in_three", -1),
    "7 Points Above CL": ("shift", 1), "7 Points Below CL": ("shift", -1),
}


def signal_run(rows: pd.DataFrame, frequency: str) -> SignalRun | None:
    """The pipeline's signal at an area's latest period with a value, with the length of its run.

    `rows` are one area's pipeline rows (period_start, value, signal) up to the period read.
    """
    # The rows with a value, oldest first, as positions in `present`: only the run's rows are taken from the
    # frame (pandas selections of every column cost far more than the work on a few rows).
    present = rows
    order = np.flatnonzero(rows["value"].notna().to_numpy())
    starts = rows["period_start"].iloc[order]
    if not (starts.is_monotonic_increasing and starts.is_unique):  # the callers' rows are in order already
        present = rows.iloc[order].sort_values("period_start")
        order = np.arange(len(present))
    types = present["signal"].to_numpy()[order]
    if not len(types) or types[-1] not in POINT_TYPE_RUNS:
        return None
    point_type = types[-1]
    kind, direction = POINT_TYPE_RUNS[point_type]
    points = 0
    for value in types[::-1]:  # back from the latest point while the run goes on
        if value != point_type:
            break
        points += 1
    if kind == "outside_limits":
        points = 1
    run = present.iloc[order[len(order) - points:]]
    starts = pd.to_datetime(run["period_start"])
    if bool(pipeline.year_rows(run).all()):  # an area published by year (its first year may start late)
        spanned = int(starts.dt.year.max() - starts.dt.year.min()) + 1
    else:
        spanned = len(pipeline.calendar(starts, frequency))
    return SignalRun(kind, direction, points, pd.Timestamp(starts.iloc[0]), pd.Timestamp(starts.iloc[-1]),
                     spanned == points)


COHORTS_IN_A_YEAR = 4


def measure_window(frame: pd.DataFrame, measure: registry.Measure, first: dt.date,
                   last: dt.date) -> tuple[dt.date, dt.date]:
    """The period a measure is read over: the chosen months; but for quarterly reoffending cohorts,
    which are published about 18 months after they start, the latest year of cohorts starting by
    the end of the period when none starts inside it (as Fingertips shows each indicator's latest);
    for rolling years, the latest year ending by the end of the period when none ends inside it
    (pipeline.period_values then reads that one year)."""
    if measure.frequency == pipeline.ROLLING_YEAR and not frame.empty:
        ends = pd.to_datetime(frame["period_end"]).dt.to_period("M").dt.to_timestamp()
        if not ((ends >= pd.Timestamp(first)) & (ends <= pd.Timestamp(last))).any():
            earlier = ends[ends <= pd.Timestamp(last)]
            if len(earlier):
                return earlier.max().date(), earlier.max().date()
        return first, last
    if measure.frequency != "quarterly_cohort" or frame.empty:
        return first, last
    starts = sorted(pd.to_datetime(frame["period_start"]).dt.date.unique())
    if any(first <= start <= last for start in starts):
        return first, last
    earlier = [start for start in starts if start <= last]
    if not earlier:
        return first, last
    return earlier[-COHORTS_IN_A_YEAR:][0], earlier[-1]


@dataclass(frozen=True)
class Window:
    """What a profile row reads of a measure's period that is the same for every area: its window,
    every area's values over it, the benchmark and the CSPs' values. Computed once per period, it serves
    every area (a page asked for another area only picks that area's row)."""

    first: dt.date
    last: dt.date
    period: pd.DataFrame  # pipeline.period_values: one row per area
    benchmark: float | None
    benchmark_text: str
    csp_values: pd.Series  # area_name -> value of every CSP (shared by every area's row: read, never changed)
    csp_suppressed: int  # CSPs whose value is suppressed
    illustrative: bool  # pipeline.illustrative(period)
    values: dict[str, dict]  # area code -> its row of `period` as a dict (the first, where there are several)
    # The measure's rows split by area (scorecard.rows_by_area), when the caller keeps them: a row then
    # reads its area's rows from here instead of filtering the whole frame (most of a profile's cost).
    by_area: dict[str, pd.DataFrame] | None = None


def window_of(measure: registry.Measure, frame: pd.DataFrame, first: dt.date, last: dt.date,
           public: bool = False, by_area: dict[str, pd.DataFrame] | None = None) -> Window:
    w_first, w_last = measure_window(frame, measure, first, last)
    period = period_values(frame, measure, w_first, w_last, public)
    benchmark, text = pipeline.benchmark(period, measure)
    csps = period[period["area_type"] == "csp"]
    values: dict[str, dict] = {}
    for record in period.to_dict("records"):
        values.setdefault(record["area_code"], record)
    return Window(w_first, w_last, period, benchmark, text, csps.set_index("area_name")["value"].astype("float64"),
                  int(csps["suppressed"].sum()), pipeline.illustrative(period), values, by_area)


def windows(frames: dict[str, pd.DataFrame], first: dt.date, last: dt.date,
            public: bool = False, by_area: dict[str, dict[str, pd.DataFrame]] | None = None) -> dict[str, Window]:
    """Every registry measure's Window for the period (measure id -> Window); `by_area` maps a measure id
    to scorecard.rows_by_area of its frame, when the caller has them."""
    empty = pd.DataFrame(columns=export.COLUMNS)
    return {m.id: window_of(m, frames.get(m.id, empty), first, last, public, (by_area or {}).get(m.id))
            for m in registry.measures()}


def profile_row(measure: registry.Measure, frame: pd.DataFrame, area_code: str, force_code: str,
                first: dt.date, last: dt.date, public: bool = False, shared: Window | None = None) -> ProfileRow:
    """Everything the spine chart, the findings and the pack say about one measure (`shared`: the
    period's Window, if already worked out for another area)."""
    card_as_of = last
    shared = shared or window_of(measure, frame, first, last, public)
    first, last = shared.first, shared.last
    # Every row of the area (all periods), oldest first: the card and the lines below read only these.
    if shared.by_area is not None:
        everything = shared.by_area.get(area_code)
    else:
        everything = scorecard.rows_by_area(frame[frame["area_code"].to_numpy() == area_code]).get(area_code)
    if everything is None:
        everything = frame.iloc[:0][[c for c in scorecard.CARD_COLUMNS if c in frame]]
    card = scorecard.card(measure, frame, area_code, card_as_of, area_rows=everything)
    area_rows = card.series
    # Pandas calls on these small frames cost far more than the work: the lines below read NumPy arrays,
    # and the row is made with its CSP values (the shared ones) rather than an empty Series made and dropped.
    row = ProfileRow(measure, "no data", card=card, csp_values=shared.csp_values, csp_suppressed=shared.csp_suppressed)
    starts = everything["period_start"].to_numpy()  # the area's rows' period starts, oldest first
    if len(area_rows):
        latest = area_rows["period_start"].to_numpy()
        latest = latest[~np.isnat(latest)]
        row.latest_available = pd.Timestamp(latest.max() if len(latest) else pd.NaT)
        trend = scorecard.trend(card)
        row.sparkline = pd.DataFrame({"period_start": trend.index, "value": trend.to_numpy()})
        row.illustrative = _flagged(everything, np.isin(starts, trend.index.to_numpy()))
        # The signal the pipeline gave the latest period (the Overview's and the measure page's too).
        row.signal = card.signal
        if card.signal != "none" and card.signal not in pipeline.NOT_CHARTED:  # the card's rows: the area's up to the period
            row.run = signal_run(area_rows, measure.frequency)
    # The benchmark: the force's records located in a CSP (measures.core.pipeline.benchmark says which).
    benchmark, row.benchmark_text = shared.benchmark, shared.benchmark_text
    if benchmark is not None:
        row.force_value = benchmark
    row.illustrative = row.illustrative or shared.illustrative
    mine = shared.values.get(area_code)
    if mine is None:
        return row
    if measure.frequency == pipeline.ROLLING_YEAR:  # the one year read (it may start before the period)
        year = pipeline.latest_rolling_year(everything, first, last)
        row.periods = sorted(pd.to_datetime(year["period_start"]).unique())
    else:
        inside = starts[(starts >= np.datetime64(first)) & (starts <= np.datetime64(last))]
        row.periods = list(pd.DatetimeIndex(np.unique(inside)))
    if bool(mine["suppressed"]):
        row.status = "suppressed"
        return row
    if pd.isna(mine["value"]):
        return row
    row.status = "ok"
    for name in ("value", "lower_95", "upper_95", "lower_998", "upper_998", "numerator", "denominator"):
        setattr(row, name, float(mine[name]))
    if area_code != force_code:  # the force is the benchmark: it is not compared with itself
        limits = {0.998: (row.lower_998, row.upper_998), 0.95: (row.lower_95, row.upper_95)}
        row.comparison, row.confidence = compare(row.value, limits, row.force_value)
        row.judgement = judge(row.comparison, measure.polarity)
    return row


def _flagged(rows: pd.DataFrame, chosen: np.ndarray) -> bool:
    """pipeline.illustrative(rows[chosen]), read from the flag column's array (selecting the rows of every
    column first cost many times as much)."""
    if pipeline.ILLUSTRATIVE not in rows:
        return False
    flags = rows[pipeline.ILLUSTRATIVE]
    if flags.dtype != bool:  # as pipeline.illustrative: a missing flag is not illustrative
        flags = flags.fillna(False).astype(bool)
    return bool(flags.to_numpy()[chosen].any())


def profile(frames: dict[str, pd.DataFrame], area_code: str, force_code: str, first: dt.date, last: dt.date,
            public: bool = False, shared: dict[str, Window] | None = None) -> list[ProfileRow]:
    """Every registry measure (registry order) for one area and period; `frames` maps measure id to its frame,
    `shared` (optional) measure id to the period's Window (see `windows`)."""
    empty = pd.DataFrame(columns=export.COLUMNS)
    return [profile_row(m, frames.get(m.id, empty), area_code, force_code, first, last, public,
                        (shared or {}).get(m.id)) for m in registry.measures()]


def available_months(frames: dict[str, pd.DataFrame]) -> list[dt.date]:
    """Every calendar month from the first to the last period with data in any measure."""
    return months_between(scorecard.periods(frames.values()))


def months_between(starts: list[dt.date]) -> list[dt.date]:
    """Every calendar month from the first of `starts` (scorecard.periods) to the last."""
    if not starts:
        return []
    months = pd.date_range(pd.Timestamp(starts[0]), pd.Timestamp(starts[-1]), freq="MS")
    return [m.date() for m in months]


def default_period(months: list[dt.date], length: int = 12) -> tuple[dt.date, dt.date]:
    """The latest `length` months with data."""
    return months[max(0, len(months) - length)], months[-1]


def period_label(first: dt.date, last: dt.date) -> str:
    return f"{first:%b %Y}" if first == last else f"{first:%b %Y} to {last:%b %Y}"


# --- words and the table behind the charts ---------------------------------------------------

JUDGEMENT_LABELS = {
    "better": "✔ Better than the force", "worse": "✖ Worse than the force",
    "higher": "▲ Higher than the force", "lower": "▼ Lower than the force",
    "similar": "● Similar to the force", "not compared": "– Not compared",
}
SIGNAL_LABELS = vocabulary.SIGNAL_LABELS


number = vocabulary.number  # one way to write a value, everywhere


def comparison_text(row: ProfileRow) -> str:
    """The comparison with the force in words, with the confidence it holds at."""
    if row.status == "suppressed":
        return "– Not compared (suppressed)"
    if row.status == "no data":
        return "– Not compared (no data)"
    text = JUDGEMENT_LABELS[row.judgement]
    if row.confidence is not None:
        text += f" ({row.confidence:.1%})".replace(".0%", "%")
    return text


def value_text(row: ProfileRow) -> str:
    """The area's value, or 'suppressed' / 'no data' (never 0 for either)."""
    if row.status != "ok":
        return row.status
    return number(row.value, row.measure.unit)


def assurance_text(row: ProfileRow) -> str:
    """The target of the area's latest period and its assurance ("Target at most 5%: ≈ Hit and miss..."), or
    "No target": the Overview card's (measures.core.scorecard.target_text), in the profile's words."""
    card = row.card
    if card is None or card.target is None:
        return "No target"
    return f"Target {card.target.text()}: {vocabulary.assurance_label(card.assurance)}"


def spine_table(rows: list[ProfileRow], area_name: str) -> pd.DataFrame:
    """One row per measure with everything the spine chart and the pack's tables show."""
    records = []
    for row in rows:
        low, q1, q3, high = row.csp_quantiles()
        unit = row.measure.unit
        records.append({
            "measure_id": row.measure.id, "title": row.measure.title, "theme": row.measure.theme,
            "area_name": area_name, "polarity": row.measure.polarity, "unit": unit, "status": row.status,
            "value": row.value if row.status == "ok" else np.nan, "lower_95": row.lower_95, "upper_95": row.upper_95,
            "value_text": value_text(row), "value_unit": "" if unit == "%" else row.value_unit,
            "interval_text": f"{number(row.lower_95, unit)} to {number(row.upper_95, unit)}" if row.status == "ok" else "–",
            "force_value": row.force_value, "force_text": number(row.force_value, unit),
            "csp_min": low, "csp_q1": q1, "csp_q3": q3, "csp_max": high,
            "range_text": (f"{number(low, unit)} to {number(high, unit)}" if pd.notna(low) else "–")
            + (f" ({row.csp_suppressed} suppressed)" if row.csp_suppressed else ""),
            "judgement": row.judgement, "confidence": row.confidence, "comparison_text": comparison_text(row),
            "signal": row.signal, "signal_text": SIGNAL_LABELS[row.signal], "illustrative": row.illustrative,
            "assurance_text": assurance_text(row),
            "periods": len(row.periods),
        })
    return pd.DataFrame.from_records(records)
