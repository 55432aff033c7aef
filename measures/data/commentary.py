"""Analysts' commentary: a short plain-text note on one measure, area and period (why it moved,
what is being done), with the writer's role.

Commentaries are a table of the published data version (`commentary.parquet`), written through
the store's atomic publish like any ingest, so a reader sees a commentary and the figures it was
written against from the same version. Each row keeps the version it was written against.
One commentary per measure, area and period: writing again replaces it (a correction).

The text is plain text: every caller shows it as text (st.text, html.escape), never as markup.
Every page, the Overview and the briefing pack find commentaries with the lookups here
(latest, for_window, first_line, label), so they all agree on which commentary belongs where.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from measures.core import registry, vocabulary
from measures.data import config, db, publishing, store

TABLE = "commentary"
MAX_TEXT = 1500  # characters: a short note beside a figure, not a report
MAX_ROLE = 80
FIRST_MONTH = dt.date(2000, 1, 1)
COLUMNS = ["measure_id", "area_code", "period", "text", "role", "written_at", "data_version"]
SCHEMA = pa.schema([
    ("measure_id", pa.string()), ("area_code", pa.string()), ("period", pa.date32()), ("text", pa.string()),
    ("role", pa.string()), ("written_at", pa.timestamp("us", tz="UTC")), ("data_version", pa.string()),
])
_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class CommentaryRefused(ValueError):
    """The commentary was not saved; the message (one line) says why. Nothing was published."""


@dataclass(frozen=True)
class Commentary:
    measure_id: str
    area_code: str
    period: dt.date  # the first day of the month (or cohort, or rolling year) it is about
    text: str
    role: str
    written_at: dt.datetime  # UTC
    data_version: str  # the published version it was written against


# --- reading --------------------------------------------------------------------------------

def _empty() -> pd.DataFrame:
    return pd.DataFrame({"measure_id": pd.Series(dtype="object"), "area_code": pd.Series(dtype="object"),
                         "period": pd.Series(dtype="datetime64[ns]"), "text": pd.Series(dtype="object"),
                         "role": pd.Series(dtype="object"), "written_at": pd.Series(dtype="datetime64[ns, UTC]"),
                         "data_version": pd.Series(dtype="object")})


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    # DuckDB and pyarrow give dates and timestamps as different pandas types: one form for every caller.
    frame = frame[COLUMNS].copy()
    frame["period"] = pd.to_datetime(frame["period"]).astype("datetime64[ns]")
    frame["written_at"] = pd.to_datetime(frame["written_at"], utc=True).astype("datetime64[ns, UTC]")
    return frame.sort_values(["measure_id", "area_code", "period", "written_at"], ignore_index=True)


def read(source: Path | duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every published commentary (columns COLUMNS; period as a timestamp, written_at in UTC), from a
    data folder or a data connection (measures.data.db.connect); empty when there is none."""
    if isinstance(source, duckdb.DuckDBPyConnection):
        if TABLE not in db.tables(source):
            return _empty()
        # Through Arrow: DuckDB's .df() of a timestamp with time zone calls a pandas method pandas 4 removes.
        return _normalised(source.cursor().sql(f"select * from {TABLE}").to_arrow_table().to_pandas())
    path = store.table_path(Path(source), TABLE)
    if not path.exists():
        return _empty()
    return _normalised(pq.read_table(path).to_pandas())


def _item(row: pd.Series) -> Commentary:
    return Commentary(str(row["measure_id"]), str(row["area_code"]), pd.Timestamp(row["period"]).date(),
                      str(row["text"]), str(row["role"]), pd.Timestamp(row["written_at"]).to_pydatetime(),
                      str(row["data_version"]))


def _about(comments: pd.DataFrame, measure_id: str, area_code: str) -> pd.DataFrame:
    return comments[(comments["measure_id"] == measure_id) & (comments["area_code"] == area_code)]


def latest(comments: pd.DataFrame, measure_id: str, area_code: str, up_to: dt.date) -> Commentary | None:
    """The newest commentary on the measure and area about a period no later than `up_to` (None if none):
    the latest period first, then the latest written."""
    if comments.empty:  # the usual case: no filtering for every measure of every page view
        return None
    about = _about(comments, measure_id, area_code)
    about = about[about["period"] <= pd.Timestamp(up_to)]
    if about.empty:
        return None
    return _item(about.sort_values(["period", "written_at"]).iloc[-1])


def for_window(comments: pd.DataFrame, measure_id: str, area_code: str, first: dt.date,
               last: dt.date) -> list[Commentary]:
    """The commentaries on the measure and area about periods from `first` to `last`, newest period first."""
    about = _about(comments, measure_id, area_code)
    about = about[(about["period"] >= pd.Timestamp(first)) & (about["period"] <= pd.Timestamp(last))]
    return [_item(row) for _, row in about.sort_values(["period", "written_at"], ascending=False).iterrows()]


def first_line(text: str, limit: int = 160) -> str:
    """The commentary's first non-empty line, cut at a word to at most `limit` characters (a summary)."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0] or line[: limit - 1]
    return cut.rstrip() + "…"


def period_text(measure_id: str, period: dt.date) -> str:
    """A period of the measure as its pages name periods ("Dec 2025", "cohort Apr 2024")."""
    frequency = registry.get(measure_id).frequency if measure_id in registry.ids() else "monthly"
    return vocabulary.period_label(pd.Timestamp(period), frequency)


def label(item: Commentary) -> str:
    """What every display puts above a commentary: the measure, the period, who wrote it and when (plain text)."""
    title = registry.get(item.measure_id).title if item.measure_id in registry.ids() else item.measure_id
    return (f"{title}, {period_text(item.measure_id, item.period)} · written by {item.role} on {item.written_at:%d %b %Y} "
            f"(data version {item.data_version.rsplit('/', 1)[-1] or 'none'})")


# --- writing --------------------------------------------------------------------------------

def _shown(value: object) -> str:
    """A code quoted in an error only if it looks like a code: errors never echo free text."""
    text = str(value)
    return repr(text) if _CODE.fullmatch(text) else "(not a code)"


def area_codes() -> set[str]:
    """Areas a commentary may be about: every force and CSP of England and Wales, each force's
    unassigned bucket, and the configured force's combined (public site) areas."""
    combined = {area.code for area in config.load_force().public_combined}
    return set(config.areas()["area_code"]) | combined


def _plain(text: str, what: str, limit: int, one_line: bool) -> str:
    text = str(text).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise CommentaryRefused(f"the {what} is empty")
    if len(text) > limit:
        raise CommentaryRefused(f"the {what} has {len(text):,} characters; at most {limit:,} are allowed")
    allowed = "" if one_line else "\n\t"
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in allowed for ch in text):
        raise CommentaryRefused(f"the {what} holds control characters" + (" or line breaks" if one_line else ""))
    return text


def check(measure_id: str, area_code: str, period: dt.date, text: str, role: str) -> tuple[str, str]:
    """Refuse (CommentaryRefused, one line) anything add() would not save; returns the cleaned (text, role)."""
    if measure_id not in registry.ids():
        raise CommentaryRefused(f"unknown measure {_shown(measure_id)}: see python -m measures list")
    if area_code not in area_codes():
        raise CommentaryRefused(f"unknown area {_shown(area_code)}: give a force or CSP code (like E22000049)")
    if not isinstance(period, dt.date) or isinstance(period, dt.datetime) or period.day != 1:
        raise CommentaryRefused("the period must be a month: the first day of the month it is about")
    if not FIRST_MONTH <= period <= dt.date.today().replace(day=1):
        raise CommentaryRefused(f"the period {period:%Y-%m} is out of range (2000 to this month)")
    return _plain(text, "text", MAX_TEXT, one_line=False), _plain(role, "role", MAX_ROLE, one_line=True)


def add(data_dir: Path, measure_id: str, area_code: str, period: dt.date, text: str, role: str) -> Commentary:
    """Check and publish a commentary (a new data version, atomically); returns it as saved.

    Raises PermissionError on the public site, CommentaryRefused for bad input and store.StoreBusy
    while an ingest runs; then nothing is published.
    """
    publishing.refuse_in_public_mode()  # the one public-site check of every write
    clean_text, clean_role = check(measure_id, area_code, period, text, role)
    data_dir = Path(data_dir)
    saved: list[Commentary] = []

    def build(staging: Path, current: Path | None) -> dict:
        # Under the store's lock: read the published commentaries here, so two analysts saving at
        # once both keep theirs, and record the version this one was written against.
        item = Commentary(measure_id, area_code, period, clean_text, clean_role,
                          dt.datetime.now(dt.UTC).replace(microsecond=0), store.data_version(data_dir))
        published = read(data_dir)
        kept = published[~((published["measure_id"] == measure_id) & (published["area_code"] == area_code)
                           & (published["period"] == pd.Timestamp(period)))]
        new = pd.DataFrame([{**dataclasses.asdict(item), "period": pd.Timestamp(period)}])
        table = _normalised(pd.concat([kept, new], ignore_index=True) if len(kept) else new)
        arrow = pa.Table.from_pandas(table.assign(period=table["period"].dt.date), schema=SCHEMA, preserve_index=False)
        store.replace_table(staging, TABLE, lambda path: pq.write_table(arrow, path))
        saved.append(item)
        return {TABLE: {
            "source": "analysts' commentary", "licence": "as agreed with the data owner", "illustrative": False,
            "notes": f"{len(table)} plain-text commentaries on a measure, area and period, each with its writer's role",
            "coverage": {"period_start": f"{table['period'].min():%Y-%m-%d}",
                         "period_end": f"{table['period'].max():%Y-%m-%d}"},
        }}

    store.publish(data_dir, build, record={"action": "commentary", "measure_id": measure_id, "area_code": area_code})
    return saved[0]
