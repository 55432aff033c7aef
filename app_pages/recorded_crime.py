"""Recorded crime from police.uk: trend, CSP map, density map, table, ONS reconciliation.

Address: /recorded-crime?measure=ID&area=CODE&from=YYYY-MM&to=YYYY-MM&types=A,B (every value
allow-listed). The measure is a member of the registry's police_uk family (default recorded_crime):
it gives the crime types, which ?types= and the sidebar can refine.
"""

import streamlit as st

from measures.core import export, registry, vocabulary
from measures.render import charts, geo
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

trend = views.recorded_crime_trend(force.code, area.code, crime_types, period_from, period_to)
st.subheader(f"{area.name}: crimes by month")
st.plotly_chart(
    charts.monthly_trend({area.name: trend}, "numerator", f"{measure.title} per month, {area.name}", "crimes",
                         period_from, period_to),
    key="trend", alt=f"Chart: {measure.title} per month in {area.name}. Its summary and data follow it.",
)
app.chart_notes(views.trend_summary(trend, area.name, months, period_from, period_to),
                recorded_view.trend_table(trend, area.name, period_from, period_to),
                f"recorded_crime_{area.code}_{period_from:%Y-%m}_{period_to:%Y-%m}.csv", "trend")

map_values = views.csp_period_values(force.code, crime_types, period_from, period_to)
left, right = st.columns(2)
with left:
    st.subheader("Rate per 1,000 residents by CSP")
    st.plotly_chart(charts.csp_map(map_values, "rate", views.CSP_TOOLTIP, selected=area.code,
                                   unit="crimes per 1,000 residents"),
                    key="csp_map", on_select="rerun", selection_mode="points", config={"displayModeBar": False},
                    alt="Map: rate per 1,000 residents by CSP. Its summary and data follow it.")
    app.chart_notes(views.map_summary(map_values, period_from, period_to)
                    + (" CSPs without data are hatched." if map_values["rate"].isna().any() else "")
                    + " " + charts.CLICK_NOTE,
                    recorded_view.map_table(map_values), f"recorded_crime_by_csp_{period_from:%Y-%m}_{period_to:%Y-%m}.csv",
                    "csp_map")
with right:
    st.subheader(f"Where crimes were recorded in {area.name}")
    codes = recorded_view.area_codes(area, force)
    hexes, outside = recorded_view.area_hexes(
        views.hex_density(force.code, crime_types, period_from, period_to), codes)
    st.plotly_chart(charts.hex_map(hexes, geo.csp_features(codes, geo.FORCE_TOLERANCE)), key="hex_map",
                    config={"displayModeBar": False},
                    alt=f"Map: where crimes were recorded in {area.name}. Its summary and data follow it.")
    app.chart_notes(recorded_view.hex_summary(hexes, area.name, period_from, period_to, outside),
                    recorded_view.hex_table(hexes),
                    f"recorded_crime_hexagons_{area.code}_{period_from:%Y-%m}_{period_to:%Y-%m}.csv", "hex_map")

st.subheader("Figures")
table = recorded_view.figures_table(views.recorded_crime_table(force.code, crime_types, period_from, period_to))
st.dataframe(table, hide_index=True)
st.download_button("Download these figures (CSV)", export.safe_csv(table), file_name="recorded_crime.csv",
                   mime="text/csv")

commentary_view.section([measure.id], area.code, period_from, period_to)

similar_view.section(area, period_from, period_to, default_measure=measure.id)  # the force: the national map

st.subheader("Against ONS recorded crime")
reconciliation = views.reconciliation(force.code)
if reconciliation.empty:
    st.info("The ONS table is not loaded, so there is nothing to reconcile against.")
else:
    st.dataframe(recorded_view.reconciliation_table(reconciliation), hide_index=True)
    st.caption(views.reconciliation_sentence(reconciliation))

app.sources_footer(
    "Source: data.police.uk street-level crime (Home Office), " + views.coverage_text(force.code),
    "ONS Police force area data tables, Table C2.",
    vocabulary.residents_note(),
)
