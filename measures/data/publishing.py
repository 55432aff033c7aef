"""Updating the data from the browser: uploaded files -> a checked candidate -> published.

The update page (analyst mode only) calls three functions:

    candidate = validate(source, uploads, data_dir)   # the ingest, run on a private copy
    publish(candidate, data_dir)                      # swap exactly that in, atomically
    discard(candidate)                                # or throw it away

`python -m measures ingest` takes the same path with `validate_paths` (the files where they
are, no copy of them): the same checks, the same completeness warnings and public-changes
report (measures.core.update_report), the same publish and history record.

`validate` runs the same ingest as the command line, but into a sandbox: a private copy
of the published version in a temporary folder. The published folder is not touched, so
the analyst sees the full report (rows, months, unassigned, what each table gains)
before anything changes, with warnings where the update leaves a CSP, a month or a total
incomplete (publishing those needs `allow_partial`: the page's confirmation, the command
line's --allow-partial). `publish` then copies the sandbox's tables into a normal
`store.publish` (lock, staging, one atomic rename), and only if the published data is
still the version the candidate was built on: two analysts can never overwrite each
other's update without seeing it.

Nothing here works in public mode (the page is not even registered there).
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import importlib
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from measures.core import update_report
from measures.data import isolated, store
from measures.data.ingest import IngestError, IngestReport, sources

# What an analyst can load, as the page names them (the one table of ingest sources).
SOURCE_LABELS = sources.LABELS
WORK_ROOT = Path(tempfile.gettempdir()) / "measures-uploads"
MAX_EXTRACTED_BYTES = 2 * 1024**3  # a .zip may not unpack to more than this (zip bombs)
STALE_AFTER_S = 24 * 3600  # sandboxes of abandoned sessions are removed after a day



def _copy_to(source: Path, target: Path) -> None:
    """Write a checked table into staging (store.replace_table's writer)."""
    shutil.copyfile(source, target)

class Refused(Exception):
    """The uploaded files were not loaded; `problems` says which file, which line and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class StaleCandidate(RuntimeError):
    """The published data changed after the candidate was checked."""


class Incomplete(RuntimeError):
    """The candidate has completeness warnings and publishing them was not confirmed."""


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: line {self.line}: {self.problem}" if self.line else f"{self.file}: {self.problem}"


@dataclass(frozen=True)
class TableChange:
    table: str
    rows_before: int | None  # None: the table is new
    rows_after: int


@dataclass
class Candidate:
    """A checked, not yet published data version."""

    source: str
    workdir: Path
    base_version: str  # the published version it was built on ("" for an empty folder)
    report: IngestReport
    changes: list[TableChange] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files in a .zip that are not this source's
    files: list[dict] = field(default_factory=list)  # what was loaded: name, bytes, sha256 (for the history)
    warnings: list[str] = field(default_factory=list)  # completeness, one line each (update_report.completeness)
    public: update_report.PublicChanges | None = None  # what changes for the public (None: nothing changes)

    @property
    def sandbox(self) -> Path:
        return self.workdir / "data"

    @property
    def version(self) -> str:
        return store.data_version(self.sandbox)


def refuse_in_public_mode() -> None:
    if os.environ.get("MEASURES_PUBLIC", "") in ("1", "true", "yes"):
        raise PermissionError("the public site cannot change data")


def safe_name(name: str) -> str:
    """A browser-supplied file name reduced to a plain name inside our folder (no paths, no dots first)."""
    base = re.split(r"[\\/]", name)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")[:120]
    return cleaned or "upload.csv"


class _UniqueNames:
    """New file names in one folder that only we write to: the names given out are remembered, so the
    n-th file named like the others costs one step, not n (a .zip of 2,000 same-named members)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.used: set[str] = set()
        self.last: dict[str, int] = {}  # name -> the last number tried for it

    def __call__(self, name: str) -> Path:
        candidate, n = name, self.last.get(name, 1)
        while candidate in self.used:
            n += 1
            candidate = f"{Path(name).stem}-{n}{Path(name).suffix}"
        self.last[name] = n
        self.used.add(candidate)
        return self.folder / candidate


ENCRYPTED = 0x1  # a zip member's general-purpose flag bit 0 (PKWARE APPNOTE 4.4.4)


def _extract_zip(archive: Path, folder: Path, pattern: str, shown: str) -> tuple[list[Path], list[str]]:
    """The CSV members of a .zip that match the source's file names, flattened into `folder`."""
    unique = _UniqueNames(folder)
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist() if not m.is_dir()]
            if sum(m.file_size for m in members) > MAX_EXTRACTED_BYTES:
                raise IngestError(shown, f"the archive unpacks to more than {MAX_EXTRACTED_BYTES // 1024**3} GiB")
            if any(m.flag_bits & ENCRYPTED for m in members):
                raise IngestError(shown, "the archive is encrypted (password-protected); upload it without a password")
            taken, skipped, written = [], [], 0
            for member in members:
                name = safe_name(member.filename)
                if not fnmatch.fnmatch(name, pattern):
                    skipped.append(f"{shown}/{member.filename}")
                    continue
                target = unique(name)
                with bundle.open(member) as source, open(target, "wb") as out:
                    while chunk := source.read(1 << 20):  # count what really comes out, not what the header says
                        written += len(chunk)
                        if written > MAX_EXTRACTED_BYTES:
                            raise IngestError(shown, f"the archive unpacks to more than {MAX_EXTRACTED_BYTES // 1024**3} GiB")
                        out.write(chunk)
                taken.append(target)
    except (zipfile.BadZipFile, EOFError):
        raise IngestError(shown, "not a readable .zip archive") from None
    except NotImplementedError:  # e.g. deflate64, which zipfile cannot read
        raise IngestError(shown, "the archive uses a compression method that cannot be read; use ordinary zip") from None
    if not taken:
        raise IngestError(shown, f"the archive holds no file named like {pattern}")
    return taken, skipped


def save_uploads(uploads: list[tuple[str, bytes]], folder: Path, source: str) -> tuple[list[Path], list[str]]:
    """Write uploaded files under `folder` with safe names; unpack .zip archives. Returns (files, skipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    pattern = getattr(importlib.import_module(sources.ADAPTERS[source]), "FILE_PATTERN", "*.csv")
    files, skipped = [], []
    unique = _UniqueNames(folder)
    for name, content in uploads:
        target = unique(safe_name(name))
        target.write_bytes(content)
        if target.suffix.lower() == ".zip":
            unpacked = unique(f"{target.stem}-unzipped")
            unpacked.mkdir()
            taken, left = _extract_zip(target, unpacked, pattern, target.name)
            target.unlink()
            files += taken
            skipped += left
        else:
            files.append(target)
    return files, skipped


def _copy_published(data_dir: Path, sandbox: Path) -> str:
    """A private copy of the published version (and a link to the reference data); returns its version."""
    sandbox.mkdir(parents=True)
    base = store.data_version(data_dir)
    if base:
        folder = sandbox / base
        shutil.copytree(data_dir / base, folder)  # a copy, not hard links: nothing here can reach published bytes
        (sandbox / store.CURRENT).symlink_to(base)
    if (data_dir / "reference").is_dir():
        (sandbox / "reference").symlink_to((data_dir / "reference").resolve())
    return base


def _remove_stale_workdirs(root: Path) -> None:
    if not root.is_dir():
        return
    for workdir in root.iterdir():
        try:
            if time.time() - workdir.stat().st_mtime > STALE_AFTER_S:
                shutil.rmtree(workdir, ignore_errors=True)
        except OSError:
            continue


def _shown_file(file: str, workdir: Path) -> str:
    """An error's file as the analyst knows it: the uploaded name, not our temporary path."""
    text = str(file)
    for prefix in (str(workdir / "uploads") + os.sep, str(workdir) + os.sep):
        text = text.replace(prefix, "")
    return text


def validate(source: str, uploads: list[tuple[str, bytes]], data_dir: Path, illustrative: bool = False,
             work_root: Path | None = None, memory_limit: int | None = None) -> Candidate:
    """Run the ingest of `source` on the uploads against a private copy of the published data.

    With `memory_limit` (bytes) the check runs in a separate process limited to that much memory
    (measures.data.isolated): the Update data page's way, so one upload cannot take the server down.
    Raises Refused (file, line, problem) for bad input; the published folder is never touched.
    """
    refuse_in_public_mode()
    if source not in sources.ADAPTERS:
        raise Refused([Problem("(source)", None, f"unknown source {source!r}")])
    if not uploads:
        raise Refused([Problem("(no files)", None, "choose at least one file")])
    names = ", ".join(safe_name(n) for n, _ in uploads)
    work_root = work_root or WORK_ROOT
    workdir: Path | None = None
    try:
        workdir = _workdir(work_root)
        files, skipped = save_uploads(uploads, workdir / "uploads", source)
        loaded = [{"name": safe_name(name), "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}
                  for name, content in uploads]
        args = (source, files, Path(data_dir), workdir, illustrative, loaded, skipped)
        if memory_limit is None:
            return _check(*args)
        candidate: Candidate = isolated.call(f"{__name__}:_check", args, memory_limit)
        return candidate
    except IngestError as error:
        _remove(workdir)
        shown = _shown_file(error.file, workdir) if workdir else error.file
        raise Refused([Problem(shown, error.line, error.problem)]) from None
    except (isolated.OutOfMemory, isolated.ChildDied) as error:
        _remove(workdir)
        raise Refused([Problem(names, None, str(error))]) from None
    except (OSError, store.DiskError) as error:  # our own folders: the working copy, or reading the published data
        _remove(workdir)
        in_data = isinstance(error, OSError) and store.error_in(error, Path(data_dir))
        cause = error.cause if isinstance(error, store.DiskError) else store.disk_cause(error)
        folder = "the data folder" if in_data else f"the working folder {work_root}"
        raise Refused([Problem(names, None, f"could not be checked: {cause} in {folder}; nothing was loaded")]) from None
    except Exception as error:  # a bug or an input no check foresaw: refuse it, say what, publish nothing
        _remove(workdir)
        first_line = str(error).splitlines()[0][:200] if str(error) else ""
        message = f"could not be loaded ({type(error).__name__}: {first_line})"
        raise Refused([Problem(names, None, _shown_file(message, workdir) if workdir else message)]) from None


def _remove(workdir: Path | None) -> None:
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


def validate_paths(source: str, paths: list[Path], data_dir: Path, illustrative: bool = False,
                   work_root: Path | None = None) -> Candidate:
    """The command line's check: `validate` with files where they are (read in place, never copied).

    Errors propagate as the ingest raised them (IngestError names the analyst's own path)."""
    work_root = work_root or WORK_ROOT
    workdir: Path | None = None
    try:
        workdir = _workdir(work_root)
        return _check(source, list(paths), Path(data_dir), workdir, illustrative, _file_records(source, paths), [])
    except store.DiskError as error:  # the sandbox's own publish: name the working folder, not the sandbox
        _remove(workdir)
        raise store.DiskError(f"{work_root}: could not write the check's working copy: {error.cause}; nothing was "
                              "published", error.cause) from None
    except OSError as error:
        _remove(workdir)
        if store.is_disk_error(error, work_root):  # the private copy: say so, not which temporary file
            cause = store.disk_cause(error)
            raise store.DiskError(f"{work_root}: could not write the check's working copy: {cause}; nothing was "
                                  "published", cause) from None
        raise
    except BaseException:
        _remove(workdir)
        raise


def _workdir(work_root: Path) -> Path:
    work_root.mkdir(parents=True, exist_ok=True)
    _remove_stale_workdirs(work_root)
    return Path(tempfile.mkdtemp(prefix="candidate-", dir=work_root))


def _check(source: str, files: list[Path], data_dir: Path, workdir: Path, illustrative: bool, loaded: list[dict],
           skipped: list[str]) -> Candidate:
    """The ingest on a private copy of the published version, then what it would change."""
    base = _copy_published(data_dir, workdir / "data")
    before = store.table_rows(store.current_dir(workdir / "data"))
    report = sources.run(source, files, workdir / "data", illustrative=illustrative)
    after = store.table_rows(store.current_dir(workdir / "data"))
    changed = _changed_tables(workdir / "data", data_dir, base)
    changes = [TableChange(table, before.get(table), rows) for table, rows in after.items() if table in changed]
    if emptied := [c for c in changes if c.rows_after == 0 and c.rows_before]:
        # Whatever the adapter let through, an update never publishes a table with no rows in place of data.
        raise IngestError(", ".join(str(f["name"]) for f in loaded) or source,
                          "the update would leave " + ", ".join(f"{c.table} with no rows ({c.rows_before:,} now)"
                                                                for c in emptied) + "; the files hold no data rows")
    candidate = Candidate(source, workdir, base, report, changes, skipped, loaded)
    if changed:
        new = store.current_dir(candidate.sandbox)
        assert new is not None  # the ingest published into the sandbox
        candidate.warnings = update_report.completeness(data_dir / base if base else None, new, changed)
        candidate.public = update_report.public_changes(data_dir if base else None, candidate.sandbox, changed)
    return candidate


# Files a source reads from a folder, besides its FILE_PATTERN (police.uk downloads, the ONS workbook).
FOLDER_EXTRAS = {"police-uk": (".zip",), "ons-csp": (".xlsx", ".csv")}


def _file_records(source: str, paths: list[Path]) -> list[dict]:
    """Name, size and SHA-256 of each file given, and of the source's files under each folder given."""
    pattern = getattr(importlib.import_module(sources.ADAPTERS[source]), "FILE_PATTERN", "*.csv")
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and (
                fnmatch.fnmatch(p.name, pattern) or p.suffix.lower() in FOLDER_EXTRAS.get(source, ())))
        elif path.is_file():
            found.append(path)
    return [{"name": str(p), "bytes": p.stat().st_size, "sha256": _sha256(p)} for p in dict.fromkeys(found)]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _changed_tables(sandbox: Path, data_dir: Path, base: str) -> set[str]:
    """Tables whose bytes differ from the published version the candidate started from."""
    new = store.current_dir(sandbox)
    if new is None:
        return set()
    old = data_dir / base if base else None
    return {p.stem for p in new.glob("*.parquet")
            if old is None or not (old / p.name).exists() or (old / p.name).read_bytes() != p.read_bytes()}


def publish(candidate: Candidate, data_dir: Path, allow_partial: bool = False) -> dict:
    """Publish exactly the checked candidate, atomically, if the published data has not changed since.

    A candidate with completeness warnings needs `allow_partial` (the analyst confirmed them).
    Raises Incomplete without it, StaleCandidate if someone published in between (check the
    files again) and store.StoreBusy if an ingest is running right now. Returns the new manifest.
    The public site never gets here: `validate` refuses there, and a candidate comes only from it
    or from the command line's `validate_paths`.
    """
    data_dir = Path(data_dir)
    if candidate.warnings and not allow_partial:
        raise Incomplete(f"{len(candidate.warnings)} completeness warning(s) not confirmed; nothing was published")
    checked = store.current_dir(candidate.sandbox)
    if checked is None:
        raise StaleCandidate("this check has been discarded; check the files again")
    checked_manifest = json.loads((checked / store.MANIFEST).read_text())

    def build(staging: Path, current: Path | None) -> dict:
        # Under the store's lock: nobody can publish between this check and the swap.
        if store.data_version(data_dir) != candidate.base_version:
            raise StaleCandidate("the published data changed after these files were checked; check them again")
        for table in sorted(checked.glob("*.parquet")):
            published = staging / table.name
            if not published.exists() or published.read_bytes() != table.read_bytes():
                store.replace_table(staging, table.stem, functools.partial(_copy_to, table))
        return checked_manifest["tables"]

    record = {"action": "ingest", "source": candidate.source, "files": candidate.files,
              "rows_read": candidate.report.rows, "warnings_confirmed": candidate.warnings}
    manifest = store.publish(data_dir, build, record=record)
    discard(candidate)
    return manifest


def discard(candidate: Candidate | None) -> None:
    if candidate is not None:
        shutil.rmtree(candidate.workdir, ignore_errors=True)


def published_tables(data_dir: Path) -> list[dict]:
    """What the published data holds, one row per table: for the update page's 'now published' list."""
    manifest = store.manifest(data_dir)
    rows = store.table_rows(store.current_dir(data_dir))
    found = []
    for table, info in sorted(manifest.get("tables", {}).items()):
        span = _span(info.get("coverage", {}))
        found.append({"table": table, "rows": rows.get(table), "coverage": span, "source": info.get("source", ""),
                      "illustrative": bool(info.get("illustrative", False))})
    return found


def _span(coverage: dict) -> str:
    """A manifest's coverage as 'first..last' per force (adapters name the keys slightly differently)."""
    if not isinstance(coverage, dict):
        return str(coverage)
    if "period_start" in coverage:
        return f"{coverage['period_start']}..{coverage.get('period_end', '')}"
    parts = []
    for force, info in sorted(coverage.items()):
        if isinstance(info, dict):
            first = str(info.get("first", info.get("first_month", "")))[:10]
            last = str(info.get("last", info.get("last_month", "")))[:10]
            count = info.get("periods", info.get("months"))
            parts.append(f"{force}: {first}..{last}" + (f" ({count} periods)" if count is not None else ""))
    return "; ".join(parts)
