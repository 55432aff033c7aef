"""Measure values as a tidy table: one row per period and area (contract in DESIGN.md).

value and its 95% interval come from the numerator and denominator by the measure's
method; public exports apply disclosure control (measures.disclosure).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from measures import config, db, disclosure, registry, stats
from measures.validation import UsageError, parse_month

COLUMNS = [
    "measure_id", "period_start", "period_end", "area_code", "area_name", "area_type",
    "numerator", "denominator", "value", "lower_95", "upper_95", "unit", "suppressed", "illustrative",
]
AREA_TYPE_ORDER = {"force": 0, "csp": 1, "unassigned": 2}
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 1)


def add_values(frame: pd.DataFrame, measure: registry.Measure, confidence: float = 0.95) -> pd.DataFrame:
    """value, lower and upper limits from numerator/denominator by the measure's method."""
    numerator = frame["numerator"].astype("float64").to_numpy()
    denominator = frame["denominator"].astype("float64").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure.method == "proportion":
            value = 100 * numerator / denominator
            lower, upper = stats.wilson_interval(numerator, denominator, confidence)
            lower, upper = 100 * np.asarray(lower), 100 * np.asarray(upper)
            # Wilson's limits are exactly 0% at 0 and 100% at n; rounding (e.g. 5.6e-15) must
            # not put the lower limit above a value of 0 (or the upper below 100).
            lower = np.where((numerator == 0) & (denominator > 0), 0.0, lower)
            upper = np.where((numerator == denominator) & (denominator > 0), 100.0, upper)
        elif measure.method == "rate_per_1000":
            value = 1000 * numerator / denominator
            lower, upper = stats.poisson_rate_interval(numerator, denominator, 1000, confidence)
        else:  # mean
            value = numerator / denominator
            if "numerator_sq" in frame:
                lower, upper = stats.mean_interval(numerator, frame["numerator_sq"].astype("float64").to_numpy(),
                                                   denominator, confidence)
            else:  # a mean count per person: the count is Poisson
                lower, upper = stats.poisson_rate_interval(numerator, denominator, 1, confidence)
    frame = frame.copy()
    frame["value"] = np.where(np.isfinite(value), value, np.nan)
    frame["lower_95"] = np.asarray(lower, dtype="float64")
    frame["upper_95"] = np.asarray(upper, dtype="float64")
    return frame


def resolve_area(area: str | None) -> tuple[str, str | None]:
    """(force code to query, area code to keep or None for all of the configured force)."""
    force = config.load_force()
    if area is None or area == "":
        return force.code, None
    lookup = config.districts()
    if area in set(lookup["pfa_code"]):
        return area, area
    if area.startswith("UNASSIGNED-") and area[len("UNASSIGNED-"):] in set(lookup["pfa_code"]):
        return area[len("UNASSIGNED-"):], area
    owners = lookup.loc[lookup["csp_code"] == area, "pfa_code"].unique()
    if len(owners) == 1:
        return owners[0], area
    raise UsageError(f"unknown area {area[:40]!r}: give a police force area (E23...) or CSP (E22.../W14...) code")


def measure_frame(con: duckdb.DuckDBPyConnection, measure: registry.Measure, force_code: str,
                  period_from: dt.date | None, period_to: dt.date | None, public: bool = False) -> pd.DataFrame:
    """Rows of the measure's query with names, values and limits (all areas of a force).

    `public` applies disclosure control here, to every area of each period at once:
    secondary suppression needs the whole period, whatever area the caller then keeps.
    """
    params = {"force": force_code, "from": period_from or EARLIEST, "to": period_to or LATEST, **measure.params}
    frame = db.query(con, measure.query, params)
    names = con.cursor().execute("select area_code, area_name from areas").df()
    frame = frame.merge(names, on="area_code", how="left")
    frame["area_name"] = frame["area_name"].fillna(frame["area_code"])
    frame = add_values(frame, measure)
    frame["measure_id"] = measure.id
    frame["unit"] = measure.unit
    frame["illustrative"] = _illustrative(frame, measure)
    frame["suppressed"] = False
    frame["order"] = frame["area_type"].map(AREA_TYPE_ORDER)
    frame = frame.sort_values(["period_start", "order", "area_name"]).drop(columns="order").reset_index(drop=True)
    if public and measure.disclosure_control:
        frame = disclosure.suppress(frame)
    return frame


def _illustrative(frame: pd.DataFrame, measure: registry.Measure) -> pd.Series:
    if "illustrative" in frame:
        return frame["illustrative"].fillna(measure.illustrative).astype(bool)
    return pd.Series(measure.illustrative, index=frame.index, dtype=bool)


def export(measure_id: str, data_dir: Path, area: str | None = None, period_from: str | None = None,
           period_to: str | None = None, public: bool = False,
           con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    try:
        measure = registry.get(measure_id)
    except KeyError:
        raise UsageError(f"unknown measure {measure_id[:40]!r}; see 'python -m measures list'") from None
    start, end = parse_month(period_from, "--from"), parse_month(period_to, "--to")
    if start and end and start > end:
        raise UsageError(f"--from {period_from} is after --to {period_to}")
    force_code, keep = resolve_area(area)
    con = con or db.connect(data_dir)
    try:
        frame = measure_frame(con, measure, force_code, start, end, public)
    except duckdb.CatalogException as exc:
        raise UsageError(f"no data loaded for {measure_id} in {data_dir} ({str(exc).splitlines()[0]})") from None
    if keep is not None:
        frame = frame[frame["area_code"] == keep]
    return frame[COLUMNS].reset_index(drop=True)


def to_csv(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for column in ("period_start", "period_end"):
        out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
    for column in ("suppressed", "illustrative"):
        out[column] = out[column].map({True: "true", False: "false"})
    for column in ("numerator", "denominator"):  # counts print as whole numbers
        values = pd.to_numeric(out[column], errors="coerce")
        if ((values.dropna() % 1) == 0).all():
            out[column] = values.astype("Int64")
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, float_format="%.10g", lineterminator="\n")
    return buffer.getvalue()


def to_parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
