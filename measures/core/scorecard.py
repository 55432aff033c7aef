"""The Overview scorecard: for one area, each measure's latest value, change and signal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from measures.core import pipeline, registry, vocabulary

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
    target_met: bool | None
    suppressed: bool


def periods(frames: Iterable[pd.DataFrame]) -> list[dt.date]:
    """Every period start with data in any measure, oldest first (the 'up to' choices)."""
    starts: set[dt.date] = set()
    for frame in frames:
        starts.update(pd.to_datetime(frame["period_start"]).dt.date.unique())
    return sorted(starts)


def _row_at(frame: pd.DataFrame, period: pd.Timestamp) -> pd.Series | None:
    rows = frame[frame["period_start"] == period]
    return rows.iloc[0] if len(rows) else None


def card(measure: registry.Measure, frame: pd.DataFrame, area_code: str, as_of: dt.date | None = None) -> Card:
    """Summarise one measure for one area up to `as_of` (the latest period if None).

    The signal is the one the pipeline gave that period (measures.core.pipeline.add_signals: limits
    over the area's whole history), so the card, the measure page and the profile agree.

    A rolling year counts as of its last month (the year ending Jun 2025 is not out in Dec 2024),
    and has no "previous" period: the edition before overlaps it by six months, so the only
    change a card gives is on the year ending 12 months before.
    """
    rows = frame[frame["area_code"] == area_code].copy()
    rows["period_start"] = pd.to_datetime(rows["period_start"])
    rolling = measure.frequency == ROLLING_YEAR
    if as_of is not None:
        when = pd.to_datetime(rows["period_end"]).dt.to_period("M").dt.to_timestamp() if rolling else rows["period_start"]
        rows = rows[when <= pd.Timestamp(as_of)]
    rows = rows.sort_values("period_start")
    if rows.empty:
        return Card(measure, rows, None, None, None, "none", "none", None, False)
    latest = rows.iloc[-1]
    step = pd.DateOffset(months=3 if measure.frequency == "quarterly_cohort" else 1)
    previous = None if rolling else _row_at(rows, latest["period_start"] - step)
    year_before = _row_at(rows, latest["period_start"] - pd.DateOffset(months=12))
    signal, kind = latest_signal(latest)
    columns = [c for c in ("period_start", "period_end", "value", "suppressed", "signal", "period_type") if c in rows]
    return Card(measure, rows[columns], latest, previous, year_before, signal, kind,
                _target_met(measure, latest), bool(latest["suppressed"]))


def latest_signal(row: pd.Series) -> tuple[str, str]:
    """(meaning, point type) of one pipeline row: improvement / concern / change / none / not assessed."""
    meaning = row.get("signal_meaning")
    kind = row.get("signal")
    if bool(row.get("suppressed", False)):
        return "not assessed", "none"
    if meaning is None or (isinstance(meaning, float) and np.isnan(meaning)):
        return "none", "none"
    return str(meaning), (str(kind) if isinstance(kind, str) and kind else "none")


def _target_met(measure: registry.Measure, latest: pd.Series) -> bool | None:
    if not measure.target or pd.isna(latest["value"]):
        return None
    value, target = float(latest["value"]), float(measure.target["value"])
    return value <= target if measure.target.get("direction", "at_most") == "at_most" else value >= target


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


def year_before_label(row: pd.Series, frequency: str) -> str:
    """What a card's year-before change is on: "a year before", or for a rolling year the year ending
    12 months before the card's ("the year ending Jun 2024")."""
    if frequency != ROLLING_YEAR:
        return "a year before"
    start = pd.Timestamp(row["period_start"]) - pd.DateOffset(years=1)
    return f"the {period_label(start, frequency)}"  # its end: 11 months after its start


def figures_markdown(card: Card) -> str:
    """The latest value, interval, changes, signal (icon and word) and target of a card."""
    measure, latest = card.measure, card.latest
    assert latest is not None, "a card with no period has no figures"
    unit_word = "" if measure.unit in ("%", "minutes") else f" {measure.unit}"
    target = ""
    if card.target_met is not None and measure.target is not None:
        target = f" · Target ({measure.target['value']:g}): {'✅ met' if card.target_met else '❌ not met'}"
    year_before = f"{year_before_label(latest, measure.frequency)}: {change_text(latest, card.year_before, measure.unit)}"
    # Overlapping rolling years have no "previous" to compare with (see card).
    changes = (f"Change on {year_before}" if measure.frequency == ROLLING_YEAR else
               f"Change on previous: {change_text(latest, card.previous, measure.unit)}; on {year_before}")
    return (
        f"{vocabulary.sentence_start(row_period_label(latest, measure.frequency))}: "
        f"**{format_value(latest['value'], measure.unit)}**{unit_word}  \n"
        f"95% interval {format_value(latest['lower_95'], measure.unit)} to "
        f"{format_value(latest['upper_95'], measure.unit)}  \n"
        f"{changes}  \n"
        f"Signal: **{vocabulary.signal_label(card.signal)}**{target}"
    )
