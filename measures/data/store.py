"""The published data folder, and how it is replaced atomically.

Layout of a data folder:
    reference/            district/CSP/force lookups, population, boundaries (copied in)
    versions/<id>/        one complete set of tidy tables (*.parquet) + manifest.json
    current -> versions/<id>   a relative symlink: the published version
    history.json          every publish, oldest first (what was loaded, when, rows per table)

An ingest builds a complete new version beside the published one and then swaps the
`current` symlink with one rename (atomic on POSIX). Readers always see either the old
version or the new one, never a mix. A failure before the swap deletes the staging
folder, so the data folder is then exactly as it was.

The last KEEP versions stay on disk, so `rollback` can make an earlier one current again
(the same atomic swap); older ones are pruned, and their history entries stay as provenance.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pyarrow.parquet as pq

from measures.paths import REFERENCE_DIR

CURRENT = "current"
VERSIONS = "versions"
MANIFEST = "manifest.json"
HISTORY = "history.json"
KEEP = 10  # versions kept on disk for rollback (the current one included)


class StoreBusy(RuntimeError):
    """Another ingest holds the lock on this data folder."""


class VersionError(ValueError):
    """A rollback to a version that is not there (unknown, pruned, or already current)."""


class DiskError(RuntimeError):
    """The data folder could not be written (full, read-only, no permission); nothing was changed."""

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.cause = cause  # the reason in words (disk_cause), for a caller that words the folder itself


# What a write failure means, in words (the OSError's own text names a temporary path, not the cause).
DISK_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "it is on a read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted",
}


def disk_cause(error: OSError) -> str:
    """An OSError's real cause in words, without the (temporary) file it happened on."""
    return DISK_CAUSES.get(error.errno or 0) or (error.strerror or type(error).__name__).lower()


def error_in(error: OSError, folder: Path) -> bool:
    """Whether the failed operation was on a file under `folder`."""
    root = Path(folder).absolute()
    names = [os.fsdecode(n) for n in (error.filename, error.filename2) if isinstance(n, str | bytes | os.PathLike)]
    return any(Path(n).absolute().is_relative_to(root) for n in names)


def is_disk_error(error: OSError, folder: Path) -> bool:
    """A failure to write `folder` (and not, say, an input file the build could not read)."""
    return error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS) or error_in(error, folder)


@contextmanager
def _disk_errors(data_dir: Path, what: str) -> Iterator[None]:
    """Turn a failed write of the data folder into one line with the real cause."""
    try:
        yield
    except OSError as exc:
        if not is_disk_error(exc, data_dir):
            raise
        cause = disk_cause(exc)
        raise DiskError(f"{data_dir}: could not write the data folder: {cause}; {what}", cause) from None


def current_dir(data_dir: Path) -> Path | None:
    """The published version folder, or None for a folder with no data yet."""
    link = Path(data_dir) / CURRENT
    return link if link.is_dir() else None


def table_path(data_dir: Path, table: str) -> Path:
    return Path(data_dir) / CURRENT / f"{table}.parquet"


def manifest(data_dir: Path) -> dict:
    folder = current_dir(data_dir)
    if folder is None or not (folder / MANIFEST).exists():
        return {"tables": {}}
    return json.loads((folder / MANIFEST).read_text())


def data_version(data_dir: Path) -> str:
    """Identifies the published data; changes whenever an ingest publishes."""
    link = Path(data_dir) / CURRENT
    return os.readlink(link) if link.is_symlink() else ""


def current_id(data_dir: Path) -> str:
    """The published version's id (the folder name under versions/), "" for a folder with no data."""
    return Path(data_version(data_dir)).name


def history(data_dir: Path) -> list[dict]:
    """Every publish recorded in this folder, oldest first (empty for a folder without a history)."""
    path = Path(data_dir) / HISTORY
    return json.loads(path.read_text()) if path.exists() else []


def versions(data_dir: Path) -> list[dict]:
    """The history newest first, each entry with `current` and `kept` (its folder is on disk: rollback can reach it)."""
    data_dir = Path(data_dir)
    current = current_id(data_dir)
    entries = list(reversed(_history_with_current(data_dir)))
    shown_current = False
    found = []
    for entry in entries:
        is_current = entry["version"] == current and not shown_current
        shown_current = shown_current or is_current
        found.append({**entry, "current": is_current, "kept": (data_dir / VERSIONS / entry["version"]).is_dir()})
    return found


@contextmanager
def _lock(data_dir: Path) -> Iterator[None]:
    """One ingest at a time per data folder.

    flock on the folder itself: no lock file to leave behind, and the kernel releases
    the lock if the process dies.
    """
    fd = os.open(data_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StoreBusy(f"{data_dir}: another ingest is running; try again when it has finished") from exc
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _content_id(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def publish(data_dir: Path, build: Callable[[Path, Path | None], dict], record: dict | None = None) -> dict:
    """Build a new version with `build(staging, current)` and publish it atomically.

    `record` says what was loaded (action, source, files...), for the version history; a
    publish whose content equals the current version changes nothing and records nothing.

    `build` writes or replaces the tables it owns in `staging` (which starts as a copy
    of the current version) and returns a manifest entry {table_name: info}. Anything it
    raises propagates after the staging folder is removed: nothing published changes.
    """
    data_dir = Path(data_dir)
    created = not data_dir.exists()
    with _disk_errors(data_dir, "nothing was published"):
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            with _lock(data_dir):
                return _publish_locked(data_dir, build, record or {})
        except BaseException:
            if created:
                with suppress(OSError):
                    if not any(data_dir.iterdir()):
                        data_dir.rmdir()  # leave no trace of a failed first ingest
            raise


LEFTOVER_PREFIXES = (".staging-", ".current-", ".reference-", ".history-")


def _remove_leftovers(data_dir: Path) -> None:
    """What an ingest killed mid-way left behind (a staging folder, a half-made link).

    Readers never look at these (only `current` and what it points to), and this runs
    under the lock, so no live ingest is using them. Versions in the history are kept
    (rollback needs them; _prune decides how many).
    """
    for path in data_dir.iterdir():
        if path.name.startswith(LEFTOVER_PREFIXES):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with suppress(OSError):  # a read-only folder: the leftover stays, harmless, until it can go
                    path.unlink(missing_ok=True)
    versions = data_dir / VERSIONS
    known = {entry["version"] for entry in history(data_dir)} | {current_id(data_dir)}
    if versions.is_dir():  # a version made but never swapped in (killed between the two)
        for version in versions.iterdir():
            if version.name not in known:
                shutil.rmtree(version, ignore_errors=True)


def _stage(current: Path | None, staging: Path) -> None:
    """Staging starts as the published version: hard links, no copy."""
    staging.mkdir()
    if current is not None:
        for path in current.iterdir():
            os.link(path.resolve(), staging / path.name)


def _swap_current(data_dir: Path, version_id: str) -> None:
    """Point `current` at the new version with one rename (the atomic swap)."""
    tmp_link = data_dir / f".current-{os.getpid()}"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(Path(VERSIONS) / version_id)
    os.replace(tmp_link, data_dir / CURRENT)


def _publish_locked(data_dir: Path, build: Callable[[Path, Path | None], dict], record: dict) -> dict:
    _remove_leftovers(data_dir)
    entries = _history_with_current(data_dir)  # before the swap: the version being replaced, too
    current = current_dir(data_dir)
    staging = data_dir / f".staging-{os.getpid()}"
    made_version: Path | None = None
    try:
        _stage(current, staging)
        old_manifest = manifest(data_dir)
        written = build(staging, current)
        new_manifest = {"tables": {**old_manifest.get("tables", {}), **written}}
        (staging / MANIFEST).unlink(missing_ok=True)  # a hard link to the published one
        (staging / MANIFEST).write_text(json.dumps(new_manifest, indent=2, sort_keys=True) + "\n")
        version_id = _content_id(staging)
        version = data_dir / VERSIONS / version_id
        if current is not None and current.resolve() == version.resolve():
            shutil.rmtree(staging)  # same content as published: nothing to swap
            return new_manifest
        if not (data_dir / "reference").exists():
            _copy_reference(data_dir)
        version.parent.mkdir(exist_ok=True)
        if version.is_dir():  # a kept earlier version has exactly this content (the id is its hash): reuse it
            shutil.rmtree(staging)
        else:
            os.rename(staging, version)
            made_version = version
    except BaseException:
        _clean_up(data_dir, staging, made_version)
        raise
    _make_current(data_dir, entries, version_id, {"action": "ingest", "tables_written": sorted(written), **record},
                  made_version)
    return new_manifest


def _make_current(data_dir: Path, entries: list[dict], version_id: str, record: dict,
                  made_version: Path | None) -> dict:
    """The end of a publish and of a rollback, under the lock: the history with the new entry, `current` swapped to
    `version_id`, old versions pruned. Returns the entry.

    The history is written before the swap, so a full disk stops the change rather than its record; until the swap
    nothing readers see has changed, and a failure removes what was made (`made_version`: a version made for this
    publish, never current)."""
    try:
        history_tmp, entry = _write_history(data_dir, entries, version_id, record)
        _swap_current(data_dir, version_id)
    except BaseException:
        _clean_up(data_dir, None, made_version)
        raise
    os.replace(history_tmp, data_dir / HISTORY)
    _prune(data_dir, KEEP)
    return entry


def _clean_up(data_dir: Path, staging: Path | None, made_version: Path | None) -> None:
    """What a failed publish or rollback made; never raises (the first error is the one to report)."""
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
    for leftover in (data_dir / f".current-{os.getpid()}", data_dir / f".history-{os.getpid()}.json"):
        with suppress(OSError):  # on a read-only folder even unlinking a missing file fails
            leftover.unlink(missing_ok=True)
    if made_version is not None:  # made but never swapped in: readers never saw it
        shutil.rmtree(made_version, ignore_errors=True)


def table_rows(folder: Path | None) -> dict[str, int]:
    """Rows per table of a version folder (from the Parquet footers: no data is read)."""
    if folder is None:
        return {}
    return {p.stem: pq.read_metadata(p).num_rows for p in sorted(Path(folder).glob("*.parquet"))}


def _now() -> str:
    """UTC now, or SOURCE_DATE_EPOCH (the reproducible-builds convention) so a rebuild of data/ can repeat its history."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)) if epoch.isdigit() else time.gmtime())


def _history_with_current(data_dir: Path) -> list[dict]:
    """The history, ending with the current version: a folder published before it kept a history
    (or whose last write was interrupted) gets an entry for its current version, so it can be rolled back to."""
    entries = history(data_dir)
    current = current_id(data_dir)
    if current and (not entries or entries[-1]["version"] != current):
        entries.append({"version": current, "published_at": None, "action": "found",
                        "source": "published before this folder kept a history", "files": [], "rows_read": None,
                        "tables": table_rows(data_dir / VERSIONS / current)})
    return entries


def _history_entry(data_dir: Path, version_id: str, record: dict) -> dict:
    return {"version": version_id, "published_at": _now(), "source": "", "files": [], "rows_read": None, **record,
            "tables": table_rows(data_dir / VERSIONS / version_id)}


def _write_history(data_dir: Path, entries: list[dict], version_id: str, record: dict) -> tuple[Path, dict]:
    """The history with a publish appended, as a temporary file: renamed over history.json once the swap is
    made (atomic), under the lock."""
    tmp, entry = data_dir / f".history-{os.getpid()}.json", _history_entry(data_dir, version_id, record)
    tmp.write_text(json.dumps([*entries, entry], indent=1) + "\n")
    return tmp, entry


def _copy_reference(data_dir: Path) -> None:
    target = data_dir / "reference"
    if REFERENCE_DIR.resolve() != target.resolve():
        tmp = data_dir / f".reference-{os.getpid()}"
        shutil.copytree(REFERENCE_DIR, tmp)
        os.rename(tmp, target)


def _prune(data_dir: Path, keep: int) -> list[str]:
    """Remove versions beyond the `keep` most recently published (readers hold the symlink, not the folder).

    Their history entries stay: the record of what was loaded outlives the tables."""
    wanted = [current_id(data_dir)]
    for entry in reversed(history(data_dir)):
        if len(wanted) >= keep:
            break
        if entry["version"] not in wanted:
            wanted.append(entry["version"])
    removed = []
    for version in sorted((data_dir / VERSIONS).iterdir()):
        if version.name not in wanted:
            shutil.rmtree(version, ignore_errors=True)
            removed.append(version.name)
    return removed


def prune(data_dir: Path, keep: int) -> list[str]:
    """Keep only the `keep` most recent versions (at least the current one); returns the ids removed."""
    data_dir = Path(data_dir)
    if keep < 1:
        raise VersionError(f"--keep must be 1 or more, not {keep}")
    if current_dir(data_dir) is None:
        return []
    with _disk_errors(data_dir, "no version was removed"), _lock(data_dir):
        _remove_leftovers(data_dir)
        return _prune(data_dir, keep)


VERSION_ID = re.compile(r"^[0-9a-f]{12}$")


def rollback(data_dir: Path, to: str | None = None) -> dict:
    """Make an earlier version current again with the same atomic swap, and record it in the history.

    `to` is a version id; by default the version published before the current one. Raises
    VersionError for an id that is unknown, pruned or already current, StoreBusy during an ingest.
    """
    data_dir = Path(data_dir)
    if current_dir(data_dir) is None:
        raise VersionError(f"{data_dir}: no data is published here, so there is nothing to roll back")
    if to is not None and not VERSION_ID.match(to):
        raise VersionError(f"{data_dir}: {to!r} is not a version id (12 hex digits; see `python -m measures versions`)")
    with _disk_errors(data_dir, "nothing was rolled back"), _lock(data_dir):
        _remove_leftovers(data_dir)
        entries = _history_with_current(data_dir)
        current = current_id(data_dir)
        target = to if to is not None else _previous(entries, current, data_dir)
        if target == current:
            raise VersionError(f"{data_dir}: version {target} is already the current version")
        if not (data_dir / VERSIONS / target).is_dir():
            if any(entry["version"] == target for entry in entries):
                raise VersionError(f"{data_dir}: version {target} was pruned (only the last {KEEP} versions are kept)")
            raise VersionError(f"{data_dir}: there is no version {target} (see `python -m measures versions`)")
        return _make_current(data_dir, entries, target, {"action": "rollback", "source": f"rollback from {current}"},
                             None)


def _previous(entries: list[dict], current: str, data_dir: Path) -> str:
    """The version published before the current one (the history's last different version)."""
    for entry in reversed(entries):
        if entry["version"] != current:
            return str(entry["version"])
    raise VersionError(f"{data_dir}: no earlier version to roll back to")


def replace_table(staging: Path, table: str, write: Callable[[Path], None]) -> Path:
    """Write `table` into a staging folder without touching the published copy.

    Files in staging start as hard links to the published files, so writing into one in
    place would change published data: write a new file and rename it over the link.
    """
    target = staging / f"{table}.parquet"
    tmp = staging / f".{table}.tmp.parquet"
    tmp.unlink(missing_ok=True)
    write(tmp)
    os.replace(tmp, target)
    return target
