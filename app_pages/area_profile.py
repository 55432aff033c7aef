"""Area profile: every Plan measure for one CSP (or the force) and period, with findings and a briefing pack."""

import pandas as pd
import streamlit as st

from measures.core import profile
from measures.render import briefing, charts, geo
from measures.ui import app, commentary_view, similar_view

force = app.force()
months = profile.months_between(app.scorecard_periods())
with st.sidebar:
    area = app.area_picker()
    if not months:
        st.warning("No measure has any data yet." if app.public_mode() else
                   "No measure has any data yet: load data on the Update data page or with `python -m measures ingest`.")
        st.stop()
    first, last = app.period_picker(months)

pack = app.area_pack(area.code, first, last)  # cached per data version, area and period
st.title(f"Area profile: {area.name}")
st.caption(f"{pack.period}. Every Plan measure against the {force.name} value and the range of its CSPs; "
           "colour says whether the difference is significant (99.8% or 95% limits), read through each measure's "
           "polarity. Rates per 1,000 residents are for the whole period. " + briefing.BENCHMARK_NOTE)
if app.public_mode():
    st.info(briefing.SUPPRESSION_NOTE)
if pack.any_illustrative:
    st.warning(f"**{app.ILLUSTRATIVE_LABEL}** for the measures marked illustrative below (generated data, "
               "calibrated to published figures).", icon=":material/info:")

chart, locator = st.columns([4, 1])
with chart:
    # Built once per data version, area and period (app.figure), like the pack it draws.
    spine = app.figure("spine_chart", (area.code, first, last), lambda: charts.spine_chart(
        pack.table, f"{area.name} against the force, {pack.period}", illustrative=pack.any_illustrative))
    app.plotly_chart(spine, "spine_chart", charts.alt_text(spine, ""), config={"displayModeBar": False})
    st.caption(charts.spine_summary(pack.table, area.name))  # the chart's text alternative, right after it
with locator:
    located = app.figure("locator_map", (area.code,), lambda: charts.locator_map(
        geo.csp_features(tuple(a.code for a in force.csps)), area.code))
    app.plotly_chart(located, "locator_map", f"Map: where {area.name} is in {force.name}. Its summary follows it.",
                     config={"displayModeBar": False})
    st.caption(f"{area.name} (blue) among the {len(force.csps)} CSPs of {force.name}.")

st.header("Findings")
if pack.findings:
    st.markdown("\n".join(f"- {text}" for text in pack.findings))
else:
    st.markdown("No measure differs significantly from the force or shows a control-chart signal in this period.")
if pack.not_assessed["suppressed"]:
    st.caption("Suppressed, so no finding: " + ", ".join(pack.not_assessed["suppressed"]) + ".")
if pack.not_assessed["no data"]:
    st.caption("No data in this period, so no finding: " + ", ".join(pack.not_assessed["no data"]) + ".")

st.header("Every measure")


def profile_table() -> pd.DataFrame:
    rows_by_id = {row.measure.id: row for row in pack.rows}
    return pd.DataFrame({
        "Measure": pack.table["title"] + pack.table["illustrative"].map({True: " (illustrative)", False: ""}),
        area.name: pack.table["value_text"],
        "95% interval": pack.table["interval_text"],
        "Unit": [r.value_unit if r.status == "ok" else "" for r in pack.rows],
        "Force": pack.table["force_text"],
        "CSP range": pack.table["range_text"],
        "Against the force": pack.table["comparison_text"],
        "Signal": pack.table["signal_text"],
        "Target and assurance": pack.table["assurance_text"],
        "Trend": [[None if pd.isna(v) else float(v) for v in rows_by_id[m].sparkline.get("value", [])]
                  for m in pack.table["measure_id"]],
    })


table = app.figure("profile_table", (area.code, first, last), profile_table)  # like the pack it shows
st.dataframe(table, hide_index=True, key="profile_table", column_config={
    "Trend": st.column_config.LineChartColumn("Trend (up to the period's end)", width="medium")})
# The CSV keeps each measure's own illustrative flag (the police.uk measures are official data).
export_table = pack.table.drop(columns=["theme"]).assign(
    note=pack.table["illustrative"].map({True: app.ILLUSTRATIVE_LABEL, False: ""}))
app.chart_notes(f"{area.name}, {pack.period}: each measure's period value, the force value, the CSP range, the "
                "comparison, the latest control-chart signal and, where a target is set, its assurance.", export_table,
                f"area_profile_{area.code}_{first:%Y-%m}_{last:%Y-%m}.csv", "profile")
commentary_view.show([item for items in pack.comments.values() for item in items])  # as in the pack

similar_view.section(area, first, last)

st.header("Briefing pack")
st.markdown("The same profile as one file to take into a meeting: a cover with the data dates, the spine chart, "
            "the findings, a panel per Plan theme, and the sources, methods and licence"
            + (" (public version: the same suppression as this page)." if app.public_mode() else "."))
name = f"briefing_{area.code}_{first:%Y-%m}_{last:%Y-%m}"
html_button, pdf_button = st.columns(2)
pack_html = lambda: briefing.render_html(similar_view.pack_with_panel(pack))  # noqa: E731  (built on download only)
with html_button:
    st.download_button("Download the briefing pack (HTML)", pack_html, file_name=f"{name}.html",
                       mime="text/html", key="download_pack_html", icon=":material/download:", on_click="ignore")
with pdf_button:
    st.download_button("Download the briefing pack (PDF)", lambda: briefing.render_pdf(pack_html()),
                       file_name=f"{name}.pdf", mime="application/pdf", key="download_pack_pdf",
                       icon=":material/picture_as_pdf:", on_click="ignore")
if not app.public_mode():  # command lines are for analysts, not the public
    st.caption(f"Or from the command line: `python -m measures briefing --area {area.code} --from {first:%Y-%m} "
               f"--to {last:%Y-%m} --out {name}.pdf`")
app.sources_footer("Sources and definitions: each measure's page, the About the data page and the "
                   "pack's Sources and methods.", briefing.BOUNDARY_ATTRIBUTION)
