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

from measures.core import comparison, export, measure_view, pipeline, registry
from measures.data import config
from measures.render.measure_parts import ChartPart, bars_part, csp_rows, funnel_part, map_part, trend_part
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


@st.cache_data(max_entries=16, show_spinner=False)
def _frame(measure_id: str, offender: str, force_code: str, public: bool, path: str, version: str) -> pd.DataFrame:
    # Keyed on the data folder, its version and public mode, as app.measure is.
    try:
        return export.measure_frame(app.connection(), measure_for(measure_id, offender), force_code, None, None, public)
    except duckdb.CatalogException:  # the reoffending table is not loaded in this data folder
        return pd.DataFrame(columns=export.COLUMNS)


def frame(measure_id: str, offender: str) -> pd.DataFrame:
    """All cohorts and areas of the measure for one offender type (suppressed in public mode)."""
    return _frame(measure_id, offender, app.force().code, app.public_mode(), str(app.data_dir()), app.data_version())


def cohorts() -> list[dt.date]:
    """Cohort start dates with data for the force (the cohort picker's options), oldest first."""
    rates = frame(RATE, DEFAULT_OFFENDER)
    return sorted({pd.Timestamp(p).date() for p in rates["period_start"]})


def cohort_key(start: dt.date) -> str:
    return f"{start:%Y-%m}"


def cohort_label(start: dt.date) -> str:
    end = pd.Timestamp(start) + pd.offsets.QuarterEnd(0)
    return f"{start:%b} to {end:%b %Y} cohort"


def _cohort_rows(measure_id: str, offender: str, cohort: dt.date) -> tuple[pd.DataFrame, float | None]:
    rows = frame(measure_id, offender)
    rows = rows[pd.to_datetime(rows["period_start"]) == pd.Timestamp(cohort)]
    # CSPs are compared with the force's offenders located in a CSP (measures.core.pipeline.benchmark).
    value, _ = pipeline.benchmark(rows, measure_for(measure_id, offender))
    return csp_rows(rows, app.force()), value


def illustrative(offender: str, cohort: dt.date, area: config.Area) -> bool:
    """Whether the page shows illustrative rows (pipeline.illustrative): the cohort's rows of both measures
    (bars, funnel, map, table) and the area's trend of every cohort."""
    cohort_rows = [f[pd.to_datetime(f["period_start"]) == pd.Timestamp(cohort)]
                   for f in (frame(RATE, offender), frame(PER_REOFFENDER, offender))]
    return pipeline.illustrative(*cohort_rows, measure_view.area_series(frame(RATE, offender), area.code))


def benchmark_text(offender: str, cohort: dt.date, measure_id: str = RATE) -> str:
    """What the CSPs are compared with, in words (measures.core.pipeline.benchmark)."""
    rows = frame(measure_id, offender)
    rows = rows[pd.to_datetime(rows["period_start"]) == pd.Timestamp(cohort)]
    return pipeline.benchmark(rows, measure_for(measure_id, offender))[1]


def _file(kind: str, offender: str, cohort: dt.date | None, area_code: str | None = None) -> str:
    parts = ["reoffending", kind, offender] + ([area_code] if area_code else []) + ([cohort_key(cohort)] if cohort else [])
    return "_".join(parts) + ".csv"


def by_csp(offender: str, cohort: dt.date, selected: str) -> ChartPart:
    measure = measure_for(RATE, offender)
    rows, force_value = _cohort_rows(RATE, offender, cohort)
    return bars_part(measure, rows, force_value, selected, f"{measure.title} by CSP, {cohort_label(cohort)}",
                     cohort_label(cohort), _file("by_csp", offender, cohort))


def funnel(offender: str, cohort: dt.date, selected: str) -> ChartPart:
    measure = measure_for(RATE, offender)
    rows, force_value = _cohort_rows(RATE, offender, cohort)
    return funnel_part(measure, rows, force_value, selected,
                       f"{measure.title} vs force<br>{cohort_label(cohort)}",
                       "offenders in the cohort (log scale)", _file("funnel", offender, cohort))


def csp_map(offender: str, cohort: dt.date, selected: str) -> ChartPart:
    measure = measure_for(RATE, offender)
    rows, force_value = _cohort_rows(RATE, offender, cohort)
    outcomes = (comparison.funnel_points(rows, force_value, measure.method, measure.polarity)
                if force_value is not None else None)
    return map_part(measure, rows, selected, cohort_label(cohort), _file("map", offender, cohort), outcomes)


def per_reoffender(offender: str, cohort: dt.date, selected: str) -> ChartPart:
    measure = measure_for(PER_REOFFENDER, offender)
    rows, force_value = _cohort_rows(PER_REOFFENDER, offender, cohort)
    return bars_part(measure, rows, force_value, selected, f"{measure.title} by CSP, {cohort_label(cohort)}",
                     cohort_label(cohort), _file("per_reoffender", offender, cohort))


def trend(offender: str, area: config.Area) -> ChartPart:
    measure = measure_for(RATE, offender)
    series = measure_view.area_series(frame(RATE, offender), area.code)
    return trend_part(measure, series, area.name, f"{measure.title} by cohort, {area.name}",
                      _file("trend", offender, None, area.code))


def figures(offender: str, cohort: dt.date) -> tuple[pd.DataFrame, pd.Series | None]:
    """The CSP rows and the force row of the cohort for the page's table."""
    rows = frame(RATE, offender)
    rows = rows[pd.to_datetime(rows["period_start"]) == pd.Timestamp(cohort)]
    force_rows = rows[rows["area_code"] == app.force().code]
    return csp_rows(rows, app.force()), (force_rows.iloc[0] if len(force_rows) else None)
