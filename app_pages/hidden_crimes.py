"""Hidden crimes: one strand's monthly trend (control chart), CSP rates over the period, funnel plot, map.

Address: /hidden-crimes?strand=STRAND&area=CODE&from=YYYY-MM&to=YYYY-MM (every value allow-listed;
the strands are the members of the registry's hidden_crime family).
"""

import streamlit as st

from measures.core import registry, vocabulary
from measures.ui import app, commentary_view, hidden_view

st.title("Hidden crimes")
st.info(hidden_view.NEUTRAL_STATEMENT, icon=":material/balance:")

with st.sidebar:
    strands = hidden_view.strands()  # the members of the registry's hidden_crime family
    strand = app.url_value("strand", strands, strands[0], "hidden-crime strand")
    strand = st.selectbox("Strand", strands, index=strands.index(strand),
                          format_func=hidden_view.strand_label, key="picker_strand")
    st.query_params["strand"] = strand
    # A click on a CSP of the map or the funnel plot selects it here, in the URL and in every chart.
    area = app.area_picker(linked_charts=("csp_map", "funnel"))
    months = hidden_view.months(strand)
    if not months:
        st.warning("No hidden-crime data is loaded for this force yet.")
        st.stop()
    period_from, period_to = app.period_picker(months)

measure = hidden_view.measure_for(strand)
period = hidden_view.period_text(period_from, period_to)
illustrative = hidden_view.illustrative(strand, area, period_from, period_to)  # the rows shown, as loaded
if illustrative:
    st.warning(f"{app.ILLUSTRATIVE_LABEL}: the hidden-crime extract is generated for this dashboard and calibrated "
               "to published figures.")
st.markdown(f"**{measure.title}** · {area.name} · {period}  \n**Definition.** {measure.definition}  \n"
            f"**Caveats.** {measure.caveats}")
if app.public_mode() and measure.public_csp_period == "year":
    st.info("This strand is rare: most CSP months hold fewer than 5 records, so its CSP figures are published by "
            "calendar year (the force by month). A period shows a CSP's figure for each whole year inside it.")

st.subheader(f"{area.name}: records per month")
app.draw_part(hidden_view.trend(strand, area, period_from, period_to), "trend")

left, right = st.columns(2)
with left:
    st.subheader("Rate per 1,000 residents by CSP")
    app.draw_part(hidden_view.csp_map(strand, area.code, period_from, period_to), "csp_map",
                  on_select="rerun", selection_mode="points")
with right:
    st.subheader("CSPs against the force rate")
    app.draw_part(hidden_view.funnel(strand, area.code, period_from, period_to), "funnel",
                  on_select="rerun", selection_mode="points")
    st.caption(f"The force rate here is {hidden_view.benchmark_text(strand, period_from, period_to)}.")

st.subheader("Each CSP with its 95% interval")
app.draw_part(hidden_view.by_csp(strand, area.code, period_from, period_to), "by_csp")

st.subheader("Figures")
st.dataframe(hidden_view.figures(strand, period_from, period_to), hide_index=True)
if app.public_mode():
    st.caption("Counts from 1 to 4 below force level, and figures they could be worked out from, are suppressed; "
               "a CSP with a suppressed month is suppressed for the whole period.")
commentary_view.section([measure.id], area.code, period_from, period_to)
flag = f" {app.ILLUSTRATIVE_LABEL}." if illustrative else ""
app.sources_footer(f"Source: {measure.source}. {registry.licence_text(measure, illustrative)}.{flag}",
                   vocabulary.residents_note())
