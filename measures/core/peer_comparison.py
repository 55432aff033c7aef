"""A CSP against its most similar CSPs (measures.core.similar), its force and England and Wales.

Every figure is a window value of the one pipeline (`pipeline.period_values` of the pipeline's rows):
nothing here computes a rate or an interval of its own. Only real data is compared (no row flagged
illustrative, as loaded: pipeline.illustrative): the illustrative data exist for one force only, and a
comparison with generated figures would mean nothing.

Cost. The national figures need every force's rows. `pipeline.measure_frame` for each of the 43
forces takes about 3 s for a real police.uk measure (most of it the control chart of every area
over its whole history, which a window value does not use). So, where no disclosure control can
apply (analyst mode, or a measure without it), the window values are built from the same pipeline
steps that give measure_frame its counts (pipeline.counted_rows) and the same
period_values, without the control chart: about 0.5 s for 43 forces. Where disclosure control
applies (public mode, a controlled measure) the whole measure_frame is used, since suppression is
decided over the whole history and family. tests/test_peer_comparison.py checks both routes give
the same values.

Streamlit-free: measures.ui.similar_view caches these per data version.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from measures.core import pipeline, registry, similar
from measures.data import config

NATIONAL_CODE = "K04000001"  # ONS code of England and Wales
NATIONAL_NAME = "England and Wales (forces with data)"
ROLES = ("area", "similar", "force", "national")
COLUMNS = ["area_code", "area_name", "role", "rank_among_similar", "force_code", "numerator", "denominator", "value",
           "lower_95", "upper_95", "lower_998", "upper_998", "periods", "suppressed", "not_comparable", "position"]
VALUE_COLUMNS = ["numerator", "denominator", "value", "lower_95", "upper_95", "lower_998", "upper_998"]


def real_measures(con: duckdb.DuckDBPyConnection) -> list[registry.Measure]:
    """The measures that can be compared across forces: those with rows for the configured force, none of
    them illustrative (the rows' flag, as loaded: pipeline.illustrative)."""
    force = config.load_force()
    real = []
    for measure in registry.measures():
        try:
            rows = pipeline.query_rows(con, measure, force.code)
        except duckdb.CatalogException:  # the measure's table is not loaded in this data folder
            continue
        if len(rows) and not pipeline.illustrative(rows):
            real.append(measure)
    return real


def _check_real(measure: registry.Measure, values: pd.DataFrame) -> None:
    """Refuse a comparison that would show illustrative rows of any force (generated figures beside real ones)."""
    if pipeline.illustrative(values):
        raise ValueError(f"{measure.id} has illustrative data: only real data is compared with similar areas")


def _needs_full_pipeline(measure: registry.Measure, public: bool) -> bool:
    """Disclosure control (and CSPs published by year) is decided over the whole history: measure_frame only."""
    return public and (measure.disclosure_control or measure.public_csp_period == "year")


def _window_rows(con: duckdb.DuckDBPyConnection, measure: registry.Measure, force: config.Force, first: dt.date,
                 last: dt.date, public: bool) -> pd.DataFrame:
    """measure_frame's rows of the window without the control chart (where no disclosure control applies):
    the pipeline's own first steps (pipeline.counted_rows), asked for the window only."""
    rows = pipeline.counted_rows(con, measure, force, public, first, last)
    return rows.assign(suppressed=False, suppression="")


def _force_rows(con: duckdb.DuckDBPyConnection, measure: registry.Measure, force_code: str, first: dt.date,
                last: dt.date, public: bool) -> pd.DataFrame:
    """One force's rows of the window, with force_code (empty where its table is not loaded)."""
    try:
        if _needs_full_pipeline(measure, public):
            rows = pipeline.measure_frame(con, measure, force_code, first, last, public)
        else:
            rows = _window_rows(con, measure, pipeline.force_of(force_code), first, last, public)
    except duckdb.CatalogException:  # the measure's table is not loaded in this data folder
        return pd.DataFrame()
    return rows.assign(force_code=force_code)


def window_values(con: duckdb.DuckDBPyConnection, measure: registry.Measure, force_codes: list[str], first: dt.date,
                  last: dt.date, public: bool) -> pd.DataFrame:
    """The forces' window values (pipeline.period_values): their CSPs, unassigned buckets and force rows.

    period_values runs once over every force's rows together (area codes are unique across forces):
    run once per force, its pandas overhead was most of the cost.
    """
    pieces = [p for p in (_force_rows(con, measure, code, first, last, public) for code in force_codes) if not p.empty]
    if not pieces:
        return pd.DataFrame(columns=[*pipeline.PERIOD_COLUMNS, "force_code"])
    rows = pd.concat(pieces, ignore_index=True)
    owners = rows[["area_code", "force_code"]].drop_duplicates("area_code")
    if "area_name" in rows:  # measure_frame's rows are named already
        rows = rows.drop(columns="area_name")
    rows = rows.merge(pipeline.area_names(con, config.load_force()), on="area_code", how="left")
    rows["area_name"] = rows["area_name"].fillna(rows["area_code"])
    values = pipeline.period_values(rows, measure, first, last)
    return values.merge(owners, on="area_code", how="left")


def all_force_values(con: duckdb.DuckDBPyConnection, measure: registry.Measure, first: dt.date, last: dt.date,
                     public: bool) -> pd.DataFrame:
    """Every force's window values (CSP, unassigned and force rows), with force_code; forces with no data have none.
    ValueError where any of them is illustrative."""
    values = window_values(con, measure, list(config.forces()["pfa_code"]), first, last, public)
    _check_real(measure, values)
    return values


# --- England and Wales ------------------------------------------------------------------------

@dataclass
class National:
    """The England and Wales row and which forces it adds up."""

    row: pd.DataFrame  # one row, period_values' columns
    included: list[str] = field(default_factory=list)  # force codes
    partial: list[str] = field(default_factory=list)  # forces with some but not all of the window's periods

    @property
    def note(self) -> str:
        total = len(config.forces())
        text = (f"England and Wales here is the sum of the {len(self.included)} of {total} forces with data for "
                "every period of the window")
        if self.partial:
            text += f" ({len(self.partial)} with only part of the window are left out)"
        return text + "."


def national(values: pd.DataFrame, measure: registry.Measure) -> National:
    """The sum over the forces with data for the whole window of their force rows, valued by the pipeline.

    A force with only some of the window's months is left out: its count covers fewer months than
    its residents, and would pull a rate down.
    """
    forces = values[values["area_type"] == "force"]
    full = int(forces["periods"].max()) if len(forces) else 0
    included = forces[forces["periods"] == full]
    partial = forces[forces["periods"] < full]["force_code"].tolist()
    summed = included.agg({c: "sum" for c in ("numerator", "denominator")}).to_frame().T if len(included) else \
        pd.DataFrame({"numerator": [np.nan], "denominator": [np.nan]})
    hidden = bool(included["suppressed"].astype(bool).any()) if len(included) else False
    row = pipeline.add_values(summed.astype("float64"), measure, 0.95)
    strong = pipeline.add_values(summed.astype("float64"), measure, 0.998)
    row = row.assign(area_code=NATIONAL_CODE, area_name=NATIONAL_NAME, area_type="national", periods=full,
                     suppressed=hidden, lower_998=strong["lower_95"].to_numpy(), upper_998=strong["upper_95"].to_numpy())
    if hidden:  # a force total hidden by disclosure control must not be given away by the sum
        row.loc[:, ["numerator", "value", "lower_95", "upper_95", "lower_998", "upper_998"]] = np.nan
    return National(row, included["force_code"].tolist(), partial)


def national_csp_values(con: duckdb.DuckDBPyConnection, measure: registry.Measure, first: dt.date, last: dt.date,
                        public: bool, values: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per CSP of England and Wales with data in the window (for the national map), with force_code."""
    values = all_force_values(con, measure, first, last, public) if values is None else values
    return values[values["area_type"] == "csp"].reset_index(drop=True)


# --- the similar group ----------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _csp_forces() -> dict[str, str]:
    """config.force_of_csp of every CSP, from one pass over the districts lookup (a reference file, read
    once): a group asks for 17, and a pass over the lookup for each was most of a group's cost."""
    owners = config.districts().groupby("csp_code", sort=False)["pfa_code"].unique()
    return {str(code): str(found[0]) for code, found in owners.items() if len(found) == 1}


def force_of_csp(code: str) -> str:
    """config.force_of_csp, looked up in _csp_forces (KeyError likewise for a code that is not one CSP of one force)."""
    try:
        return _csp_forces()[code]
    except KeyError:
        raise KeyError(code) from None


def area_force(code: str) -> str:
    """The force of a CSP or of a combined area of the public site."""
    combined = {c.code: c for c in config.load_force().public_combined}
    return force_of_csp(combined[code].parts[0] if code in combined else code)


def _combined(public: bool) -> dict[str, config.CombinedArea]:
    """Part CSP code -> its combined area on the public site (none in analyst mode)."""
    if not public:
        return {}
    return {part: c for c in config.load_force().public_combined for part in c.parts}


def neighbour_code(code: str) -> str:
    """The CSP whose similar areas a (possibly combined) area uses: a combined area's largest part."""
    for combined in config.load_force().public_combined:
        if code == combined.code:
            residents = config.latest_residents()
            return max(combined.parts, key=lambda p: int(residents.get(p, 0)))
    return code


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def position_text(group: pd.DataFrame) -> str:
    """Where the area's value stands among itself and its similar CSPs: "4th highest of 16"."""
    csps = group[group["role"].isin(("area", "similar"))]
    area = csps[csps["role"] == "area"]
    if area.empty or bool(area["suppressed"].iloc[0]):
        return "not ranked (suppressed)"
    if pd.isna(area["value"].iloc[0]):
        return "not ranked (no data)"
    ranked = csps.dropna(subset=["value"])
    higher = int((ranked["value"] > float(area["value"].iloc[0])).sum())
    text = f"{ordinal(higher + 1)} highest of {len(ranked)}"
    missing = len(csps) - len(ranked)
    if missing:
        text += f" ({missing} of the {len(csps)} CSPs have no value and are not ranked)"
    return text


@dataclass(frozen=True)
class Pool:
    """What every CSP's group reads of one measure's window values (all_force_values), worked out once:
    each area's values and the England and Wales row. A group (group_of) then only looks its areas up,
    so a page asked for another CSP of the same window does little."""

    measure: registry.Measure
    public: bool
    by_code: dict[str, dict]  # area code -> its row of the values, as a dict (the first, where there are several)
    national: National


def pool(values: pd.DataFrame, measure: registry.Measure, public: bool = False) -> Pool:
    """The Pool of all_force_values' frame (ValueError where any row is illustrative)."""
    _check_real(measure, values)
    by_code: dict[str, dict] = {}
    for record in values.to_dict("records"):
        by_code.setdefault(record["area_code"], record)
    return Pool(measure, public, by_code, national(values, measure))


def group_from(values: pd.DataFrame, measure: registry.Measure, area_code: str, neighbours: pd.DataFrame,
               public: bool = False) -> pd.DataFrame:
    """The area, its similar CSPs (in rank order), its force and England and Wales, from all_force_values.

    `neighbours` is similar.similar_areas's frame. On the public site a neighbour published as part
    of a combined area is shown as that area (once, at its better rank).
    """
    return group_of(pool(values, measure, public), area_code, neighbours)


def group_of(shared: Pool, area_code: str, neighbours: pd.DataFrame) -> pd.DataFrame:
    """group_from, from the window's Pool."""
    parts = _combined(shared.public)
    by_code = shared.by_code
    force_code = area_force(area_code)
    wanted: list[tuple[str, str, str, int | None, str]] = [
        (area_code, "", "area", None, force_code)]
    seen = {area_code}
    for row in neighbours.sort_values("rank").itertuples():
        code, name = str(row.similar_code), str(row.similar_name)
        if code in parts:
            code, name = parts[code].code, parts[code].name
        if code in seen:
            continue
        seen.add(code)
        wanted.append((code, name, "similar", int(row.rank), force_of_csp(str(row.similar_code))))
    wanted.append((force_code, "", "force", None, force_code))
    whole = shared.national
    nat = whole.row.iloc[0]
    # The group's columns as lists, made into one frame at the end (changing a frame's columns cost far more
    # than the work on its 18 rows). The national row is last.
    found = [by_code.get(code) for code, *_ in wanted]
    codes = [code for code, *_ in wanted] + [NATIONAL_CODE]
    names = [str(f["area_name"]) if f is not None else (name or _area_name(code))
             for (code, name, *_), f in zip(wanted, found, strict=True)] + [NATIONAL_NAME]
    periods = pd.to_numeric(pd.Series([f["periods"] if f is not None else 0 for f in found] + [nat["periods"]]),
                            errors="coerce").fillna(0).astype(int).to_numpy()
    roles = [role for _, _, role, _, _ in wanted] + ["national"]
    # Counts over a window are not annualised: a rate over 4 months of data is not comparable with one
    # over 6. A row whose data covers another number of the window's periods than the area's keeps its
    # counts but shows no value, and says why (never a misleading low figure).
    own = int(periods[0])  # the area's row is first
    differs = [role != "area" and p > 0 and p != own and bool(own) for role, p in zip(roles, periods, strict=True)]
    values = {}
    for column in VALUE_COLUMNS:
        column_values = pd.to_numeric(pd.Series([f[column] if f is not None else np.nan for f in found] + [nat[column]]),
                                      errors="coerce").astype("float64").to_numpy(copy=True)
        if column not in ("numerator", "denominator"):
            column_values[differs] = np.nan
        values[column] = column_values
    group = pd.DataFrame({
        "area_code": codes, "area_name": names, "role": roles,
        "rank_among_similar": pd.array([rank for _, _, _, rank, _ in wanted] + [None], dtype="Int64"),
        "force_code": [owner for *_, owner in wanted] + [""], **values, "periods": periods,
        "suppressed": [bool(f["suppressed"]) if f is not None else False for f in found] + [bool(nat["suppressed"])],
        "not_comparable": [f"{p} of the window's periods with data, {own} for the area" if d else ""
                           for p, d in zip(periods, differs, strict=True)]})
    position = position_text(group)
    group["position"] = [position if role == "area" else "" for role in roles]
    group.attrs["national_note"] = whole.note
    return group[COLUMNS]


def _area_name(code: str) -> str:
    if code == config.load_force().code or code in set(config.forces()["pfa_code"]):
        return str(config.force_by_code(code).name)
    try:
        return str(similar.characteristics().loc[code, "csp_name"])
    except KeyError:
        return code


def group_values(con: duckdb.DuckDBPyConnection, measure: registry.Measure, area_code: str, first: dt.date,
                 last: dt.date, public: bool, values: pd.DataFrame | None = None) -> pd.DataFrame:
    """The window's values of the area, its 15 similar CSPs, its force and England and Wales.

    Columns: area_code, area_name, role ('area' | 'similar' | 'force' | 'national'), rank_among_similar
    (1 = most similar), force_code, numerator, denominator, value, lower_95, upper_95, lower_998,
    upper_998, periods, suppressed and position (on the area's row, e.g. "4th highest of 16").
    KeyError for an area that is not a CSP; ValueError for an illustrative measure. `values` (from
    all_force_values) saves running the pipeline again.
    """
    neighbours = similar.similar_areas(neighbour_code(area_code))
    values = all_force_values(con, measure, first, last, public) if values is None else values
    return group_from(values, measure, area_code, neighbours, public)


def group_benchmark(group: pd.DataFrame, measure: registry.Measure) -> float | None:
    """The area and its similar CSPs pooled (their counts added, valued by the pipeline): the funnel's centre."""
    csps = group[group["role"].isin(("area", "similar"))].dropna(subset=["value", "denominator"])
    if csps.empty:
        return None
    pooled = pd.DataFrame({"numerator": [csps["numerator"].sum()], "denominator": [csps["denominator"].sum()]})
    value = float(pipeline.add_values(pooled, measure)["value"].iloc[0])
    return None if np.isnan(value) else value


def latest_window(values: pd.DataFrame, months: int = 12) -> tuple[dt.date, dt.date] | None:
    """The latest `months` months ending at the last month with data (from a measure_frame's rows)."""
    if values.empty:
        return None
    last = pd.to_datetime(values["period_start"]).max()
    return (last - pd.DateOffset(months=months - 1)).date(), last.date()


# --- the briefing pack's panel ----------------------------------------------------------------

@dataclass
class PeerPanel:
    """The pack's "Compared with similar areas": one group per real measure, for one CSP and window."""

    area_name: str
    first: dt.date
    last: dt.date
    method_note: str
    groups: dict[str, pd.DataFrame]  # measure id -> group_values
    national_note: str = ""


def peer_panel(con: duckdb.DuckDBPyConnection, area: config.Area, first: dt.date, last: dt.date,
               public: bool) -> PeerPanel | None:
    """The pack's panel for a CSP (None for the force, or a CSP with no similar areas)."""
    if area.area_type != "csp":
        return None
    try:
        note = similar.method_note(neighbour_code(area.code))
        groups = {m.id: group_values(con, m, area.code, first, last, public) for m in real_measures(con)}
    except KeyError:
        return None
    return panel_of(area.name, first, last, note, groups)


def panel_of(area_name: str, first: dt.date, last: dt.date, note: str, groups: dict[str, pd.DataFrame]) -> PeerPanel:
    """The panel, keeping the measures with a value for any CSP of the group (a column of "no data" says nothing)."""
    kept = {k: g for k, g in groups.items() if g[g["role"].isin(("area", "similar"))]["value"].notna().any()}
    national_note = next((g.attrs.get("national_note", "") for g in kept.values()), "")
    return PeerPanel(area_name, first, last, note, kept, national_note)
