"""The dashboard's words: labels, number formats and fixed sentences, written once.

Every page, export, finding and pack takes its wording from here, so that one idea is said
one way everywhere (a signal, a suppression, a comparison).
"""

from __future__ import annotations

import base64
import html

import pandas as pd

# A control-chart point's meaning (measures.core.spc.signal_meaning, or "not assessed" in public mode
# where a baseline holds a suppressed period), in words: never colour alone. Plain text, for cells that
# cannot draw an icon (st.dataframe, CSV); HTML and the pack add the SVG icon of signal_icon before it.
SIGNAL_LABELS = {
    "improvement": "Improvement",
    "concern": "Concern",
    "change": "Change",
    "none": "No signal",
    "not assessed": "Not assessed (suppressed periods)",
    # measures.core.pipeline.NOT_ASSESSED_ROLLING: rolling years overlap, so no chart is drawn over them
    "not assessed (rolling years)": "Not assessed (overlapping rolling years)",
}
SIGNAL_WORDS = {"improvement": "improvement", "concern": "concern", "change": "change", "none": "no signal",
                "not assessed": "not assessed", "not assessed (rolling years)": "not assessed"}

# Whether a target will be met ("Making Data Count" assurance: measures.core.spc.assurance, the
# pipeline's `assurance` column), in words; assurance_icon draws its icon.
ASSURANCE_LABELS = {
    "consistently passes": "Consistently passes the target",
    "consistently fails": "Consistently fails the target",
    "hit and miss": "Hit and miss: passes and fails by chance",
    "not assessed": "Target not assessed (no control chart)",
    "": "No target",
}
ASSURANCE_WORDS = {"consistently passes": "consistently passes", "consistently fails": "consistently fails",
                   "hit and miss": "hit and miss", "not assessed": "not assessed", "": "no target"}


def assurance_label(assurance: str | None) -> str:
    """The words of a row's assurance ("No target" where the measure has none)."""
    return ASSURANCE_LABELS.get(assurance or "", ASSURANCE_LABELS[""])


# Icons in the "Making Data Count" manner: a coloured circle with a white mark, drawn as SVG paths (no
# font needed, so no empty boxes where a symbol or emoji font is missing, in the browser or the PDF).
# Colours are Okabe-Ito's, darkened where needed so the white mark has at least 4.5:1 contrast.
ICON_BLUE, ICON_ORANGE, ICON_PURPLE, ICON_GREY = "#0072B2", "#B34A00", "#8E3B6E", "#595959"
_TICK = '<path d="M5 8.3l2.1 2.1L11.2 6" fill="none" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/>'
_BANG = '<path d="M8 4v5" stroke="#fff" stroke-width="1.9" stroke-linecap="round"/><circle cx="8" cy="11.6" r="1.1" fill="#fff"/>'
_DIAMOND = '<path d="M8 4.2L11.8 8 8 11.8 4.2 8z" fill="#fff"/>'
_DASH = '<path d="M4.8 8h6.4" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/>'
_CROSS = '<path d="M5.5 5.5l5 5M10.5 5.5l-5 5" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/>'
_WAVE = ('<path d="M4.2 8.6c1.3-2.2 2.5-2.2 3.8 0s2.5 2.2 3.8 0" fill="none" stroke="#fff" stroke-width="1.7" '
         'stroke-linecap="round"/>')
SIGNAL_ICONS = {"improvement": (ICON_BLUE, _TICK), "concern": (ICON_ORANGE, _BANG), "change": (ICON_PURPLE, _DIAMOND),
                "none": (ICON_GREY, _DASH), "not assessed": (ICON_GREY, _DASH),
                "not assessed (rolling years)": (ICON_GREY, _DASH)}
ASSURANCE_ICONS = {"consistently passes": (ICON_BLUE, _TICK), "consistently fails": (ICON_ORANGE, _CROSS),
                   "hit and miss": (ICON_GREY, _WAVE), "not assessed": (ICON_GREY, _DASH), "": (ICON_GREY, _DASH)}


def _icon(colour: str, mark: str, size: int) -> str:
    # aria-hidden: the words always follow the icon, so a screen reader reads them once.
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="icon" width="{size}" height="{size}" viewBox="0 0 16 16" '
            f'aria-hidden="true" focusable="false" style="vertical-align:-0.2em">'
            f'<circle cx="8" cy="8" r="7.5" fill="{colour}"/>{mark}</svg>')


def signal_icon(meaning: str | None, size: int = 16) -> str:
    """A signal's icon as inline SVG (shown with signal_label's words, never alone)."""
    return _icon(*SIGNAL_ICONS.get(meaning or "none", SIGNAL_ICONS["none"]), size)


def assurance_icon(assurance: str | None, size: int = 16) -> str:
    """An assurance's icon as inline SVG (shown with assurance_label's words, never alone)."""
    return _icon(*ASSURANCE_ICONS.get(assurance or "", ASSURANCE_ICONS[""]), size)


def signal_html(meaning: str | None, size: int = 16) -> str:
    """Icon and words of a signal, for HTML (the pack, HTML cards)."""
    return f"{signal_icon(meaning, size)} {html.escape(signal_label(meaning))}"


def assurance_html(assurance: str | None, size: int = 16) -> str:
    """Icon and words of an assurance, for HTML (the pack, HTML cards)."""
    return f"{assurance_icon(assurance, size)} {html.escape(assurance_label(assurance))}"


def icon_data_uri(svg: str) -> str:
    """An icon as a data: URI, for Markdown images and st.column_config.ImageColumn cells (no inline SVG there)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def signal_markdown(meaning: str | None) -> str:
    """Icon and bold words of a signal, for st.markdown without unsafe HTML (the icon as an image, empty alt text
    because the words follow it)."""
    return f"![]({icon_data_uri(signal_icon(meaning))}) **{signal_label(meaning)}**"


def assurance_markdown(assurance: str | None) -> str:
    """Icon and bold words of an assurance, for st.markdown without unsafe HTML."""
    return f"![]({icon_data_uri(assurance_icon(assurance))}) **{assurance_label(assurance)}**"


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
    """The words of a point's signal meaning ("No signal" where there is none)."""
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
