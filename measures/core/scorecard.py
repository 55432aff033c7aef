"""The Overview scorecard: for one area, each measure's latest value, change, signal and assurance.

The change "since" a reference period (the address's since=YYYY-MM; by default the same period a year
before) is the latest value less the reference period's, with its 95% interval from the two values'
own intervals (measures.core.stats.difference_interval): significant when that interval excludes 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from measures.core import pipeline, registry, stats, vocabulary

SIGNAL_ICONS = vocabulary.SIGNAL_LABELS
ROLLING_YEAR = pipeline.ROLLING_YEAR


@dataclass
class Card:
    measure: registry.Measure
    series: pd.DataFrame  # period_start, value for the area (one row per period with data)
    latest: pd.Series | None
    previous: pd.Series | None
    year_before: pd.Series | None  # the period 12 months before (for a rolling year: the year ending a year before)
    signal: str  # improvement | concern | change | none | not assessed
    signal_kind: str  # the point type, as NHSRplotthedots names it ("7 Points Above CL"), or "none"
    target_met: bool | None  # the latest value against the target that applies to it (None: no target)
    suppressed: bool
    since: pd.Series | None = None  # the reference period's row (since=YYYY-MM, default a year before)
    change: Change | None = None  # latest less the reference period, with its 95% interval
    assurance: str = ""  # the pipeline's assurance of the latest row ("" no target; see vocabulary)
    target: registry.Target | None = None  # the target that applies to the latest period, if any
    illustrative: bool = False  # any of the area's rows up to the card's period was loaded as illustrative


@dataclass(frozen=True)
class Change:
    delta: float
    lower: float
    upper: float

    @property
    def significant(self) -> bool:
        """The 95% interval of the change excludes no change."""
        return bool(self.lower > 0 or self.upper < 0)


def periods(frames: Iterable[pd.DataFrame]) -> list[dt.date]:
    """Every period start with data in any measure, oldest first (the 'up to' choices)."""
    starts: set[dt.date] = set()
    for frame in frames:
        starts.update(pd.to_datetime(frame["period_start"]).dt.date.unique())
    return sorted(starts)


# The columns a card reads: a card works on the area's rows of these only (the pipeline's frame has
# thirty, and copying them all for every measure was most of the Overview's cost).
CARD_COLUMNS = ("period_start", "period_end", "area_code", "value", "lower_95", "upper_95", "suppressed",
                "suppression", "signal", "signal_meaning", "period_type", "target", "assurance", "illustrative")


def rows_by_area(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A measure's rows as cards read them, split by area once (a page keeps this per data version and
    gives `card` an area's rows): the CARD_COLUMNS, period_start as a timestamp, oldest first, and for
    a rolling year the month it is out in (`as_of_month`, its end's month)."""
    rows = frame[[c for c in CARD_COLUMNS if c in frame]].copy()
    rows["period_start"] = pd.to_datetime(rows["period_start"])
    if "period_end" in rows:
        rows["as_of_month"] = pd.to_datetime(rows["period_end"]).dt.to_period("M").dt.to_timestamp()
    rows = rows.sort_values("period_start", kind="stable")
    return {str(code): part for code, part in rows.groupby("area_code", sort=False)}


def card(measure: registry.Measure, frame: pd.DataFrame, area_code: str, as_of: dt.date | None = None,
         since: dt.date | None = None, area_rows: pd.DataFrame | None = None) -> Card:
    """Summarise one measure for one area up to `as_of` (the latest period if None).

    The signal is the one the pipeline gave that period (measures.core.pipeline.add_signals: limits
    over the area's whole history), so the card, the measure page and the profile agree.

    A rolling year counts as of its last month (the year ending Jun 2025 is not out in Dec 2024),
    and has no "previous" period: the edition before overlaps it by six months, so the only
    change a card gives is on the year ending 12 months before.

    `area_rows`: the area's rows from rows_by_area(frame), when the caller has them (`frame` is then
    not read).
    """
    if area_rows is None:
        area_rows = rows_by_area(frame[frame["area_code"].to_numpy() == area_code]).get(area_code)
    rows = area_rows if area_rows is not None else frame.iloc[:0][[c for c in CARD_COLUMNS if c in frame]]
    rolling = measure.frequency == ROLLING_YEAR
    if as_of is not None and len(rows):
        when = (rows["as_of_month"] if rolling else rows["period_start"]).to_numpy()
        kept = when <= np.datetime64(pd.Timestamp(as_of))
        if not kept.all():  # most cards are as of their latest period: no copy of the rows then
            rows = rows[kept]
    if rows.empty:
        return Card(measure, rows, None, None, None, "none", "none", None, False)
    position = {start: index for index, start in enumerate(rows["period_start"])}

    def row_at(start: pd.Timestamp) -> pd.Series | None:
        index = position.get(start)
        return None if index is None else rows.iloc[index]

    latest = rows.iloc[-1]
    step = pd.DateOffset(months=3 if measure.frequency == "quarterly_cohort" else 1)
    previous = None if rolling else row_at(latest["period_start"] - step)
    year_before = row_at(latest["period_start"] - pd.DateOffset(months=12))
    reference = year_before if since is None else reference_row(rows, measure, since, latest)
    signal, kind = latest_signal(latest)
    columns = [c for c in ("period_start", "period_end", "value", "suppressed", "signal", "period_type") if c in rows]
    target = measure.target if "target" in latest and pd.notna(latest["target"]) else None
    return Card(measure, rows[columns], latest, previous, year_before, signal, kind,
                _target_met(target, latest), bool(latest["suppressed"]), since=reference,
                change=change(latest, reference), assurance=str(latest.get("assurance") or ""), target=target,
                illustrative=pipeline.illustrative(rows))


def period_starts(frame: pd.DataFrame) -> list[dt.date]:
    """Every period start a measure has data for, in any area, oldest first."""
    return sorted(pd.to_datetime(frame["period_start"]).dt.date.unique())


def card_period(starts: list[dt.date], card: Card, as_of: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The card's period (its latest, else the measure's latest up to as_of) and the start of the
    twelve months that end there, both months the measure has data for (`starts`: period_starts of
    the measure's frame): the period the card's link opens its measure page at."""
    if card.latest is not None:
        last = pd.Timestamp(card.latest["period_start"]).date()
    else:
        last = next((s for s in reversed(starts) if s <= as_of), None)
    if last is None:
        return None, None
    if card.measure.frequency == ROLLING_YEAR:  # one ONS year is the period itself
        return last, last
    first_allowed = (pd.Timestamp(last) - pd.DateOffset(months=11)).date()
    first = next((s for s in starts if first_allowed <= s <= last), last)
    return first, last


# Points of a trend (the Overview's and the profile's sparkline): three years of months or cohorts; rolling
# years as published (up to 12 editions).
TREND_PERIODS = {"monthly": 36, "quarterly_cohort": 12, ROLLING_YEAR: 12}


def trend(card: Card) -> pd.Series:
    """The card's recent values by period start over calendar periods, oldest first: a period with no data
    is NaN (a gap, never 0)."""
    series = card.series
    if series.empty:
        return pd.Series(dtype="float64")
    values = pd.Series(series["value"].to_numpy(dtype="float64", na_value=np.nan),
                       index=pd.DatetimeIndex(series["period_start"]), name="value")
    values = values.reindex(pipeline.calendar(values.index, pipeline.series_frequency(card.measure, series)))
    return values.iloc[-TREND_PERIODS.get(card.measure.frequency, 36):]


def reference_row(rows: pd.DataFrame, measure: registry.Measure, since: dt.date, latest: pd.Series) -> pd.Series | None:
    """The area's row for the period that holds the month `since` (a cohort starting in its quarter; the
    rolling year ending in it), if it is before the latest period and has data."""
    month = pd.Timestamp(since).to_period("M").to_timestamp()
    if measure.frequency == ROLLING_YEAR:
        ends = pd.to_datetime(rows["period_end"]).dt.to_period("M").dt.to_timestamp()
        found = rows[ends == month]
    elif measure.frequency == "quarterly_cohort":
        starts = pd.to_datetime(rows["period_start"])
        found = rows[(starts <= month) & (month < starts + pd.DateOffset(months=3))]
    else:
        found = rows[pd.to_datetime(rows["period_start"]) == month]
    if found.empty or pd.Timestamp(found.iloc[0]["period_start"]) >= pd.Timestamp(latest["period_start"]):
        return None
    return found.iloc[0]


def change(latest: pd.Series | None, reference: pd.Series | None) -> Change | None:
    """The latest value less the reference period's, with its 95% interval (None: nothing to compare)."""
    if latest is None or reference is None:
        return None
    delta, lower, upper = stats.difference_interval(
        *(_number(row.get(c)) for row in (latest, reference) for c in ("value", "lower_95", "upper_95")))
    return None if np.isnan(delta) else Change(delta, lower, upper)


def latest_signal(row: pd.Series) -> tuple[str, str]:
    """(meaning, point type) of one pipeline row: improvement / concern / change / none / not assessed."""
    meaning = row.get("signal_meaning")
    kind = row.get("signal")
    if bool(row.get("suppressed", False)):
        return "not assessed", "none"
    if meaning is None or (isinstance(meaning, float) and np.isnan(meaning)):
        return "none", "none"
    return str(meaning), (str(kind) if isinstance(kind, str) and kind else "none")


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]  # None, pd.NA and text give NaN below
    except (TypeError, ValueError):
        return np.nan
    return number


def _target_met(target: registry.Target | None, latest: pd.Series) -> bool | None:
    if target is None or pd.isna(latest["value"]):
        return None
    return target.passes(float(latest["value"]))


def format_value(value: float | None, unit: str) -> str:
    """A card's value: vocabulary.number, with minutes said as "min" (the card has no unit column)."""
    text = vocabulary.number(value, unit)
    return f"{text} min" if unit == "minutes" and text != "–" else text


def change_text(latest: pd.Series | None, other: pd.Series | None, unit: str) -> str:
    if latest is None or other is None or pd.isna(latest["value"]) or pd.isna(other["value"]):
        return "no comparison"
    delta = float(latest["value"]) - float(other["value"])
    if np.isclose(delta, 0):
        return "no change"
    sign = "+" if delta > 0 else "−"
    suffix = " pts" if unit == "%" else (" min" if unit == "minutes" else "")
    return f"{sign}{abs(delta):.2f}{suffix}" if suffix != " pts" else f"{sign}{abs(delta):.1f} pts"


def row_period_label(row: pd.Series, frequency: str) -> str:
    """The period a row stands for: a month, a cohort, or a CSP's year (public mode, rare strands)."""
    if row.get("period_type") == "year":
        start, end = pd.Timestamp(row["period_start"]), pd.Timestamp(row["period_end"])
        whole = start.month == 1 and end.month == 12
        return f"{start:%Y}" if whole else f"{start:%b} to {end:%b %Y}"
    end = row.get("period_end")
    return period_label(pd.Timestamp(row["period_start"]), frequency,
                        None if end is None or pd.isna(end) else pd.Timestamp(end))


period_label = vocabulary.period_label  # one way to name a period, everywhere


def since_label(card: Card, since: dt.date | None) -> str:
    """What a card's "since" change is on: the reference period ("Dec 2024", "the year ending Jun 2024"),
    or, where it has no data, the period asked for (by default the same period a year before)."""
    measure, latest = card.measure, card.latest
    if card.since is not None:
        label = row_period_label(card.since, measure.frequency)
        return f"the {label}" if measure.frequency == ROLLING_YEAR else label
    if since is not None:
        return vocabulary.period_label(pd.Timestamp(since), "monthly")
    assert latest is not None, "a card with no period has no reference period"
    if measure.frequency == ROLLING_YEAR:
        start = pd.Timestamp(latest["period_start"]) - pd.DateOffset(years=1)
        return f"the {period_label(start, measure.frequency)}"  # its end: 11 months after its start
    return row_period_label(pd.Series({"period_start": pd.Timestamp(latest["period_start"]) - pd.DateOffset(years=1)}),
                            measure.frequency)


def since_text(card: Card, unit: str) -> str:
    """The change since the reference period and whether it is significant: "−0.50 min (not significant)"."""
    if card.change is None:
        return "no comparison"
    delta = card.change.delta
    if np.isclose(delta, 0):
        return "no change (not significant)" if not card.change.significant else "no change"
    return f"{change_text(card.latest, card.since, unit)} ({'significant' if card.change.significant else 'not significant'})"


def target_text(card: Card) -> str:
    """The target and its assurance in words, or that there is none: never colour alone."""
    if card.target is None:
        return "Target: none stated"
    met = "" if card.target_met is None else (" (met in this period)" if card.target_met else " (not met in this period)")
    return f"Target: {card.target.text()}{met} · Assurance: {vocabulary.assurance_markdown(card.assurance)}"


def figures_markdown(card: Card, since: dt.date | None = None) -> str:
    """The latest value, interval, changes, signal (icon and word), target and assurance of a card."""
    measure, latest = card.measure, card.latest
    assert latest is not None, "a card with no period has no figures"
    unit_word = "" if measure.unit in ("%", "minutes") else f" {measure.unit}"
    since_part = f"since {since_label(card, since)}: {since_text(card, measure.unit)}"
    # Overlapping rolling years have no "previous" to compare with (see card).
    changes = (f"Change {since_part}" if measure.frequency == ROLLING_YEAR else
               f"Change on previous: {change_text(latest, card.previous, measure.unit)}; {since_part}")
    return (
        f"{vocabulary.sentence_start(row_period_label(latest, measure.frequency))}: "
        f"**{format_value(latest['value'], measure.unit)}**{unit_word}  \n"
        f"95% interval {format_value(latest['lower_95'], measure.unit)} to "
        f"{format_value(latest['upper_95'], measure.unit)}  \n"
        f"{changes}  \n"
        f"Signal: {vocabulary.signal_markdown(card.signal)}  \n"
        f"{target_text(card)}"
    )


TABLE_COLUMNS = ["Theme", "Measure", "Period", "Value", "Unit", "95% interval", "Variation", "Target", "Assurance",
                 "Change since", "Change", "Significant change", "Commentary", "Data", "Measure id"]


def table(cards: list[Card], since: dt.date | None = None, comments: dict[str, str] | None = None) -> pd.DataFrame:
    """The scorecard as one row per measure, in theme order: what the Overview's table and its CSV show.

    `comments` maps a measure id to the first line of its latest commentary for the area.
    """
    comments = comments or {}
    rows = []
    for card in cards:
        measure, latest = card.measure, card.latest
        row: dict[str, object] = {
               "Theme": measure.theme, "Measure": measure.title, "Unit": measure.unit, "Measure id": measure.id,
               "Data": vocabulary.ILLUSTRATIVE_LABEL if card.illustrative else "Official or open data",
               "Commentary": comments.get(measure.id, ""),
               "Target": card.target.text() if card.target else "none stated",
               "Assurance": vocabulary.assurance_label(card.assurance) if card.target else ""}
        if latest is None:
            row.update({"Period": "no data", "Variation": "", "Change since": "", "Change": "", "Value": np.nan})
        elif card.suppressed:
            row.update({"Period": row_period_label(latest, measure.frequency), "Value": np.nan,
                        "95% interval": vocabulary.suppression_text(latest.get("suppression")),
                        "Variation": vocabulary.signal_label(card.signal), "Change since": since_label(card, since),
                        "Change": "no comparison"})
        else:
            row.update({
                "Period": row_period_label(latest, measure.frequency), "Value": float(latest["value"]),
                "95% interval": f"{format_value(latest['lower_95'], measure.unit)} to "
                                f"{format_value(latest['upper_95'], measure.unit)}",
                "Variation": vocabulary.signal_label(card.signal), "Change since": since_label(card, since),
                "Change": change_text(latest, card.since, measure.unit) if card.change else "no comparison",
                "Significant change": ("yes" if card.change.significant else "no") if card.change else ""})
        rows.append(row)
    return pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS)
