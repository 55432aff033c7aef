"""Measure values as a tidy table: one row per period and area (contract in DESIGN.md).

Every figure comes from the one pipeline (measures.core.pipeline): value and 95% interval by the
measure's method, the control-chart point of each row (signal, its meaning, the baseline and
its mean and process limits), and in public exports the disclosure control decided over the
measure's whole family.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import duckdb
import pandas as pd

from measures.core import pipeline, registry
from measures.data import config, db
from measures.data.validation import UsageError, parse_month

COLUMNS = [
    "measure_id", "period_start", "period_end", "area_code", "area_name", "area_type",
    "numerator", "denominator", "value", "lower_95", "upper_95", "unit", "suppressed", "illustrative",
    "suppression", "signal", "signal_meaning", "baseline_start", "mean", "lower_process_limit", "upper_process_limit",
    "trial_limits", "target", "assurance",
]
AREA_TYPE_ORDER = pipeline.AREA_TYPE_ORDER
EARLIEST, LATEST = pipeline.EARLIEST, pipeline.LATEST
add_values = pipeline.add_values  # one implementation: the pipeline's


def resolve_area(area: str | None, public: bool = False) -> tuple[str, str | None]:
    """(force code to query, area code to keep or None for all of the configured force)."""
    force = config.load_force()
    if area is None or area == "":
        return force.code, None
    parts = force.part_of()
    if public and area in parts:
        raise UsageError(f"area {area} is published as part of {force.published().get_area(parts[area]).name} "
                         f"({parts[area]}) on the public site")
    if area in {c.code for c in force.public_combined}:
        if not public:
            raise UsageError(f"area {area} is a combined area of the public site: give --public, or one of its parts")
        return force.code, area
    lookup = config.districts()
    if area in set(lookup["pfa_code"]):
        return area, area
    if area.startswith("UNASSIGNED-") and area[len("UNASSIGNED-"):] in set(lookup["pfa_code"]):
        return area[len("UNASSIGNED-"):], area
    try:
        return config.force_of_csp(area), area
    except KeyError:
        raise UsageError(f"unknown area {area[:40]!r}: give a police force area (E23...) or CSP (E22.../W14...) "
                         "code") from None


def measure_frame(con: duckdb.DuckDBPyConnection, measure: registry.Measure, force_code: str,
                  period_from: dt.date | None, period_to: dt.date | None, public: bool = False) -> pd.DataFrame:
    """The measure's rows through the one pipeline (measures.core.pipeline.measure_frame)."""
    return pipeline.measure_frame(con, measure, force_code, period_from, period_to, public)


def export(measure_id: str, data_dir: Path, area: str | None = None, period_from: str | None = None,
           period_to: str | None = None, public: bool = False,
           con: duckdb.DuckDBPyConnection | None = None, variant: str | None = None) -> pd.DataFrame:
    try:
        measure = registry.get(measure_id)
    except KeyError:
        raise UsageError(f"unknown measure {measure_id[:40]!r}; see 'python -m measures list'") from None
    if variant is not None:
        try:
            measure = registry.variant(measure, variant)
        except (KeyError, ValueError) as exc:
            raise UsageError(f"{measure_id} has no variant {variant[:40]!r} ({exc})") from None
    start, end = parse_month(period_from, "--from"), parse_month(period_to, "--to")
    if start and end and start > end:
        raise UsageError(f"--from {period_from} is after --to {period_to}")
    force_code, keep = resolve_area(area, public)
    con = con or db.connect(data_dir)
    try:
        frame = measure_frame(con, measure, force_code, start, end, public)
    except duckdb.CatalogException as exc:
        raise UsageError(f"no data loaded for {measure_id} in {data_dir} ({str(exc).splitlines()[0]})") from None
    if keep is not None:
        frame = frame[frame["area_code"] == keep]
    return frame[COLUMNS].reset_index(drop=True)


def illustrative_by_measure(data_dir: Path, con: duckdb.DuckDBPyConnection | None = None) -> dict[str, bool | None]:
    """Per registry measure: whether the data folder's rows for the configured force are illustrative (any row
    is: pipeline.illustrative), or None where it holds none (what `python -m measures list` reports)."""
    con = con or db.connect(data_dir)
    force = config.load_force()
    flags: dict[str, bool | None] = {}
    for measure in registry.measures():
        try:
            rows = pipeline.query_rows(con, measure, force.code)
        except duckdb.CatalogException:  # the measure's table is not loaded in this data folder
            rows = pd.DataFrame()
        flags[measure.id] = pipeline.illustrative(rows) if len(rows) else None
    return flags


# A spreadsheet runs a cell starting with one of these as a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy in which every text cell a spreadsheet would run as a formula starts with a single quote.

    Only text cells: a negative number stays a number (it is written as -1.5, which a spreadsheet reads
    as a number). Column names are text from the code, not from data, but are treated the same way.
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(_neutral_cell)
    out.columns = [_neutral_cell(c) for c in out.columns]
    return out


def _neutral_cell(value: object) -> object:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def safe_csv(frame: pd.DataFrame, **options: object) -> str:
    """`frame.to_csv` for anything a user downloads or exports: formula cells neutralised (`neutralise`).

    Every CSV the app or the command line writes goes through here, so no call site can forget it."""
    buffer = io.StringIO()
    neutralise(frame).to_csv(buffer, **{"index": False, "lineterminator": "\n", **options})
    return buffer.getvalue()


def to_csv(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for column in ("period_start", "period_end", "baseline_start"):
        if column in out:
            out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
    for column in ("suppressed", "illustrative", "trial_limits"):
        if column in out:
            out[column] = out[column].map({True: "true", False: "false"})
    for column in ("numerator", "denominator"):  # counts print as whole numbers
        values = pd.to_numeric(out[column], errors="coerce")
        if ((values.dropna() % 1) == 0).all():
            out[column] = values.astype("Int64")
    return safe_csv(out, float_format="%.10g")


def to_parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
