"""Findings in plain English, one sentence per measure that has something to say.

Every claim comes from a statistic computed in measures.core.profile: "significantly higher
than the force" only when the area's 99.8% (or, said so, 95%) interval excludes the force
value; "has risen for N months in a row" only when the XmR trend rule fires at the latest
period; nothing at all for a suppressed figure or a period with no data.
"""

from __future__ import annotations

from measures.core import pipeline, scorecard
from measures.core.profile import ProfileRow, number

ILLUSTRATIVE_SUFFIX = " (illustrative data, not official statistics)"


def _rolling(row: ProfileRow) -> bool:
    return row.measure.frequency == pipeline.ROLLING_YEAR


def _with_unit(row: ProfileRow, value: float) -> str:
    text = number(value, row.measure.unit)
    if row.measure.unit == "%":
        return text
    # A rolling year's sentence names its year already ("In the year ending Jun 2025, ..."): the bare unit.
    return f"{text} {row.measure.unit if _rolling(row) else row.value_unit}"


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") and not name.endswith("ss") else f"{name}'s"


def _subject(row: ProfileRow, area_name: str) -> str:
    title = row.measure.title
    # "101 calls answered within 20 minutes" reads after "the share of"; rates read as "rate of ...".
    if row.measure.method == "rate_per_1000":
        what = f"rate of {_lower_first(title)}"
    elif row.measure.unit == "%":
        what = f"share of {_lower_first(title)}"
    else:
        what = _lower_first(title)
    return f"{possessive(area_name)} {what}"


def _lower_first(title: str) -> str:
    if title[:1].isupper() and not title[:2].isupper():
        return title[:1].lower() + title[1:]
    return title


def comparison_clause(row: ProfileRow) -> str | None:
    """'is significantly higher than the force's (11.8; 99.8% limits)', or None when not significant."""
    if row.status != "ok" or row.comparison not in ("higher", "lower") or row.confidence is None:
        return None
    force = number(row.force_value, row.measure.unit)
    if row.confidence >= 0.998:
        clause = f"is significantly {row.comparison} than the force's ({force}; 99.8% limits)"
    else:
        clause = (f"is {row.comparison} than the force's ({force}; significant at 95% but not at the "
                  "stricter 99.8% limits)")
    if row.judgement in ("better", "worse"):  # neutral measures get no verdict
        clause += f", which is {row.judgement} for this measure"
    return clause


def _period_word(row: ProfileRow, points: int) -> str:
    word = {"quarterly_cohort": "cohort", pipeline.ROLLING_YEAR: "rolling year"}.get(row.measure.frequency, "month")
    return f"{points} {word}{'s' if points != 1 else ''}"


def signal_clause(row: ProfileRow) -> str | None:
    """'has risen for 6 months in a row (...)' from the XmR signal at the latest period, or None."""
    run = row.run
    if run is None or row.signal == "none" or row.signal in pipeline.NOT_CHARTED:
        return None
    latest = scorecard.period_label(run.latest, row.measure.frequency)
    gaps = "" if run.contiguous else " (periods with no data skipped)"
    if run.kind == "trend":
        verb = "risen" if run.direction > 0 else "fallen"
        rises = run.points - 1
        text = (f"has {verb} for {_period_word(row, rises)} in a row to {latest}{gaps} "
                f"({run.points} points each {'higher' if run.direction > 0 else 'lower'} than the one before)")
    elif run.kind == "two_in_three":
        side = "upper" if run.direction > 0 else "lower"
        text = f"came close to its {side} process limit in 2 of the 3 periods to {latest}"
    elif run.kind == "shift":
        side = "above" if run.direction > 0 else "below"
        text = f"has been {side} its long-run average for {_period_word(row, run.points)} in a row to {latest}{gaps}"
    else:
        side = "above the upper" if run.direction > 0 else "below the lower"
        text = f"was unusually {'high' if run.direction > 0 else 'low'} in {latest} ({side} process limit)"
    if row.signal in ("improvement", "concern"):
        text += f", {'an improvement' if row.signal == 'improvement' else 'a concern'}"
    return text


def finding(row: ProfileRow, area_name: str, period: str) -> str | None:
    """One sentence about one measure, or None when the statistics support no claim."""
    if row.status != "ok":
        return None  # suppressed or no data: nothing is said
    comparison, signal = comparison_clause(row), signal_clause(row)
    if comparison is None and signal is None:
        return None
    subject = _subject(row, area_name)
    if comparison is not None:
        # A rolling year is read whole, whatever months the period holds: the sentence names that year.
        over = f"In the {row.period_text()}" if _rolling(row) and row.periods else f"Over {period}"
        sentence = f"{over}, {subject} ({_with_unit(row, row.value)}) {comparison}"
        if signal is not None:
            sentence += f"; the monthly series {signal}" if row.measure.frequency == "monthly" else f"; the series {signal}"
    else:
        sentence = f"{subject[:1].upper()}{subject[1:]} {signal}"
    if row.illustrative:
        sentence += ILLUSTRATIVE_SUFFIX
    return sentence + "."


def findings(rows: list[ProfileRow], area_name: str, period: str) -> list[str]:
    """The sentences, in registry order, for the measures that have something to say."""
    return [text for row in rows if (text := finding(row, area_name, period)) is not None]


def not_assessed(rows: list[ProfileRow]) -> dict[str, list[str]]:
    """Measure titles with no finding because their figure is suppressed or missing (said, never guessed)."""
    return {
        "suppressed": [r.measure.title for r in rows if r.status == "suppressed"],
        "no data": [r.measure.title for r in rows if r.status == "no data"],
    }

