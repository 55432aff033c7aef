"""Logic of the hidden-crimes page: one strand's monthly trend, CSP rates over a period, funnel, map.

The page (app_pages/hidden_crimes.py) reads the filters and draws what these functions return.
A CSP's figure over a period is the sum of its months. In public mode a CSP with any
suppressed month in the period has its period figure suppressed too: otherwise two
periods that differ by one month would give away that month's small count.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from measures.core import measure_view, pipeline, registry
from measures.data import config
from measures.render.measure_parts import (
    ChartPart,
    Compared,
    bars_part,
    compare,
    csp_rows,
    display_table,
    funnel_part,
    map_part,
    trend_part,
)
from measures.ui import app

FAMILY = "hidden_crime"  # the registry family: one member per strand (params.strand)


def strands() -> list[str]:
    """The strands of the registry's hidden_crime family, in registry order (read on each call)."""
    return registry.variant_values(FAMILY)


STRANDS = strands()  # as the registry stood at import; the page reads strands()
DEFAULT_STRAND = STRANDS[0]
NEUTRAL_STATEMENT = (
    "These measures are neutral: a rise in reported crimes can mean that more victims feel able to report, or "
    "that recording has improved, not that more crime happened. Changes are marked as a change, never as "
    "better or worse."
)


def measure_for(strand: str) -> registry.Measure:
    """The family's member for the strand (KeyError for a strand the registry does not have)."""
    return registry.variant(registry.members(FAMILY)[0], strand)


def measure_id(strand: str) -> str:
    return measure_for(strand).id


def strand_label(strand: str) -> str:
    return measure_for(strand).title.removeprefix("Reported ").capitalize()


def months(strand: str) -> list[dt.date]:
    """Months with data for the strand (the period picker's options)."""
    def build() -> tuple[dt.date, ...]:
        return tuple(sorted({pd.Timestamp(p).date() for p in app.measure(measure_id(strand))["period_start"]}))

    return list(app.figure("hidden_months", (strand,), build))


def _window(frame: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    starts = pd.to_datetime(frame["period_start"])
    return frame[(starts >= pd.Timestamp(first)) & (starts <= pd.Timestamp(last))]


def period_totals(frame: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Records and the rate per 1,000 residents over the period, per area (measures.core.pipeline.period_values,
    the one implementation the profile and the pack use too); `months` counts the months with data."""
    measure = registry.get(str(frame["measure_id"].iloc[0])) if len(frame) and "measure_id" in frame else \
        registry.members(FAMILY)[0]
    totals = pipeline.period_values(frame, measure, first, last)
    return totals.rename(columns={"periods": "months"})


# Shared (st.cache_resource) rather than unpickled on each call (st.cache_data); callers get a shallow copy,
# which pandas' copy-on-write keeps from changing the cached frame.
@st.cache_resource(max_entries=64, show_spinner=False)
def _period_frames(strand: str, first: dt.date, last: dt.date, force_code: str, public: bool, path: str,
                   version: str) -> pd.DataFrame:
    # Keyed on the force, the data folder, its version and public mode, as app.measure is, so a new ingest or
    # mode shows at once.
    return period_totals(app.measure(measure_id(strand)), first, last)


def period_values(strand: str, first: dt.date, last: dt.date) -> pd.DataFrame:
    return _period_frames(strand, first, last, app.force_code(), app.public_mode(), str(app.data_dir()),
                          app.data_version()).copy(deep=False)


def illustrative(strand: str, area: config.Area, first: dt.date, last: dt.date) -> bool:
    """Whether the page shows illustrative rows (pipeline.illustrative): the period's figures of every area
    (bars, funnel, map, table) and the area's trend."""
    def build() -> bool:
        mine = measure_view.area_series(app.measure(measure_id(strand)), area.code)
        return pipeline.illustrative(period_values(strand, first, last), _window(mine, first, last))

    return app.figure("hidden_illustrative", (strand, area.code, first, last), build)


def period_text(first: dt.date, last: dt.date) -> str:
    return f"{first:%b %Y} to {last:%b %Y}"


def _file(kind: str, strand: str, first: dt.date, last: dt.date, area_code: str | None = None) -> str:
    area = f"_{area_code}" if area_code else ""
    return f"hidden_{strand}_{kind}{area}_{first:%Y-%m}_{last:%Y-%m}.csv"


# Each part is built once per strand, period and area (or selected CSP) and shared by every session
# (app.figure, which keys on the data version, configuration, force and mode too); the CSPs' rows and
# funnel points, the same for every area, once per strand and period.

def trend(strand: str, area: config.Area, first: dt.date, last: dt.date) -> ChartPart:
    return app.figure("hidden_trend", (strand, area.code, first, last), lambda: _trend(strand, area, first, last))


def _trend(strand: str, area: config.Area, first: dt.date, last: dt.date) -> ChartPart:
    measure = measure_for(strand)
    frame = app.measure(measure.id)
    mine = frame[frame["area_code"] == area.code]
    if len(mine) and bool(pipeline.year_rows(mine).all()):  # public: a rare strand's CSPs are published by year
        return trend_part(measure, measure_view.area_series(frame, area.code), area.name,
                          f"{measure.title} per year, {area.name}", _file("trend", strand, first, last, area.code))
    series = measure_view.area_series(_window(frame, first, last), area.code)
    return trend_part(measure, series, area.name, f"{measure.title} per month, {area.name}",
                      _file("trend", strand, first, last, area.code))


def _compared(strand: str, first: dt.date, last: dt.date) -> Compared:
    """The CSP rows, the benchmark they are compared with (the force's records located in a CSP) and their
    funnel points."""
    def build() -> Compared:
        totals = period_values(strand, first, last)
        value, _ = pipeline.benchmark(totals, measure_for(strand))
        return compare(measure_for(strand), csp_rows(totals, app.force()), value)

    return app.figure("hidden_compared", (strand, first, last), build)


def benchmark_text(strand: str, first: dt.date, last: dt.date) -> str:
    """What the CSPs are compared with, in words (measures.core.pipeline.benchmark)."""
    return app.figure("hidden_benchmark_text", (strand, first, last),
                      lambda: pipeline.benchmark(period_values(strand, first, last), measure_for(strand))[1])


def by_csp(strand: str, selected: str, first: dt.date, last: dt.date) -> ChartPart:
    def build() -> ChartPart:
        measure, compared = measure_for(strand), _compared(strand, first, last)
        return bars_part(measure, compared.rows, compared.force_value, selected,
                         f"{measure.title} per 1,000 residents, {period_text(first, last)}",
                         period_text(first, last), _file("by_csp", strand, first, last))

    return app.figure("hidden_by_csp", (strand, selected, first, last), build)


def funnel(strand: str, selected: str, first: dt.date, last: dt.date) -> ChartPart:
    def build() -> ChartPart:
        measure = measure_for(strand)
        return funnel_part(measure, _compared(strand, first, last), selected,
                           f"{measure.title} vs force<br>{period_text(first, last)}",
                           "residents (log scale)", _file("funnel", strand, first, last))

    return app.figure("hidden_funnel", (strand, selected, first, last), build)


def csp_map(strand: str, selected: str, first: dt.date, last: dt.date) -> ChartPart:
    def build() -> ChartPart:
        measure, compared = measure_for(strand), _compared(strand, first, last)
        return map_part(measure, compared.rows, selected,
                        f"records per 1,000 residents from {period_text(first, last)}",
                        _file("map", strand, first, last), compared.points)

    return app.figure("hidden_map", (strand, selected, first, last), build)


def figures(strand: str, first: dt.date, last: dt.date) -> pd.DataFrame:
    """The page's table: the force row, then each CSP's (display_table)."""
    def build() -> pd.DataFrame:
        totals = period_values(strand, first, last)
        force_rows = totals[totals["area_code"] == app.force().code]
        return display_table(_compared(strand, first, last).rows, force_rows.iloc[0] if len(force_rows) else None,
                             f"per 1,000 residents, {period_text(first, last)}", "Records", "Residents")

    return app.figure("hidden_figures", (strand, first, last), build)
