"""Ingest: one adapter per source format, all with the same guarantees.

Validate every input file first; map to district and CSP; write tidy tables into a
staging copy of the data folder; publish atomically (measures.data.store). A failure at
any step raises IngestError with one line naming the file (and line) and the problem,
and the published data is left exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class IngestError(Exception):
    """A refused input. str(error) is the one-line message shown to the analyst."""

    def __init__(self, file: Path | str, problem: str, line: int | None = None) -> None:
        where = f"{file}: line {line}" if line is not None else f"{file}"
        super().__init__(f"{where}: {problem}")
        self.file = str(file)
        self.line = line
        self.problem = problem


@dataclass
class IngestReport:
    """What an ingest loaded: printed by the CLI, shown by the update page."""

    source: str
    files: int = 0
    rows: int = 0
    lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join([f"{self.source}: {self.files} file(s), {self.rows:,} rows", *self.lines])


def find_files(paths: list[Path], pattern: str) -> list[Path]:
    """Files named on the command line, and files matching `pattern` under folders."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob(pattern) if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise IngestError(path, "no such file or folder")
    if not found:
        raise IngestError(", ".join(map(str, paths)), f"no input files found (looked for {pattern})")
    return found


def check_text_header(path: Path, expected: list[str], what: str) -> None:
    """Refuse empty, binary and wrongly laid-out files before any parsing."""
    raw = path.read_bytes()[:65536]
    if not raw.strip():
        raise IngestError(path, "the file is empty")
    if b"\x00" in raw:
        raise IngestError(path, f"not a CSV file (binary content); expected the {what} layout")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # A cut in the middle of a multi-byte character at the 64 KiB boundary is fine.
        try:
            text = raw[:-4].decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IngestError(path, f"not a UTF-8 text file; expected the {what} layout") from None
    header_line = text.splitlines()[0] if text.splitlines() else ""
    header = [h.strip().strip('"') for h in header_line.split(",")]
    if header != expected:
        shown = header_line if len(header_line) <= 120 else header_line[:117] + "..."
        raise IngestError(
            path, f"header does not match the {what} layout: expected '{','.join(expected)}', found '{shown}'", line=1
        )
