"""What the pages share: the cached connection and query results, area and period filters.

Pages stay thin: they read filters, call these loaders and hand frames to measures.render.charts.
Every value from the URL is checked against an allow-list here before any query.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from measures.core import export, pipeline, profile, registry, scorecard
from measures.data import commentary, config, db, store
from measures.paths import CONFIG_FILE, DEFAULT_DATA_DIR
from measures.render import briefing, charts

if TYPE_CHECKING:
    from measures.render.measure_parts import ChartPart

ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
ILLUSTRATIVE_LABEL = "Illustrative data, not official statistics"
# url_path -> st.Page, filled by the router so pages can link to each other.
PAGES: dict = {}


def data_dir() -> Path:
    return Path(os.environ.get("MEASURES_DATA_DIR", DEFAULT_DATA_DIR))


def public_mode() -> bool:
    return os.environ.get("MEASURES_PUBLIC", "") in ("1", "true", "yes")


def data_version() -> str:
    return store.data_version(data_dir())


@st.cache_resource(max_entries=2)
def _connection(path: str, version: str) -> duckdb.DuckDBPyConnection:
    return db.connect(Path(path))


def connection() -> duckdb.DuckDBPyConnection:
    """One connection per process and data version; queries take their own cursor."""
    return _connection(str(data_dir()), data_version())


# Frames are cached as shared objects (st.cache_resource), not pickled copies (st.cache_data unpickled a
# copy of each frame on every call: a fifth of the Overview's CPU). Callers get a shallow copy: with
# pandas' copy-on-write a change a caller makes to it never reaches the cached frame.

@st.cache_resource(max_entries=512, show_spinner=False)
def _run(name: str, params: tuple, path: str, version: str) -> pd.DataFrame:
    return db.query(_connection(path, version), name, {k: list(v) if isinstance(v, tuple) else v for k, v in params})


def run(name: str, **params: object) -> pd.DataFrame:
    """queries/<name>.sql with bound parameters, cached per data version."""
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
    return _run(name, frozen, str(data_dir()), data_version()).copy(deep=False)


@st.cache_resource(max_entries=256, show_spinner=False)
def _measure(measure_id: str, force_code: str, public: bool, path: str, version: str) -> pd.DataFrame:
    measure = registry.get(measure_id)
    try:
        return export.measure_frame(_connection(path, version), measure, force_code, None, None, public)
    except duckdb.CatalogException:  # the table is not loaded in this data folder
        return pd.DataFrame(columns=export.COLUMNS)


def measure(measure_id: str) -> pd.DataFrame:
    """All periods and areas of a measure for the chosen force (suppressed in public mode)."""
    return _measure(measure_id, force_code(), public_mode(), str(data_dir()), data_version()).copy(deep=False)


@dataclass(frozen=True)
class Overview:
    """The Overview's figures for one area, "up to" month and "since" period (cached: read, never change)."""

    cards: dict[str, scorecard.Card]  # measure id -> card, in theme order
    table: pd.DataFrame  # scorecard.table
    trends: list[list[float | None]]  # each card's scorecard.trend, as the table's Trend column
    card_periods: dict[str, tuple[dt.date | None, dt.date | None]]  # scorecard.card_period
    first_lines: dict[str, str]  # measure id -> first line of the area's latest commentary
    figures_text: dict[str, str]  # measure id -> the card's figures in words (scorecard.figures_markdown)


@st.cache_resource(max_entries=8, show_spinner=False)
def _card_rows(force_code: str, public: bool, path: str,
               version: str) -> dict[str, tuple[dict[str, pd.DataFrame], list[dt.date]]]:
    """Per data version, each measure's rows split by area (scorecard.rows_by_area) and its period starts:
    what every card reads, whatever the area and period asked for."""
    frames = {m.id: _measure(m.id, force_code, public, path, version) for m in registry.measures()}
    return {mid: (scorecard.rows_by_area(frame), scorecard.period_starts(frame)) for mid, frame in frames.items()}


def scorecard_periods() -> list[dt.date]:
    """Every period start with data in any measure of the chosen force (scorecard.periods), per data version."""
    return _scorecard_periods(force_code(), public_mode(), str(data_dir()), data_version())


@st.cache_resource(max_entries=8, show_spinner=False)
def _scorecard_periods(force_code: str, public: bool, path: str, version: str) -> list[dt.date]:
    return scorecard.periods(_measure(m.id, force_code, public, path, version) for m in registry.measures())


@st.cache_resource(max_entries=256, show_spinner=False)
def _overview(force_code: str, area_code: str, as_of: dt.date, since: dt.date | None, public: bool, path: str,
              version: str) -> Overview:
    rows = _card_rows(force_code, public, path, version)
    ordered = [m for theme in registry.THEMES for m in registry.measures() if m.theme == theme]
    empty = pd.DataFrame(columns=export.COLUMNS)
    cards = {m.id: scorecard.card(m, empty, area_code, as_of, since, area_rows=rows[m.id][0].get(area_code))
             for m in ordered}
    comments = _commentaries(path, version)
    latest = {m.id: commentary.latest(comments, m.id, area_code, as_of) for m in ordered}
    first_lines = {mid: commentary.first_line(item.text) for mid, item in latest.items() if item is not None}
    trends = [[None if pd.isna(v) else float(v) for v in scorecard.trend(card)] for card in cards.values()]
    periods = {mid: scorecard.card_period(rows[mid][1], card, as_of) for mid, card in cards.items()}
    texts = {mid: scorecard.figures_markdown(card, since) for mid, card in cards.items()
             if card.latest is not None and not card.suppressed}
    return Overview(cards, scorecard.table(list(cards.values()), since, first_lines), trends, periods, first_lines,
                    texts)


def overview(area_code: str, as_of: dt.date, since: dt.date | None) -> Overview:
    """The Overview's cards, table, trends and links for an area of the chosen force, cached per data
    version, area, "up to" month and "since" period."""
    return _overview(force_code(), area_code, as_of, since, public_mode(), str(data_dir()), data_version())


@st.cache_resource(max_entries=4, show_spinner=False)
def _forces_with_data(path: str, version: str) -> tuple[str, ...]:
    con = _connection(path, version).cursor()
    loaded = db.tables(con)
    codes = {configured_force().code}
    for table, column in (("police_uk_counts", "force_code"), ("ons_csp_crime", "pfa_code")):
        if table in loaded:
            codes |= {row[0] for row in con.execute(f"select distinct {column} from {table}").fetchall()}
    known = config.forces()
    return tuple(code for code in known["pfa_code"] if code in codes)  # in the reference table's order


def forces_with_data() -> list[str]:
    """Codes of the police force areas this data folder has figures for (the configured one always)."""
    return list(_forces_with_data(str(data_dir()), data_version()))


@functools.lru_cache(maxsize=64)
def _force_at(code: str | None, public: bool, stamp: tuple[str, int, int]) -> config.Force:
    chosen = config.load_force() if code is None else config.force_by_code(code)
    return chosen.published() if public else chosen


def _config_stamp() -> tuple[str, int, int]:
    stat = CONFIG_FILE.stat()
    return str(CONFIG_FILE), stat.st_mtime_ns, stat.st_size


def configured_force() -> config.Force:
    """config.load_force, parsed again only when the configuration file changes (pages ask for it dozens
    of times a rerun, and each parse read the TOML file)."""
    return _force_at(None, False, _config_stamp())


FORCE_KEY = "force"


def force_code() -> str:
    """The force the address asks for (?force=CODE, one of the forces with data), else the configured one."""
    raw = _first(st.query_params.get_all(FORCE_KEY)) if FORCE_KEY in st.query_params else None
    return raw if raw is not None and raw in _forces_with_data(str(data_dir()), data_version()) \
        else configured_force().code


@st.cache_resource(max_entries=64, show_spinner=False)
def _profile_windows(force_code: str, first: dt.date, last: dt.date, public: bool, path: str,
                     version: str) -> dict[str, profile.Window]:
    frames = {m.id: _measure(m.id, force_code, public, path, version) for m in registry.measures()}
    by_area = {mid: split for mid, (split, _) in _card_rows(force_code, public, path, version).items()}
    return profile.windows(frames, first, last, public, by_area)


def profile_windows(first: dt.date, last: dt.date) -> dict[str, profile.Window]:
    """Every measure's values over a period for every area of the chosen force (profile.windows), cached:
    the area profile asked for another area reads its row from these."""
    return dict(_profile_windows(force_code(), first, last, public_mode(), str(data_dir()), data_version()))


@st.cache_resource(max_entries=64, show_spinner=False)
def _pack(force_code: str, area_code: str, first: dt.date, last: dt.date, public: bool, path: str,
          version: str) -> briefing.Pack:
    frames = {m.id: _measure(m.id, force_code, public, path, version) for m in registry.measures()}
    return briefing.build(frames, _force_at(force_code, public, _config_stamp()), area_code, first, last, public,
                          version, _profile_windows(force_code, first, last, public, path, version),
                          comments=_commentaries(path, version))


def area_pack(area_code: str, first: dt.date, last: dt.date) -> briefing.Pack:
    """briefing.build for an area of the chosen force and a period, cached per data version (the pack's
    time of making is now)."""
    pack = _pack(force_code(), area_code, first, last, public_mode(), str(data_dir()), data_version())
    return dataclasses.replace(pack, generated=dt.datetime.now().replace(microsecond=0))


Built = TypeVar("Built")


# Charts, their parts and tables of a page, for the areas and periods visitors ask for: a few pages' worth of
# each of about 350 areas fits in memory (a national map's figure is the largest, about 2 MB).
@st.cache_resource(max_entries=512, show_spinner=False)
def _figure(name: str, key: tuple, force_code: str, public: bool, path: str, version: str,
            config_stamp: tuple[str, int, int], _build: Callable[[], Any]) -> Any:
    return _build()


def figure(name: str, key: tuple, build: Callable[[], Built]) -> Built:
    """A chart (or a chart part, or a table) built once per data version, configuration, force, mode and `key`
    (everything else it depends on), then shared by every rerun and session: callers only read it
    (st.plotly_chart serialises a copy; pandas' copy-on-write keeps a caller's change to a frame its own)."""
    return _figure(name, key, force_code(), public_mode(), str(data_dir()), data_version(), _config_stamp(), build)


def force() -> config.Force:
    """The chosen force as this site shows it: on the public site, with its combined areas
    (e.g. Cornwall and Isles of Scilly) in place of their parts."""
    return _force_at(force_code(), public_mode(), _config_stamp())


def link_params(**params: str) -> dict[str, str]:
    """Query parameters for a link to another page, keeping the chosen force."""
    code = force_code()
    return {**({FORCE_KEY: code} if code != configured_force().code else {}), **params}


def _force_changed() -> None:
    code = st.session_state.get("picker_force")
    st.query_params.pop("area", None)  # an area of the old force means nothing in the new one
    st.session_state.pop("picker_area", None)
    if code and code != configured_force().code:
        st.query_params[FORCE_KEY] = code
    else:
        st.query_params.pop(FORCE_KEY, None)


def force_picker() -> None:
    """The force select box (in the sidebar, drawn once by the router); the address keeps ?force=
    only when it is not the configured force."""
    codes = forces_with_data()
    asked = _first(st.query_params.get_all(FORCE_KEY)) if FORCE_KEY in st.query_params else None
    if asked is not None and asked not in codes:
        st.info("The address asked for a force this dashboard has no data for, so it shows "
                f"{configured_force().name}.")
        st.query_params.pop(FORCE_KEY, None)
    st.session_state["picker_force"] = force_code()  # the address decides; the box follows it
    names = config.forces().set_index("pfa_code")["pfa_name"]
    st.selectbox("Police force area", codes, format_func=lambda c: str(names.get(c, c)), key="picker_force",
                 on_change=_force_changed)


def manifest() -> dict:
    return store.manifest(data_dir())


@st.cache_resource(max_entries=4, show_spinner=False)
def _commentaries(path: str, version: str) -> pd.DataFrame:
    return commentary.read(_connection(path, version))


def commentaries() -> pd.DataFrame:
    """Every published commentary (measures.data.commentary.read), cached per data version: look one up
    with commentary.latest or commentary.for_window."""
    return _commentaries(str(data_dir()), data_version()).copy(deep=False)


# --- filters kept in the URL -------------------------------------------------------------

def _first(value: object) -> str | None:
    """One value of a query parameter; repeated keys keep the first."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    return str(value)[:64]


def url_value(key: str, allowed: list[str], default: str, label: str) -> str:
    """A URL parameter checked against an allow-list; anything else falls back to the default.

    A key given more than once with different values is ambiguous (which did the sender mean?),
    so it also gives the default view, with a message.
    """
    values = st.query_params.get_all(key) if key in st.query_params else []
    if len({str(v)[:64] for v in values}) > 1:
        st.info(f"The address gave the {label} more than once, so it shows the default.")
        return default
    raw = _first(values)
    if raw is None or raw == "":
        return default
    if raw in allowed:
        return raw
    article = "an" if label[:1] in "aeiou" else "a"
    st.info(f"The address asked for {article} {label} this dashboard does not have, so it shows the default.")
    return default


def _code_in_selection(state: Any) -> str | None:
    """The area code a Plotly selection (its point's customdata; a map's CSP marker) points at."""
    selection = (state or {}).get("selection") if isinstance(state, dict) or hasattr(state, "get") else None
    if not selection:
        return None
    for point in selection.get("points") or []:  # Plotly: customdata[0] is the area code
        custom = point.get("customdata")
        if isinstance(custom, (list, tuple)) and custom:
            return str(custom[0])
        if isinstance(custom, str):
            return custom
    return None


def _clicked_area(linked_charts: tuple[str, ...], codes: list[str]) -> str | None:
    """A CSP just chosen on a linked map or chart (a selection not seen on an earlier run)."""
    clicked = None
    for chart_key in linked_charts:
        code = _code_in_selection(st.session_state.get(chart_key))
        seen_key = f"_seen_selection_{chart_key}"
        if code != st.session_state.get(seen_key):
            st.session_state[seen_key] = code
            if code in codes:
                clicked = code
    return clicked


def area_picker(key: str = "area", linked_charts: tuple[str, ...] = ()) -> config.Area:
    """Force or one of its CSPs, from the URL (?area=CODE) and a select box.

    `linked_charts` are the keys of maps and plots drawn with on_select="rerun" whose points
    carry an area code: choosing a CSP on any of them selects it here, in the URL, and so in
    every chart of the page.
    """
    shown = force()
    codes = [a.code for a in shown.areas()]
    configured = _force_at(force_code(), False, _config_stamp())
    parts = configured.part_of() if public_mode() else {}
    asked = _first(st.query_params.get_all(key)) if key in st.query_params else None
    if asked in parts:  # a CSP the public site publishes as part of a combined area: show that area
        st.query_params[key] = parts[asked]
        st.info(f"{configured.get_area(asked).name} is published as part of "
                f"{shown.get_area(parts[asked]).name} on this site.")
    clicked = _clicked_area(linked_charts, codes)
    widget_key = f"picker_{key}"
    if clicked is not None:
        st.query_params[key] = clicked
        # Set through session state, so the browser's select box shows the click too; popping the
        # state instead left the browser showing the old area, which it then sent back on the next rerun.
        st.session_state[widget_key] = clicked
    chosen = url_value(key, codes, codes[0], "area")
    code = st.selectbox("Area", codes, index=None if widget_key in st.session_state else codes.index(chosen),
                        format_func=lambda c: shown.get_area(c).name, key=widget_key)
    code = code or chosen
    st.query_params[key] = code
    return shown.get_area(code)


def month_label(month: dt.date) -> str:
    return f"{month:%b %Y}"


def period_picker(months: list[dt.date], default_months: int = 12) -> tuple[dt.date, dt.date]:
    """A from/to pair of months that have data, from the URL (?from=YYYY-MM&to=YYYY-MM)."""
    keys = [f"{m:%Y-%m}" for m in months]
    default_to = keys[-1]
    default_from = keys[max(0, len(keys) - default_months)]
    start = url_value("from", keys, default_from, "start month")
    end = url_value("to", keys, default_to, "end month")
    if keys.index(start) > keys.index(end):
        st.info("The period in the address ran backwards, so it shows the default period.")
        start, end = default_from, default_to
    start, end = st.select_slider("Period", options=keys, value=(start, end),
                                  format_func=lambda k: month_label(dt.date(int(k[:4]), int(k[5:]), 1)),
                                  key="picker_period")
    st.query_params["from"], st.query_params["to"] = start, end
    return dt.date(int(start[:4]), int(start[5:]), 1), dt.date(int(end[:4]), int(end[5:]), 1)


def chart_csv(table: pd.DataFrame, illustrative: bool) -> str:
    """A chart's data as downloaded: formula cells neutralised, and rows of generated data labelled."""
    rows = table.copy()
    if illustrative:  # an export that shows generated data says so in each row that is (the rows' own flag)
        flag = pipeline.ILLUSTRATIVE
        rows[flag] = rows[flag].astype("boolean").fillna(False).astype(bool) if flag in rows else True
        rows["note"] = rows[flag].map({True: ILLUSTRATIVE_LABEL, False: ""})
    return export.safe_csv(rows)


def chart_notes(summary: str, table: pd.DataFrame, file_name: str, key: str, illustrative: bool = False) -> None:
    """Under every chart: a one-sentence summary and the chart's data as CSV."""
    st.caption(summary)
    # The CSV is built when the button is clicked, not on every rerun (server CPU: issue 16).
    st.download_button("Download the chart's data (CSV)", lambda: chart_csv(table, illustrative), file_name=file_name,
                       mime="text/csv", key=f"download_{key}", icon=":material/download:")


class _Serialised(go.Figure):
    """A figure already turned into Plotly's dict. st.plotly_chart asks a Figure for to_dict(), a deep copy and a
    base64 pass over every array: for a cached chart that was most of a rerun's CPU (the national map's 315
    traces on every area change). This stands in for the cached figure and answers with the dict made once."""

    def __init__(self, spec: dict) -> None:  # no Figure.__init__: nothing to validate or copy
        object.__setattr__(self, "_spec", spec)

    def to_dict(self) -> dict:
        return self._spec


def plotly_chart(figure: go.Figure, key: str, alt: str, overlay: charts.Overlay | None = None,
                 **plot_args: Any) -> Any:
    """st.plotly_chart of a figure callers only read (app.figure's), with `overlay` drawn over it: the figure's
    dict is made on its first drawing and kept on it for every later rerun and session, so an area's page
    serialises only its overlay. Returns what st.plotly_chart returns (the selection)."""
    spec = figure.__dict__.get("_serialised_spec")
    if spec is None:
        spec = figure.to_dict()
        object.__setattr__(figure, "_serialised_spec", spec)
    return st.plotly_chart(_Serialised(charts.overlaid(spec, overlay)), key=key, alt=alt, **plot_args)


def draw_part(part: ChartPart, key: str, **plot_args: Any) -> None:
    """A chart, then its one-sentence summary and its data as CSV (or, with nothing to draw, the reason)."""
    if part.figure is None:
        st.info(part.summary)
        return
    plotly_chart(part.figure, key, charts.alt_text(part.figure, part.summary), part.overlay, **plot_args)
    chart_notes(part.summary, part.table, part.file_name, key, illustrative=part.illustrative)


def sources_footer(*lines: str) -> None:
    st.caption("  \n".join([*lines, ATTRIBUTION]))


def as_of_picker(periods: list[dt.date]) -> dt.date:
    """'Up to' month for the scorecard, kept in the URL as ?to=YYYY-MM (default: the latest)."""
    keys = sorted({f"{p:%Y-%m}" for p in periods}) or [f"{dt.date.today():%Y-%m}"]
    chosen = url_value("to", keys, keys[-1], "period")
    chosen = st.selectbox("Up to", keys, index=keys.index(chosen), key="picker_to",
                          format_func=lambda k: month_label(dt.date(int(k[:4]), int(k[5:]), 1)))
    st.query_params["to"] = chosen
    return dt.date(int(chosen[:4]), int(chosen[5:]), 1)


A_YEAR_BEFORE = ""  # the "since" choice that compares each measure with its own period a year before


def since_picker(periods: list[dt.date], as_of: dt.date) -> dt.date | None:
    """The reference period of the scorecard's change ("since the last Panel"), kept in the URL as
    ?since=YYYY-MM; by default (None) each measure's same period a year before."""
    keys = [A_YEAR_BEFORE, *sorted({f"{p:%Y-%m}" for p in periods if p < as_of}, reverse=True)]
    chosen = url_value("since", keys, A_YEAR_BEFORE, "reference period")
    chosen = st.selectbox("Change since", keys, index=keys.index(chosen), key="picker_since",
                          format_func=lambda k: "the same period a year before" if k == A_YEAR_BEFORE
                          else month_label(dt.date(int(k[:4]), int(k[5:]), 1)),
                          help="For example the month of the last Police and Crime Panel.")
    if chosen == A_YEAR_BEFORE:
        st.query_params.pop("since", None)
        return None
    st.query_params["since"] = chosen
    return dt.date(int(chosen[:4]), int(chosen[5:]), 1)
