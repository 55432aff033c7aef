"""The data and sentence under each chart of the recorded-crime page (what its CSV download holds)."""

from __future__ import annotations

import datetime as dt

import h3
import pandas as pd


def trend_table(trend: pd.DataFrame, area_name: str, first: dt.date, last: dt.date) -> pd.DataFrame:
    """The trend's months with data (a month with no data has no row, never a zero)."""
    table = trend[["period_start", "area_code", "numerator", "denominator", "rate"]].copy()
    table = table[(pd.to_datetime(table["period_start"]) >= pd.Timestamp(first))
                  & (pd.to_datetime(table["period_start"]) <= pd.Timestamp(last))]
    table.insert(0, "month", pd.to_datetime(table.pop("period_start")).dt.strftime("%Y-%m"))
    table.insert(2, "area_name", area_name)
    table["rate"] = table["rate"].round(3)
    return table.rename(columns={"numerator": "crimes", "denominator": "residents", "rate": "rate_per_1000"})


def map_table(values: pd.DataFrame) -> pd.DataFrame:
    """Each CSP's crimes, residents and rate over the period (no data stays empty)."""
    table = values[["area_code", "area_name", "crimes", "population", "rate"]].copy()
    table["rate"] = table["rate"].round(3)
    return table.rename(columns={"population": "residents", "rate": "rate_per_1000"})


def hex_summary(hexes: pd.DataFrame, force_name: str, first: dt.date, last: dt.date) -> str:
    if hexes.empty:
        return f"No crimes with a location were recorded in {force_name} from {first:%b %Y} to {last:%b %Y}."
    busiest = hexes.loc[hexes["crimes"].idxmax()]
    lat, lng = h3.cell_to_latlng(busiest["h3_cell"])
    return (f"{int(hexes['crimes'].sum()):,} crimes with a location in {len(hexes):,} hexagons of about 5 km² across "
            f"{force_name} from {first:%b %Y} to {last:%b %Y}; the busiest held {int(busiest['crimes']):,} "
            f"(near {lat:.3f}°N, {abs(lng):.3f}°{'W' if lng < 0 else 'E'}). Lighter hexagons hold more crimes; "
            "police.uk places each crime at an anonymised point near where it happened.")

