"""What the pages share: the cached connection and query results, area and period filters.

Pages stay thin: they read filters, call these loaders and hand frames to measures.render.charts.
Every value from the URL is checked against an allow-list here before any query.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pydeck as pdk
import streamlit as st

from measures.core import export, pipeline, profile, registry
from measures.data import commentary, config, db, store
from measures.paths import DEFAULT_DATA_DIR

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


@st.cache_data(max_entries=512, show_spinner=False)
def _run(name: str, params: tuple, path: str, version: str) -> pd.DataFrame:
    return db.query(_connection(path, version), name, {k: list(v) if isinstance(v, tuple) else v for k, v in params})


def run(name: str, **params: object) -> pd.DataFrame:
    """queries/<name>.sql with bound parameters, cached per data version."""
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
    return _run(name, frozen, str(data_dir()), data_version())


@st.cache_data(max_entries=256, show_spinner=False)
def _measure(measure_id: str, force_code: str, public: bool, path: str, version: str) -> pd.DataFrame:
    measure = registry.get(measure_id)
    try:
        return export.measure_frame(_connection(path, version), measure, force_code, None, None, public)
    except duckdb.CatalogException:  # the table is not loaded in this data folder
        return pd.DataFrame(columns=export.COLUMNS)


def measure(measure_id: str) -> pd.DataFrame:
    """All periods and areas of a measure for the chosen force (suppressed in public mode)."""
    return _measure(measure_id, force().code, public_mode(), str(data_dir()), data_version())


@st.cache_data(max_entries=4, show_spinner=False)
def _forces_with_data(path: str, version: str) -> list[str]:
    con = _connection(path, version).cursor()
    loaded = db.tables(con)
    codes = {config.load_force().code}
    for table, column in (("police_uk_counts", "force_code"), ("ons_csp_crime", "pfa_code")):
        if table in loaded:
            codes |= {row[0] for row in con.execute(f"select distinct {column} from {table}").fetchall()}
    known = config.forces()
    return [code for code in known["pfa_code"] if code in codes]  # in the reference table's order


def forces_with_data() -> list[str]:
    """Codes of the police force areas this data folder has figures for (the configured one always)."""
    return _forces_with_data(str(data_dir()), data_version())


FORCE_KEY = "force"


def force_code() -> str:
    """The force the address asks for (?force=CODE, one of the forces with data), else the configured one."""
    raw = _first(st.query_params.get_all(FORCE_KEY)) if FORCE_KEY in st.query_params else None
    return raw if raw is not None and raw in forces_with_data() else config.load_force().code


@st.cache_data(max_entries=64, show_spinner=False)
def _profile_windows(force_code: str, first: dt.date, last: dt.date, public: bool, path: str,
                     version: str) -> dict[str, profile.Window]:
    frames = {m.id: _measure(m.id, force_code, public, path, version) for m in registry.measures()}
    return profile.windows(frames, first, last, public)


def profile_windows(first: dt.date, last: dt.date) -> dict[str, profile.Window]:
    """Every measure's values over a period for every area of the chosen force (profile.windows), cached:
    the area profile asked for another area reads its row from these."""
    return _profile_windows(force_code(), first, last, public_mode(), str(data_dir()), data_version())


def force() -> config.Force:
    """The chosen force as this site shows it: on the public site, with its combined areas
    (e.g. Cornwall and Isles of Scilly) in place of their parts."""
    chosen = config.force_by_code(force_code())
    return chosen.published() if public_mode() else chosen


def link_params(**params: str) -> dict[str, str]:
    """Query parameters for a link to another page, keeping the chosen force."""
    code = force_code()
    return {**({FORCE_KEY: code} if code != config.load_force().code else {}), **params}


def _force_changed() -> None:
    code = st.session_state.get("picker_force")
    st.query_params.pop("area", None)  # an area of the old force means nothing in the new one
    st.session_state.pop("picker_area", None)
    if code and code != config.load_force().code:
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
                f"{config.load_force().name}.")
        st.query_params.pop(FORCE_KEY, None)
    st.session_state["picker_force"] = force_code()  # the address decides; the box follows it
    names = config.forces().set_index("pfa_code")["pfa_name"]
    st.selectbox("Police force area", codes, format_func=lambda c: str(names.get(c, c)), key="picker_force",
                 on_change=_force_changed)


def manifest() -> dict:
    return store.manifest(data_dir())


@st.cache_data(max_entries=4, show_spinner=False)
def _commentaries(path: str, version: str) -> pd.DataFrame:
    return commentary.read(_connection(path, version))


def commentaries() -> pd.DataFrame:
    """Every published commentary (measures.data.commentary.read), cached per data version: look one up
    with commentary.latest or commentary.for_window."""
    return _commentaries(str(data_dir()), data_version())


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
    """The area code a Plotly (customdata) or pydeck (feature properties) selection points at."""
    selection = (state or {}).get("selection") if isinstance(state, dict) or hasattr(state, "get") else None
    if not selection:
        return None
    for point in selection.get("points") or []:  # Plotly: customdata[0] is the area code
        custom = point.get("customdata")
        if isinstance(custom, (list, tuple)) and custom:
            return str(custom[0])
        if isinstance(custom, str):
            return custom
    for objects in (selection.get("objects") or {}).values():  # pydeck: per layer, the picked features
        for picked in objects:
            properties = picked.get("properties", picked) if isinstance(picked, dict) else {}
            code = properties.get("area_code") or properties.get("csp_code")
            if code:
                return str(code)
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
    configured = config.force_by_code(force_code())
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


def chart_notes(summary: str, table: pd.DataFrame, file_name: str, key: str, illustrative: bool = False) -> None:
    """Under every chart: a one-sentence summary and the chart's data as CSV."""
    st.caption(summary)
    table = table.copy()
    if illustrative:  # an export that shows generated data says so in each row that is (the rows' own flag)
        flag = pipeline.ILLUSTRATIVE
        table[flag] = table[flag].astype("boolean").fillna(False).astype(bool) if flag in table else True
        table["note"] = table[flag].map({True: ILLUSTRATIVE_LABEL, False: ""})
    st.download_button("Download the chart's data (CSV)", table.to_csv(index=False), file_name=file_name,
                       mime="text/csv", key=f"download_{key}", icon=":material/download:")


def draw_part(part: ChartPart, key: str, **plot_args: Any) -> None:
    """A chart, then its one-sentence summary and its data as CSV (or, with nothing to draw, the reason)."""
    if part.figure is None:
        st.info(part.summary)
        return
    if isinstance(part.figure, pdk.Deck):
        st.pydeck_chart(part.figure, key=key, **plot_args)
    else:
        st.plotly_chart(part.figure, key=key, **plot_args)
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
