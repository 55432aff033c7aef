"""The illustrative data (measures/data/demo_data.py): determinism and calibration.

Every calibration target is checked on the tables that ingest derives from the generated
files, through the query files the dashboard uses. Targets come from ../shared/data when
it is present (else from data/reference/calibration.toml, which a test checks against
../shared/data). The 101 files are generated only for the months the targets need.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from measures.core import pipeline
from measures.data import config, db, demo_data
from measures.data.ingest import calls_101, hidden_crime, reoffending
from measures.paths import SHARED_DATA_DIR

SEED = 2026
FORCE = config.load_force()
CALIBRATION = tomllib.loads(demo_data.CALIBRATION_FILE.read_text())
FORCE_CAL = CALIBRATION.get("force", {}).get(FORCE.code)
UNASSIGNED = config.unassigned_code(FORCE.code)
CALLS_FROM, CALLS_TO = dt.date(2021, 10, 1), dt.date(2024, 12, 1)

needs_calibration = pytest.mark.skipif(FORCE_CAL is None, reason=f"no calibration section for {FORCE.code}")


def _shared(key: str) -> Path | None:
    if FORCE_CAL is None or key not in FORCE_CAL:
        return None
    path = SHARED_DATA_DIR / FORCE_CAL[key]
    return path if path.is_file() else None


def _d(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


# --------------------------------------------------------------------------- targets

def calls_targets() -> list[dict]:
    """101 figures to reproduce: from ../shared when present, else calibration.toml."""
    path = _shared("shared_calls_file")
    if path is None:
        return list(FORCE_CAL["calls_101"]["published"])
    frame = pd.read_csv(path, dtype=str)
    frame = frame[frame["measure"].isin(["mean_wait_101", "abandoned_share_101", "answered_within_20min_101"])]
    return [{"period_start": r.period_start, "period_end": r.period_end, "measure": r.measure,
             "value": float(r.value), "check": "below" if "upper bound" in r.definition_note else "within_15pct"}
            for r in frame.itertuples()]


def read_c2(path: Path, force_code: str) -> dict[str, dict[str, int]]:
    """{column: {CSP code or 'unassigned': count}} from the ONS Table C2 CSV export."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    start = next(i for i, r in enumerate(rows) if r and r[0].startswith("Police Force"))
    header = [" ".join(h.split()) for h in rows[start]]
    wanted = {"sexual_offences": "Sexual offences", "stalking_harassment": "Stalking and harassment",
              "total_recorded_crime": "Total recorded crime (excluding fraud)"}
    out: dict[str, dict[str, int]] = {key: {} for key in wanted}
    for row in rows[start + 1:]:
        if not row or row[0] != force_code:
            continue
        if row[2]:
            code = row[2]
        elif row[3].strip().lower().startswith("unassigned"):
            code = "unassigned"
        else:
            continue  # the force's own total row
        for key, column in wanted.items():
            out[key][code] = int(row[header.index(column)].replace(",", "").strip())
    return out


def c2_targets() -> dict[str, dict[str, int]]:
    path = _shared("shared_c2_file")
    if path is None:
        return {k: v for k, v in FORCE_CAL["recorded_crime_c2"].items() if isinstance(v, dict)}
    return read_c2(path, FORCE.code)


def hidden_exact_targets() -> list[dict]:
    """Force-wide exact totals: from ../shared when present, else calibration.toml."""
    entries = [e for e in FORCE_CAL["hidden_crime"]["exact"] if e["level"] == "force"]
    path = _shared("shared_hidden_file")
    if path is None:
        return entries
    frame = pd.read_csv(path, dtype=str)
    frame = frame[frame["geography"] == FORCE_CAL["shared_hidden_geography"]]
    found = []
    for e in entries:
        match = frame[(frame["strand"] == e["strand"]) & (frame["period_start"] == e["period_start"])
                      & (frame["period_end"] == e["period_end"])]
        assert len(match) == 1, e
        found.append({**e, "value": int(match["value"].iloc[0])})
    return found


# --------------------------------------------------------------------------- fixtures

def file_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def calls_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(raw folder, data folder): 101 calls for the months the published figures need."""
    raw = tmp_path_factory.mktemp("calls_raw")
    demo_data.generate(SEED, raw, CALLS_FROM, CALLS_TO, sources=("calls_101",))
    data_dir = tmp_path_factory.mktemp("calls_data")
    calls_101.ingest([raw / "calls_101"], data_dir, illustrative=True)
    return raw, data_dir


@pytest.fixture(scope="module")
def other_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(raw folder, data folder): the whole reoffending and hidden-crime files."""
    raw = tmp_path_factory.mktemp("other_raw")
    demo_data.generate(SEED, raw, sources=("reoffending", "hidden_crime"))
    data_dir = tmp_path_factory.mktemp("other_data")
    reoffending.ingest([raw / "reoffending"], data_dir, illustrative=True)
    hidden_crime.ingest([raw / "hidden_crime"], data_dir, illustrative=True)
    return raw, data_dir


def run(data_dir: Path, name: str, first: dt.date, last: dt.date, **params) -> pd.DataFrame:
    con = db.connect(data_dir, lockdown=False)
    frame = pipeline.query_with_force(con, name, {"force": FORCE.code, "from": first, "to": last, **params})
    frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    return frame


def force_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["area_type"] == "force"].set_index("period_start").sort_index()


# --------------------------------------------------------------------------- determinism

def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first, last = dt.date(2024, 7, 1), dt.date(2024, 8, 1)
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        demo_data.generate(seed, tmp_path / name, first, last)
    a, b, c = (file_hashes(tmp_path / n) for n in "abc")
    assert a == b
    assert set(a) == set(c) == {"calls_101/calls_101_2024-07.csv", "calls_101/calls_101_2024-08.csv",
                                "hidden_crime/hidden_crime_extract.csv"}  # no cohort is complete yet
    assert all(a[k] != c[k] for k in a)


def test_a_month_does_not_depend_on_the_period(tmp_path: Path, calls_data, other_data) -> None:
    demo_data.generate(SEED, tmp_path, dt.date(2024, 8, 1), dt.date(2024, 8, 1))
    raw_calls, _ = calls_data
    assert (tmp_path / "calls_101" / "calls_101_2024-08.csv").read_bytes() == (
        raw_calls / "calls_101" / "calls_101_2024-08.csv").read_bytes()
    raw_other, _ = other_data
    full = pd.read_csv(raw_other / "hidden_crime" / "hidden_crime_extract.csv", dtype=str, keep_default_na=False)
    short = pd.read_csv(tmp_path / "hidden_crime" / "hidden_crime_extract.csv", dtype=str, keep_default_na=False)
    assert full[full["month"] == "2024-08"].reset_index(drop=True).equals(short)


def test_files_follow_the_contracts(calls_data, other_data) -> None:
    raw_calls, _ = calls_data
    raw_other, _ = other_data
    for folder, columns in ((raw_calls / "calls_101", calls_101.COLUMNS),
                            (raw_other / "reoffending", reoffending.COLUMNS),
                            (raw_other / "hidden_crime", hidden_crime.COLUMNS)):
        for path in folder.glob("*.csv"):
            assert path.read_text().split("\n", 1)[0] == ",".join(columns)
    assert len(list((raw_calls / "calls_101").glob("calls_101_*.csv"))) == 39


def test_bad_arguments_refused(tmp_path: Path) -> None:
    from measures.data.validation import UsageError

    with pytest.raises(UsageError):
        demo_data.generate(-1, tmp_path)
    with pytest.raises(UsageError):
        demo_data.generate(1, tmp_path, dt.date(2024, 2, 1), dt.date(2024, 1, 1))


def test_a_force_with_no_calibration_gets_plausible_data(tmp_path: Path, monkeypatch, capsys) -> None:
    lookup = config.districts()
    others = lookup[(lookup["pfa_code"] != FORCE.code) & (lookup["csp_code"] != "")
                    & ~lookup["pfa_code"].isin(CALIBRATION.get("force", {}))]
    code = others["pfa_code"].iloc[0]
    force_file = tmp_path / "force.toml"
    force_file.write_text(f'[force]\ncode = "{code}"\nname = "Other"\npolice_uk_name = "Other Police"\n')
    other = config.load_force(force_file)
    monkeypatch.setattr(demo_data.config, "load_force", lambda: other)
    demo_data.generate(3, tmp_path / "out", dt.date(2024, 1, 1), dt.date(2024, 1, 1))
    assert "no section for Other" in capsys.readouterr().err
    calls = pd.read_csv(tmp_path / "out" / "calls_101" / "calls_101_2024-01.csv", dtype=str)
    assert 1000 < len(calls) and set(calls["caller_csp_code"].dropna()) <= {a.code for a in other.csps}
    hidden = pd.read_csv(tmp_path / "out" / "hidden_crime" / "hidden_crime_extract.csv", dtype=str)
    assert set(hidden["area_code"].dropna()) == {a.code for a in other.csps}


# --------------------------------------------------------------------------- 101 calibration

def _period_value(data_dir: Path, measure: str, first: dt.date, last: dt.date) -> float:
    query, params = {"mean_wait_101": ("calls_101_mean_wait", {}), "abandoned_share_101": ("calls_101_abandoned", {}),
                     "answered_within_20min_101": ("calls_101_answered_within", {"minutes": 20})}[measure]
    rows = force_rows(run(data_dir, query, first, last.replace(day=1), **params))
    months = len(pd.date_range(first, last, freq="MS"))
    assert len(rows) == months, f"{measure}: months missing in {first}..{last}"
    value = rows["numerator"].sum() / rows["denominator"].sum()
    return value if measure == "mean_wait_101" else 100 * value


@needs_calibration
def test_calls_follow_every_published_figure(calls_data) -> None:
    _, data_dir = calls_data
    lines, failures = [], []
    for target in calls_targets():
        value = _period_value(data_dir, target["measure"], _d(target["period_start"]), _d(target["period_end"]))
        ok = value < target["value"] if target["check"] == "below" else abs(value / target["value"] - 1) <= 0.15
        lines.append(f"{target['period_start']}..{target['period_end']} {target['measure']}: "
                     f"target {target['value']} generated {value:.2f}")
        if not ok:
            failures.append(lines[-1])
    print("\n".join(lines))
    assert not failures, failures


@needs_calibration
def test_answered_within_20_minutes_august_2024_close(calls_data) -> None:
    _, data_dir = calls_data
    value = _period_value(data_dir, "answered_within_20min_101", dt.date(2024, 8, 1), dt.date(2024, 8, 31))
    assert abs(value - 93.9) <= 1.5


@needs_calibration
def test_call_volumes_of_the_order_published(calls_data) -> None:
    _, data_dir = calls_data
    rows = force_rows(run(data_dir, "calls_101_abandoned", dt.date(2021, 10, 1), dt.date(2022, 9, 1)))
    year = rows["denominator"].sum()
    contacts = FORCE_CAL["calls_101"]["contacts_year_to_sep_2022"]
    assert 0.6 * contacts <= year <= contacts  # phone calls are most, not all, of the contacts
    every = force_rows(run(data_dir, "calls_101_abandoned", CALLS_FROM, CALLS_TO))
    assert every["denominator"].between(40_000, 90_000).all()


@needs_calibration
def test_mean_wait_follows_the_published_path(calls_data) -> None:
    _, data_dir = calls_data
    rows = force_rows(run(data_dir, "calls_101_mean_wait", CALLS_FROM, CALLS_TO))
    wait = rows["numerator"] / rows["denominator"]
    high = wait[(wait.index >= dt.date(2021, 10, 1)) & (wait.index <= dt.date(2023, 12, 1))]
    assert high.between(20, 55).all() and high[high.index <= dt.date(2023, 6, 1)].between(33, 50).all()
    in_2023 = wait[(wait.index >= dt.date(2023, 1, 1)) & (wait.index <= dt.date(2023, 12, 1))]
    assert in_2023.idxmax() == dt.date(2023, 11, 1) and abs(in_2023.max() - 47) <= 47 * 0.15
    second_half_2024 = wait[wait.index >= dt.date(2024, 7, 1)]
    assert (second_half_2024 < 5.5).all() and wait[dt.date(2024, 7, 1)] < 5
    assert wait[dt.date(2024, 1, 1)] > wait[dt.date(2024, 4, 1)] > wait[dt.date(2024, 8, 1)]  # falling sharply


def test_abandonment_is_high_when_waits_are_long(calls_data) -> None:
    _, data_dir = calls_data
    wait = force_rows(run(data_dir, "calls_101_mean_wait", CALLS_FROM, CALLS_TO))
    abandoned = force_rows(run(data_dir, "calls_101_abandoned", CALLS_FROM, CALLS_TO))
    rho = sps.spearmanr(wait["numerator"] / wait["denominator"],
                        abandoned["numerator"] / abandoned["denominator"]).statistic
    assert rho > 0.9


def test_weekday_and_hour_patterns(calls_data) -> None:
    _, data_dir = calls_data
    table = pd.read_parquet(data_dir / "current" / "calls_101_weekday_hour.parquet")
    by_day = table.groupby("weekday")["calls"].sum()
    by_hour = table.groupby("hour")["calls"].sum()
    assert by_day[0] == by_day.max() and by_day[6] == by_day.min() and by_day[0] > 1.2 * by_day[6]
    assert by_hour.loc[9:17].min() > 4 * by_hour.loc[1:5].max()
    assert len(table) == 39 * 7 * 24 and table["illustrative"].all()


def test_caller_csp_in_proportion_to_population(calls_data) -> None:
    _, data_dir = calls_data
    table = pd.read_parquet(data_dir / "current" / "calls_101_monthly.parquet")
    calls = table.groupby("area_code")["calls"].sum()
    assert 0.10 <= calls[UNASSIGNED] / calls.sum() <= 0.20
    assigned = calls.drop(UNASSIGNED)
    population = pd.Series({a.code: a.population for a in FORCE.csps})
    share = (assigned / assigned.sum()).reindex(population.index)
    assert np.allclose(share, population / population.sum(), atol=0.005)
    assert table["illustrative"].all()


# --------------------------------------------------------------------------- hidden crime

@needs_calibration
@pytest.mark.parametrize("strand", ["sexual_offences", "stalking_harassment"])
def test_hidden_crime_add_up_to_ons_table_c2_per_csp(strand: str, other_data) -> None:
    _, data_dir = other_data
    window = next(e for e in FORCE_CAL["hidden_crime"]["exact"] if e["strand"] == strand)
    frame = run(data_dir, "hidden_crime_monthly", _d(window["period_start"]),
                _d(window["period_end"]).replace(day=1), strand=strand)
    assert frame["period_start"].nunique() == 12
    totals = frame.groupby("area_code")["numerator"].sum()
    c2 = c2_targets()[strand]
    for csp in FORCE.csps:
        assert totals[csp.code] == c2[csp.code], csp.name
    assert totals.get(UNASSIGNED, 0) == c2.get("unassigned", 0)
    assert totals[FORCE.code] == sum(c2.values())


@needs_calibration
def test_hidden_crime_force_totals_exact(other_data) -> None:
    _, data_dir = other_data
    targets = hidden_exact_targets()
    assert {t["strand"] for t in targets} >= {"domestic_abuse", "hate_crime"}
    for target in targets:
        frame = run(data_dir, "hidden_crime_monthly", _d(target["period_start"]),
                    _d(target["period_end"]).replace(day=1), strand=target["strand"])
        total = force_rows(frame)["numerator"].sum()
        assert total == target["value"], target


def test_hidden_crime_rows_complete_illustrative_and_seasonal(other_data) -> None:
    _raw, data_dir = other_data
    table = pd.read_parquet(data_dir / "current" / "hidden_crime_monthly.parquet")
    assert table["illustrative"].all()
    assert '"illustrative": true' in (data_dir / "current" / "manifest.json").read_text()
    csps = table[table["area_code"] != UNASSIGNED]
    months = pd.date_range(demo_data.DEFAULT_FROM, demo_data.DEFAULT_TO, freq="MS")
    assert len(csps) == len(months) * len(FORCE.csps) * len(hidden_crime.STRANDS)  # zeros included
    force = table.assign(month=pd.to_datetime(table["month"])).groupby(["strand", "month"])["count"].sum()
    hate = force["hate_crime"]
    assert hate[hate.index.month.isin([6, 7])].mean() > 1.1 * hate[hate.index.month.isin([1, 2])].mean()
    abuse = force["domestic_abuse"]
    assert abuse[abuse.index.month.isin([7, 8])].mean() > 1.1 * abuse[abuse.index.month == 2].mean()


def test_hidden_crime_small_areas_have_honest_small_numbers(other_data) -> None:
    _, data_dir = other_data
    table = pd.read_parquet(data_dir / "current" / "hidden_crime_monthly.parquet")
    smallest = min(FORCE.csps, key=lambda a: a.population or 0)
    small = table[table["area_code"] == smallest.code]
    # No strand is recorded at more than about 20 a year per 1,000 residents.
    ceiling = max(smallest.population / 1000 * 20 / 12, 1)
    for strand, rows in small.groupby("strand"):
        assert rows["count"].mean() <= ceiling, strand
        if smallest.population < 10_000:  # e.g. the Isles of Scilly: mostly 0 or 1 a month
            assert (rows["count"] == 0).mean() > 0.2 and rows["count"].median() <= 2, strand


@needs_calibration
def test_hidden_crime_levels_plausible(other_data) -> None:
    _, data_dir = other_data
    table = pd.read_parquet(data_dir / "current" / "hidden_crime_monthly.parquet")
    table["fy"] = [m.year if m.month >= 4 else m.year - 1 for m in table["month"]]
    per_year = table.groupby(["strand", "fy"])["count"].sum()
    for strand, anchors in FORCE_CAL["hidden_crime"]["annual_path"].items():
        for month, level in anchors:
            year = int(month[:4])
            if (strand, year) in per_year.index and year <= 2024:
                assert abs(per_year[(strand, year)] / level - 1) < 0.2, (strand, year)
    for context in FORCE_CAL["hidden_crime"]["context"]:
        if context["strand"] == "child_sexual_abuse":
            year = int(context["period_start"][:4])
            assert abs(per_year[("child_sexual_abuse", year)] / context["value"] - 1) < 0.15


# --------------------------------------------------------------------------- reoffending

def test_reoffending_cohorts(other_data) -> None:
    _, data_dir = other_data
    table = pd.read_parquet(data_dir / "current" / "reoffending_cohorts.parquet")
    assert table["illustrative"].all()
    starts = sorted(set(table["cohort_start"]))
    assert starts[0] == dt.date(2018, 4, 1) and starts[-1] == dt.date(2024, 4, 1)
    assert [s.month for s in starts] == [(4 + 3 * i - 1) % 12 + 1 for i in range(len(starts))]  # every quarter
    assert len(table) == len(starts) * len(FORCE.districts) * 2
    assert (table["reoffenders"] <= table["offenders"]).all() and (table["reoffences"] >= table["reoffenders"]).all()
    assert set(table["area_code"]) == {a.code for a in FORCE.csps}


def test_reoffending_rates_near_national_and_varying(other_data) -> None:
    _, data_dir = other_data
    first, last = dt.date(2018, 1, 1), dt.date(2025, 1, 1)
    adult = run(data_dir, "reoffending_rate", first, last, offender_type="adult")
    juvenile = run(data_dir, "reoffending_rate", first, last, offender_type="juvenile")
    pooled = {kind: frame.groupby("area_code")[["numerator", "denominator"]].sum()
              for kind, frame in (("adult", adult), ("juvenile", juvenile))}
    adult_rate = pooled["adult"].loc[FORCE.code, "numerator"] / pooled["adult"].loc[FORCE.code, "denominator"]
    juvenile_rate = pooled["juvenile"].loc[FORCE.code, "numerator"] / pooled["juvenile"].loc[FORCE.code, "denominator"]
    assert 0.21 <= adult_rate <= 0.30  # about a quarter
    assert 0.28 <= juvenile_rate <= 0.38  # about a third
    big = [a.code for a in FORCE.csps if (a.population or 0) > 50_000]
    rates = pooled["adult"].loc[big, "numerator"] / pooled["adult"].loc[big, "denominator"]
    assert rates.max() - rates.min() > 0.03  # varying by area
    per_reoffender = run(data_dir, "reoffences_per_reoffender", first, last, offender_type="all")
    force = force_rows(per_reoffender)
    assert 3 <= force["numerator"].sum() / force["denominator"].sum() <= 4.5


def test_reoffending_cohorts_scale_with_population_and_crime(other_data) -> None:
    _, data_dir = other_data
    frame = run(data_dir, "reoffending_rate", dt.date(2018, 1, 1), dt.date(2025, 1, 1), offender_type="all")
    offenders = frame[frame["area_type"] == "csp"].groupby("area_code")["denominator"].sum()
    population = pd.Series({a.code: a.population for a in FORCE.csps}).reindex(offenders.index)
    assert np.corrcoef(offenders, population)[0, 1] > 0.8
    if FORCE_CAL is not None:  # and more offenders per resident where more crime is recorded per resident
        crime = pd.Series(FORCE_CAL["recorded_crime_c2"]["total_recorded_crime"]).reindex(offenders.index)
        assert np.corrcoef(offenders, crime)[0, 1] > 0.95
        assert sps.spearmanr(offenders / population, crime / population).statistic > 0.8


# --------------------------------------------------------------------------- calibration file

@needs_calibration
def test_calibration_file_matches_shared_data() -> None:
    calls_file, hidden_file, c2_file = (_shared(k) for k in ("shared_calls_file", "shared_hidden_file",
                                                            "shared_c2_file"))
    if calls_file is None or hidden_file is None or c2_file is None:
        pytest.skip(f"../shared/data is not beside the repository ({SHARED_DATA_DIR})")
    published = pd.read_csv(calls_file, dtype=str)
    for entry in FORCE_CAL["calls_101"]["published"]:
        match = published[(published["measure"] == entry["measure"])
                          & (published["period_start"] == entry["period_start"])
                          & (published["period_end"] == entry["period_end"])]
        assert len(match) == 1, entry
        row = match.iloc[0]
        assert float(row["value"]) == entry["value"] and row["source_url"] == entry["source_url"]
        assert row["source_date"] == entry["source_date"]
        assert (entry["check"] == "below") == ("upper bound" in row["definition_note"])
    wanted = {"mean_wait_101", "abandoned_share_101", "answered_within_20min_101"}
    assert len(published[published["measure"].isin(wanted)]) == len(FORCE_CAL["calls_101"]["published"])
    hidden = pd.read_csv(hidden_file, dtype=str)
    hidden = hidden[hidden["geography"] == FORCE_CAL["shared_hidden_geography"]]
    for entry in [e for e in FORCE_CAL["hidden_crime"]["exact"] if e["level"] == "force"] + list(
            FORCE_CAL["hidden_crime"]["context"]):
        strand = {"child_sexual_abuse": "child_sexual_offences", "modern_slavery": "modern_slavery_nrm_referrals"}.get(
            entry["strand"], entry["strand"])
        match = hidden[(hidden["strand"] == strand) & (hidden["period_start"] == entry["period_start"])]
        assert len(match) == 1, entry
        assert int(match["value"].iloc[0]) == entry["value"] and match["source_url"].iloc[0] == entry["source_url"]
    c2 = read_c2(c2_file, FORCE.code)
    for key, counts in c2.items():
        assert counts == FORCE_CAL["recorded_crime_c2"][key], key


def test_ingest_of_the_same_files_gives_the_same_bytes(tmp_path: Path, calls_data) -> None:
    raw, _ = calls_data
    months = sorted((raw / "calls_101").glob("calls_101_2022-*.csv"))
    for name in ("a", "b"):
        calls_101.ingest(months, tmp_path / name, illustrative=True)
    for table in ("calls_101_monthly", "calls_101_weekday_hour"):
        assert (tmp_path / "a" / "current" / f"{table}.parquet").read_bytes() == (
            tmp_path / "b" / "current" / f"{table}.parquet").read_bytes()
