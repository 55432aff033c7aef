"""Overview: every Plan measure for one area, grouped by theme: the scorecard a Panel reads in a minute.

First one sortable table (a row per measure: latest value and interval, variation, target and assurance,
the change since a reference period and whether it is significant, the commentary's first line), as CSV
too; then a card per measure. Each card links to its measure's page with the measure's variant, the area and the card's period
in that page's address (registry.link): the month the card shows and the eleven before it, or its cohort.
"""

import streamlit as st

from measures.core import export, registry, scorecard, vocabulary
from measures.ui import app

force = app.force()
st.title("Police and Crime Plan: how are we doing?")
with st.sidebar:
    area = app.area_picker()
    periods = app.scorecard_periods()
    as_of = app.as_of_picker(periods)
    since = app.since_picker(periods, as_of)
reference = f"since {app.month_label(since)}" if since else "since the same period a year before"
st.caption(f"{area.name}, periods up to {as_of:%B %Y}. Each measure's latest period, its 95% interval, "
           "whether it changed for real (statistical process control), not only by chance, whether it will meet "
           f"its target (assurance), and the change {reference}.")
if app.public_mode():
    st.info(vocabulary.SUPPRESSION_RULE + " So no victim or offender can be identified.")
st.page_link(app.PAGES["area-profile"], label=f"Area profile and briefing pack (PDF, HTML) for {area.name}", icon=":material/description:", query_params=app.link_params(area=area.code))  # noqa: E501

# Cards, table, trends and links come cached per data version, area and period (app.overview).
shown = app.overview(area.code, as_of, since)
cards, table, first_lines = shown.cards, shown.table, shown.first_lines
st.subheader("Scorecard")
st.caption("One row per measure; click a column's name to sort by it. Commentary is the analysts' own words, "
           "not part of the statistics. Trend: up to three years of the area's values, oldest first.")
st.dataframe(table.drop(columns=["Measure id"]).assign(Trend=shown.trends), hide_index=True, width="stretch",
             key="scorecard", column_config={"Value": st.column_config.NumberColumn("Value", format="%.2f"),
                                             "Trend": st.column_config.LineChartColumn("Trend", width="small")})
scorecard_csv = app.figure("scorecard_csv", (area.code, as_of, since), lambda: export.safe_csv(table))
st.download_button("Download the scorecard (CSV)", scorecard_csv,
                   file_name=f"scorecard-{area.code}-{as_of:%Y-%m}.csv", mime="text/csv", key="download_scorecard",
                   icon=":material/download:")

keep_force = app.link_params()  # the chosen force, kept in every card's link
for theme in registry.THEMES:
    theme_measures = [card.measure for card in cards.values() if card.measure.theme == theme]
    if not theme_measures:
        continue
    st.header(theme)
    for measure in theme_measures:
        card = cards[measure.id]
        with st.container(border=True):
            title, figures = st.columns([2, 3])
            with title:
                badges = f":blue-badge[{measure.source}]"
                if card.illustrative:
                    badges += f" :orange-badge[{app.ILLUSTRATIVE_LABEL}]"
                st.markdown(f"**{measure.title}**  \n{badges}")
                period_from, period_to = shown.card_periods[measure.id]
                url_path, params = registry.link(measure, area.code, period_from=period_from, period_to=period_to)
                page = app.PAGES.get(url_path) or app.PAGES[registry.MEASURE_PAGE]
                if page.url_path != url_path:  # the measure's page is not on this site: the detail page
                    params = {"measure": measure.id, "area": area.code}
                st.page_link(page, label="Open the measure page", icon=":material/arrow_forward:",
                             query_params={**keep_force, **params})
            with figures:
                if card.latest is None:
                    st.markdown("No data for this area.")
                elif card.suppressed:
                    st.markdown(f"{scorecard.row_period_label(card.latest, measure.frequency)}: **suppressed** "
                                f"({vocabulary.suppression_text(card.latest.get('suppression'))})")
                else:
                    st.markdown(shown.figures_text[measure.id])
                if measure.id in first_lines:  # typed by people: plain text, never Markdown
                    st.caption("Commentary (analysts' words, not statistics):")
                    st.text(first_lines[measure.id])
app.sources_footer("Sources and definitions: see each measure's page and the About the data page.")
