"""The dashboard's words: labels, number formats and fixed sentences, written once.

Every page, export, finding and pack takes its wording from here, so that one idea is said
one way everywhere (a signal, a suppression, a comparison).
"""

from __future__ import annotations

import pandas as pd

# A control-chart point's meaning (measures.core.spc.signal_meaning, or "not assessed" in public mode
# where a baseline holds a suppressed period), with an icon and a word: never colour alone.
# Symbols the pack's font (DejaVu) has, so the PDF and a browser without an emoji font show them.
SIGNAL_LABELS = {
    "improvement": "✔ Improvement",
    "concern": "⚠ Concern",
    "change": "◆ Change",
    "none": "– No signal",
    "not assessed": "– Not assessed (suppressed periods)",
    # measures.core.pipeline.NOT_ASSESSED_ROLLING: rolling years overlap, so no chart is drawn over them
    "not assessed (rolling years)": "– Not assessed (overlapping rolling years)",
}
SIGNAL_WORDS = {"improvement": "improvement", "concern": "concern", "change": "change", "none": "no signal",
                "not assessed": "not assessed", "not assessed (rolling years)": "not assessed"}

# Whether a target will be met ("Making Data Count" assurance: measures.core.spc.assurance, the
# pipeline's `assurance` column), with an icon and a word: never colour alone.
ASSURANCE_LABELS = {
    "consistently passes": "✓ Consistently passes the target",
    "consistently fails": "✗ Consistently fails the target",
    "hit and miss": "≈ Hit and miss: passes and fails by chance",
    "not assessed": "– Target not assessed (no control chart)",
    "": "– No target",
}
ASSURANCE_WORDS = {"consistently passes": "consistently passes", "consistently fails": "consistently fails",
                   "hit and miss": "hit and miss", "not assessed": "not assessed", "": "no target"}


def assurance_label(assurance: str | None) -> str:
    """The icon and words of a row's assurance ("– No target" where the measure has none)."""
    return ASSURANCE_LABELS.get(assurance or "", ASSURANCE_LABELS[""])


# Why a figure is hidden on the public site (measures.core.pipeline's `suppression` values).
SUPPRESSION_TEXT = {
    "primary": "fewer than 5",
    "secondary": "hidden to protect another small count",
}
SUPPRESSION_RULE = (
    "Counts from 1 to 4 in a CSP are suppressed (fewer than 5); other figures that would let one be worked out "
    "(by subtraction from a total, another period or another offender type) are hidden to protect it, and the "
    "figure for a period is hidden when a month or cohort in it is."
)
TRIAL_LIMITS = "trial limits (fewer than 12 points in the baseline)"
ILLUSTRATIVE_LABEL = "Illustrative data, not official statistics"
ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."


def signal_label(meaning: str | None) -> str:
    """The icon and word of a point's signal meaning ("none" where there is none)."""
    return SIGNAL_LABELS.get(meaning or "none", SIGNAL_LABELS["none"])


def suppression_text(kind: str | None) -> str:
    """Why a figure is hidden, in words ("suppressed" when the reason is not known)."""
    return SUPPRESSION_TEXT.get(kind or "", "suppressed")


def number(value: float | None, unit: str) -> str:
    """A value as tables and findings quote it: 14.2, 91.6%, 4.55, 1,234 (the unit is said beside it)."""
    if value is None or pd.isna(value):
        return "–"
    if unit == "%":
        return f"{value:.1f}%"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def period_label(period: pd.Timestamp, frequency: str, period_end: pd.Timestamp | None = None) -> str:
    """A period as cards and tables name it: "Dec 2025", "cohort Apr 2018" for a cohort, or
    "year ending Jun 2025" for a rolling year (by its end: ONS names its editions so; without
    `period_end`, the twelfth month from `period`)."""
    if frequency == "quarterly_cohort":
        return f"cohort {period:%b %Y}"
    if frequency == "rolling_year":
        end = pd.Timestamp(period_end) if period_end is not None else pd.Timestamp(period) + pd.DateOffset(months=11)
        return f"year ending {end:%b %Y}"
    return f"{period:%b %Y}"


def sentence_start(text: str) -> str:
    """Text that opens a line or sentence, with a capital ("Year ending Jun 2025", "Jun 2025")."""
    return text[:1].upper() + text[1:]


def residents_note() -> str:
    """Where every rate's residents come from, with the year carried forward (one sentence for every page)."""
    from measures.data import config

    latest = config.latest_population_year()
    return (f"Residents: ONS mid-year population estimates of each period's year (mid-2011 to mid-{latest}); "
            f"periods after {latest} use mid-{latest}, the latest published.")
