"""Reoffending: one cohort's CSPs (bars with intervals, funnel plot, map), the trend by cohort.

Address: /reoffending?offender=all|adult|juvenile&measure=ID&cohort=YYYY-MM&area=CODE (every value
allow-listed; cohort is the first month of the cohort quarter; measure is reoffending_rate, the default,
or reoffences_per_reoffender, whose chart then comes first under its definition).
"""

import streamlit as st

from measures.core import registry
from measures.ui import app, commentary_view
from measures.ui import reoffending_view as view

st.title("Reoffending")

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
    # The members of the registry's reoffending family that this page draws.
    measure_ids = [m.id for m in registry.members(view.FAMILY) if m.id in (view.RATE, view.PER_REOFFENDER)]
    measure_id = app.url_value("measure", measure_ids, view.RATE, "measure")
    measure_id = st.radio("Measure", measure_ids, index=measure_ids.index(measure_id),
                          format_func=lambda i: registry.get(i).title, key="picker_measure")
    st.query_params["measure"] = measure_id
    keys = [view.cohort_key(c) for c in cohorts]
    chosen = app.url_value("cohort", keys, keys[-1], "cohort")
    chosen = st.selectbox("Cohort", keys, index=keys.index(chosen), key="picker_cohort",
                          format_func=lambda k: view.cohort_label(cohorts[keys.index(k)]))
    st.query_params["cohort"] = chosen
cohort = cohorts[keys.index(chosen)]

measure = view.measure_for(measure_id, offender)
illustrative = view.illustrative(offender, cohort, area)  # the rows shown, as loaded
if illustrative:
    st.warning(f"{app.ILLUSTRATIVE_LABEL}: the reoffending cohorts are generated for this dashboard and calibrated "
               "to national proven reoffending rates.")
st.markdown(f"**{measure.title}** · {area.name} · {view.cohort_label(cohort)}  \n"
            f"**Definition.** {measure.definition}  \n**Caveats.** {measure.caveats}")


def per_reoffender_section() -> None:
    st.subheader("Reoffences per reoffender")
    app.draw_part(view.per_reoffender(offender, cohort, area.code), "per_reoffender")


if measure_id == view.PER_REOFFENDER:  # the chosen measure's chart first; the rate's follow
    per_reoffender_section()

st.subheader("Reoffending rate by CSP")
app.draw_part(view.by_csp(offender, cohort, area.code), "by_csp")

left, right = st.columns(2)
with left:
    st.subheader("CSPs against the force rate")
    app.draw_part(view.funnel(offender, cohort, area.code), "funnel", on_select="rerun", selection_mode="points")
    st.caption(f"The force rate here is {view.benchmark_text(offender, cohort)}.")
with right:
    st.subheader("Reoffending rate on the map")
    app.draw_part(view.csp_map(offender, cohort, area.code), "csp_map", on_select="rerun", selection_mode="points")

st.subheader(f"{area.name}: reoffending rate by cohort")
app.draw_part(view.trend(offender, area), "trend")

if measure_id != view.PER_REOFFENDER:
    per_reoffender_section()

st.subheader("Figures")
if measure_id != view.RATE:
    st.caption("The figures are those of the reoffending rate.")
st.dataframe(view.figures(offender, cohort), hide_index=True)
if app.public_mode():
    st.caption("Counts from 1 to 4 below force level (reoffenders or offenders), and figures they could be worked "
               "out from, are suppressed.")
commentary_view.section([measure_id], area.code, cohort, cohort)
flag = f" {app.ILLUSTRATIVE_LABEL}." if illustrative else ""
app.sources_footer(f"Source: {measure.source}. {registry.licence_text(measure, illustrative)}.{flag}")
