"""Checks on values from users (command line, URL): allow-lists before any query."""

from __future__ import annotations

import datetime as dt
import re


class UsageError(ValueError):
    """A value a user gave that we cannot use; the message says which and why."""


MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(value: str | None, name: str) -> dt.date | None:
    """'YYYY-MM' -> first day of that month; None passes through."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not MONTH.match(value):
        raise UsageError(f"{name} must be a month as YYYY-MM, not {str(value)[:40]!r}")
    year, month = int(value[:4]), int(value[5:7])
    if not 2000 <= year <= 2100:
        raise UsageError(f"{name} {value} is out of range")
    return dt.date(year, month, 1)
