"""Logic of the reoffending page: one cohort's CSPs (bars, funnel, map), the trend by cohort.

The page (app_pages/reoffending.py) reads the filters and draws what these functions return.
The registry's reoffending family declares the offender types: its measures fix
offender_type="all", and adults and juveniles are the same measures with that query parameter
changed (registry.variant), built here through export.measure_frame so that public-mode
suppression applies to them exactly as to the registry's measures.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import streamlit as st

from measures.core import export, measure_view, pipeline, registry
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

RATE = "reoffending_rate"
PER_REOFFENDER = "reoffences_per_reoffender"
FAMILY = "reoffending"
# URL value (?offender=...) -> label, from the registry family; the values are the query's $offender_type.
OFFENDER_TYPES = {value: v.label for value, v in registry.family(FAMILY).variants.items()}
DEFAULT_OFFENDER = str(registry.get(RATE).params["offender_type"])  # the registry's own: all offenders


def measure_for(measure_id: str, offender: str) -> registry.Measure:
    """The registry's measure with its offender type changed (title says which, for adults and juveniles)."""
    return registry.variant(registry.get(measure_id), offender)


# Shared (st.cache_resource) rather than unpickled on each call (st.cache_data); callers get a shallow copy,
# which pandas' copy-on-write keeps from changing the cached frame.
@st.cache_resource(max_entries=16, show_spinner=False)
def _frame(measure_id: str, offender: str, force_code: str, public: bool, path: str, version: str) -> pd.DataFrame:
    # Keyed on the data folder, its version and public mode, as app.measure is.
    try:
        return export.measure_frame(app.connection(), measure_for(measure_id, offender), force_code, None, None, public)
    except duckdb.CatalogException:  # the reoffending table is not loaded in this data folder
        return pd.DataFrame(columns=export.COLUMNS)


def frame(measure_id: str, offender: str) -> pd.DataFrame:
    """All cohorts and areas of the measure for one offender type (suppressed in public mode)."""
    return _frame(measure_id, offender, app.force().code, app.public_mode(), str(app.data_dir()),
                  app.data_version()).copy(deep=False)


def cohorts() -> list[dt.date]:
    """Cohort start dates with data for the force (the cohort picker's options), oldest first."""
    def build() -> tuple[dt.date, ...]:
        return tuple(sorted({pd.Timestamp(p).date() for p in frame(RATE, DEFAULT_OFFENDER)["period_start"]}))

    return list(app.figure("reoffending_cohorts", (), build))


def cohort_key(start: dt.date) -> str:
    return f"{start:%Y-%m}"


def cohort_label(start: dt.date) -> str:
    end = pd.Timestamp(start) + pd.offsets.QuarterEnd(0)
    return f"{start:%b} to {end:%b %Y} cohort"


def _cohort(measure_id: str, offender: str, cohort: dt.date) -> pd.DataFrame:
    rows = frame(measure_id, offender)
    return rows[pd.to_datetime(rows["period_start"]) == pd.Timestamp(cohort)]


def _cohort_rows(measure_id: str, offender: str, cohort: dt.date) -> tuple[pd.DataFrame, float | None]:
    """The cohort's CSP rows and the value they are compared with: the same for every area, so built once
    per measure, offender type and cohort and shared (app.figure)."""
    def build() -> tuple[pd.DataFrame, float | None]:
        rows = _cohort(measure_id, offender, cohort)
        # CSPs are compared with the force's offenders located in a CSP (measures.core.pipeline.benchmark).
        value, _ = pipeline.benchmark(rows, measure_for(measure_id, offender))
        return csp_rows(rows, app.force()), value

    return app.figure("reoffending_cohort_rows", (measure_id, offender, cohort), build)


def _compared(offender: str, cohort: dt.date) -> Compared:
    """The rate's CSP rows with their funnel points (the funnel plot and the map share them)."""
    return app.figure("reoffending_compared", (offender, cohort),
                      lambda: compare(measure_for(RATE, offender), *_cohort_rows(RATE, offender, cohort)))


def illustrative(offender: str, cohort: dt.date, area: config.Area) -> bool:
    """Whether the page shows illustrative rows (pipeline.illustrative): the cohort's rows of both measures
    (bars, funnel, map, table) and the area's trend of every cohort."""
    def build() -> bool:
        cohort_rows = [_cohort(m, offender, cohort) for m in (RATE, PER_REOFFENDER)]
        return pipeline.illustrative(*cohort_rows, measure_view.area_series(frame(RATE, offender), area.code))

    return app.figure("reoffending_illustrative", (offender, cohort, area.code), build)


def benchmark_text(offender: str, cohort: dt.date, measure_id: str = RATE) -> str:
    """What the CSPs are compared with, in words (measures.core.pipeline.benchmark)."""
    return app.figure("reoffending_benchmark_text", (offender, cohort, measure_id), lambda: pipeline.benchmark(
        _cohort(measure_id, offender, cohort), measure_for(measure_id, offender))[1])


def _file(kind: str, offender: str, cohort: dt.date | None, area_code: str | None = None) -> str:
    parts = ["reoffending", kind, offender] + ([area_code] if area_code else []) + ([cohort_key(cohort)] if cohort else [])
    return "_".join(parts) + ".csv"


# Each part is built once per offender type, cohort and selected CSP (or area) and shared by every session
# (app.figure, which keys on the data version, configuration, force and mode too).

def _bars(measure_id: str, kind: str, offender: str, cohort: dt.date, selected: str) -> ChartPart:
    """A measure's CSPs with their intervals for the cohort (bars_part), `kind` naming the part and its file."""
    def build() -> ChartPart:
        measure = measure_for(measure_id, offender)
        rows, force_value = _cohort_rows(measure_id, offender, cohort)
        return bars_part(measure, rows, force_value, selected, f"{measure.title} by CSP, {cohort_label(cohort)}",
                         cohort_label(cohort), _file(kind, offender, cohort))

    return app.figure(f"reoffending_{kind}", (offender, cohort, selected), build)


def by_csp(offender: str, cohort: dt.date, selected: str) -> ChartPart:
    return _bars(RATE, "by_csp", offender, cohort, selected)


def funnel(offender: str, cohort: dt.date, selected: str) -> ChartPart:
    def build() -> ChartPart:
        measure = measure_for(RATE, offender)
        return funnel_part(measure, _compared(offender, cohort), selected,
                           f"{measure.title} vs force<br>{cohort_label(cohort)}",
                           "offenders in the cohort (log scale)", _file("funnel", offender, cohort))

    return app.figure("reoffending_funnel", (offender, cohort, selected), build)


def csp_map(offender: str, cohort: dt.date, selected: str) -> ChartPart:
    def build() -> ChartPart:
        compared = _compared(offender, cohort)
        return map_part(measure_for(RATE, offender), compared.rows, selected, cohort_label(cohort),
                        _file("map", offender, cohort), compared.points)

    return app.figure("reoffending_map", (offender, cohort, selected), build)


def per_reoffender(offender: str, cohort: dt.date, selected: str) -> ChartPart:
    return _bars(PER_REOFFENDER, "per_reoffender", offender, cohort, selected)


def trend(offender: str, area: config.Area) -> ChartPart:
    def build() -> ChartPart:
        measure = measure_for(RATE, offender)
        series = measure_view.area_series(frame(RATE, offender), area.code)
        return trend_part(measure, series, area.name, f"{measure.title} by cohort, {area.name}",
                          _file("trend", offender, None, area.code))

    return app.figure("reoffending_trend", (offender, area.code), build)


def figures(offender: str, cohort: dt.date) -> pd.DataFrame:
    """The page's table of the cohort's rate: the force row, then each CSP's (display_table)."""
    def build() -> pd.DataFrame:
        rows = _cohort(RATE, offender, cohort)
        force_rows = rows[rows["area_code"] == app.force().code]
        return display_table(_cohort_rows(RATE, offender, cohort)[0], force_rows.iloc[0] if len(force_rows) else None,
                             "%", "Reoffenders", "Offenders")

    return app.figure("reoffending_figures", (offender, cohort), build)
