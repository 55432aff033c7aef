"""Turn DuckDB's multi-line CSV errors into one line naming the file and the line."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from measures.data.ingest import IngestError


def csv_error(exc: duckdb.Error, files: list[Path]) -> IngestError:
    message = str(exc)
    file_match = re.search(r"^\s*file = (.+)$", message, re.MULTILINE)
    file = file_match.group(1).strip() if file_match else (str(files[0]) if len(files) == 1 else "input")
    line_match = re.search(r"CSV Error on Line: (\d+)", message)
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if columns:
        problem = f"expected {columns.group(1)} fields, found {columns.group(2)} (a broken row)"
    elif "invalid state" in message or "unterminated" in message.lower():
        problem = "the CSV cannot be parsed (an unterminated quote or a broken row)"
    elif "Invalid unicode" in message or "UTF" in message:
        problem = "not valid UTF-8 text"
    else:
        problem = "the CSV cannot be parsed: " + message.splitlines()[0][:200]
    return IngestError(file, problem, line=int(line_match.group(1)) if line_match else None)
