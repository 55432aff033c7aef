"""The version history of a data folder: every publish recorded (what, when, which files), the last
store.KEEP versions kept for rollback, `rollback` atomic and byte for byte, `versions --keep N` for
the committed default data. Small folders built with store.publish directly (fast), plus the CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from measures.data import store
from tests.conftest import REPO, tree_hash


def marker_build(text: str):
    """A build that writes one small file: each distinct text is a distinct version."""

    def build(staging: Path, current: Path | None) -> dict:
        (staging / "marker.txt").unlink(missing_ok=True)  # a hard link to the published one
        (staging / "marker.txt").write_text(text)
        return {"marker": {"source": text}}

    return build


def publish(data_dir: Path, text: str, **record) -> str:
    store.publish(data_dir, marker_build(text), record=record or None)
    return store.current_id(data_dir)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "measures", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_each_publish_is_recorded_and_the_same_content_again_records_nothing(tmp_path):
    data_dir = tmp_path / "data"
    first = publish(data_dir, "a", action="ingest", source="hidden-crime", rows_read=3,
                    files=[{"name": "h.csv", "bytes": 10, "sha256": "0" * 64}])
    assert publish(data_dir, "a", action="ingest", source="hidden-crime") == first  # same content: a no-op
    second = publish(data_dir, "b", action="commentary", source="analyst", note="why December fell")
    entries = store.history(data_dir)
    assert [(e["version"], e["action"], e["source"]) for e in entries] == [
        (first, "ingest", "hidden-crime"), (second, "commentary", "analyst")]
    assert entries[0]["files"] == [{"name": "h.csv", "bytes": 10, "sha256": "0" * 64}] and entries[0]["rows_read"] == 3
    assert entries[1]["note"] == "why December fell"  # a caller's own fields are kept
    assert entries[1]["published_at"].endswith("Z")
    assert [e["version"] for e in store.versions(data_dir)] == [second, first]
    assert [e["current"] for e in store.versions(data_dir)] == [True, False]


def test_the_last_ten_versions_are_kept_and_older_ones_pruned_but_still_listed(tmp_path):
    data_dir = tmp_path / "data"
    ids = [publish(data_dir, f"v{i}") for i in range(store.KEEP + 2)]
    assert sorted(p.name for p in (data_dir / store.VERSIONS).iterdir()) == sorted(ids[2:])
    listed = store.versions(data_dir)
    assert [e["version"] for e in listed] == ids[::-1]  # the history keeps every entry
    assert [e["kept"] for e in listed] == [True] * store.KEEP + [False, False]
    with pytest.raises(store.VersionError, match=f"version {ids[0]} was pruned"):
        store.rollback(data_dir, ids[0])
    with pytest.raises(store.VersionError, match="there is no version 0123456789ab"):
        store.rollback(data_dir, "0123456789ab")
    with pytest.raises(store.VersionError, match="already the current version"):
        store.rollback(data_dir, ids[-1])
    assert store.current_id(data_dir) == ids[-1]


def test_rollback_defaults_to_the_previous_version_and_is_recorded(tmp_path):
    data_dir = tmp_path / "data"
    old, new = publish(data_dir, "old"), publish(data_dir, "new")
    old_files = tree_hash(data_dir / store.VERSIONS / old)
    entry = store.rollback(data_dir)
    assert store.data_version(data_dir) == f"{store.VERSIONS}/{old}"
    assert tree_hash(data_dir / store.CURRENT) == old_files
    assert (entry["version"], entry["action"], entry["source"]) == (old, "rollback", f"rollback from {new}")
    assert store.history(data_dir)[-1] == entry
    store.rollback(data_dir)  # the version before the current one is now the rolled-back-from one
    assert store.current_id(data_dir) == new
    # Publishing content that an earlier kept version has reuses that version.
    assert publish(data_dir, "old") == old


def test_a_folder_published_before_the_history_can_still_be_rolled_back_to(tmp_path):
    data_dir = tmp_path / "data"
    before = publish(data_dir, "before")
    (data_dir / store.HISTORY).unlink()  # as data/ published by an older version of the code
    publish(data_dir, "after")
    assert [e["action"] for e in store.history(data_dir)] == ["found", "ingest"]
    store.rollback(data_dir)
    assert store.current_id(data_dir) == before


def test_leftover_cleanup_keeps_the_history_versions_and_removes_an_unswapped_one(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    first, second = publish(data_dir, "one"), publish(data_dir, "two")

    def killed_before_swap(data_dir: Path, version_id: str) -> None:
        raise KeyboardInterrupt  # stands in for a SIGKILL: the except-block cleanup is skipped below

    with monkeypatch.context() as patched:
        patched.setattr(store, "_swap_current", killed_before_swap)
        patched.setattr(shutil, "rmtree", lambda *a, **k: None)  # a kill leaves everything behind
        with pytest.raises(KeyboardInterrupt):
            publish(data_dir, "three")
    leftover = {p.name for p in (data_dir / store.VERSIONS).iterdir()} - {first, second}
    assert len(leftover) == 1
    publish(data_dir, "four")
    kept = {p.name for p in (data_dir / store.VERSIONS).iterdir()}
    assert {first, second} <= kept and not leftover & kept


def test_history_is_written_atomically_under_the_lock(tmp_path):
    data_dir = tmp_path / "data"
    publish(data_dir, "one")
    inside, release = threading.Event(), threading.Event()

    def slow(staging: Path, current: Path | None) -> dict:
        inside.set()
        assert release.wait(30)
        return marker_build("two")(staging, current)

    thread = threading.Thread(target=store.publish, args=(data_dir, slow))
    thread.start()
    try:
        assert inside.wait(30)
        with pytest.raises(store.StoreBusy):
            store.rollback(data_dir)
    finally:
        release.set()
        thread.join(30)
    assert len(store.history(data_dir)) == 2
    assert not [p for p in data_dir.iterdir() if p.name.startswith(".")]  # no temporary history file left


def test_source_date_epoch_makes_the_history_reproducible(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    for name in ("a", "b"):
        publish(tmp_path / name, "same", action="ingest", source="x")
    assert (tmp_path / "a" / store.HISTORY).read_bytes() == (tmp_path / "b" / store.HISTORY).read_bytes()
    assert store.history(tmp_path / "a")[0]["published_at"] == "2026-01-01T00:00:00Z"


def test_versions_and_rollback_on_the_command_line(tmp_path):
    data_dir = tmp_path / "data"
    old = publish(data_dir, "old", action="ingest", source="hidden-crime",
                  files=[{"name": "h.csv", "bytes": 12, "sha256": "ab" * 32}], rows_read=7)
    new = publish(data_dir, "new")
    listing = cli("versions", "--data-dir", str(data_dir))
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].startswith(f"* {new}") and "(current)" in lines[0]
    assert any(line.startswith(f"  {old}") and "hidden-crime" in line and "7 rows read" in line for line in lines)
    assert f"file h.csv  12 bytes  sha256 {'ab' * 32}" in listing.stdout

    back = cli("rollback", "--data-dir", str(data_dir))
    assert back.returncode == 0 and store.current_id(data_dir) == old, back.stderr
    again = cli("rollback", "--to", new, "--data-dir", str(data_dir))
    assert again.returncode == 0 and store.current_id(data_dir) == new, again.stderr

    kept = cli("versions", "--keep", "1", "--data-dir", str(data_dir))
    assert kept.returncode == 0, kept.stderr
    assert [p.name for p in (data_dir / store.VERSIONS).iterdir()] == [new]
    assert "pruned: cannot roll back" in kept.stdout
    pruned = cli("rollback", "--data-dir", str(data_dir))
    assert pruned.returncode == 2 and f"version {old} was pruned" in pruned.stderr, pruned.stderr
    assert pruned.stderr.count("\n") == 1 and "Traceback" not in pruned.stderr

    empty = cli("rollback", "--data-dir", str(tmp_path / "nothing"))
    assert empty.returncode == 2 and "nothing to roll back" in empty.stderr
    assert not (tmp_path / "nothing").exists()


def test_history_file_is_plain_json_listing_files_with_their_sha256(tmp_path):
    data_dir = tmp_path / "data"
    publish(data_dir, "x", source="police-uk", files=[{"name": "a.zip", "bytes": 1, "sha256": "c" * 64}])
    entries = json.loads((data_dir / store.HISTORY).read_text())
    assert entries[0]["files"][0]["sha256"] == "c" * 64
    assert entries[0]["tables"] == {}  # rows per table (this folder has no Parquet tables)
    assert os.readlink(data_dir / store.CURRENT) == f"{store.VERSIONS}/{entries[0]['version']}"
