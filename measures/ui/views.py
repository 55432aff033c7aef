"""Page logic: turns query results into what the pages show (frames, sentences)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import streamlit as st

from measures.core import pipeline, registry
from measures.data import config
from measures.ui import app

# Streamlit looks tooltip {fields} up on the feature and then in its properties.
CSP_TOOLTIP = "<b>{area_name}</b><br/>{crimes_text} crimes<br/>{rate_text} per 1,000 residents"
ASB = "Anti-social behaviour"


def police_uk_months(force_code: str) -> list[dt.date]:
    try:
        frame = app.run("police_uk_months", force=force_code)
    except duckdb.CatalogException:  # no police.uk table in this data folder
        return []
    return [pd.Timestamp(m).date() for m in frame["month"]]


def measure_types(measure: registry.Measure, available: list[str]) -> list[str]:
    """The crime types a police.uk measure counts, of those in the data (its include_types, else all
    but its exclude_types), as its query counts them."""
    include = measure.params.get("include_types") or []
    exclude = measure.params.get("exclude_types") or []
    return [t for t in available if (not include or t in include) and t not in exclude]


def crime_type_picker(force_code: str, measure: registry.Measure | None = None) -> list[str]:
    """Crime types from the URL (?types=a,b), else the measure's (default: recorded crime, all but ASB).

    An empty list means the data has none of the measure's crime types (the page says so and stops:
    an empty list given to the query would count every type).
    """
    available = app.run("crime_types", force=force_code)["crime_type"].tolist()
    measure = measure or registry.get("recorded_crime")
    default = measure_types(measure, available)
    raw = st.query_params.get("types")
    chosen = default
    if raw:
        asked = [t for t in str(raw)[:2000].split(",") if t]
        chosen = [t for t in asked if t in available]
        if len(chosen) != len(asked) or not chosen:
            st.info("The address named crime types this data does not have; they are left out.")
            chosen = chosen or default
    # One widget per measure: another measure starts from its own crime types.
    picked = st.multiselect("Crime types", available, default=chosen, key=f"picker_types_{measure.id}") or default
    if picked == default:
        st.query_params.pop("types", None)  # the measure's own types keep a short address
    else:
        st.query_params["types"] = ",".join(picked)
    return picked


def recorded_crime_rows(force_code: str, crime_types: list[str], first: dt.date, last: dt.date) -> pd.DataFrame:
    """The chosen crime types' monthly rows per CSP and unassigned bucket, with the force row the
    pipeline adds for every measure (measures.core.pipeline.add_force_total). Built once per period and
    crime types (the trend, the map and the table of every area read them); callers get a shallow copy."""
    def build() -> pd.DataFrame:
        frame = app.run("recorded_crime_monthly", force=force_code, **{"from": first, "to": last},
                        include_types=crime_types, exclude_types=[])
        if app.public_mode():  # the public site's areas (e.g. Cornwall and Isles of Scilly), as on every page
            frame = pipeline.combine_areas(frame, config.load_force())
        return pipeline.add_force_total(frame, force_code)

    return app.figure("recorded_crime_rows", (force_code, tuple(crime_types), first, last), build).copy(deep=False)


def recorded_crime_trend(force_code: str, area_code: str, crime_types: list[str], first: dt.date,
                         last: dt.date) -> pd.DataFrame:
    frame = recorded_crime_rows(force_code, crime_types, first, last)
    frame = frame[frame["area_code"] == area_code].copy()
    frame["rate"] = 1000 * frame["numerator"] / frame["denominator"]
    return frame


def trend_summary(trend: pd.DataFrame, area_name: str, months: list[dt.date], first: dt.date, last: dt.date) -> str:
    in_period = [m for m in months if first <= m <= last]
    total_months = len(pd.date_range(first, last, freq="MS"))
    missing = total_months - len(in_period)
    if trend.empty:
        return f"No crimes recorded for {area_name} in this period."
    peak = trend.loc[trend["numerator"].idxmax()]
    text = (f"{area_name} recorded {int(trend['numerator'].sum()):,} crimes in {len(in_period)} months with data; "
            f"the highest month was {pd.Timestamp(peak['period_start']):%B %Y} ({int(peak['numerator']):,}).")
    if missing:
        text += f" {missing} month(s) in the period have no published data and are shown as gaps."
    return text


def csp_period_values(force_code: str, crime_types: list[str], first: dt.date, last: dt.date) -> pd.DataFrame:
    """Crimes and rate per 1,000 residents per CSP over the period (for the map)."""
    frame = recorded_crime_rows(force_code, crime_types, first, last)
    csps = frame[frame["area_type"] == "csp"]
    totals = csps.groupby("area_code", as_index=False).agg(crimes=("numerator", "sum"),
                                                          population=("denominator", "first"))
    names = {a.code: a.name for a in app.force().csps}
    all_csps = pd.DataFrame({"area_code": list(names)})
    totals = all_csps.merge(totals, on="area_code", how="left")
    totals["area_name"] = totals["area_code"].map(names)
    totals["rate"] = 1000 * totals["crimes"] / totals["population"]
    totals["crimes_text"] = totals["crimes"].map(lambda v: "no data" if pd.isna(v) else f"{int(v):,}")
    totals["rate_text"] = totals["rate"].map(lambda v: "no data" if pd.isna(v) else f"{v:,.1f}")
    return totals


def map_summary(values: pd.DataFrame, first: dt.date, last: dt.date) -> str:
    ranked = values.dropna(subset=["rate"]).sort_values("rate", ascending=False)
    if ranked.empty:
        return "No CSP has data in this period."
    top, bottom = ranked.iloc[0], ranked.iloc[-1]
    return (f"From {first:%b %Y} to {last:%b %Y}, {top['area_name']} had the highest rate "
            f"({top['rate']:.1f} per 1,000 residents) and {bottom['area_name']} the lowest ({bottom['rate']:.1f}).")


def hex_density(force_code: str, crime_types: list[str], first: dt.date, last: dt.date) -> pd.DataFrame:
    """Crimes per H3 hexagon of the force's points (recorded_view.area_hexes keeps the area's)."""
    return app.run("recorded_crime_hex", force=force_code, **{"from": first, "to": last},
                   include_types=crime_types, exclude_types=[])


def recorded_crime_table(force_code: str, crime_types: list[str], first: dt.date, last: dt.date) -> pd.DataFrame:
    frame = recorded_crime_rows(force_code, crime_types, first, last)
    names = app.run("area_names")
    frame = frame.merge(names, on="area_code", how="left")
    combined = {a.code: a.name for a in app.force().csps}  # a combined area of the public site has no row there
    frame["area_name"] = frame["area_name"].fillna(frame["area_code"].map(combined))
    frame["rate_per_1000"] = (1000 * frame["numerator"] / frame["denominator"]).round(2)
    frame["month"] = pd.to_datetime(frame["period_start"]).dt.strftime("%Y-%m")
    return frame[["month", "area_code", "area_name", "area_type", "numerator", "denominator", "rate_per_1000"]].rename(
        columns={"numerator": "crimes", "denominator": "residents"})


def reconciliation(force_code: str) -> pd.DataFrame:
    try:
        frame = app.run("reconciliation_ons", force=force_code)
    except duckdb.CatalogException:  # the ONS table or police.uk is not loaded
        return pd.DataFrame()
    frame = frame.copy()
    frame["ratio"] = frame["ratio"].round(3)
    frame["police_uk_annualised"] = frame["police_uk_annualised"].round(0)
    return frame.drop(columns=["period_start", "period_end"]).assign(
        ons_year=f"{pd.Timestamp(frame['period_start'].iloc[0]):%b %Y} to {pd.Timestamp(frame['period_end'].iloc[0]):%b %Y}"
        if len(frame) else "")


def reconciliation_sentence(frame: pd.DataFrame) -> str:
    force_row = frame[frame["area_type"] == "force"].iloc[0]
    months = int(force_row["police_uk_months"])
    return (
        f"police.uk has {months} of the 12 months of the ONS year, so its count is scaled to 12 months "
        f"(×{12 / months:.1f}) for comparison; the force total is {force_row['ratio']:.0%} of the ONS figure. "
        "They differ because police.uk publishes crimes as they stand when the month is extracted, "
        "excludes fraud and some other offences, and cannot place some crimes in a CSP (the unassigned row), "
        "while ONS counts crimes recorded in the year after later reclassification and cancellation."
        if months else "police.uk has no months in the ONS year, so the two cannot be compared."
    )


def coverage_text(force_code: str) -> str:
    coverage = app.manifest().get("tables", {}).get("police_uk_counts", {}).get("coverage", {}).get(force_code)
    if not coverage:
        return "no months loaded."
    return (f"{coverage['months']} months from {coverage['first_month'][:7]} to {coverage['last_month'][:7]} "
            "(months not published are gaps).")


def page_not_found() -> None:
    """What the public site shows at an analysts' address (/update-data, /commentary): it is not a page here."""
    st.title("Page not found")
    st.markdown("This page does not exist. The public site shows the published figures only.")
    st.page_link("app_pages/overview.py", label="Go to the Overview", icon=":material/dashboard:")
