"""What an update would change, before it is published: the Update data page and `measures ingest` both
show this, from one implementation.

- `completeness(old, new, tables)`: warnings about the periods the update touches, per table and force,
  compared with what the data already holds: CSPs with no rows, a total under half the usual, a
  period after the current month, a gap the update creates. A first load of a table or of a force
  has nothing to compare with, so it gets no comparison warnings (a future period still warns).
- `public_changes(old_dir, new_dir, tables)`: per measure, for the configured force in public mode,
  the latest period before and after, and the figures that move outside their old 95% interval.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from measures.core import pipeline, registry, vocabulary
from measures.data import config, db, store

# ------------------------------------------------------------------ completeness


@dataclass(frozen=True)
class Checked:
    """How a published table is checked: its period, the count whose total is compared, where its force is."""

    period: str
    count: str
    force: str | None  # the column holding the force code; None: from the CSP (or unassigned) in area_code
    step_months: int | None  # 1 monthly, 3 quarterly cohorts; None: rolling years (no calendar, no gap check)
    kind: str  # what a period is called in a warning
    areas_only: str = "true"  # rows that are areas (a table holding force totals as rows too leaves them out)


CHECKED = {
    "calls_101_monthly": Checked("month", "calls", None, 1, "month"),
    "hidden_crime_monthly": Checked("month", "count", None, 1, "month"),
    "reoffending_cohorts": Checked("cohort_start", "offenders", None, 3, "cohort"),
    "police_uk_counts": Checked("month", "count", "force_code", 1, "month"),
    "ons_csp_crime": Checked("period_start", "count", "pfa_code", None, "year", "area_type <> 'force'"),
}
REFERENCE_PERIODS = 12  # the periods a touched period is compared with
LOW_SHARE = 0.5  # a total under this share of the reference median is reported


def _period_label(period: dt.date, kind: str) -> str:
    if kind == "cohort":
        return f"cohort starting {period:%B %Y}"
    if kind == "year":
        return f"year starting {period:%B %Y}"
    return f"{period:%B %Y}"


def _force_lookup() -> pd.DataFrame:
    """CSP code -> force code, and each force's unassigned bucket -> the force (config.areas)."""
    areas = config.areas()
    areas = areas[areas["area_type"] != "force"]
    return areas[["area_code", "force_code"]].rename(columns={"area_code": "code", "force_code": "force"})


def _cells(con: duckdb.DuckDBPyConnection, folder: Path | None, table: str, spec: Checked) -> tuple[pd.DataFrame,
                                                                                                   pd.DataFrame]:
    """(totals per force, period and area; a fingerprint per force and period) of one version's table."""
    path = folder / f"{table}.parquet" if folder is not None else None
    if path is None or not path.exists():
        empty = pd.DataFrame(columns=["force", "period", "area_code", "total"])
        return empty, pd.DataFrame(columns=["force", "period", "rows", "fingerprint"])
    source = str(path).replace("'", "''")
    force = f"t.{spec.force}" if spec.force else "f.force"
    rows = f"""select {force} as force, t.{spec.period}::date as period, t.area_code, t.{spec.count} as amount,
                      hash(t) as row_hash
               from read_parquet('{source}') t left join force_lookup f on f.code = t.area_code
               where {spec.areas_only}"""
    cells = con.execute(f"""select force, period, area_code, sum(amount)::bigint as total from ({rows})
                            where force is not null group by all""").df()
    prints = con.execute(f"""select force, period, count(*) as rows, sum(row_hash)::varchar as fingerprint
                             from ({rows}) where force is not null group by all""").df()
    for frame in (cells, prints):
        frame["period"] = pd.to_datetime(frame["period"]).dt.date
    return cells, prints


def _force_names(code: str) -> tuple[str, dict[str, str]]:
    try:
        force = config.force_by_code(code)
    except KeyError:
        return code, {}
    return force.name, {a.code: a.name for a in force.csps}


def _step(period: dt.date, months: int) -> dt.date:
    index = period.year * 12 + period.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


FREQUENCY_OF_STEP = {1: "monthly", 3: "quarterly_cohort"}


def _missing(periods: set[dt.date], months: int) -> set[dt.date]:
    """Periods with no data between the first and last that have data (the pipeline's calendar)."""
    if not periods:
        return set()
    return set(pipeline.calendar(pd.Series(sorted(periods)), FREQUENCY_OF_STEP[months]).date) - periods


def _runs(periods: list[dt.date], months: int) -> list[tuple[dt.date, dt.date]]:
    """Consecutive periods as (first, last) runs."""
    runs: list[tuple[dt.date, dt.date]] = []
    for period in sorted(periods):
        if runs and _step(runs[-1][1], months) == period:
            runs[-1] = (runs[-1][0], period)
        else:
            runs.append((period, period))
    return runs


def _reference(old_periods: list[dt.date], period: dt.date) -> tuple[list[dt.date], str]:
    """The force's periods a touched one is compared with: the previous 12 with data (other than
    itself); for a period before all the data (a backfill), the first 12 after it."""
    before = [p for p in old_periods if p < period]
    if before:
        return before[-REFERENCE_PERIODS:], "previous"
    return [p for p in old_periods if p > period][:REFERENCE_PERIODS], "following"


def _force_warnings(table: str, spec: Checked, force: str, touched: list[dt.date], old: pd.DataFrame,
                    new: pd.DataFrame, today: dt.date) -> list[str]:
    name, csp_names = _force_names(force)
    this_month = today.replace(day=1)
    unassigned = config.unassigned_code(force)
    old_periods = sorted(set(old["period"]))
    found = []
    for period in touched:
        where = f"{table}, {name}, {_period_label(period, spec.kind)}"
        if period > this_month:
            found.append(f"{where}: is after the current month ({this_month:%B %Y}); data cannot come from the future")
        reference, side = _reference([p for p in old_periods if p != period], period)
        if not reference:  # a first load of this force: nothing to compare with
            continue
        usual = old[old["period"].isin(reference)]
        expected = set(usual["area_code"]) - {unassigned}
        present = set(new.loc[new["period"] == period, "area_code"])
        if missing := sorted(expected - present, key=lambda c: csp_names.get(c, c)):
            shown = ", ".join(csp_names.get(c, c) for c in missing)
            found.append(f"{where}: {len(missing)} of {len(expected)} CSPs have no rows ({shown})")
        median = statistics.median(usual.groupby("period")["total"].sum())
        total = int(new.loc[new["period"] == period, "total"].sum())
        if total < LOW_SHARE * median:
            found.append(f"{where}: the total {total:,} is under half the median of the {side} {len(reference)} "
                         f"{spec.kind}s with data ({median:,.0f})")
    if spec.step_months and old_periods:
        months = spec.step_months
        created = _missing(set(new["period"]), months) - _missing(set(old_periods), months)
        for first, last in _runs(sorted(created), months):
            span = _period_label(first, spec.kind) + ("" if first == last else f" to {_period_label(last, spec.kind)}")
            found.append(f"{table}, {name}, {span}: no rows, a gap this update makes inside the {spec.kind}s with data")
    return found


def completeness(old: Path | None, new: Path, tables: set[str] | list[str], today: dt.date | None = None) -> list[str]:
    """One line per problem in the periods the update touches, comparing the version folder `new`
    (the candidate) with `old` (the published version, None for an empty folder)."""
    today = today or dt.date.today()
    con = duckdb.connect(":memory:")
    con.register("force_lookup", _force_lookup())
    found: list[str] = []
    for table in sorted(set(tables) & set(CHECKED)):
        spec = CHECKED[table]
        old_cells, old_prints = _cells(con, old, table, spec)
        new_cells, new_prints = _cells(con, new, table, spec)
        prints = new_prints.merge(old_prints, on=["force", "period"], how="left", suffixes=("", "_old"))
        changed = prints[(prints["rows"] != prints["rows_old"]) | (prints["fingerprint"] != prints["fingerprint_old"])]
        for force, periods in changed.groupby("force"):
            found += _force_warnings(table, spec, str(force), sorted(periods["period"]),
                                     old_cells[old_cells["force"] == force], new_cells[new_cells["force"] == force],
                                     today)
    return found


# ------------------------------------------------------------------ what changes for the public


@dataclass
class MeasureChange:
    measure_id: str
    title: str
    latest_before: str  # "" where the measure had no data
    latest_after: str
    compared: int  # force and CSP figures of periods in both, with a value on both sides
    moved: int  # of those, new values outside the old 95% interval
    examples: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        latest = (f"latest period {self.latest_before or '(none)'} -> {self.latest_after or '(none)'}"
                  if self.latest_before != self.latest_after else f"latest period {self.latest_after} (unchanged)")
        moved = (f"{self.moved:,} of {self.compared:,} published figures move outside their 95% interval"
                 if self.compared else "no published figures to compare with")
        return f"{self.title}: {latest}; {moved}" + (f", e.g. {'; '.join(self.examples)}" if self.examples else "")


@dataclass
class PublicChanges:
    force: str
    measures: list[MeasureChange] = field(default_factory=list)  # those with something to say
    unchanged: list[str] = field(default_factory=list)  # titles of compared measures with no change
    failed: list[str] = field(default_factory=list)  # "title: problem" of measures that could not be computed

    def lines(self) -> list[str]:
        head = f"What changes for the public ({self.force}, public figures):"
        body = [f"  {m}" for m in self.measures] or ["  no published figure moves and no latest period changes"]
        if self.unchanged:
            body.append(f"  unchanged: {', '.join(self.unchanged)}")
        body += [f"  not compared: {f}" for f in self.failed]
        return [head, *body]


EXAMPLES = 3


FIGURE_COLUMNS = ["period_start", "period_end", "area_code", "area_name", "area_type", "value", "lower_95",
                  "upper_95"]


def _figures(con: duckdb.DuckDBPyConnection | None, measure: registry.Measure, force_code: str,
             first_load_ok: bool = False) -> pd.DataFrame:
    """The measure's public force and CSP figures in one data folder."""
    if con is None:
        return pd.DataFrame(columns=FIGURE_COLUMNS)
    try:
        frame = pipeline.measure_frame(con, measure, force_code, public=True)
    except duckdb.CatalogException:  # the published folder has no such table yet (a first load): no figures
        if first_load_ok:
            return pd.DataFrame(columns=FIGURE_COLUMNS)
        raise
    return frame.loc[frame["area_type"].isin(["force", "csp"]), FIGURE_COLUMNS]


def _reads(measure: registry.Measure, tables: set[str]) -> bool:
    """Whether the measure's query reads any of these tables (the others' figures cannot change)."""
    try:
        sql = db.load_sql(measure.query)
    except KeyError:  # a registry naming a query that is not there: let the comparison say so
        return True
    return any(re.search(rf"\b{re.escape(t)}\b", sql) for t in tables)


def public_changes(old_dir: Path | None, new_dir: Path, tables: set[str] | list[str]) -> PublicChanges:
    """Compare the public figures of the configured force between two data folders (published, candidate)."""
    force = config.load_force()
    report = PublicChanges(force.name)
    tables = set(tables)
    measures = [m for m in registry.measures() if _reads(m, tables)] if tables else []
    if not measures:
        return report
    old_con = db.connect(old_dir, lockdown=False) if old_dir is not None and store.current_dir(old_dir) else None
    new_con = db.connect(new_dir, lockdown=False)
    for measure in measures:
        try:
            old = _figures(old_con, measure, force.code, first_load_ok=True)
            new = _figures(new_con, measure, force.code)
        except (duckdb.Error, KeyError, ValueError) as exc:  # the report must never stop an update
            report.failed.append(f"{measure.title}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
            continue
        change = _compare(measure, old, new)
        if change.moved or change.latest_before != change.latest_after:
            report.measures.append(change)
        else:
            report.unchanged.append(measure.title)
    return report


def _latest(frame: pd.DataFrame, frequency: str) -> str:
    force = frame[(frame["area_type"] == "force") & frame["value"].notna()]
    if force.empty:
        return ""
    last = force.sort_values("period_start").iloc[-1]
    return vocabulary.period_label(last["period_start"], frequency, last["period_end"])


def _compare(measure: registry.Measure, old: pd.DataFrame, new: pd.DataFrame) -> MeasureChange:
    both = new.merge(old, on=["period_start", "area_code"], suffixes=("", "_old"))
    both = both[both["value"].notna() & both["value_old"].notna() & both["lower_95_old"].notna()
                & both["upper_95_old"].notna()]
    outside = both[(both["value"] < both["lower_95_old"]) | (both["value"] > both["upper_95_old"])]
    outside = outside.assign(size=(outside["value"] - outside["value_old"]).abs()).sort_values("size", ascending=False)
    examples = [f"{r.area_name}, {vocabulary.period_label(r.period_start, measure.frequency, r.period_end)}: "
                f"{r.value_old:,.3g} -> {r.value:,.3g} (95% interval was {r.lower_95_old:,.3g} to {r.upper_95_old:,.3g})"
                for r in outside.head(EXAMPLES).itertuples()]
    return MeasureChange(measure.id, measure.title, _latest(old, measure.frequency), _latest(new, measure.frequency),
                         len(both), len(outside), examples)
