"""Faults during an ingest: whatever step fails (or is killed), the published data keeps
every byte, readers see the old data, and the next ingest succeeds. Two ingests at once
never interleave.

Every test works on a copy of the repo's data/ in tmp_path, never on data/ itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from measures.data import db, publishing, store
from measures.data.ingest import sources
from measures.paths import SHARED_DATA_DIR
from tests.conftest import REPO, copy_of_data, tree_hash
from tests.test_input_contracts import calls_rows, hidden_rows, reoffending_rows, write

POLICE_UK_MONTH = SHARED_DATA_DIR / "police_uk" / "2025-06" / "2025-06-devon-and-cornwall-street.csv"
ONS_TABLE = SHARED_DATA_DIR / "ons" / "recorded_crime_by_csp_ye_jun2025_tableC2.csv"
SOURCES = ["police-uk", "ons-csp", "calls-101", "reoffending", "hidden-crime"]
STEPS = ["after-validation", "mid-write", "before-swap"]


class InjectedFault(RuntimeError):
    pass


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, list[Path]]:
    """One valid input per source whose load changes the published data."""
    folder = tmp_path_factory.mktemp("inputs")
    from measures.data.ingest import calls_101, hidden_crime, reoffending

    found = {
        "calls-101": [write(folder / "calls_101_2024-08.csv", calls_101.COLUMNS, calls_rows())],
        "reoffending": [write(folder / "reoffending_2023q2.csv", reoffending.COLUMNS, reoffending_rows())],
        "hidden-crime": [write(folder / "hidden_crime_2024-07.csv", hidden_crime.COLUMNS, hidden_rows())],
    }
    if POLICE_UK_MONTH.exists():  # the published month, less its last 50 rows: every count table changes
        lines = POLICE_UK_MONTH.read_bytes().splitlines(keepends=True)
        (folder / POLICE_UK_MONTH.name).write_bytes(b"".join(lines[:-50]))
        found["police-uk"] = [folder / POLICE_UK_MONTH.name]
    if ONS_TABLE.exists():  # the published year with Plymouth's total one higher
        text = ONS_TABLE.read_text(encoding="utf-8-sig")
        assert '"25,767 "' in text
        (folder / ONS_TABLE.name).write_text(text.replace('"25,767 "', '"25,768 "', 1), encoding="utf-8")
        found["ons-csp"] = [folder / ONS_TABLE.name]
    return found


def source_inputs(inputs: dict[str, list[Path]], source: str) -> list[Path]:
    if source not in inputs:
        pytest.skip(f"raw {source} data not in {SHARED_DATA_DIR}")
    return inputs[source]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = copy_of_data(tmp_path)
    return folder


def answers(data_dir: Path) -> dict[str, list]:
    """What a reader gets from every published table (row count and a checksum of all rows)."""
    con = db.connect(data_dir)
    return {table: con.cursor().execute(f"select count(*), sum(hash(t)) from {table} t").fetchall()
            for table in sorted(db.tables(con) - {"areas", "area_population"})}


# How many tables each source writes: a mid-write fault hits the last one, so the others are
# already replaced in staging (whose files start as hard links to the published ones).
TABLES_WRITTEN = {"police-uk": 3, "calls-101": 2}


def inject(monkeypatch: pytest.MonkeyPatch, step: str, source: str = "") -> None:
    """Make store.publish fail at `step`."""
    if step == "after-validation":  # every input checked, staging made: fail before any table is written
        original_stage = store._stage

        def stage_then_fail(current, staging):
            original_stage(current, staging)
            raise InjectedFault(step)

        monkeypatch.setattr(store, "_stage", stage_then_fail)
    elif step == "mid-write":  # a table dies half-written (e.g. the disk fills)
        original_replace = store.replace_table
        written: list[str] = []

        def replace_half(staging, table, write):
            written.append(table)
            if len(written) < TABLES_WRITTEN.get(source, 1):
                return original_replace(staging, table, write)

            def write_half(tmp):
                write(tmp)
                with open(tmp, "r+b") as handle:
                    handle.truncate(os.path.getsize(tmp) // 2)
                raise InjectedFault(step)

            return original_replace(staging, table, write_half)

        monkeypatch.setattr(store, "replace_table", replace_half)
    elif step == "before-swap":  # the new version is complete on disk; fail before `current` moves
        def fail_swap(data_dir, version_id):
            assert (data_dir / store.VERSIONS / version_id).is_dir()
            raise InjectedFault(step)

        monkeypatch.setattr(store, "_swap_current", fail_swap)


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("source", SOURCES)
def test_failed_ingest_changes_no_published_byte_and_the_next_one_succeeds(inputs, data_dir, monkeypatch, source, step):
    files = source_inputs(inputs, source)
    before, read_before, version = tree_hash(data_dir), answers(data_dir), store.data_version(data_dir)
    with monkeypatch.context() as patched:
        inject(patched, step, source)
        with pytest.raises(InjectedFault):
            sources.run(source, files, data_dir)
    assert tree_hash(data_dir) == before, f"{step}: the data folder changed"
    assert answers(data_dir) == read_before

    sources.run(source, files, data_dir)  # nothing left over stops the next ingest
    assert store.data_version(data_dir) != version
    read_after = answers(data_dir)
    assert read_after != read_before
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".")] == []
    # The failed attempt left no version behind; the one before is kept for rollback.
    assert sorted(p.name for p in (data_dir / store.VERSIONS).iterdir()) == sorted(
        [store.current_id(data_dir), version.split("/")[1]])


@pytest.mark.parametrize("step", STEPS)
def test_failed_publish_from_the_update_page_changes_nothing(inputs, data_dir, tmp_path, monkeypatch, step):
    files = inputs["hidden-crime"]
    candidate = publishing.validate("hidden-crime", [(f.name, f.read_bytes()) for f in files], data_dir,
                                    work_root=tmp_path / "work")
    before = tree_hash(data_dir)
    with monkeypatch.context() as patched:
        inject(patched, step)
        with pytest.raises(InjectedFault):
            publishing.publish(candidate, data_dir, allow_partial=True)  # (a small month: its total is low)
    assert tree_hash(data_dir) == before
    checked_version = candidate.version
    publishing.publish(candidate, data_dir, allow_partial=True)  # the same checked candidate publishes once the fault is gone
    assert store.data_version(data_dir) == checked_version  # exactly the bytes that were checked
    assert not candidate.workdir.exists()


# ------------------------------------------------------------------ a real SIGKILL, mid-way

# Runs the real CLI ingest in a child process that stops itself (SIGSTOP) at one step of the
# publish into the real data folder (not of the check on its private copy), so the test can
# SIGKILL it exactly there, as a crash or an OOM kill would.
HARNESS = r"""
import os, signal, sys
from pathlib import Path
from measures import cli
from measures.data import store

step = sys.argv[1]
real = Path(sys.argv[sys.argv.index("--data-dir") + 1]).resolve()
def stop(folder):
    if Path(folder).resolve() == real:
        os.kill(os.getpid(), signal.SIGSTOP)
if step == "after-validation":
    original_stage = store._stage
    def stage(current, staging):
        original_stage(current, staging)
        stop(staging.parent)
    store._stage = stage
elif step == "mid-write":
    original_replace = store.replace_table
    def replace_table(staging, table, write):
        if Path(staging).parent.resolve() != real:
            return original_replace(staging, table, write)
        def half(tmp):
            write(tmp)
            with open(tmp, "r+b") as handle:
                handle.truncate(os.path.getsize(tmp) // 2)
            stop(staging.parent)
        return original_replace(staging, table, half)
    store.replace_table = replace_table
elif step == "before-swap":
    original_swap = store._swap_current
    def swap(data_dir, version_id):
        stop(data_dir)
        original_swap(data_dir, version_id)
    store._swap_current = swap
sys.exit(cli.main(sys.argv[2:]))
"""


def _wait_until_stopped(process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the ingest ended before the fault point: {process.stderr.read().decode()[-500:]}")
        with open(f"/proc/{process.pid}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "T":  # stopped at the step
                return
        time.sleep(0.02)
    process.kill()
    pytest.fail("the ingest never reached the fault point")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to see the child stop")
@pytest.mark.parametrize("step", STEPS)
def test_sigkill_mid_ingest_leaves_published_data_and_next_ingest_cleans_up(inputs, data_dir, step):
    files = inputs["calls-101"]  # a small month (its total is low): --allow-partial
    before, read_before, version = tree_hash(data_dir), answers(data_dir), store.current_id(data_dir)
    child = subprocess.Popen([sys.executable, "-c", HARNESS, step, "ingest", "calls-101", *map(str, files),
                              "--allow-partial", "--data-dir", str(data_dir)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_until_stopped(child)
        leftovers = [p.name for p in data_dir.iterdir() if p.name.startswith(".")]
        assert any(name.startswith(".staging-") for name in leftovers) or step == "before-swap"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    # Readers see exactly what was published; only the dead ingest's own leftovers differ,
    # and readers never look at them (a dot-folder, or a version `current` does not point to).
    after = tree_hash(data_dir)
    published = {k: v for k, v in after.items() if not k.startswith(".") and
                 (not k.startswith(store.VERSIONS) or k.startswith(store.data_version(data_dir)))}
    assert published == before
    assert answers(data_dir) == read_before

    result = subprocess.run([sys.executable, "-m", "measures", "ingest", "calls-101", *map(str, files),
                             "--allow-partial", "--data-dir", str(data_dir)], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert answers(data_dir) != read_before
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".")] == []  # leftovers removed
    # The dead ingest's unpublished version is gone; the version before is kept for rollback.
    assert sorted(p.name for p in (data_dir / store.VERSIONS).iterdir()) == sorted([store.current_id(data_dir), version])


# ------------------------------------------------------------------ two ingests at once

def test_a_second_ingest_while_one_runs_is_refused_as_busy_and_nothing_interleaves(inputs, data_dir):
    """The first ingest is held inside its build step; a second one (CLI, another process) must not get in."""
    release, inside = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def slow_build(staging: Path, current: Path | None) -> dict:
        inside.set()
        assert release.wait(60)
        (staging / "marker_first.txt").write_text("first")
        return {}

    def first() -> None:
        try:
            outcome["manifest"] = store.publish(data_dir, slow_build)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(30)
        before = tree_hash(data_dir)
        second = subprocess.run([sys.executable, "-m", "measures", "ingest", "hidden-crime",
                                 *map(str, inputs["hidden-crime"]), "--allow-partial", "--data-dir", str(data_dir)],
                                cwd=REPO, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert "another ingest is running" in second.stderr and "Traceback" not in second.stderr
        assert tree_hash(data_dir) == before  # the refused one touched nothing, not even the first's staging
    finally:
        release.set()
        thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert (store.current_dir(data_dir) / "marker_first.txt").read_text() == "first"
    sources.run("hidden-crime", inputs["hidden-crime"], data_dir)  # and afterwards it goes through
    assert (store.current_dir(data_dir) / "marker_first.txt").exists()  # on top of the first, not instead of it


def test_two_checked_updates_cannot_overwrite_each_other(inputs, data_dir, tmp_path):
    """Two analysts check files against the same published version; the second to publish is told to check again."""
    from measures.data.ingest import hidden_crime

    other = write(tmp_path / "hidden_crime_other.csv", hidden_crime.COLUMNS, hidden_rows("2024-06"))
    first = publishing.validate("hidden-crime", [(p.name, p.read_bytes()) for p in inputs["hidden-crime"]], data_dir,
                                work_root=tmp_path / "work")
    second = publishing.validate("hidden-crime", [(other.name, other.read_bytes())], data_dir,
                                 work_root=tmp_path / "work")
    publishing.publish(first, data_dir, allow_partial=True)  # (small months: their totals are low)
    after_first = tree_hash(data_dir)
    with pytest.raises(publishing.StaleCandidate, match="check them again"):
        publishing.publish(second, data_dir, allow_partial=True)
    assert tree_hash(data_dir) == after_first
    again = publishing.validate("hidden-crime", [(other.name, other.read_bytes())], data_dir,
                                work_root=tmp_path / "work")
    publishing.publish(again, data_dir, allow_partial=True)  # checked against the new version: both updates are now published
    months = db.connect(data_dir).cursor().execute(
        "select distinct strftime(month, '%Y-%m') from hidden_crime_monthly where month in ('2024-06-01', '2024-07-01')"
    ).fetchall()
    assert sorted(m[0] for m in months) == ["2024-06", "2024-07"]


def august_calls(con) -> tuple[int, int]:
    """2024-08 calls in the two calls tables that one calls-101 ingest writes together."""
    return con.cursor().execute(
        """select (select sum(calls) from calls_101_monthly where month = '2024-08-01'),
                  (select sum(calls) from calls_101_weekday_hour where month = '2024-08-01')""").fetchone()


def test_a_reader_connecting_while_a_publish_swaps_gets_one_version(data_dir, tmp_path, monkeypatch):
    """Deterministic: the swap (and the prune of the old version) happens after the reader has
    loaded the first table and before the second."""
    import types

    import duckdb

    from measures.data.ingest import calls_101

    small = write(tmp_path / "a" / "calls_101_2024-08.csv", calls_101.COLUMNS, calls_rows(n=12))
    large = write(tmp_path / "b" / "calls_101_2024-08.csv", calls_101.COLUMNS, calls_rows(n=40))
    sources.run("calls-101", [large], data_dir)

    class PublishMidway:
        def __init__(self, con) -> None:
            self.con, self.published = con, False

        def execute(self, sql, *args):
            result = self.con.execute(sql, *args)
            if "calls_101_monthly" in sql and not self.published:
                self.published = True
                sources.run("calls-101", [small], data_dir)
            return result

        def __getattr__(self, name):
            return getattr(self.con, name)

    real_connect = duckdb.connect
    monkeypatch.setattr(db, "duckdb", types.SimpleNamespace(
        connect=lambda *a, **k: PublishMidway(real_connect(*a, **k)), IOException=duckdb.IOException))
    con = db.connect(data_dir)
    assert con.published  # the publish really happened half-way through connecting
    # The version it began with, whole: its files were open before the publish pruned them.
    assert august_calls(con) == (40, 40)


def test_readers_during_publishes_see_one_version_never_a_mix(data_dir, tmp_path):
    """Publishes of two calls-101 files alternate while readers connect and compare the two
    calls tables (written by one ingest): their totals for the month always agree."""
    from measures.data.ingest import calls_101

    small = write(tmp_path / "a" / "calls_101_2024-08.csv", calls_101.COLUMNS, calls_rows(n=12))
    large = write(tmp_path / "b" / "calls_101_2024-08.csv", calls_101.COLUMNS, calls_rows(n=40))
    stop, seen, mixed = threading.Event(), set(), []

    def reader() -> None:
        while not stop.is_set():
            try:
                monthly, by_hour = august_calls(db.connect(data_dir))
            except Exception as exc:  # noqa: BLE001 - a reader must never fail while a publish runs
                mixed.append(exc)
                return
            seen.add(monthly)
            if monthly != by_hour:
                mixed.append((monthly, by_hour))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(8):
            sources.run("calls-101", [small if round_ % 2 else large], data_dir)
            # A reader loads the whole data folder (about 0.2 s): let one see this version before the next
            # publish, so both versions are read while publishes go on (bounded; the assertions still decide).
            deadline = time.monotonic() + 10
            while (12 if round_ % 2 else 40) not in seen and not mixed and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert mixed == []
    assert {12, 40} <= seen  # the readers really saw both versions
