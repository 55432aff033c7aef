"""One measure in detail: definition, control chart for an area, areas compared, figures."""

import plotly.graph_objects as go
import streamlit as st

from measures.core import export, measure_view, pipeline, registry
from measures.render import charts, measure_parts
from measures.ui import app, commentary_view

ids = registry.ids()
measure_id = app.url_value("measure", ids, ids[0], "measure")
with st.sidebar:
    measure_id = st.selectbox("Measure", ids, index=ids.index(measure_id),
                              format_func=lambda i: registry.get(i).title, key="picker_measure")
    st.query_params["measure"] = measure_id
    area = app.area_picker()
measure = registry.get(measure_id)

st.title(measure.title)
# What the page shows is built once per measure (and area) and shared by every session (app.figure, which keys
# on the data version, configuration, force and mode too): the frames only read.
series = app.figure("measure_series", (measure_id, area.code),
                    lambda: measure_view.area_series(app.measure(measure_id), area.code)).copy(deep=False)
latest, period = app.figure("measure_latest", (measure_id,),
                            lambda: measure_view.latest_by_area(app.measure(measure_id)))
latest = latest.copy(deep=False)
shown_illustrative = pipeline.illustrative(series, latest)  # the rows this page shows, as loaded
if shown_illustrative:
    st.warning(f"{app.ILLUSTRATIVE_LABEL}: generated for this dashboard and calibrated to published figures.")
st.markdown(f"**Definition.** {measure.definition}  \n**Polarity.** {measure.polarity.replace('_', ' ')}. "
            f"**Method.** {measure.method.replace('_', ' ')}, 95% intervals.  \n**Caveats.** {measure.caveats}")
if measure.polarity == "neutral":
    st.info("This measure is neutral: a rise can mean more victims feel able to report, not more crime.")

trend = app.figure("measure_trend", (measure_id, area.code), lambda: measure_parts.trend_part(
    measure, series, area.name, f"{measure.title}, {area.name}", f"{measure_id}_{area.code}.csv"))
if trend.figure is None:
    st.info(trend.summary)
else:
    app.plotly_chart(trend.figure, "control_chart", charts.alt_text(trend.figure, trend.summary))
    st.caption(trend.summary)

if period is not None:
    def areas_chart() -> go.Figure:
        csps = latest[latest["area_type"] == "csp"].dropna(subset=["value"])
        force_value = latest.loc[latest["area_type"] == "force", "value"]
        return charts.interval_bars(csps, f"CSPs in {period:%b %Y}", measure.unit,
                                    force_value.iloc[0] if len(force_value) else None, pipeline.illustrative(csps))

    app.plotly_chart(app.figure("measure_areas", (measure_id,), areas_chart), "areas_chart",
                     f"Chart: each CSP's value in {period:%b %Y}. Its summary follows it.")
    st.caption(f"Each CSP's value in {period:%b %Y} with its 95% interval; the dashed line is the force value.")

st.subheader("Figures")
table = app.figure("measure_figures", (measure_id, area.code), lambda: measure_view.figures_table(series))
st.dataframe(table, hide_index=True)
st.download_button("Download these figures (CSV)",
                   app.figure("measure_figures_csv", (measure_id, area.code), lambda: export.safe_csv(table)),
                   file_name=f"{measure_id}.csv", mime="text/csv")
if app.public_mode() and measure.disclosure_control:
    st.caption("Counts from 1 to 4 below force level, and figures they could be worked out from, are suppressed.")
if len(series):  # the page shows the whole series, so every commentary on it
    commentary_view.section([measure_id], area.code, series["period_start"].min().date(),
                            series["period_start"].max().date())
app.sources_footer(f"Source: {measure.source}. {registry.licence_text(measure, shown_illustrative)}.")
