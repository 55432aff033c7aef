"""`python -m measures export|list` on the embedded default data: intervals, disclosure
control, the registry and the command line's errors.

Intervals are recomputed here independently of measures.core.stats (statsmodels Wilson for
proportions; scipy chi-squared exact Poisson below 10 events and Byar's formula from 10
for rates per 1,000). The command-line runs are started together in a thread pool, so
the file stays fast although each run pays for importing pandas, scipy and DuckDB.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import subprocess
import sys
import tomllib
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from measures.core import disclosure, export, pipeline, registry
from measures.data import config, db

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
FORCE = config.load_force()
CSP_CODES = sorted(c.code for c in FORCE.csps)
UNASSIGNED = config.unassigned_code(FORCE.code)
SCILLY = "E22000050"

COLUMNS = (
    "measure_id,period_start,period_end,area_code,area_name,area_type,numerator,denominator,"
    "value,lower_95,upper_95,unit,suppressed,illustrative,"
    # why a row is hidden (public), and the row's control-chart point (measures.core.pipeline)
    "suppression,signal,signal_meaning,baseline_start,mean,lower_process_limit,upper_process_limit,trial_limits,"
    # the Plan's target for the row (blank where none applies) and its assurance against the limits
    "target,assurance"
).split(",")
NUMERIC = ["numerator", "denominator", "value", "lower_95", "upper_95"]
ALLOWED_POLARITIES = {"lower_is_better", "higher_is_better", "neutral"}
REL_TOL = 0.002  # 0.2%
Z = sps.norm.ppf(0.975)

ACCEPTANCE = [
    "reoffending_rate",
    "calls_101_answered_within_20min",
    "hidden_domestic_abuse",
    "hidden_modern_slavery",
    "recorded_crime",
]
DISCLOSED = [m.id for m in registry.measures() if m.id.startswith("hidden_")] + ["reoffending_rate"]
# Public exports run through the command line; the other hidden strands go through
# export.export in-process (the same code path minus CSV writing) to keep the file fast.
PUBLIC_CLI = [m for m in DISCLOSED if m in ACCEPTANCE]

ERROR_CASES = {
    "unknown_measure": ["export", "no_such_measure"],
    "bad_month": ["export", "recorded_crime", "--from", "2025-13"],
    "from_after_to": ["export", "recorded_crime", "--from", "2025-06", "--to", "2025-01"],
    "unknown_area": ["export", "recorded_crime", "--area", "E99999999"],
    "sql_injection_area": ["export", "recorded_crime", "--area", "'; drop table x; --"],
}
PARQUET_ARGS = ["export", "recorded_crime", "--from", "2024-01", "--to", "2024-04"]
MISSING_MONTH_ARGS = ["export", "recorded_crime", "--from", "2021-01", "--to", "2021-12"]

CLI_RUNS: list[tuple[str, ...]] = [
    *(("export", m) for m in ACCEPTANCE),
    *(("export", m, "--public") for m in PUBLIC_CLI),
    ("list", "--format", "csv"),
    *(tuple(args) for args in ERROR_CASES.values()),
    tuple(MISSING_MONTH_ARGS),
    (*PARQUET_ARGS, "--format", "parquet"),
]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MEASURES_DATA_DIR", "MEASURES_CONFIG")}
    env.pop("MEASURES_DEBUG", None)
    return env


def _run(args: tuple[str, ...]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "measures", *args], cwd=ROOT, env=_env(), capture_output=True, timeout=180)


@cache
def _futures() -> dict[tuple[str, ...], Future]:
    pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
    futures = {args: pool.submit(_run, args) for args in CLI_RUNS}
    pool.shutdown(wait=False)
    return futures


def cli(*args: str) -> subprocess.CompletedProcess:
    key = tuple(args)
    return _futures()[key].result() if key in CLI_RUNS else _run(key)


def cli_ok(*args: str) -> subprocess.CompletedProcess:
    result = cli(*args)
    assert result.returncode == 0, result.stderr.decode()
    return result


def read_csv(text: str) -> pd.DataFrame:
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    for column in NUMERIC:
        frame[column] = pd.to_numeric(frame[column].replace("", np.nan)).astype("float64")
    return frame


@cache
def cli_export(measure_id: str, public: bool = False) -> pd.DataFrame:
    args = ("export", measure_id, "--public") if public else ("export", measure_id)
    return read_csv(cli_ok(*args).stdout.decode())


@cache
def connection():
    return db.connect(DATA_DIR)


def lib_export(measure_id: str, public: bool = False, area: str | None = None) -> pd.DataFrame:
    """export.export in-process, through CSV so it reads exactly like the command's output."""
    frame = export.export(measure_id, DATA_DIR, area=area, public=public, con=connection())
    return read_csv(export.to_csv(frame))


def public_export(measure_id: str) -> pd.DataFrame:
    return cli_export(measure_id, True) if measure_id in PUBLIC_CLI else lib_export(measure_id, True)


def full_export(measure_id: str) -> pd.DataFrame:
    return cli_export(measure_id) if measure_id in ACCEPTANCE else lib_export(measure_id)


def truth_export(measure_id: str) -> pd.DataFrame:
    """The analyst's figures for the public site's areas (combined areas; a rare strand's CSPs by year)."""
    measure = registry.get(measure_id)
    frame = pipeline.measure_frame(connection(), measure, FORCE.code, public=False, combined=True)
    if measure.public_csp_period == "year":
        frame = pipeline.add_values(pipeline.csp_by_year(frame, measure), measure)
        frame = frame.assign(measure_id=measure_id, unit=measure.unit, suppressed=False)
        frame = frame.assign(order=frame["area_type"].map(export.AREA_TYPE_ORDER)).sort_values(
            ["period_start", "order", "area_name"])  # the export's order
    return read_csv(export.to_csv(frame.reindex(columns=export.COLUMNS)))


def setup_module() -> None:
    _futures()  # start every command-line run now, in parallel


# ---------------------------------------------------------------------------------------
# Independent intervals
# ---------------------------------------------------------------------------------------


def expected_limits(method: str, num: float, den: float) -> tuple[float, float, float]:
    if method == "proportion":
        lo, hi = proportion_confint(num, den, alpha=0.05, method="wilson")
        return 100 * num / den, 100 * lo, 100 * hi
    assert method == "rate_per_1000"
    if num < 10:
        lo = sps.chi2.ppf(0.025, 2 * num) / 2 if num > 0 else 0.0
        hi = sps.chi2.ppf(0.975, 2 * num + 2) / 2
    else:
        lo = num * (1 - 1 / (9 * num) - Z / (3 * np.sqrt(num))) ** 3
        hi = (num + 1) * (1 - 1 / (9 * (num + 1)) + Z / (3 * np.sqrt(num + 1))) ** 3
    return 1000 * num / den, 1000 * lo / den, 1000 * hi / den


def close(actual: float, expected: float, rel: float = REL_TOL) -> bool:
    # absolute slack only for limits that are 0 (statsmodels may give 1e-16 for 0 of n)
    return abs(actual - expected) < 1e-12 or abs(actual - expected) < rel * abs(expected)


@pytest.mark.parametrize("measure_id", ACCEPTANCE)
def test_every_row_matches_independent_interval(measure_id: str) -> None:
    method = registry.get(measure_id).method
    frame = cli_export(measure_id)
    assert len(frame) > 0
    bad = []
    for row in frame.itertuples():
        if np.isnan(row.denominator):
            assert np.isnan(row.value) and np.isnan(row.lower_95) and np.isnan(row.upper_95), row
            continue
        value, lo, hi = expected_limits(method, row.numerator, row.denominator)
        if not (close(row.value, value, 1e-8) and close(row.lower_95, lo) and close(row.upper_95, hi)):
            bad.append(
                (
                    row.period_start,
                    row.area_code,
                    row.numerator,
                    row.denominator,
                    row.value,
                    row.lower_95,
                    row.upper_95,
                    value,
                    lo,
                    hi,
                )
            )
        assert row.lower_95 <= row.value <= row.upper_95, row
    assert not bad, f"{len(bad)} rows differ, e.g. {bad[:3]}"


# ---------------------------------------------------------------------------------------
# Disclosure control
# ---------------------------------------------------------------------------------------


def _small(series: pd.Series) -> pd.Series:
    return series.between(1, 4)


@pytest.mark.parametrize("measure_id", DISCLOSED)
def test_public_export_reveals_no_small_count(measure_id: str) -> None:
    public = public_export(measure_id)
    full = truth_export(measure_id)
    csp = public["area_type"] == "csp"
    assert not _small(public.loc[csp, "numerator"]).any()
    if registry.get(measure_id).method != "rate_per_1000":  # a cohort size is a count of people
        assert not _small(public.loc[csp, "denominator"]).any()

    key = ["period_start", "area_code"]
    assert list(public[key].itertuples(index=False)) == list(full[key].itertuples(index=False))
    small = (full["area_type"] == "csp") & _small(full["numerator"])
    assert (public.loc[small, "suppressed"] == "true").all()
    assert (public.loc[small, "suppression"] == "primary").all()
    assert public.loc[small, ["numerator", "value", "lower_95", "upper_95"]].isna().all().all()
    assert (public.loc[public["area_type"] == "force", "suppressed"] == "false").all()

    shown = public["suppressed"] == "false"  # what is shown is what the true figures say
    figures = ["numerator", "denominator", "value", "lower_95", "upper_95"]
    pd.testing.assert_frame_equal(public.loc[shown, key + figures], full.loc[shown, key + figures])
    hidden = public[~shown]
    assert hidden[["numerator", "value", "lower_95", "upper_95"]].isna().all().all()
    # A hidden figure's chart is not published either: its limits would be worked from the hidden values.
    assert (hidden["signal_meaning"] == "not assessed").all() and (hidden["mean"].fillna("") == "").all()


@pytest.mark.parametrize("measure_id", DISCLOSED)
def test_secondary_suppression_blocks_subtraction(measure_id: str) -> None:
    """Never one row hidden beside a shown force total (the exact audit of everything published
    together is tests/test_disclosure_audit.py)."""
    public = public_export(measure_id)
    for period, rows in public.groupby("period_start"):
        force_shown = ((rows["area_type"] == "force") & rows["numerator"].notna()).any()
        hidden = rows[rows["suppressed"] == "true"]
        assert not (force_shown and len(hidden) == 1), f"{measure_id} {period}: one row suppressed"


def test_full_export_does_contain_small_counts() -> None:
    slavery = full_export("hidden_modern_slavery")
    assert _small(slavery.loc[slavery["area_type"] != "force", "numerator"]).any()
    for measure_id in ("hidden_modern_slavery", "hidden_domestic_abuse", "reoffending_rate"):
        scilly = full_export(measure_id).query("area_code == @SCILLY")
        assert _small(scilly["numerator"]).any(), measure_id


@pytest.mark.parametrize("measure_id", ["reoffending_rate"])
def test_public_area_export_matches_all_areas_export(measure_id: str) -> None:
    """Suppression is decided on the whole period: asking for one area at a time must not
    show a row the all-areas export hides (else subtraction from the force total works)."""
    everything = lib_export(measure_id, public=True)
    for area in [*(c.code for c in FORCE.published().csps), UNASSIGNED]:  # the public site's areas
        one = lib_export(measure_id, public=True, area=area).reset_index(drop=True)
        expected = everything[everything["area_code"] == area].reset_index(drop=True)
        pd.testing.assert_frame_equal(one, expected, obj=f"{measure_id} --area {area}")


def _frame(counts: dict[str, list[int]], unit: str = "per 1,000 residents") -> pd.DataFrame:
    rows = []
    for period, numerators in counts.items():
        rows.append(
            {
                "period_start": period,
                "area_code": FORCE.code,
                "area_type": "force",
                "numerator": sum(numerators),
                "denominator": 100000,
            }
        )
        rows += [
            {"period_start": period, "area_code": f"CSP{i}", "area_type": "csp", "numerator": n, "denominator": 10000}
            for i, n in enumerate(numerators)
        ]
    frame = pd.DataFrame(rows)
    frame["numerator"] = frame["numerator"].astype("float64")
    frame["denominator"] = frame["denominator"].astype("float64")
    frame["value"] = 1000 * frame["numerator"] / frame["denominator"]
    frame["lower_95"], frame["upper_95"] = frame["value"] * 0.9, frame["value"] * 1.1
    frame["unit"] = unit
    frame["suppressed"] = False
    return frame


RATE_MEASURE = registry.get("hidden_domestic_abuse")
SHARE_MEASURE = dataclasses.replace(registry.get("calls_101_abandoned"), disclosure_control=True)


def _public(frame: pd.DataFrame) -> pd.DataFrame:
    measure = RATE_MEASURE if frame["unit"].iloc[0] == "per 1,000 residents" else SHARE_MEASURE
    return pipeline.suppress(frame, measure)


def _suppressed(frame: pd.DataFrame, period: str = "2024-01-01") -> set[str]:
    out = _public(frame)
    rows = out[(out["period_start"] == period) & out["suppressed"]]
    assert rows[["numerator", "value", "lower_95", "upper_95"]].isna().all().all()
    return set(rows["area_code"])


def _pinned(frame: pd.DataFrame) -> int:
    """Small counts an exact audit of the public rows still pins to one value."""
    out = _public(frame)
    cells = frame.assign(variant="", quantity="count", value=frame["numerator"].astype("int64"))
    status = pd.Series(out["suppression"].fillna("").to_numpy(), index=cells.index)
    result = disclosure.audit(cells[["period_start", "area_code", "area_type", "variant", "quantity", "value"]], status)
    return 0 if result.empty else int((result["revealed"] & result["value"].between(1, 4)).sum())


def test_suppress_one_small_suppresses_two() -> None:
    hidden = _suppressed(_frame({"2024-01-01": [3, 12, 40, 25]}))
    assert "CSP0" in hidden and len(hidden) == 2  # a lone small count needs a partner


def test_suppress_two_small_suppresses_exactly_those() -> None:
    # 2 and 4 hidden, their total 6 known: either could be 2 to 4, so no partner is needed.
    assert _suppressed(_frame({"2024-01-01": [30, 2, 40, 4]})) == {"CSP1", "CSP3"}


def test_suppress_hides_more_until_no_small_count_can_be_pinned() -> None:
    # one small row beside a zero: the zero (known to be 0 if hidden) cannot protect it, a row of 9 can
    assert _suppressed(_frame({"2024-01-01": [3, 0, 9, 40]})) == {"CSP0", "CSP2"}
    for counts in ([2, 1, 30, 40, 0], [3, 12, 40, 25], [4, 4, 4, 50, 6]):
        assert _pinned(_frame({"2024-01-01": counts})) == 0, counts


def test_suppress_none_small_and_zeros_kept() -> None:
    frame = _frame({"2024-01-01": [0, 5, 0, 120]})
    out = _public(frame)
    assert not out["suppressed"].any()
    pd.testing.assert_frame_equal(out[frame.columns].drop(columns="suppressed"), frame.drop(columns="suppressed"))


def test_suppress_never_force_row_and_periods_independent() -> None:
    frame = _frame({"2024-01-01": [1, 3, 0, 20], "2024-02-01": [9, 8, 7, 6]})
    out = _public(frame)
    force = out[out["area_type"] == "force"]
    assert not force["suppressed"].any() and force["numerator"].notna().all()
    assert {"CSP0", "CSP1"} <= _suppressed(frame)
    assert _suppressed(frame, "2024-02-01") == set()
    assert _pinned(frame) == 0


def test_suppress_small_denominator_for_proportions() -> None:
    frame = _frame({"2024-01-01": [0, 20, 40, 25]}, unit="%")
    frame.loc[1, "denominator"] = 3  # CSP0: 0 of 3 people
    frame.loc[0, "denominator"] = frame.loc[1:, "denominator"].sum()
    out = _public(frame)
    assert out.loc[1, "suppressed"] and pd.isna(out.loc[1, "denominator"])
    assert out["suppressed"].sum() == 2


# ---------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------


def test_registry_entries_are_complete() -> None:
    raw = tomllib.loads((ROOT / "config" / "measures.toml").read_text())["measure"]
    required = [
        f.name
        for f in dataclasses.fields(registry.Measure)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    assert len(raw) == len(registry.measures()) > 0
    for entry in raw:
        missing = [name for name in required if name not in entry or entry[name] in ("", None)]
        assert not missing, f"{entry.get('id')}: missing {missing}"
        assert entry["polarity"] in ALLOWED_POLARITIES, entry["id"]
        assert isinstance(entry["disclosure_control"], bool)
        assert "illustrative" not in entry, "the illustrative flag comes from the data, not the registry"
        assert (ROOT / "queries" / f"{entry['query']}.sql").is_file(), entry["id"]
    assert registry.missing_queries() == []
    assert len(set(registry.ids())) == len(registry.ids())


def test_list_csv_has_one_row_per_measure() -> None:
    table = pd.read_csv(io.StringIO(cli_ok("list", "--format", "csv").stdout.decode()), dtype=str)
    assert {"id", "title", "theme", "unit", "polarity", "source", "illustrative"} <= set(table.columns)
    assert list(table["id"]) == registry.ids()
    for row, measure in zip(table.itertuples(), registry.measures(), strict=True):
        assert (row.title, row.theme, row.unit, row.polarity, row.source) == (
            measure.title,
            measure.theme,
            measure.unit,
            measure.polarity,
            measure.source,
        )
    # What the default data holds: generated 101, reoffending and hidden-crime rows; real police.uk and ONS.
    flags = dict(zip(table["id"], table["illustrative"], strict=True))
    assert {k for k, v in flags.items() if v == "false"} == {m.id for m in registry.measures()
                                                             if m.family in ("police_uk", "ons_csp")}
    assert set(flags.values()) == {"true", "false"}


@pytest.mark.parametrize("measure_id", ACCEPTANCE)
def test_export_illustrative_flag_follows_the_data(measure_id: str) -> None:
    frame = cli_export(measure_id)
    flag = export.illustrative_by_measure(DATA_DIR)[measure_id]  # the rows as loaded
    assert flag == (measure_id != "recorded_crime")
    assert set(frame["illustrative"]) == {"true" if flag else "false"}
    assert set(frame["measure_id"]) == {measure_id}
    assert set(frame["unit"]) == {registry.get(measure_id).unit}


# ---------------------------------------------------------------------------------------
# Command-line errors
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ERROR_CASES)
def test_cli_error_is_one_line_without_traceback(case: str) -> None:
    result = cli(*ERROR_CASES[case])
    stderr = result.stderr.decode()
    assert result.returncode != 0
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert result.stdout == b""


# ---------------------------------------------------------------------------------------
# Export shape
# ---------------------------------------------------------------------------------------

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.mark.parametrize("measure_id", ACCEPTANCE)
def test_export_columns_dates_and_areas(measure_id: str) -> None:
    text = cli_ok("export", measure_id).stdout.decode()
    assert text.splitlines()[0] == ",".join(COLUMNS)
    frame = read_csv(text)
    for column in ("period_start", "period_end"):
        assert frame[column].str.match(ISO_DATE).all(), column
    start, end = pd.to_datetime(frame["period_start"]), pd.to_datetime(frame["period_end"])
    assert (start.dt.day == 1).all() and (start <= end).all()
    assert set(frame["suppressed"]) == {"false"}

    expected = {FORCE.code, *CSP_CODES, UNASSIGNED}
    types = {FORCE.code: "force", UNASSIGNED: "unassigned", **dict.fromkeys(CSP_CODES, "csp")}
    assert set(frame["area_code"]) <= expected
    assert (frame["area_type"] == frame["area_code"].map(types)).all()
    assert set(CSP_CODES) | {FORCE.code} <= set(frame["area_code"])
    for period, rows in frame.groupby("period_start"):
        assert rows["area_code"].is_unique, period
        assert (rows["area_code"] == FORCE.code).sum() == 1, period
    if measure_id == "calls_101_answered_within_20min":  # complete for every month
        assert (frame.groupby("period_start")["area_code"].apply(set) == expected).all()
    if registry.get(measure_id).method == "rate_per_1000":  # residents: none for unassigned
        unassigned = frame["area_code"] == UNASSIGNED
        assert frame.loc[unassigned, "denominator"].isna().all()
        assert frame.loc[~unassigned, "denominator"].notna().all()


def test_no_rows_for_missing_police_uk_month() -> None:
    result = cli_ok(*MISSING_MONTH_ARGS)
    frame = read_csv(result.stdout.decode())
    assert list(frame.columns) == COLUMNS
    assert len(frame) == 0
    assert "2021-06-01" not in set(cli_export("recorded_crime")["period_start"])


def test_parquet_round_trips() -> None:
    result = cli_ok(*PARQUET_ARGS, "--format", "parquet")
    frame = pd.read_parquet(io.BytesIO(result.stdout))
    assert list(frame.columns) == COLUMNS
    expected = export.export("recorded_crime", DATA_DIR, period_from="2024-01", period_to="2024-04", con=connection())
    assert len(frame) > 0
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    assert read_csv(export.to_csv(frame)).equals(read_csv(export.to_csv(expected)))


def test_list_into_a_reader_that_stops_early_prints_no_error() -> None:
    # `python -m measures list | head -1`: the reader closing the pipe is its choice, not a failure.
    # Closing our end before the command writes makes the broken pipe certain, not a race.
    run = subprocess.Popen([sys.executable, "-m", "measures", "list"], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run.stdout.close()
    errors = run.stderr.read().decode()
    assert run.wait(timeout=120) == 0
    assert errors == ""
