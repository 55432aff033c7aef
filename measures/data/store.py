"""The published data folder, and how it is replaced atomically.

Layout of a data folder:
    reference/            district/CSP/force lookups, population, boundaries (copied in)
    versions/<id>/        one complete set of tidy tables (*.parquet) + manifest.json
    current -> versions/<id>   a relative symlink: the published version

An ingest builds a complete new version beside the published one and then swaps the
`current` symlink with one rename (atomic on POSIX). Readers always see either the old
version or the new one, never a mix. A failure before the swap deletes the staging
folder, so the data folder is then exactly as it was.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from measures.paths import REFERENCE_DIR

CURRENT = "current"
VERSIONS = "versions"
MANIFEST = "manifest.json"


class StoreBusy(RuntimeError):
    """Another ingest holds the lock on this data folder."""


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


def publish(data_dir: Path, build: Callable[[Path, Path | None], dict]) -> dict:
    """Build a new version with `build(staging, current)` and publish it atomically.

    `build` writes or replaces the tables it owns in `staging` (which starts as a copy
    of the current version) and returns a manifest entry {table_name: info}. Anything it
    raises propagates after the staging folder is removed: nothing published changes.
    """
    data_dir = Path(data_dir)
    created = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with _lock(data_dir):
            return _publish_locked(data_dir, build)
    except BaseException:
        if created and not any(data_dir.iterdir()):
            data_dir.rmdir()  # leave no trace of a failed first ingest
        raise


LEFTOVER_PREFIXES = (".staging-", ".current-", ".reference-")


def _remove_leftovers(data_dir: Path) -> None:
    """What an ingest killed mid-way left behind (a staging folder, a half-made link).

    Readers never look at these (only `current` and what it points to), and this runs
    under the lock, so no live ingest is using them.
    """
    for path in data_dir.iterdir():
        if path.name.startswith(LEFTOVER_PREFIXES):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    versions = data_dir / VERSIONS
    current = os.readlink(data_dir / CURRENT) if (data_dir / CURRENT).is_symlink() else None
    if versions.is_dir():  # a version made but never swapped in (killed between the two)
        for version in versions.iterdir():
            if current is None or Path(current) != Path(VERSIONS) / version.name:
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


def _publish_locked(data_dir: Path, build: Callable[[Path, Path | None], dict]) -> dict:
    _remove_leftovers(data_dir)
    current = current_dir(data_dir)
    staging = data_dir / f".staging-{os.getpid()}"
    made_version: Path | None = None
    try:
        _stage(current, staging)
        old_manifest = manifest(data_dir)
        entries = build(staging, current)
        new_manifest = {"tables": {**old_manifest.get("tables", {}), **entries}}
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
        shutil.rmtree(version, ignore_errors=True)
        os.rename(staging, version)
        made_version = version
        _swap_current(data_dir, version_id)
        made_version = None  # published: it is the current version now
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        (data_dir / f".current-{os.getpid()}").unlink(missing_ok=True)
        if made_version is not None:  # made but never swapped in: readers never saw it
            shutil.rmtree(made_version, ignore_errors=True)
        raise
    _prune(data_dir, keep=version_id)
    return new_manifest


def _copy_reference(data_dir: Path) -> None:
    target = data_dir / "reference"
    if REFERENCE_DIR.resolve() != target.resolve():
        tmp = data_dir / f".reference-{os.getpid()}"
        shutil.copytree(REFERENCE_DIR, tmp)
        os.rename(tmp, target)


def _prune(data_dir: Path, keep: str) -> None:
    """Remove superseded versions (readers hold the symlink, not the folder)."""
    for version in (data_dir / VERSIONS).iterdir():
        if version.name != keep:
            shutil.rmtree(version, ignore_errors=True)


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
