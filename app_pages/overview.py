"""Overview: every Plan measure for one area, grouped by theme, with its signal."""

import streamlit as st

from measures import app, charts, registry, scorecard

force = app.force()
st.title("Police and Crime Plan: how are we doing?")
frames = {measure.id: app.measure(measure.id) for measure in registry.measures()}
with st.sidebar:
    area = app.area_picker()
    as_of = app.as_of_picker(scorecard.periods(frames.values()))
st.caption(f"{area.name}, periods up to {as_of:%B %Y}. Each measure's latest period, its 95% interval, "
           "change, and whether it changed for real (statistical process control), not only by chance.")
if app.public_mode():
    st.info("Counts from 1 to 4 (and figures they could be worked out from) are not shown below force level, "
            "so that no victim or offender can be identified.")
st.page_link(app.PAGES["area-profile"], label=f"Area profile and briefing pack (PDF, HTML) for {area.name}", icon=":material/description:", query_params={"area": area.code})  # noqa: E501

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
                page = app.PAGES.get(measure.page) or app.PAGES.get("measure")
                st.page_link(page, label="Open the measure page", icon=":material/arrow_forward:",
                             query_params={"measure": measure.id, "area": area.code} if page.url_path == "measure"
                             else {"area": area.code})
            with figures:
                if card.latest is None:
                    st.markdown("No data for this area.")
                elif card.suppressed:
                    st.markdown(f"{scorecard.period_label(card.latest['period_start'], measure.frequency)}: "
                                "**suppressed** (a count from 1 to 4)")
                else:
                    st.markdown(scorecard.figures_markdown(card))
            with trend:
                if len(card.series):
                    st.plotly_chart(charts.sparkline(card.series, measure.frequency), key=f"spark_{measure.id}",
                                    config={"displayModeBar": False})
app.sources_footer("Sources and definitions: see each measure's page and the registry (python -m measures list).")
