"""Overview: every Plan measure for one area, grouped by theme, with its signal.

Each card links to its measure's page with the measure's variant, the area and the card's period
in that page's address (registry.link): the month the card shows and the eleven before it, or its cohort.
"""

import datetime as dt

import pandas as pd
import streamlit as st

from measures.core import registry, scorecard, vocabulary
from measures.render import charts
from measures.ui import app


def card_period(frame: pd.DataFrame, card: scorecard.Card, as_of: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The card's period (its latest, else the measure's latest up to as_of) and the start of the
    twelve months that end there, both months the measure has data for."""
    starts = sorted(pd.to_datetime(frame["period_start"]).dt.date.unique())
    if card.latest is not None:
        last = pd.Timestamp(card.latest["period_start"]).date()
    else:
        last = next((s for s in reversed(starts) if s <= as_of), None)
    if last is None:
        return None, None
    if card.measure.frequency == "rolling_year":  # one ONS year is the period itself
        return last, last
    first_allowed = (pd.Timestamp(last) - pd.DateOffset(months=11)).date()
    first = next((s for s in starts if first_allowed <= s <= last), last)
    return first, last

force = app.force()
st.title("Police and Crime Plan: how are we doing?")
frames = {measure.id: app.measure(measure.id) for measure in registry.measures()}
with st.sidebar:
    area = app.area_picker()
    as_of = app.as_of_picker(scorecard.periods(frames.values()))
st.caption(f"{area.name}, periods up to {as_of:%B %Y}. Each measure's latest period, its 95% interval, "
           "change, and whether it changed for real (statistical process control), not only by chance.")
if app.public_mode():
    st.info(vocabulary.SUPPRESSION_RULE + " So no victim or offender can be identified.")
st.page_link(app.PAGES["area-profile"], label=f"Area profile and briefing pack (PDF, HTML) for {area.name}", icon=":material/description:", query_params=app.link_params(area=area.code))  # noqa: E501

for theme in registry.THEMES:
    theme_measures = [m for m in registry.measures() if m.theme == theme]
    if not theme_measures:
        continue
    st.header(theme)
    for measure in theme_measures:
        card = scorecard.card(measure, frames[measure.id], area.code, as_of)
        with st.container(border=True):
            title, figures, trend = st.columns([3, 4, 3])
            with title:
                st.markdown(f"**{measure.title}**")
                badges = [f":blue-badge[{measure.source}]"]
                if measure.illustrative:
                    badges.append(f":orange-badge[{app.ILLUSTRATIVE_LABEL}]")
                st.markdown(" ".join(badges))
                period_from, period_to = card_period(frames[measure.id], card, as_of)
                url_path, params = registry.link(measure, area.code, period_from=period_from, period_to=period_to)
                page = app.PAGES.get(url_path) or app.PAGES[registry.MEASURE_PAGE]
                if page.url_path != url_path:  # the measure's page is not on this site: the detail page
                    params = {"measure": measure.id, "area": area.code}
                st.page_link(page, label="Open the measure page", icon=":material/arrow_forward:",
                             query_params=app.link_params(**params))
            with figures:
                if card.latest is None:
                    st.markdown("No data for this area.")
                elif card.suppressed:
                    st.markdown(f"{scorecard.row_period_label(card.latest, measure.frequency)}: **suppressed** "
                                f"({vocabulary.suppression_text(card.latest.get('suppression'))})")
                else:
                    st.markdown(scorecard.figures_markdown(card))
            with trend:
                if len(card.series):
                    st.plotly_chart(charts.sparkline(card.series, measure.frequency), key=f"spark_{measure.id}",
                                    config={"displayModeBar": False})
app.sources_footer("Sources and definitions: see each measure's page and the registry (python -m measures list).")
