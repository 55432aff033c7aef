"""The "Compared with similar areas" section (area profile, recorded crime) and the pack's panel.

A CSP against its 15 most similar CSPs (measures.core.similar), its force and England and Wales,
for one real measure and period: a ranked chart, a funnel plot and a national map. The chosen
measure is kept in the address (?peer=ID). Every force's window values are cached per data
version: the national figures need all 43 forces (about 0.5 s to build, then from the cache).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

import pandas as pd
import streamlit as st

from measures.core import peer_comparison, registry, similar
from measures.data import config
from measures.render import briefing, peer_charts
from measures.ui import app

URL_KEY = "peer"
FORCE_NOTE = ("Similar areas are for CSPs: choose a CSP in the sidebar to compare it with its 15 most similar "
              "CSPs in England and Wales.")


@st.cache_data(max_entries=32, show_spinner=False)
def _force_values(measure_id: str, first: dt.date, last: dt.date, public: bool, path: str,
                  version: str) -> pd.DataFrame:
    """Every force's window values of a measure (path and version key the cache: a new publish is a new entry)."""
    return peer_comparison.all_force_values(app.connection(), registry.get(measure_id), first, last, public)


@st.cache_data(max_entries=8, show_spinner=False)
def _real_measure_ids(force_code: str, path: str, version: str) -> list[str]:
    """The ids of peer_comparison.real_measures (force, path and version key the cache, as above)."""
    return [m.id for m in peer_comparison.real_measures(app.connection())]


def real_measures() -> list[registry.Measure]:
    """The measures whose loaded rows are all real (the rows' illustrative flag), for the picker and the pack."""
    return [registry.get(i) for i in _real_measure_ids(app.force().code, str(app.data_dir()), app.data_version())]


def force_values(measure: registry.Measure, first: dt.date, last: dt.date) -> pd.DataFrame:
    return _force_values(measure.id, first, last, app.public_mode(), str(app.data_dir()), app.data_version())


@functools.lru_cache(maxsize=1)
def _ranking() -> pd.DataFrame:
    """similar.all_similar (from the reference table, read once), kept: an area's similar areas are its rows."""
    return similar.all_similar()


def neighbours(area_code: str) -> pd.DataFrame:
    """similar.similar_areas of the area's neighbour_code, from the kept ranking: similar_areas filtered the
    ranking of every CSP against every other (about 86,000 rows) for each area asked for."""
    code = peer_comparison.neighbour_code(area_code)
    if code not in similar.characteristics().index:
        raise KeyError(code)
    ranking = _ranking()
    return ranking[ranking["area_code"].to_numpy() == code].reset_index(drop=True)


def pool(measure: registry.Measure, first: dt.date, last: dt.date) -> peer_comparison.Pool:
    """peer_comparison.pool of the cached window values: what every CSP's group reads, built once per data
    version, measure and window (shared like a chart: read, never changed)."""
    return app.figure("peer_pool", (measure.id, first, last), lambda: peer_comparison.pool(
        force_values(measure, first, last), measure, app.public_mode()))


def national_map(values: pd.DataFrame, measure: registry.Measure, first: dt.date,
                 last: dt.date) -> peer_charts.NationalMap:
    """peer_charts.national_base of the window's CSP values, built once per data version, measure and window."""
    return app.figure("peer_national_map", (measure.id, first, last), lambda: peer_charts.national_base(
        values[values["area_type"] == "csp"], measure, first, last))


def group(measure: registry.Measure, area_code: str, first: dt.date, last: dt.date) -> pd.DataFrame:
    """group_values from the cached window values (KeyError for an area with no similar areas), kept per
    data version, measure, area and window (shared: read, never changed)."""
    return app.figure("peer_group", (measure.id, area_code, first, last),
                      lambda: peer_comparison.group_of(pool(measure, first, last), area_code, neighbours(area_code)))


def measure_picker(default: str | None = None) -> registry.Measure | None:
    """A real measure, from the address (?peer=ID) and a select box; None when the registry has none."""
    measures = real_measures()
    if not measures:
        return None
    ids = [m.id for m in measures]
    fallback = default if default in ids else ids[0]
    chosen = app.url_value(URL_KEY, ids, fallback, "measure to compare")
    chosen = st.selectbox("Measure to compare", ids, index=ids.index(chosen), key="picker_peer",
                          format_func=lambda i: registry.get(i).title)
    if chosen == fallback:
        st.query_params.pop(URL_KEY, None)  # the page's own measure keeps a short address
    else:
        st.query_params[URL_KEY] = chosen
    return registry.get(chosen)


def window(measure: registry.Measure, first: dt.date | None, last: dt.date | None) -> tuple[dt.date, dt.date, str]:
    """The page's period where the measure has data in it, else its latest 12 months with data (and why)."""
    rows = app.measure(measure.id)
    if rows.empty:
        return first or dt.date.today(), last or dt.date.today(), ""
    starts = pd.to_datetime(rows["period_start"])
    if first is not None and last is not None and ((starts >= pd.Timestamp(first)) & (starts <= pd.Timestamp(last))).any():
        return first, last, ""
    latest = peer_comparison.latest_window(rows)
    assert latest is not None
    return latest[0], latest[1], f"{measure.title} has no data in the page's period, so this shows its latest 12 months."


def section(area: config.Area, first: dt.date | None = None, last: dt.date | None = None,
            default_measure: str | None = None) -> None:
    """The section, for the chosen area (a CSP, or the force: then the national map only)."""
    st.header("Compared with similar areas")
    measure = measure_picker(default_measure)
    if measure is None:
        st.info("No measure has real (not illustrative) data loaded, so there is nothing to compare across forces.")
        return
    first, last, moved = window(measure, first, last)
    if moved:
        st.caption(moved)
    values = force_values(measure, first, last)
    if values.empty:
        st.info(f"No force has data for {measure.title} in this period.")
        return
    whole = pool(measure, first, last).national
    if area.area_type != "csp":
        st.info(FORCE_NOTE)
        _draw(national_map(values, measure, first, last).part, "peer_national_map")
        st.caption(whole.note)
        return
    try:
        rows = group(measure, area.code, first, last)
        note = similar.method_note(peer_comparison.neighbour_code(area.code))
    except KeyError:
        st.info(f"{area.name} has no similar areas in the reference table (data/reference/csp_characteristics.csv).")
        return
    st.caption(f"{note}. {whole.note}")
    st.markdown(f"**Position.** {peer_charts.position_sentence(rows, measure, first, last)}")
    left, right = st.columns(2)
    with left:
        _draw(app.figure("peer_ranked", (measure.id, area.code, first, last),
                         lambda: peer_charts.ranked_chart(rows, measure, first, last)), "peer_ranked")
    with right:
        _draw(app.figure("peer_funnel", (measure.id, area.code, first, last),
                         lambda: peer_charts.funnel_chart(rows, measure, first, last)), "peer_funnel")
    st.dataframe(app.figure("peer_table", (measure.id, area.code, first, last),
                            lambda: peer_charts.human_table(rows, measure)), hide_index=True, key="peer_table")
    # Figures are built once per data version and shared (a chart only reads them: issue 16's page CPU); the
    # national map once for every area, each area's outline drawn over it.
    _draw(peer_charts.national_selection(national_map(values, measure, first, last), area.code), "peer_national_map")


def _draw(part: peer_charts.ChartPart, key: str) -> None:
    """app.draw_part without Plotly's toolbar (the section's charts are small)."""
    app.draw_part(part, key, config={"displayModeBar": False})


def pack_with_panel(pack: briefing.Pack) -> briefing.Pack:
    """The pack with its "Compared with similar areas" panel (a CSP only), from the cached values."""
    if pack.area.area_type != "csp":
        return pack
    try:
        groups = {m.id: group(m, pack.area.code, pack.first, pack.last) for m in real_measures()}
        note = similar.method_note(peer_comparison.neighbour_code(pack.area.code))
    except KeyError:
        return pack
    panel = peer_comparison.panel_of(pack.area.name, pack.first, pack.last, note, groups)
    return dataclasses.replace(pack, similar=panel)
