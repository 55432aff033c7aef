"""The charts of the recorded-crime page, the data and sentence under each (what its CSV download holds).

Every table here has the column names a reader sees (and its download holds): words with units,
never a query's column names. The page caches what these build (app.figure) and shares it between
sessions, so nothing here changes what it is given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import h3
import numpy as np
import pandas as pd

from measures.core import export
from measures.data import config
from measures.render import charts, geo
from measures.render.measure_parts import ChartPart
from measures.ui import views

RATE = "Rate (crimes per 1,000 residents)"
AREA_TYPES = {"force": "force", "csp": "CSP", "unassigned": "not placed in a CSP"}


def default_months(months: list[dt.date], span: int = 12) -> int:
    """How many of the months with data fall in the latest `span` calendar months (the page's default
    period starts at the first of them): police.uk months come with gaps, and the latest 12 months
    with data could stretch over years of gaps."""
    if not months:
        return 0
    latest = pd.Timestamp(months[-1])
    start = (latest - pd.DateOffset(months=span - 1)).date()
    return sum(1 for m in months if m >= start)


def area_codes(area: config.Area, force: config.Force) -> tuple[str, ...]:
    """The CSPs whose boundaries make up the area shown (a force: all of its CSPs)."""
    return tuple(a.code for a in force.csps) if area.area_type == "force" else (area.code,)


def area_hexes(hexes: pd.DataFrame, codes: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    """The hexagons that overlap the area's boundaries, and the crimes left out: police.uk files hold
    crimes a force recorded at points outside its area, which are not this area's to map."""
    cells = geo.cells_of(codes)
    # Looked up in the cached set: isin copied the force's thousands of cells into a new table on every call.
    inside = np.array([cell in cells for cell in hexes["h3_cell"].tolist()], dtype=bool)
    return hexes[inside].reset_index(drop=True), int(hexes.loc[~inside, "crimes"].sum())


def trend_table(trend: pd.DataFrame, area_name: str, first: dt.date, last: dt.date) -> pd.DataFrame:
    """The trend's months with data (a month with no data has no row, never a zero)."""
    months = pd.to_datetime(trend["period_start"])
    rows = trend[(months >= pd.Timestamp(first)) & (months <= pd.Timestamp(last))]
    return pd.DataFrame({
        "Month": pd.to_datetime(rows["period_start"]).dt.strftime("%b %Y").to_numpy(),
        "Area": area_name,
        "ONS code": rows["area_code"].to_numpy(),
        "Crimes": rows["numerator"].to_numpy(),
        "Residents": rows["denominator"].to_numpy(),
        RATE: rows["rate"].round(2).to_numpy(),
    })


def map_table(values: pd.DataFrame) -> pd.DataFrame:
    """Each CSP's crimes, residents and rate over the period (no data stays empty and says so)."""
    return pd.DataFrame({
        "CSP": values["area_name"], "ONS code": values["area_code"],
        "Crimes": values["crimes"].astype("Int64"), "Residents": values["population"].round(0).astype("Int64"),
        RATE: values["rate"].round(2), "Note": values["crimes"].map(lambda v: "no data" if pd.isna(v) else ""),
    })


def hex_table(hexes: pd.DataFrame) -> pd.DataFrame:
    """Each hexagon drawn: its H3 index, its centre and its crimes."""
    centres = [h3.cell_to_latlng(c) for c in hexes["h3_cell"]]
    return pd.DataFrame({
        "Hexagon (H3 index, resolution 7)": hexes["h3_cell"],
        "Centre latitude (°N)": [round(c[0], 4) for c in centres],
        "Centre longitude (°E)": [round(c[1], 4) for c in centres],
        "Crimes": hexes["crimes"].astype(int),
    })


def figures_table(table: pd.DataFrame) -> pd.DataFrame:
    """The monthly figures of every area (views.recorded_crime_table) with words for its columns."""
    return pd.DataFrame({
        "Month": pd.to_datetime(table["month"]).dt.strftime("%b %Y"),
        "Area": table["area_name"].fillna(table["area_code"]),
        "ONS code": table["area_code"],
        "Area type": table["area_type"].map(AREA_TYPES).fillna(table["area_type"]),
        "Crimes": table["crimes"].astype("Int64"),
        "Residents": table["residents"].astype("Int64"),
        RATE: table["rate_per_1000"],
    })


def reconciliation_table(frame: pd.DataFrame) -> pd.DataFrame:
    """police.uk against ONS per area (views.reconciliation), with words and units for its columns."""
    if frame.empty:
        return frame
    return pd.DataFrame({
        "Area": frame["area_name"], "ONS code": frame["area_code"],
        "Area type": frame["area_type"].map(AREA_TYPES).fillna(frame["area_type"]),
        "ONS year": frame["ons_year"],
        "ONS recorded crime (excluding fraud)": frame["ons_crimes"].astype("Int64"),
        "police.uk crimes in the year's months": frame["police_uk_crimes"].astype("Int64"),
        "police.uk months in the year": frame["police_uk_months"].astype("Int64"),
        "police.uk scaled to 12 months": frame["police_uk_annualised"].astype("Int64"),
        "police.uk as a share of ONS (%)": (100 * frame["ratio"]).round(1),
    })


def hex_summary(hexes: pd.DataFrame, area_name: str, first: dt.date, last: dt.date, outside: int = 0) -> str:
    """The density map's sentence: what it holds, its busiest hexagon, and what was left out."""
    left_out = (f" {outside:,} crimes the force recorded at points outside {area_name} are not drawn."
                if outside else "")
    if hexes.empty:
        return (f"No crimes with a location were recorded in {area_name} from {first:%b %Y} to {last:%b %Y}."
                + left_out)
    busiest = hexes.loc[hexes["crimes"].idxmax()]
    lat, lng = h3.cell_to_latlng(busiest["h3_cell"])
    return (f"{int(hexes['crimes'].sum()):,} crimes with a location in {len(hexes):,} hexagons of about 5 km² in "
            f"{area_name} from {first:%b %Y} to {last:%b %Y}; the busiest held {int(busiest['crimes']):,} "
            f"(near {lat:.3f}°N, {abs(lng):.3f}°{'W' if lng < 0 else 'E'}). On the colour bar (crimes per "
            "hexagon) yellow holds the most; police.uk places each crime at an anonymised point near where it "
            "happened." + left_out)


def trend_part(force_code: str, area: config.Area, title: str, crime_types: list[str], months: list[dt.date],
               first: dt.date, last: dt.date) -> ChartPart:
    """The area's crimes by month: the chart, its sentence and its data."""
    trend = views.recorded_crime_trend(force_code, area.code, crime_types, first, last)
    figure = charts.monthly_trend({area.name: trend}, "numerator", f"{title} per month, {area.name}", "crimes",
                                  first, last)
    return ChartPart(figure, views.trend_summary(trend, area.name, months, first, last),
                     trend_table(trend, area.name, first, last),
                     f"recorded_crime_{area.code}_{first:%Y-%m}_{last:%Y-%m}.csv")


def csp_period(force_code: str, crime_types: list[str], first: dt.date,
               last: dt.date) -> tuple[pd.DataFrame, ChartPart]:
    """What the CSP map shows whatever the area: each CSP's values (views.csp_period_values), and the
    map's sentence and data (a part without its figure: csp_map_part draws the area selected on it)."""
    values = views.csp_period_values(force_code, crime_types, first, last)
    summary = (views.map_summary(values, first, last)
               + (" CSPs without data are hatched." if values["rate"].isna().any() else "") + " " + charts.CLICK_NOTE)
    return values, ChartPart(None, summary, map_table(values), f"recorded_crime_by_csp_{first:%Y-%m}_{last:%Y-%m}.csv")


def csp_map_part(values: pd.DataFrame, notes: ChartPart, area_code: str) -> ChartPart:
    """The CSP map with the area selected (none for the force), with the period's sentence and data."""
    return dataclasses.replace(notes, figure=charts.csp_map(values, "rate", views.CSP_TOOLTIP, selected=area_code,
                                                            unit="crimes per 1,000 residents"))


def hex_part(force: config.Force, area: config.Area, crime_types: list[str], first: dt.date,
             last: dt.date) -> ChartPart:
    """The density map of the area's hexagons over its boundaries, its sentence and its data."""
    codes = area_codes(area, force)
    hexes, outside = area_hexes(views.hex_density(force.code, crime_types, first, last), codes)
    return ChartPart(charts.hex_map(hexes, geo.csp_features(codes, geo.FORCE_TOLERANCE)),
                     hex_summary(hexes, area.name, first, last, outside), hex_table(hexes),
                     f"recorded_crime_hexagons_{area.code}_{first:%Y-%m}_{last:%Y-%m}.csv")


def figures(force_code: str, crime_types: list[str], first: dt.date, last: dt.date) -> tuple[pd.DataFrame, str]:
    """The figures table of every area (figures_table) and its CSV download."""
    table = figures_table(views.recorded_crime_table(force_code, crime_types, first, last))
    return table, export.safe_csv(table)


def reconciliation(force_code: str) -> tuple[pd.DataFrame, str] | None:
    """police.uk against ONS (reconciliation_table) and the sentence under it; None when ONS is not loaded."""
    frame = views.reconciliation(force_code)
    if frame.empty:
        return None
    return reconciliation_table(frame), views.reconciliation_sentence(frame)
