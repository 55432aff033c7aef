"""Recorded crime from police.uk: trend, CSP map, density map, table, ONS reconciliation.

Address: /recorded-crime?measure=ID&area=CODE&from=YYYY-MM&to=YYYY-MM&types=A,B (every value
allow-listed). The measure is a member of the registry's police_uk family (default recorded_crime):
it gives the crime types, which ?types= and the sidebar can refine.
"""

import streamlit as st

from measures.core import registry, vocabulary
from measures.ui import app, commentary_view, recorded_view, similar_view, views

FAMILY = "police_uk"

force = app.force()
st.title("Recorded crime")
st.caption(f"{force.name}: crimes published by data.police.uk, by Community Safety Partnership.")

months = views.police_uk_months(force.code)
if not months:
    st.warning("No police.uk data is loaded for this force yet.")
    st.stop()

with st.sidebar:
    # A click on a CSP of the map (key "csp_map") selects it here, in the URL and in every chart.
    area = app.area_picker(linked_charts=("csp_map",))
    # By default the latest 12 calendar months (from their first month with data): police.uk months come
    # with gaps, and the latest 12 months with data could stretch over years of empty months.
    period_from, period_to = app.period_picker(months, default_months=recorded_view.default_months(months))
    measure_ids = [m.id for m in registry.members(FAMILY)]
    measure_id = app.url_value("measure", measure_ids, "recorded_crime", "measure")
    # Another measure starts from its own crime types, not the ones refined for this one.
    measure_id = st.selectbox("Measure", measure_ids, index=measure_ids.index(measure_id), key="picker_measure",
                              format_func=lambda i: registry.get(i).title,
                              on_change=lambda: st.query_params.pop("types", None))
    st.query_params["measure"] = measure_id
    measure = registry.get(measure_id)
    crime_types = views.crime_type_picker(force.code, measure)

st.markdown(f"**{measure.title}** · {area.name} · {period_from:%b %Y} to {period_to:%b %Y}  \n"
            f"**Definition.** {measure.definition}  \n**Caveats.** {measure.caveats}")
if not crime_types:
    st.info(f"This data has none of the crime types of {measure.title}.")
    st.stop()
if "types" in st.query_params:  # the picker keeps ?types= only when it differs from the measure's own
    st.caption(f"Refined to the crime types chosen in the sidebar: {', '.join(crime_types)}.")

# Every chart and table is built once per data version and what it depends on (app.figure), and shared by
# every session: the CSP values, the figures table and the reconciliation once per period, whatever the area.
period = (tuple(crime_types), period_from, period_to)
trend = app.figure("recorded_trend", (area.code, measure.id, *period), lambda: recorded_view.trend_part(
    force.code, area, measure.title, crime_types, months, period_from, period_to))
st.subheader(f"{area.name}: crimes by month")
app.plotly_chart(trend.figure, "trend", f"Chart: {measure.title} per month in {area.name}. Its summary and data follow it.")
app.chart_notes(trend.summary, trend.table, trend.file_name, "trend")

map_values, map_notes = app.figure("recorded_csp_period", period, lambda: recorded_view.csp_period(
    force.code, crime_types, period_from, period_to))
csp_map = app.figure("recorded_csp_map", (area.code, *period),
                     lambda: recorded_view.csp_map_part(map_values, map_notes, area.code))
left, right = st.columns(2)
with left:
    st.subheader("Rate per 1,000 residents by CSP")
    app.plotly_chart(csp_map.figure, "csp_map", "Map: rate per 1,000 residents by CSP. Its summary and data follow it.",
                     on_select="rerun", selection_mode="points", config={"displayModeBar": False})
    app.chart_notes(csp_map.summary, csp_map.table, csp_map.file_name, "csp_map")
with right:
    st.subheader(f"Where crimes were recorded in {area.name}")
    hex_map = app.figure("recorded_hex_map", (area.code, *period), lambda: recorded_view.hex_part(
        force, area, crime_types, period_from, period_to))
    app.plotly_chart(hex_map.figure, "hex_map", f"Map: where crimes were recorded in {area.name}. Its summary and "
                     "data follow it.", config={"displayModeBar": False})
    app.chart_notes(hex_map.summary, hex_map.table, hex_map.file_name, "hex_map")

st.subheader("Figures")
table, table_csv = app.figure("recorded_figures", period, lambda: recorded_view.figures(
    force.code, crime_types, period_from, period_to))
st.dataframe(table, hide_index=True)
st.download_button("Download these figures (CSV)", table_csv, file_name="recorded_crime.csv", mime="text/csv")

commentary_view.section([measure.id], area.code, period_from, period_to)

similar_view.section(area, period_from, period_to, default_measure=measure.id)  # the force: the national map

st.subheader("Against ONS recorded crime")
reconciliation = app.figure("recorded_reconciliation", (), lambda: recorded_view.reconciliation(force.code))
if reconciliation is None:
    st.info("The ONS table is not loaded, so there is nothing to reconcile against.")
else:
    st.dataframe(reconciliation[0], hide_index=True)
    st.caption(reconciliation[1])

app.sources_footer(
    "Source: data.police.uk street-level crime (Home Office), " + views.coverage_text(force.code),
    "ONS Police force area data tables, Table C2.",
    vocabulary.residents_note(),
)
