"""About the data: every measure's definition and method, each dataset's date and coverage, sources,
licences and the statistical methods."""

import streamlit as st

from measures.core import pipeline, registry
from measures.render import charts
from measures.ui import about, app

force = app.force()
st.title("About the data")
# Each measure's loaded rows say whether it is illustrative (as the ingest flagged them), not the registry.
# Everything below is the same for every visitor of a force and data version: built once and shared (app.figure).
illustrative = app.figure("about_illustrative", (), lambda: {
    m.id: pipeline.illustrative(app.measure(m.id)) for m in registry.measures()})
if any(illustrative.values()):
    st.warning(f"**{app.ILLUSTRATIVE_LABEL}.** {about.ILLUSTRATIVE_STATEMENT}")

st.header("Datasets: date and coverage")
cover = app.figure("about_coverage", (), lambda: about.coverage(force.code))
st.markdown(f"Data for {force.name}, data version `{app.data_version().rsplit('/', 1)[-1] or 'none'}`. Each dataset's "
            "first and last month and its number of periods are below; a month with no data is a gap on the chart.")
if cover.months.empty:
    st.info("No datasets are loaded yet, so there is no coverage to chart.")
else:
    months = cover.months.assign(month=lambda f: f["month"].astype("datetime64[ns]"))
    timeline = app.figure("about_coverage_timeline", (), lambda: charts.coverage_timeline(
        months, months["month"].min().date(), months["month"].max().date()))
    app.plotly_chart(timeline, "coverage", "Chart: months with data in each dataset. Its summary and data follow it.")
    app.chart_notes(about.coverage_summary(cover),
                    months.assign(month=months["month"].dt.strftime("%Y-%m")), "dataset_coverage.csv", "coverage")
st.dataframe(cover.datasets, hide_index=True)

st.header("Measures")
st.caption("From the measure registry (config/measures.toml): what each measure counts, which way is better, "
           "how its interval is worked out, where it comes from, and what to bear in mind.")
entries = app.figure("about_measure_entries", (), lambda: {
    m.id: about.measure_markdown(m, illustrative[m.id]) for m in registry.measures()})
for theme in registry.THEMES:
    st.subheader(theme)
    for measure in (m for m in registry.measures() if m.theme == theme):
        with st.container(border=True):
            st.markdown(entries[measure.id])

st.header("Statistical methods")
st.markdown(about.METHODS)

st.header("Published figures marked on the charts")
figures = app.figure("about_published_figures", (), lambda: about.published_figures(force.code))
if figures.empty:
    st.info("No published figures are recorded for this force.")
else:
    st.caption("Figures stated in public reports and press coverage. Their definitions differ from one statement "
               "to the next, so they are reference points beside the measures, not a series.")
    st.dataframe(figures, hide_index=True, column_config={"source_url": st.column_config.LinkColumn("source")})

st.header("Licence and attribution")
st.markdown(f"{app.ATTRIBUTION}  \n"
            "Recorded crime: data.police.uk street-level crime (Home Office). ONS: Police force area data tables, "
            "Tables C2 and C5; ONS mid-year population estimates 2011-2023; English Indices of Deprivation 2019 "
            "(MHCLG); Local Authority District to Community Safety Partnership to "
            "Police Force Area lookups (January 2017 and December 2023).  \n"
            f"Boundaries: {about.boundaries_attribution()}")
