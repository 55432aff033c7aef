"""Reoffending: one cohort's CSPs (bars with intervals, funnel plot, map), the trend by cohort.

Address: /reoffending?offender=all|adult|juvenile&cohort=YYYY-MM&area=CODE (every value allow-listed;
cohort is the first month of the cohort quarter).
"""

import streamlit as st

from measures import app
from measures import reoffending_view as view
from measures.measure_parts import display_table

st.title("Reoffending")
st.warning(f"{app.ILLUSTRATIVE_LABEL}: the reoffending cohorts are generated for this dashboard and calibrated to "
           "national proven reoffending rates.")

cohorts = view.cohorts()
if not cohorts:
    st.warning("No reoffending data is loaded for this force yet.")
    st.stop()

with st.sidebar:
    # A click on a CSP of the map or the funnel plot selects it here, in the URL and in every chart.
    area = app.area_picker(linked_charts=("csp_map", "funnel"))
    offenders = list(view.OFFENDER_TYPES)
    offender = app.url_value("offender", offenders, view.DEFAULT_OFFENDER, "offender type")
    offender = st.radio("Offenders", offenders, index=offenders.index(offender),
                        format_func=view.OFFENDER_TYPES.get, key="picker_offender")
    st.query_params["offender"] = offender
    keys = [view.cohort_key(c) for c in cohorts]
    chosen = app.url_value("cohort", keys, keys[-1], "cohort")
    chosen = st.selectbox("Cohort", keys, index=keys.index(chosen), key="picker_cohort",
                          format_func=lambda k: view.cohort_label(cohorts[keys.index(k)]))
    st.query_params["cohort"] = chosen
cohort = cohorts[keys.index(chosen)]

measure = view.measure_for(view.RATE, offender)
st.markdown(f"**{measure.title}** · {area.name} · {view.cohort_label(cohort)}  \n"
            f"**Definition.** {measure.definition}  \n**Caveats.** {measure.caveats}")

st.subheader("Reoffending rate by CSP")
app.draw_part(view.by_csp(offender, cohort, area.code), "by_csp")

left, right = st.columns(2)
with left:
    st.subheader("CSPs against the force rate")
    app.draw_part(view.funnel(offender, cohort, area.code), "funnel", on_select="rerun", selection_mode="points")
with right:
    st.subheader("Reoffending rate on the map")
    app.draw_part(view.csp_map(offender, cohort, area.code), "csp_map", on_select="rerun", selection_mode="single-object")

st.subheader(f"{area.name}: reoffending rate by cohort")
app.draw_part(view.trend(offender, area), "trend")

st.subheader("Reoffences per reoffender")
app.draw_part(view.per_reoffender(offender, cohort, area.code), "per_reoffender")

st.subheader("Figures")
rows, force_row = view.figures(offender, cohort)
st.dataframe(display_table(rows, force_row, "%", "Reoffenders", "Offenders"), hide_index=True)
if app.public_mode():
    st.caption("Counts from 1 to 4 below force level (reoffenders or offenders), and figures they could be worked "
               "out from, are suppressed.")
app.sources_footer(f"Source: {measure.source}. {measure.licence}. {app.ILLUSTRATIVE_LABEL}.")
