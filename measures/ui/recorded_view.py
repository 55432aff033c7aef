"""The data and sentence under each chart of the recorded-crime page (what its CSV download holds).

Every table here has the column names a reader sees (and its download holds): words with units,
never a query's column names.
"""

from __future__ import annotations

import datetime as dt

import h3
import pandas as pd

from measures.data import config
from measures.render import geo

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
    inside = hexes["h3_cell"].isin(geo.cells_of(codes))
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
