"""All drawing: Plotly charts and maps, colour-blind-safe, gaps shown as gaps."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import sample_colorscale, sequential

from measures.core import pipeline
from measures.render import geo

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

# Every figure's template: plotly_white's look in a few properties. Plotly copies a figure's template
# into it; plotly_white's full template cost about 20 ms a figure, this one 0.5 ms (bench/pages.py).
GRID = "#EBF0F8"
pio.templates["measures"] = go.layout.Template(layout=dict(
    paper_bgcolor="white", plot_bgcolor="white", colorway=OKABE_ITO, font=dict(color="#2a3f5f"),
    hoverlabel=dict(align="left"),
    xaxis=dict(gridcolor=GRID, linecolor=GRID, zerolinecolor=GRID, ticks="", automargin=True),
    yaxis=dict(gridcolor=GRID, linecolor=GRID, zerolinecolor=GRID, ticks="", automargin=True),
))
pio.templates.default = "measures"
ILLUSTRATIVE_NOTE = "Illustrative data, not official statistics"


def full_months(first: dt.date, last: dt.date) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="MS")


def with_gaps(frame: pd.DataFrame, first: dt.date, last: dt.date, date_col: str = "period_start") -> pd.DataFrame:
    """One row per calendar month; months with no data get empty values (drawn as gaps)."""
    frame = frame.copy()
    frame[date_col] = pd.to_datetime(frame[date_col])
    return frame.set_index(date_col).reindex(full_months(first, last)).rename_axis(date_col).reset_index()


# Chart text on white at 16:1. Set on each figure, not only in the template: st.plotly_chart's own theme
# replaces the template and would draw ticks and axis titles in #808495 (3.8:1, under WCAG's 4.5:1).
CHART_TEXT = "#1F1F1F"
TITLE_CHARACTERS = 44  # a title line that fits a phone's chart (about 350 px at 15 px type)
# The legend under the plot (below the x axis title), never over the data; Plotly grows the bottom margin for it.
LEGEND_BELOW = dict(orientation="h", yanchor="top", y=-0.22, x=0, xanchor="left")


def wrap_title(title: str, width: int = TITLE_CHARACTERS) -> str:
    """A chart title broken into lines of at most `width` characters, so no phone cuts it (Plotly does not wrap)."""
    import textwrap

    lines = []
    for line in re.split(r"<br\s*/?>", title):
        if line.startswith("<sup>"):  # the illustrative note: small type, one line
            lines.append(line)
        else:
            lines += textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""]
    return "<br>".join(lines)


# Each chart builds its traces and one layout as plain dicts and makes its figure once: Plotly's
# update_layout, update_xaxes, update_annotations, add_hline and the like cost 5-20 ms of CPU each (its
# property paths and relayout machinery), a whole figure made at once about 1-2 ms (issue 16).

def _merge(base: dict, update: dict) -> dict:
    """`update` merged into `base` (in place) as Plotly's update_layout merges: dicts key by key, anything
    else replaced. Dicts are copied in, so a shared one (LEGEND_BELOW) is never changed through a layout."""
    for key, value in update.items():
        base[key] = _merge(base.get(key) or {}, value) if isinstance(value, dict) else value
    return base


def _layout(layout: dict, title: str, y_title: str, illustrative: bool, traces: list[dict] | None = None) -> dict:
    """A chart's layout dict (what it set so far: axes, shapes, annotations) with the title, the y axis title,
    the margins, height and legend, then made readable (changed in place and returned)."""
    if illustrative:
        title = f"{title}<br><sup>{ILLUSTRATIVE_NOTE}</sup>"
    title = wrap_title(title)
    lines = title.count("<br>") + 1
    _merge(layout, dict(
        # The title sits in the middle of a top margin sized for its lines (Plotly's default place): pinned to
        # the top or pushed by automargin, Plotly misplaces a title of several lines by about one line.
        title=dict(text=title, font=dict(size=15), x=0, xanchor="left", xref="container", pad=dict(l=10)),
        margin=dict(l=10, r=10, t=24 + 20 * lines, b=10), height=380 + 20 * (lines - 1), legend=LEGEND_BELOW,
    ))
    layout.setdefault("yaxis", {})["title"] = dict(text=y_title)  # replaced, as update_layout(yaxis_title=...) does
    return readable(layout, traces)


def alt_text(fig: go.Figure, summary: str) -> str:
    """A chart's accessible name (st.plotly_chart's alt): its title as plain text, else its summary sentence,
    which the page always prints right under the chart as the full text alternative."""
    title = re.sub(r"<sup>.*?</sup>", "", fig.layout.title.text or "")
    title = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", title)).strip()
    return f"Chart: {title}. Its summary and data follow it." if title else f"Chart: {summary}"


AXIS_TEXT = dict(tickfont=dict(color=CHART_TEXT), title=dict(font=dict(color=CHART_TEXT)))


def readable(layout: dict, traces: list[dict] | None = None) -> dict:
    """Every text of a chart in CHART_TEXT: ticks, axis titles, legend, heatmap colour bars (of `traces`, as
    dicts) and the annotations so far. Changes `layout` in place and returns it."""
    _merge(layout, dict(font=dict(color=CHART_TEXT), legend=dict(font=dict(color=CHART_TEXT))))
    # As update_xaxes and update_yaxes: the first x and y axes always, and every other axis the layout has.
    for key in ["xaxis", "yaxis", *(k for k in layout if re.fullmatch(r"[xy]axis[0-9]+", k))]:
        layout[key] = _merge(layout.get(key) or {}, AXIS_TEXT)
    for trace in traces or []:
        if trace.get("type") == "heatmap":
            trace["colorbar"] = _merge(trace.get("colorbar") or {}, AXIS_TEXT)
    for annotation in layout.get("annotations", []):
        _merge(annotation, dict(font=dict(color=CHART_TEXT)))
    return layout


def monthly_trend(series: dict[str, pd.DataFrame], value_col: str, title: str, y_title: str,
                  first: dt.date, last: dt.date, illustrative: bool = False) -> go.Figure:
    """Lines over calendar months; a month with no data is a gap, never a zero."""
    traces = []
    for index, (name, frame) in enumerate(series.items()):
        full = with_gaps(frame, first, last)
        traces.append(dict(
            type="scatter", x=full["period_start"], y=full[value_col], name=name, mode="lines+markers",
            connectgaps=False, line=dict(color=OKABE_ITO[index % len(OKABE_ITO)]), marker=dict(size=5),
        ))
    return go.Figure(data=traces, layout=_layout({}, title, y_title, illustrative))


def bar_chart(frame: pd.DataFrame, x: str, y: str, title: str, y_title: str, illustrative: bool = False) -> go.Figure:
    return go.Figure(data=[dict(type="bar", x=frame[x], y=frame[y], marker=dict(color=OKABE_ITO[0]))],
                     layout=_layout({}, title, y_title, illustrative))


# Maps: the boundaries themselves are the picture (Plotly polygons on plain axes), so a map fetches no
# tiles and sends no visitor's address anywhere. Viridis runs dark blue to yellow with no grey step,
# so no value is mistaken for "no value", which has its own hatched fill, named in the legend.
MAP_SCALE = [[i / (len(sequential.Viridis) - 1), c] for i, c in enumerate(sequential.Viridis)]  # Plotly.js's form
NO_VALUE = "no value / suppressed"
NO_VALUE_FILL = dict(fillcolor="#FFFFFF", fillpattern=dict(shape="/", fgcolor="#595959", size=6, solidity=0.25))
SELECTED_LINE = "#000000"
MAP_TEXT = CHART_TEXT  # on white: 16:1 contrast (WCAG asks 4.5:1)
# A click selects the CSP whose marker it lands on (Plotly reports no clicks on fills): invisible markers on a
# grid CLICK_STEP pixels apart cover each CSP, so a click anywhere in it is within Plotly's 20-pixel reach of one.
CLICK_NOTE = "Click a CSP to select it."
CLICK_STEP = 20  # pixels
_MAP_MARGIN = dict(l=4, r=4, t=30, b=70)


def colour_range(values: pd.Series) -> tuple[float, float, bool]:
    """The values the colour scale runs between, and whether its top is capped.

    Among many areas one far above the rest (the City of London's rate, 279 per 1,000 against a
    98th percentile near 100) would leave every other area the same dark colour: the scale then
    stops at the 98th percentile, and the colour bar says that its top colour means "or more".
    """
    finite = values.dropna().astype(float)
    if finite.empty:
        return 0.0, 1.0, False
    low, high = float(finite.min()), float(finite.max())
    cap = float(finite.quantile(0.98)) if len(finite) >= 50 else high
    if high - low > 1.25 * (cap - low) > 0:
        return low, cap, True
    return low, high, False


def _colour(values: pd.Series) -> list[str | None]:
    """Viridis colours for values, low to high (None where there is no value)."""
    low, high, _ = colour_range(values)
    span = (high - low) or 1.0
    finite = values.notna().to_numpy()
    positions = np.clip((values[finite].astype(float).to_numpy() - low) / span, 0, 1)
    colours = iter(sample_colorscale(MAP_SCALE, positions.tolist()) if len(positions) else [])
    return [next(colours) if has_value else None for has_value in finite]


def _ring_xy(rings: list[list[list[float]]]) -> tuple[list[float | None], list[float | None]]:
    """Rings as one x and one y list, each ring ended by a gap (None); 4 decimals (about 10 m) are plenty."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for ring in rings:
        xs += [round(p[0], 4) for p in ring] + [None]
        ys += [round(p[1], 4) for p in ring] + [None]
    return xs, ys


# Each CSP's outline as drawn, kept per CSP and tolerance (its boundary is fixed for the process, as
# geo.shape_facts keeps its facts): rounding the points again cost about 20 ms a national map. Figures
# copy the lists they are given, so no figure changes one.
_OUTLINES: dict[tuple[str, float], tuple[list[float | None], list[float | None]]] = {}


def _outline(feature: dict, tolerance: float) -> tuple[list[float | None], list[float | None]]:
    key = (feature["properties"]["csp_code"], tolerance)
    if key not in _OUTLINES:
        _OUTLINES[key] = _ring_xy(geo.outer_rings(feature["geometry"]))
    return _OUTLINES[key]


def _map_figure(traces: list[dict], latitude: float, height: int, unit_title: str,
                annotations: list[dict] | None = None) -> go.Figure:
    """Plain axes at the map's true shape (a degree of longitude is cos(latitude) of one of latitude),
    the colour bar under the map with its unit, the legend above it, hover labels kept inside the view.

    Made unvalidated: a trace per CSP of England and Wales cost 0.8 s validated, 0.14 s not (these are
    plain properties, tests/test_chart_build.py checks that Plotly accepts every map).
    """
    import math

    for trace in traces:
        if trace.get("name") == "colour scale":
            _merge(trace, dict(marker=dict(colorbar=dict(
                title=dict(text=unit_title, side="top", font=dict(color=MAP_TEXT)), orientation="h", x=0.5,
                xanchor="center", y=0, yanchor="top", len=0.9, thickness=12, tickfont=dict(color=MAP_TEXT),
                outlinewidth=0))))
    layout = dict(
        xaxis=dict(visible=False, fixedrange=True),
        yaxis=dict(visible=False, fixedrange=True, scaleanchor="x", scaleratio=1 / math.cos(math.radians(latitude))),
        height=height, margin=_MAP_MARGIN, hovermode="closest", dragmode=False, meta=dict(kind="map"),
        font=dict(color=MAP_TEXT), plot_bgcolor="white", paper_bgcolor="white",
        legend=dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom", font=dict(color=MAP_TEXT)),
        hoverlabel=dict(bgcolor="white", font=dict(color=MAP_TEXT), align="left"),
    )
    if annotations:
        layout["annotations"] = annotations
    return go.Figure(data=traces, layout=layout, _validate=False)


def _label(point: tuple[float, float], text: str, top: float, bottom: float) -> dict:
    """The selected area's name in a white box with an arrow to it, above it (below it near the top)."""
    above = point[1] < bottom + 0.7 * (top - bottom)
    return dict(x=point[0], y=point[1], text=f"<b>{text}</b>", showarrow=True, arrowhead=0, arrowwidth=1.5,
                arrowcolor=SELECTED_LINE, ax=0, ay=-36 if above else 36, bgcolor="white",
                bordercolor=SELECTED_LINE, borderwidth=1, font=dict(color=MAP_TEXT, size=12))


@dataclass(frozen=True)
class Overlay:
    """Traces and annotations drawn over a shared figure: a map's selected area. The figure is built (and
    serialised, ui.app.plotly_chart) once for every area; the overlay, a few small traces, per area."""

    traces: tuple[dict, ...] = ()
    annotations: tuple[dict, ...] = ()


def overlaid(spec: dict, overlay: Overlay | None) -> dict:
    """A figure's dict (Figure.to_dict()) with the overlay's traces drawn last and its annotations added; `spec`
    itself is left as it was (it is shared)."""
    if overlay is None or not (overlay.traces or overlay.annotations):
        return spec
    layout = dict(spec.get("layout", {}))
    if overlay.annotations:
        layout["annotations"] = [*layout.get("annotations", ()), *overlay.annotations]
    return {**spec, "data": [*spec.get("data", ()), *overlay.traces], "layout": layout}


@dataclass(frozen=True)
class MapGeometry:
    """What drawing a selection over a CSP map needs: each CSP's (simplified) boundary, name and label point,
    and the map's top and bottom."""

    tolerance: float
    features: dict[str, dict] = field(repr=False)  # CSP code -> its boundary feature
    names: dict[str, str] = field(repr=False)  # CSP code -> name
    facts: dict[str, tuple[float, float, float]] = field(repr=False)  # geo.shape_facts: label point and size
    top: float
    bottom: float


@dataclass(frozen=True)
class MapBase:
    """A CSP map with no area selected (csp_map_base), and its geometry for map_selection."""

    figure: go.Figure
    geometry: MapGeometry


def _csp_map_traces(values: pd.DataFrame, value_col: str, tooltip_html: str,
                    tolerance: float, height: int) -> tuple[list[dict], MapGeometry]:
    """The map's traces (a filled outline per CSP, a grid of click markers per CSP, then the markers carrying
    codes and the colour bar) and its geometry."""
    import math

    features = geo.csp_features(tuple(values["area_code"]), tolerance)
    by_code = {str(row["area_code"]): row for row in values.to_dict("records")}
    colours = dict(zip(values["area_code"], _colour(values[value_col]), strict=True))
    facts = {f["properties"]["csp_code"]: geo.shape_facts(f["properties"]["csp_code"], tolerance) for f in features}
    features.sort(key=lambda f: -facts[f["properties"]["csp_code"]][2])  # larger first: one inside another shows
    border = 0.6 if len(features) < 40 else 0.25  # thin lines on a national map, or London is all border
    _min_x, min_y, _max_x, max_y = geo.bounds(features) if features else (-6.0, 50.0, -3.0, 51.5)
    # A pixel is at most this many degrees north-south (fewer where the map's width limits it); east-west a
    # degree of longitude is drawn cos(latitude) as long (_map_figure).
    step_y = round((max_y - min_y) / max(height - _MAP_MARGIN["t"] - _MAP_MARGIN["b"], 100) * CLICK_STEP, 4)
    step_x = round(step_y / math.cos(math.radians((max_y + min_y) / 2)), 4)
    traces: list[dict] = []
    clicks: list[dict] = []
    marks: dict[str, list] = {"x": [], "y": [], "text": [], "code": [], "value": []}
    no_value_named = False
    for feature in features:
        code = feature["properties"]["csp_code"]
        row = by_code[code]
        text = tooltip_html.format_map({k: ("" if v is None or (not isinstance(v, str) and pd.isna(v)) else v)
                                        for k, v in row.items()})
        # Plotly's hover breaks lines at <br> only; an empty last line (no interval, no outcome) is not drawn.
        text = re.sub(r"(<br>)+$", "", re.sub(r"<br\s*/>", "<br>", text))
        xs, ys = _outline(feature, tolerance)
        trace = dict(type="scatter", x=xs, y=ys, mode="lines", fill="toself", hoveron="fills", hoverinfo="text",
                     text=text, name=str(row["area_name"]), line=dict(color="#FFFFFF", width=border), showlegend=False)
        colour = colours[code]
        if colour is None:
            trace.update(NO_VALUE_FILL, name=NO_VALUE, legendgroup="no value", showlegend=not no_value_named,
                         line=dict(color="#595959", width=border))
            no_value_named = True
        else:
            trace["fillcolor"] = colour
        traces.append(trace)
        click_xs, click_ys = geo.click_points(code, tolerance, step_x, step_y)
        if click_xs:
            clicks.append(dict(type="scatter", name="click area", x=click_xs, y=click_ys, mode="markers",
                               hoverinfo="text", hovertext=text, customdata=[[code]] * len(click_xs),
                               showlegend=False, marker=dict(size=14, opacity=0)))
        x, y, _ = facts[code]
        for key, item in (("x", x), ("y", y), ("text", text), ("code", [code]), ("value", row[value_col])):
            marks[key].append(item)
    traces += clicks
    low, high, _capped = colour_range(values[value_col])
    if values[value_col].notna().any():
        traces.append(dict(type="scatter", name="colour scale", x=marks["x"], y=marks["y"], mode="markers",
                           hoverinfo="text", hovertext=marks["text"], customdata=marks["code"], showlegend=False,
                           marker=dict(size=14, opacity=0, color=[None if pd.isna(v) else v for v in marks["value"]],
                                       colorscale=MAP_SCALE, cmin=low, cmax=high, showscale=True)))
    names = {str(code): str(by_code[code]["area_name"]) for code in by_code}
    return traces, MapGeometry(tolerance, {f["properties"]["csp_code"]: f for f in features}, names, facts, max_y,
                               min_y)


def _csp_map_figure(traces: list[dict], geometry: MapGeometry, values: pd.Series, height: int, unit: str,
                    overlay: Overlay) -> go.Figure:
    _low, high, capped = colour_range(values)
    title = f"{unit} (top colour: {high:,.0f} or more)" if capped else unit
    return _map_figure(traces + list(overlay.traces), (geometry.top + geometry.bottom) / 2, height, title,
                       list(overlay.annotations))


def csp_map_base(values: pd.DataFrame, value_col: str, tooltip_html: str, height: int = 420,
                 tolerance: float = geo.FORCE_TOLERANCE, unit: str = "") -> MapBase:
    """csp_map with no area selected, kept with its geometry so that map_selection can outline one over it."""
    traces, geometry = _csp_map_traces(values, value_col, tooltip_html, tolerance, height)
    return MapBase(_csp_map_figure(traces, geometry, values[value_col], height, unit, Overlay()), geometry)


def map_selection(geometry: MapGeometry, selected: str | None) -> Overlay:
    """The selected CSP outlined (a white halo under a black line: clear on the darkest and lightest fills) and
    named in a box; nothing for an area not on the map."""
    if selected is None or selected not in geometry.features:
        return Overlay()
    xs, ys = _outline(geometry.features[selected], geometry.tolerance)
    traces = tuple(dict(type="scatter", x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False, name="selected",
                        line=dict(color=colour, width=width)) for colour, width in (("#FFFFFF", 5), (SELECTED_LINE, 2.5)))
    label = _label(geometry.facts[selected][:2], geometry.names[selected], geometry.top, geometry.bottom)
    return Overlay(traces, (label,))


def csp_map(values: pd.DataFrame, value_col: str, tooltip_html: str, selected: str | None = None,
            height: int = 420, tolerance: float = geo.FORCE_TOLERANCE, unit: str = "") -> go.Figure:
    """Choropleth of CSPs: `values` has area_code, area_name and the tooltip's {columns}; `unit` titles
    the colour bar. `tolerance` simplifies the boundaries (degrees; geo.NATIONAL_TOLERANCE for every CSP).

    One trace per CSP, so hovering anywhere in one names it (a fill's hover text is its trace's);
    invisible markers on a grid over each carry its code, so a click anywhere in it selects it; one more in
    each carries the colour bar. The selected
    CSP is drawn over them (map_selection, as it is drawn over a shared csp_map_base).
    """
    traces, geometry = _csp_map_traces(values, value_col, tooltip_html, tolerance, height)
    return _csp_map_figure(traces, geometry, values[value_col], height, unit, map_selection(geometry, selected))


def hex_map(hexes: pd.DataFrame, area_features: list[dict], height: int = 420, classes: int = 6) -> go.Figure:
    """Density of recorded crime by H3 hexagon over the area's boundaries (drawn as the base).

    Counts are very skewed (a town centre holds hundreds, most hexagons a few), so the colours are
    classes of about equal numbers of hexagons (quantiles), each named on the colour bar.
    """
    import h3

    traces: list[dict] = []
    base_x: list[float | None] = []
    base_y: list[float | None] = []
    for feature in area_features:
        xs, ys = _ring_xy(geo.outer_rings(feature["geometry"]))
        base_x += xs
        base_y += ys
    traces.append(dict(type="scatter", x=base_x, y=base_y, mode="lines", fill="toself", fillcolor="#E8E8E8",
                       line=dict(color="#595959", width=1), hoverinfo="skip", name="no crimes with a location",
                       showlegend=True))
    counts = hexes["crimes"].astype(float).to_numpy()
    if len(counts):
        edges = np.unique(np.ceil(np.quantile(counts, np.linspace(0, 1, classes + 1))))
        edges[0] = min(edges[0], counts.min())
        bins = np.clip(np.searchsorted(edges, counts, side="left") - 1, 0, max(len(edges) - 2, 0))
        names = [f"{int(edges[0])}–{int(edges[1])}" if len(edges) > 1 else f"{int(edges[0])}"]
        names += [f"{int(edges[i]) + 1}–{int(edges[i + 1])}" for i in range(1, len(edges) - 1)]
        steps = max(len(names), 1)
        colours = [sample_colorscale(MAP_SCALE, [i / max(steps - 1, 1)])[0] for i in range(steps)]
        cells = hexes["h3_cell"].tolist()
        for index in range(steps):
            rings = [[[lng, lat] for lat, lng in h3.cell_to_boundary(c)] for c, b in zip(cells, bins, strict=True)
                     if b == index]
            if rings:
                xs, ys = _ring_xy([[*ring, ring[0]] for ring in rings])
                traces.append(dict(type="scatter", x=xs, y=ys, mode="lines", fill="toself", fillcolor=colours[index],
                                   line=dict(width=0), hoverinfo="skip", showlegend=False, name=names[index]))
        centres = [h3.cell_to_latlng(c) for c in cells]
        stepped = [[position, colours[i]] for i in range(steps) for position in (i / steps, (i + 1) / steps)]
        traces.append(dict(type="scatter", name="colour scale", x=[round(c[1], 4) for c in centres],
                           y=[round(c[0], 4) for c in centres], mode="markers", hoverinfo="text",
                           hovertext=[f"<b>{int(n):,}</b> crimes recorded in this hexagon" for n in counts],
                           showlegend=False,
                           marker=dict(size=8, opacity=0, color=bins.tolist(), colorscale=stepped, cmin=-0.5,
                                       cmax=steps - 0.5, showscale=True,
                                       colorbar=dict(tickvals=list(range(steps)), ticktext=names))))
    if area_features:
        latitude = (geo.bounds(area_features)[1] + geo.bounds(area_features)[3]) / 2
    else:
        latitude = 50.6
    return _map_figure(traces, latitude, height, "crimes per hexagon (about 5 km²)")


def sparkline(series: pd.DataFrame, frequency: str) -> go.Figure:
    """A small trend line (gaps kept) for the Overview."""
    full = series.set_index("period_start")["value"].reindex(pipeline.calendar(series["period_start"], frequency))
    return go.Figure(data=[dict(type="scatter", x=full.index, y=full.to_numpy(), mode="lines", connectgaps=False,
                                line=dict(color=OKABE_ITO[0], width=2))],
                     layout=dict(height=90, margin=dict(l=0, r=0, t=0, b=0), xaxis=dict(visible=False),
                                 yaxis=dict(visible=False), showlegend=False))


def control_chart(series: pd.DataFrame, title: str, y_title: str, freq: str = "MS", illustrative: bool = False,
                  target: float | None = None) -> go.Figure:
    """XmR chart from the pipeline's rows: values (gaps kept), each baseline's mean and process limits
    (a step where a new baseline starts), and signal points marked with a word."""
    rows = series.set_index("period_start")
    full = rows.reindex(pipeline.calendar(rows.index, freq))
    x = full.index
    traces = [dict(type="scatter", x=x, y=full["value"].to_numpy(), name="value", mode="lines+markers",
                   connectgaps=False, line=dict(color=OKABE_ITO[0]), marker=dict(size=5))]
    # A baseline's limits hold across a gap in its months: carry them over the gap, not past a new baseline.
    baseline = full["baseline_start"].astype("object").ffill()
    trial = bool(full["trial_limits"].fillna(False).astype(bool).any()) if "trial_limits" in full else False
    for name, column, dash in (("mean", "mean", "solid"), ("upper process limit", "upper_process_limit", "dot"),
                               ("lower process limit", "lower_process_limit", "dot")):
        level = full[column].groupby(baseline.to_numpy()).ffill() if baseline.notna().any() else full[column]
        label = f"{name} (trial limits)" if trial and name != "mean" else name
        traces.append(dict(type="scatter", x=x, y=level.to_numpy(), name=label, mode="lines",
                           line=dict(shape="hv", color="#555555", dash=dash, width=1)))
    if target is not None:
        traces.append(dict(type="scatter", x=[x[0], x[-1]], y=[target, target], name=f"target ({target:g})",
                           mode="lines", line=dict(color=OKABE_ITO[5], dash="dash", width=2)))
    markers = {"improvement": ("triangle-up", OKABE_ITO[0]), "concern": ("x", OKABE_ITO[5]),
               "change": ("diamond", OKABE_ITO[3])}
    words = full["signal_meaning"].fillna("none")
    for word, (symbol, colour) in markers.items():
        points = words[words == word].index
        if len(points):
            kinds = full.loc[points, "signal"].fillna("").astype(str).to_numpy()
            traces.append(dict(type="scatter", x=points, y=full.loc[points, "value"].to_numpy(),
                               name=f"signal: {word}", mode="markers", customdata=kinds,
                               marker=dict(symbol=symbol, size=12, color=colour, line=dict(width=1)),
                               hovertemplate=f"{word} (%{{customdata}}): %{{y:.2f}}<extra></extra>"))
    return go.Figure(data=traces, layout=_layout({}, title, y_title, illustrative))


def interval_bars(frame: pd.DataFrame, title: str, y_title: str, reference: float | None = None,
                  illustrative: bool = False) -> go.Figure:
    """Each area's value with its 95% interval, against the force value."""
    traces, layout = _interval_bars(frame, title, y_title, reference, illustrative)
    return go.Figure(data=traces, layout=layout)


def _interval_bars(frame: pd.DataFrame, title: str, y_title: str, reference: float | None, illustrative: bool,
                   marker: dict | None = None, **bar: object) -> tuple[list[dict], dict]:
    """interval_bars' trace (with `marker` and `bar`'s other properties) and layout."""
    traces = [dict(type="bar", x=frame["area_name"], y=frame["value"], marker=marker or dict(color=OKABE_ITO[4]),
                   error_y=dict(type="data", symmetric=False, array=frame["upper_95"] - frame["value"],
                                arrayminus=frame["value"] - frame["lower_95"], color="#333333"), **bar)]
    layout: dict = {}
    if reference is not None and not pd.isna(reference):  # what add_hline draws: a line across, a word at its end
        layout["shapes"] = [dict(type="line", x0=0, x1=1, xref="x domain", y0=reference, y1=reference, yref="y",
                                 line=dict(color=OKABE_ITO[5], dash="dash"))]
        layout["annotations"] = [dict(showarrow=False, text="force", x=1, xanchor="right", xref="x domain",
                                      y=reference, yanchor="bottom", yref="y")]
    return traces, _layout(layout, title, y_title, illustrative)


# --- measure pages (101, reoffending, hidden crimes): funnel plots, heatmaps, reference points ---

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def add_published_points(fig: go.Figure, points: pd.DataFrame, first: dt.date, last: dt.date, unit: str,
                         name: str = "published figure") -> go.Figure:
    """Published figures on a monthly chart: a period of several months as a segment over it, one month as a point.

    `points` comes from measures.data.published.points (period_start, period_end, months, value,
    definition_note, source_url, source_date); the hover names each figure's source and date.
    """
    window_start, window_end = pd.Timestamp(first), pd.Timestamp(last)
    shown = points[(points["period_end"] >= window_start) & (points["period_start"] <= window_end + pd.offsets.MonthEnd(0))]
    segments_x, segments_y, segments_text, single = [], [], [], []
    for row in shown.itertuples():
        text = (f"Published: {row.value:g} {unit} ({row.period_start:%b %Y}"
                + (f" to {row.period_end:%b %Y}" if row.months > 1 else "") + ")<br>"
                f"{row.definition_note}<br>Source: {row.source_url}<br>Published {row.source_date}")
        if row.months > 1:
            # Month-start x values like the series; a segment is clipped to the chart's period.
            start = max(row.period_start, window_start)
            end = min(row.period_end.to_period("M").to_timestamp(), window_end)
            segments_x += [start, end, None]
            segments_y += [row.value, row.value, None]
            segments_text += [text, text, None]
        else:
            single.append((row.period_start, row.value, text))
    colour = OKABE_ITO[7]
    traces = []
    if segments_x:
        traces.append(dict(type="scatter", x=segments_x, y=segments_y, name=f"{name} (period)", mode="lines+markers",
                           line=dict(color=colour, width=4), marker=dict(symbol="line-ns-open", size=10),
                           text=segments_text, hovertemplate="%{text}<extra></extra>"))
    if single:
        traces.append(dict(type="scatter", x=[s[0] for s in single], y=[s[1] for s in single],
                           name=f"{name} (month)", mode="markers",
                           marker=dict(symbol="star-diamond", size=14, color=colour),
                           text=[s[2] for s in single], hovertemplate="%{text}<extra></extra>"))
    if traces:  # added at once: each add_trace costs a relayout
        fig.add_traces(traces)
    return fig


def interval_lines(series: dict[str, pd.DataFrame], title: str, y_title: str, first: dt.date, last: dt.date,
                   illustrative: bool = False) -> go.Figure:
    """Monthly values, each with its 95% interval as a shaded band; months with no data are gaps."""
    traces = []
    for index, (name, frame) in enumerate(series.items()):
        full = with_gaps(frame, first, last)
        colour = OKABE_ITO[index % len(OKABE_ITO)]
        red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        traces.append(dict(type="scatter", x=full["period_start"], y=full["upper_95"], mode="lines",
                           line=dict(width=0), connectgaps=False, showlegend=False, hoverinfo="skip",
                           legendgroup=name))
        traces.append(dict(type="scatter", x=full["period_start"], y=full["lower_95"], mode="lines",
                           line=dict(width=0), connectgaps=False, fill="tonexty",
                           fillcolor=f"rgba({red},{green},{blue},0.25)", name=f"{name}: 95% interval",
                           hoverinfo="skip", legendgroup=name))
        traces.append(dict(
            type="scatter", x=full["period_start"], y=full["value"], name=name, mode="lines+markers",
            connectgaps=False, line=dict(color=colour), marker=dict(size=5), legendgroup=name,
            customdata=full[["lower_95", "upper_95"]].to_numpy(),
            hovertemplate=f"{name}<br>%{{x|%b %Y}}: %{{y:.1f}} (95% interval %{{customdata[0]:.1f}} to "
                          "%{customdata[1]:.1f})<extra></extra>",
        ))
    return go.Figure(data=traces, layout=_layout({}, title, y_title, illustrative))


def heatmap(frame: pd.DataFrame, value_col: str, title: str, value_title: str, illustrative: bool = False) -> go.Figure:
    """Weekday (rows, Monday first) by hour of day (columns), cividis; a cell with no data stays empty."""
    grid = frame.pivot(index="weekday", columns="hour", values=value_col).reindex(index=range(7), columns=range(24))
    calls = frame.pivot(index="weekday", columns="hour", values="calls").reindex(index=range(7), columns=range(24))
    traces = [dict(
        type="heatmap", z=grid.to_numpy(), x=[f"{h:02d}:00" for h in range(24)], y=WEEKDAYS, colorscale="Cividis",
        colorbar=dict(title=dict(text=value_title)), customdata=calls.to_numpy(), hoverongaps=False,
        hovertemplate="%{y} %{x}: %{z:.1f} " + value_title + " (%{customdata:,} calls)<extra></extra>",
    )]
    layout = _layout(dict(yaxis=dict(autorange="reversed")), title, "", illustrative, traces)
    layout["xaxis"]["title"]["text"] = "hour the call was received"
    return go.Figure(data=traces, layout=layout)


def caller_csp_bars(frame: pd.DataFrame, value_col: str, title: str, y_title: str, selected: str | None = None,
                    illustrative: bool = False) -> go.Figure:
    """One bar per caller CSP plus the unassigned/unknown bar (hatched); the selected CSP in orange.

    Each bar carries its area code as customdata, so clicking it selects the CSP (app.area_picker).
    """
    colours = [OKABE_ITO[1] if code == selected else OKABE_ITO[0] for code in frame["area_code"]]
    patterns = ["/" if kind == "unassigned" else "" for kind in frame["area_type"]]
    traces = [dict(  # horizontal, so long CSP names read without tilting
        type="bar", y=frame["label"], x=frame[value_col], orientation="h",
        marker=dict(color=colours, pattern=dict(shape=patterns)), customdata=frame[["area_code"]].to_numpy(),
        hovertemplate="%{y}: %{x:,}<extra></extra>",
    )]
    layout = _layout({}, title, "", illustrative)
    layout["yaxis"]["autorange"] = "reversed"  # in the frame's order, largest first
    layout["xaxis"]["title"]["text"] = y_title
    return go.Figure(data=traces, layout=layout)


def coverage_timeline(frame: pd.DataFrame, first: dt.date, last: dt.date) -> go.Figure:
    """One row per dataset with a mark for every month that has data; months without data are gaps.

    `frame` has dataset, month (first of month) and rows; illustrative datasets are named so.
    """
    traces = []
    months = full_months(first, last)
    for index, (dataset, rows) in enumerate(frame.groupby("dataset", sort=False)):
        present = rows.set_index(pd.to_datetime(rows["month"]))["rows"].reindex(months)
        traces.append(dict(
            type="scatter", x=months, y=[dataset if pd.notna(v) else None for v in present], name=dataset,
            mode="lines+markers", connectgaps=False, line=dict(color=OKABE_ITO[index % len(OKABE_ITO)], width=8),
            marker=dict(size=6, symbol="square"), customdata=present.to_numpy(),
            hovertemplate=f"{dataset}<br>%{{x|%b %Y}}: %{{customdata:,}} rows<extra></extra>",
        ))
    layout = _layout({}, "Months with data in each dataset (gaps are months with no data)", "", False)
    layout.update(showlegend=False, height=120 + 45 * frame["dataset"].nunique())
    return go.Figure(data=traces, layout=layout)


# Funnel plots and CSP comparisons (reoffending and hidden-crimes pages).

# Marker and colour per signal of a funnel point: shape and word carry the message, colour repeats it.
FUNNEL_SYMBOLS = {2: "triangle-up", 1: "triangle-up", 0: "circle", -1: "triangle-down", -2: "triangle-down"}
SIGNAL_COLOURS = {"improvement": OKABE_ITO[0], "concern": OKABE_ITO[5], "change": OKABE_ITO[3], "none": "#7F7F7F"}


def funnel_plot(points: pd.DataFrame, curves: pd.DataFrame, force_value: float, title: str, x_title: str,
                y_title: str, selected: str | None = None, illustrative: bool = False, *,
                centre_name: str = "force value") -> go.Figure:
    """CSPs (value against denominator) inside the force value's 95% and 99.8% funnel limits.

    `points` and `curves` come from measures.core.comparison (funnel_points, funnel_curves). Each
    CSP point carries customdata [area_code, area_name, label], so clicking it selects the CSP
    (app.area_picker); a point beyond a limit is drawn as a triangle, named when beyond the 99.8%
    limits; the selected CSP is larger with a thick outline, and named. `centre_name` names the
    centre line in the legend (with its value).
    """
    traces = []
    # Arrays, not Series: the figure is made unvalidated (its validation was a quarter of a funnel's cost;
    # tests/test_chart_build.py checks that Plotly accepts it as it is).
    x = curves["denominator"].to_numpy(dtype="float64")
    for suffix, name, dash in (("998", "99.8% limits", "dot"), ("95", "95% limits", "dash")):
        for side in ("upper", "lower"):
            traces.append(dict(type="scatter", x=x, y=curves[f"{side}_{suffix}"].to_numpy(dtype="float64"),
                               mode="lines", name=name,
                               legendgroup=suffix, showlegend=side == "upper",
                               line=dict(color="#555555", dash=dash, width=1), hoverinfo="skip"))
    traces.append(dict(type="scatter", x=[float(x[0]), float(x[-1])], y=[force_value, force_value], mode="lines",
                       name=f"{centre_name} ({force_value:.2f})", line=dict(color=OKABE_ITO[7], width=1.5),
                       hoverinfo="skip"))
    is_selected = (points["area_code"] == selected).to_numpy()
    # Names only where they help: the CSPs outside the 99.8% limits and the selected one (the others are in
    # the hover and the table). Each name sits beside its point on the side facing the plot's middle (by the
    # log of the denominator), so no name runs off the plot; above the limits it goes above, below them below.
    outside = (points["position"].abs() >= 2).to_numpy()
    labelled = outside | is_selected
    log_x = np.log10(points["denominator"].astype(float).to_numpy())
    middle = (log_x.min() + log_x.max()) / 2
    sides = np.where(log_x > middle, "left", "right")
    vertical = np.where(points["position"].to_numpy() > 0, "top", np.where(points["position"].to_numpy() < 0,
                                                                            "bottom", "middle"))
    positions = [f"{v} {side}" for v, side in zip(vertical, sides, strict=True)]
    text = [(f"<b>{name}</b>" if chosen else name) if shown else ""
            for name, chosen, shown in zip(points["area_name"], is_selected, labelled, strict=True)]
    traces.append(dict(
        type="scatter", x=points["denominator"].to_numpy(dtype="float64"), y=points["value"].to_numpy(dtype="float64"),
        mode="markers+text", name="CSP", text=text,
        textposition=positions, textfont=dict(size=11, color="#1F1F1F"), cliponaxis=False,
        marker=dict(symbol=[FUNNEL_SYMBOLS[int(p)] for p in points["position"]],
                    color=[SIGNAL_COLOURS[s] for s in points["signal"]],
                    size=[18 if chosen else 11 for chosen in is_selected],
                    line=dict(color=OKABE_ITO[7], width=[3 if chosen else 0.5 for chosen in is_selected])),
        customdata=points[["area_code", "area_name", "label"]].to_numpy(),
        hovertemplate=f"%{{customdata[1]}}<br>%{{y:.2f}} ({x_title}: %{{x:,.0f}})<br>%{{customdata[2]}}<extra></extra>",
    ))
    layout = _layout({}, title, y_title, illustrative)
    _merge(layout["xaxis"], dict(title=dict(text=x_title), type="log"))
    # Room for the legend below the axis title.
    _merge(layout, dict(clickmode="event+select", height=layout["height"] + 80, legend=dict(LEGEND_BELOW, y=-0.25)))
    return go.Figure(data=traces, layout=layout, _validate=False)


def csp_interval_bars(frame: pd.DataFrame, title: str, y_title: str, reference: float | None = None,
                      selected: str | None = None, illustrative: bool = False) -> go.Figure:
    """interval_bars for CSPs, the selected CSP in orange; a suppressed CSP's bar is absent and labelled "suppressed".

    `frame` has area_code, area_name, value, lower_95, upper_95 and suppressed.
    """
    colours = [OKABE_ITO[1] if code == selected else OKABE_ITO[4] for code in frame["area_code"]]
    traces, layout = _interval_bars(frame, title, y_title, reference, illustrative, marker=dict(color=colours),
                                    customdata=frame[["area_code"]].to_numpy())
    for row in frame.itertuples():
        if row.suppressed or pd.isna(row.value):
            # A word at the foot of the missing bar: never a bar of 0.
            layout.setdefault("annotations", []).append(dict(
                x=row.area_name, y=0, yref="y", yanchor="bottom", showarrow=False, textangle=-90,
                text="suppressed" if row.suppressed else "no data", font=dict(color="#333333")))
    return go.Figure(data=traces, layout=layout)


def mark_suppressed(fig: go.Figure, periods: list[pd.Timestamp], name: str = "suppressed (1 to 4)") -> go.Figure:
    """Mark periods whose value is suppressed on a time chart, on a hidden axis so the mark is not read as a value."""
    if not periods:
        return fig
    fig.add_trace(dict(type="scatter", x=periods, y=[0.03] * len(periods), yaxis="y2", mode="markers+text", name=name,
                       text=["S"] * len(periods), textposition="top center",
                       marker=dict(symbol="line-ns-open", size=10, color="#555555"),
                       hovertemplate="%{x|%b %Y}: suppressed<extra></extra>"))
    fig.layout.yaxis2 = dict(overlaying="y", range=[0, 1], visible=False, fixedrange=True)
    return fig


def period_line(series: pd.DataFrame, title: str, y_title: str, freq: str = "MS", illustrative: bool = False) -> go.Figure:
    """Values over calendar periods (months, or quarters with freq="QS") with their 95% interval; gaps kept."""
    full = series.set_index("period_start")[["value", "lower_95", "upper_95"]].astype("float64").reindex(
        pipeline.calendar(series["period_start"], freq))
    traces = [dict(
        type="scatter", x=full.index, y=full["value"], name="value", mode="lines+markers", connectgaps=False,
        line=dict(color=OKABE_ITO[0]), marker=dict(size=5),
        error_y=dict(type="data", symmetric=False, array=full["upper_95"] - full["value"],
                     arrayminus=full["value"] - full["lower_95"], color="#999999", thickness=1),
    )]
    return go.Figure(data=traces, layout=_layout({}, title, y_title, illustrative))


# --- area profile and briefing pack: spine chart, locator map ---
# The spine chart follows OHID Fingertips: each measure's row is scaled so the force value sits
# in the middle; the grey bar runs from the lowest to the highest CSP (darker between the 25th and
# 75th percentiles), worst on the left and best on the right (lowest to highest for neutral
# measures), and the area's circle is coloured by how its value compares with the force's.
# Colours are Okabe-Ito; the 95%-only difference is a paler tint of the 99.8% colour, and every
# table beside the chart repeats the comparison in words.
COMPARISON_COLOURS = {"better": OKABE_ITO[0], "worse": OKABE_ITO[5], "higher": OKABE_ITO[3], "lower": OKABE_ITO[2],
                      "similar": "#FFFFFF", "not compared": "#FFFFFF"}
SPINE_RANGE, SPINE_IQR, SPINE_FORCE = "#D9D9D9", "#9E9E9E", "#000000"


def comparison_colour(judgement: str, confidence: float | None) -> str:
    """The circle's fill: full colour at 99.8%, a paler tint when significant at 95% only."""
    colour = COMPARISON_COLOURS.get(judgement, "#FFFFFF")
    if judgement in ("similar", "not compared") or confidence is None or confidence >= 0.998:
        return colour
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#{:02X}{:02X}{:02X}".format(*(round(c + (255 - c) * 0.55) for c in (red, green, blue)))


def spine_positions(table: pd.DataFrame) -> pd.DataFrame:
    """x positions in [0, 1] of each row's CSP range, quartiles and area value (force at 0.5).

    `table` comes from measures.core.profile.spine_table. The half-width of a row is its largest
    distance from the force value, so every row uses the width; lower-is-better rows are
    mirrored so that "better" is always on the right.
    """
    columns = ["csp_min", "csp_q1", "csp_q3", "csp_max", "value"]
    out: dict[str, list[float]] = {f"x_{column}": [] for column in columns}
    for row in table.itertuples():
        force = row.force_value
        values = [getattr(row, c) for c in columns]
        spread = max([abs(v - force) for v in values if pd.notna(v)] + [0.0]) if pd.notna(force) else 0.0
        sign = -1.0 if row.polarity == "lower_is_better" else 1.0
        for column, value in zip(columns, values, strict=True):
            if pd.isna(value) or pd.isna(force):
                out[f"x_{column}"].append(float("nan"))
            else:
                out[f"x_{column}"].append(0.5 + sign * (value - force) / (2 * spread) * 0.96 if spread else 0.5)
    # A mirrored row's minimum is drawn on the right: the bar is from the smaller x to the larger.
    # Columns made at once (a cell at a time cost about 1 ms each); none for an empty table, as before.
    return pd.DataFrame(out if len(table) else {}, index=table.index, dtype="float64")


def _spine_status_text(row) -> str | None:
    if row.status == "suppressed":
        return "suppressed"
    if row.status == "no data":
        return "no data"
    return None


def spine_chart(table: pd.DataFrame, title: str, illustrative: bool = False) -> go.Figure:
    """The spine chart for the page: hover gives the values, the interval and the comparison in words."""
    positions = spine_positions(table)
    labels = list(table["title"])
    # Traces and annotations are collected and the figure made once: Plotly re-validates the whole figure on
    # each add_trace/add_annotation, which made a 14-row chart cost about 0.35 s of server CPU (issue 16).
    traces: list[dict] = []
    annotations: list[dict] = []
    for row, pos in zip(table.itertuples(), positions.itertuples(), strict=True):
        y = row.title
        if pd.notna(pos.x_csp_min):
            low, high = sorted((pos.x_csp_min, pos.x_csp_max))
            traces.append(dict(type="scatter", x=[low, high], y=[y, y], mode="lines",
                               line=dict(color=SPINE_RANGE, width=14), hoverinfo="skip", showlegend=False))
            low, high = sorted((pos.x_csp_q1, pos.x_csp_q3))
            traces.append(dict(type="scatter", x=[low, high], y=[y, y], mode="lines",
                               line=dict(color=SPINE_IQR, width=14), hoverinfo="skip", showlegend=False))
        status = _spine_status_text(row)
        if status:
            annotations.append(dict(x=0.5, y=y, text=f"<i>{status}</i>", showarrow=False, xshift=40,
                                    font=dict(color="#333333")))
        elif pd.notna(pos.x_value):
            traces.append(dict(
                type="scatter", x=[pos.x_value], y=[y], mode="markers", showlegend=False,
                marker=dict(size=15, color=comparison_colour(row.judgement, row.confidence),
                            line=dict(color="#000000", width=1.2)),
                hovertemplate=(f"<b>{row.title}</b><br>{row.area_name}: {row.value_text} {row.value_unit} "
                               f"(95% interval {row.interval_text})<br>Force: {row.force_text}<br>"
                               f"CSP range: {row.range_text}<br>{row.comparison_text}<extra></extra>"),
            ))
        # Each row's ends in its own words: a lower-is-better row is mirrored, a neutral one is only lower/higher.
        left, right = spine_end_words(row.polarity)
        for x, word, anchor in ((0.0, left, "left"), (1.0, right, "right")):
            annotations.append(dict(x=x, y=y, text=word, showarrow=False, xanchor=anchor, yshift=13,
                                    font=dict(size=9)))
    # The legend: one entry per circle colour and for the bar and the line (drawn off the axes).
    for label, colour in spine_legend():
        traces.append(dict(type="scatter", x=[None], y=[None], mode="markers", name=label, hoverinfo="skip",
                           marker=dict(size=12, color=colour, line=dict(color="#000000", width=1))))
    for label, colour in (("range of the CSPs", SPINE_RANGE), ("25th to 75th percentile", SPINE_IQR),
                          ("force value", SPINE_FORCE)):
        traces.append(dict(type="scatter", x=[None], y=[None], mode="lines", name=label, hoverinfo="skip",
                           line=dict(color=colour, width=2 if label == "force value" else 10)))
    layout = _layout(dict(
        annotations=annotations,
        shapes=[dict(type="line", x0=0.5, x1=0.5, y0=0, y1=1, yref="paper", line=dict(color=SPINE_FORCE, width=2))],
        xaxis=dict(range=[-0.02, 1.02], showticklabels=False, showgrid=False, zeroline=False, fixedrange=True),
        # The top row's end words need room under the title: half a row more above it. Measure names
        # shown wrapped, so that on a phone they leave the spine some width and are not cut at the left.
        yaxis=dict(categoryorder="array", categoryarray=labels[::-1], fixedrange=True, showgrid=False,
                   range=[-0.5, len(labels) + 0.2], tickmode="array", tickvals=labels,
                   ticktext=[wrap_title(label, 30) for label in labels]),
    ), title, "", illustrative)
    _merge(layout, dict(height=layout["height"] - 220 + 40 * len(table), showlegend=True,
                        legend=dict(LEGEND_BELOW, y=-50 / (40 * max(len(table), 1))),
                        xaxis=dict(title=dict(text="black line: the force value"))))
    # Made unvalidated, as the maps: plain lists, numbers and words, whose validation was 30 ms of a 40 ms chart
    # (tests/test_chart_build.py checks that Plotly accepts the figure unchanged).
    return go.Figure(data=traces, layout=layout, _validate=False)


def spine_summary(table: pd.DataFrame, area_name: str) -> str:
    """The spine chart in one sentence (its text alternative): how many measures are better, worse, higher,
    lower or similar against the force value, and how many have no value."""
    counts = table["judgement"].value_counts()
    parts = [f"{int(counts[word])} {word}" for word in ("better", "worse", "higher", "lower", "similar")
             if counts.get(word, 0)]
    missing = int((table["status"] != "ok").sum())
    sentence = (f"{area_name} against the force value on {len(table)} measures: "
                f"{', '.join(parts) if parts else 'none compared'} (significance at 95% or 99.8%; higher and lower "
                "for measures where neither is better)")
    sentence += f"; {missing} with no value shown (suppressed or no data)." if missing else "."
    return sentence + " Every value is in words in the table under Every measure."


SPINE_END_WORDS = {"higher_is_better": ("worse (lower)", "better (higher)"),
                   "lower_is_better": ("worse (higher)", "better (lower)"), "neutral": ("lower", "higher")}


def spine_end_words(polarity: str) -> tuple[str, str]:
    """The words at a spine row's left and right ends, true for its polarity (spine_positions mirrors
    lower-is-better rows so that better is on the right; neutral rows run lowest to highest)."""
    return SPINE_END_WORDS.get(polarity, SPINE_END_WORDS["neutral"])


def spine_legend() -> list[tuple[str, str]]:
    """The circle colours of the spine chart and their meaning (web and pack share it)."""
    return [("better (99.8%)", comparison_colour("better", 0.998)), ("better (95%)", comparison_colour("better", 0.95)),
            ("worse (99.8%)", comparison_colour("worse", 0.998)), ("worse (95%)", comparison_colour("worse", 0.95)),
            ("higher", comparison_colour("higher", 0.998)), ("lower", comparison_colour("lower", 0.998)),
            ("similar", "#FFFFFF")]


def locator_map(features: list[dict], area_code: str) -> go.Figure:
    """A small map of the force's CSPs with one area filled (a plain drawing: no map tiles to fetch).

    Two filled traces, the chosen area's rings and everyone else's, each ring ended by a gap (None):
    one Plotly trace per ring cost about 1 ms each, and a force's islands make hundreds of rings.
    """
    traces = []
    chosen_x: list[float] = []
    chosen_y: list[float] = []
    drawn: dict[bool, tuple[list, list, list]] = {False: ([], [], []), True: ([], [], [])}
    for feature in features:
        chosen = feature["properties"]["csp_code"] == area_code or area_code == feature["properties"].get("pfa_code")
        xs, ys, names = drawn[chosen]
        for ring_x, ring_y in _rings(feature["geometry"]):
            xs += [*ring_x, None]
            ys += [*ring_y, None]
            names += [feature["properties"]["csp_name"]] * (len(ring_x) + 1)
            if chosen and feature["properties"]["csp_code"] == area_code:
                chosen_x += ring_x
                chosen_y += ring_y
    for chosen, (xs, ys, names) in drawn.items():
        if xs:
            traces.append(dict(type="scatter", x=xs, y=ys, mode="lines", fill="toself", hoverinfo="text", text=names,
                               showlegend=False, fillcolor=OKABE_ITO[0] if chosen else "#E3E3E3",
                               line=dict(color="#FFFFFF" if not chosen else "#003F63", width=1)))
    if chosen_x:  # a ring around a CSP, so that a small one (the Isles of Scilly) can be found
        traces.append(dict(type="scatter", x=[(min(chosen_x) + max(chosen_x)) / 2],
                           y=[(min(chosen_y) + max(chosen_y)) / 2], mode="markers", hoverinfo="skip",
                           showlegend=False,
                           marker=dict(symbol="circle-open", size=26, color=OKABE_ITO[5], line=dict(width=2))))
    return go.Figure(data=traces, layout=dict(
        xaxis=dict(visible=False, fixedrange=True), yaxis=dict(visible=False, fixedrange=True, scaleanchor="x",
                                                               scaleratio=1),
        height=260, margin=dict(l=0, r=0, t=0, b=0)), _validate=False)  # plain lists: unvalidated, as the maps


def _rings(geometry: dict) -> list[tuple[list[float], list[float]]]:
    """Outer rings of a (Multi)Polygon as x, y lists, longitude scaled by cos(latitude) so shapes keep their form."""
    import math

    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    rings = []
    for polygon in polygons:
        ring = polygon[0]
        scale = math.cos(math.radians(sum(p[1] for p in ring) / len(ring)))
        rings.append(([p[0] * scale for p in ring], [p[1] for p in ring]))
    return rings


# Print charts for the briefing pack: inline SVG drawn here, so the PDF needs no browser and the
# HTML opens offline.

def _svg_text(x: float, y: float, text: str, size: float = 9, anchor: str = "start", weight: str = "normal",
              colour: str = "#222222", italic: bool = False) -> str:
    from html import escape

    style = ' font-style="italic"' if italic else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
            f'fill="{colour}"{style}>{escape(text)}</text>')


def spine_svg(table: pd.DataFrame, area_name: str, illustrative: bool = False, width: int = 720) -> str:
    """The spine chart as an SVG: measure, area value, force value, then the spine."""
    from html import escape

    positions = spine_positions(table)
    row_height, top, label_width, value_width = 30, 46, 300, 70
    spine_left = label_width + 2 * value_width + 10
    spine_width = width - spine_left - 10
    height = top + row_height * len(table) + 54
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart spine" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" '
             f'role="img" aria-label="{escape(f"Spine chart: {area_name} against the force and the CSPs")}">']
    if illustrative:
        parts.append(_svg_text(0, 12, ILLUSTRATIVE_NOTE + " (see each measure)", 9, colour="#8A4B00", italic=True))
    parts += [_svg_text(0, top - 12, "Measure", 9, weight="bold"),
              _svg_text(label_width + value_width - 4, top - 12, area_name if len(area_name) <= 12 else "Area", 9,
                        "end", "bold"),
              _svg_text(label_width + 2 * value_width - 4, top - 12, "Force", 9, "end", "bold"),
              _svg_text(spine_left, top - 12, "each row's ends named under it", 8, colour="#555555")]
    for index, (row, pos) in enumerate(zip(table.itertuples(), positions.itertuples(), strict=True)):
        y = top + index * row_height
        mid = y + row_height / 2
        if index % 2 == 0:
            parts.append(f'<rect x="0" y="{y}" width="{width}" height="{row_height}" fill="#F5F5F5"/>')
        title = row.title if len(row.title) <= 46 else row.title[:45] + "…"
        parts.append(_svg_text(2, mid + 3, title + (" *" if row.illustrative else ""), 8.5))
        status = _spine_status_text(row)
        parts.append(_svg_text(label_width + value_width - 4, mid + 3, status or row.value_text, 8.5, "end",
                               italic=bool(status)))
        parts.append(_svg_text(label_width + 2 * value_width - 4, mid + 3, row.force_text, 8.5, "end"))
        if pd.notna(pos.x_csp_min):
            for (a, b), colour in (((pos.x_csp_min, pos.x_csp_max), SPINE_RANGE), ((pos.x_csp_q1, pos.x_csp_q3), SPINE_IQR)):
                low, high = sorted((a, b))
                parts.append(f'<rect x="{spine_left + low * spine_width:.1f}" y="{mid - 6:.1f}" '
                             f'width="{max((high - low) * spine_width, 1):.1f}" height="12" fill="{colour}"/>')
        left, right = spine_end_words(row.polarity)  # true for this row's polarity (see spine_positions)
        parts += [_svg_text(spine_left, y + row_height - 1.5, left, 6, colour="#555555"),
                  _svg_text(spine_left + spine_width, y + row_height - 1.5, right, 6, "end", colour="#555555")]
        if status is None and pd.notna(pos.x_value):
            parts.append(f'<circle class="area-value" cx="{spine_left + pos.x_value * spine_width:.1f}" cy="{mid:.1f}" '
                         f'r="6" fill="{comparison_colour(row.judgement, row.confidence)}" stroke="#000000" '
                         f'stroke-width="1"><title>{escape(row.comparison_text)}</title></circle>')
    centre = spine_left + spine_width / 2
    parts.append(f'<line x1="{centre:.1f}" y1="{top - 4}" x2="{centre:.1f}" y2="{top + row_height * len(table) + 4}" '
                 f'stroke="{SPINE_FORCE}" stroke-width="1.5"/>')
    legend_y = top + row_height * len(table) + 22
    x = 0.0
    for label, colour in spine_legend():
        parts.append(f'<circle cx="{x + 6:.1f}" cy="{legend_y - 3}" r="5" fill="{colour}" stroke="#000" stroke-width="1"/>')
        parts.append(_svg_text(x + 14, legend_y, label, 8))
        x += 14 + 5 * len(label) + 12
    parts.append(_svg_text(0, legend_y + 15, "Grey bar: range of the CSPs, darker from the 25th to the 75th percentile; "
                           "black line: the force value.", 8, colour="#555555"))
    parts.append("</svg>")
    return "".join(parts)


def sparkline_svg(series: pd.DataFrame, first: dt.date, last: dt.date, width: int = 130, height: int = 30) -> str:
    """A trend line with gaps kept, the chosen period shaded, the latest point marked."""
    values = series["value"].astype("float64").to_numpy()
    dates = pd.to_datetime(series["period_start"])
    finite = values[pd.notna(values)]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart sparkline" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">']
    if len(finite) == 0:
        parts.append(_svg_text(width / 2, height / 2 + 3, "no data", 8, "middle", italic=True))
        return "".join(parts) + "</svg>"
    low, high = float(finite.min()), float(finite.max())
    span = (high - low) or 1.0
    count = len(values)

    def xy(i: int, v: float) -> tuple[float, float]:
        return 2 + i * (width - 6) / max(count - 1, 1), height - 3 - (v - low) / span * (height - 6)

    inside = [i for i, d in enumerate(dates) if pd.Timestamp(first) <= d <= pd.Timestamp(last)]
    if inside:
        x0, x1 = xy(inside[0], low)[0] - 2, xy(inside[-1], low)[0] + 2
        parts.append(f'<rect x="{x0:.1f}" y="0" width="{x1 - x0:.1f}" height="{height}" fill="#E8F1F8"/>')
    segment: list[str] = []
    for i, v in enumerate(list(values) + [float("nan")]):
        if pd.notna(v):
            segment.append("{:.1f},{:.1f}".format(*xy(i, v)))
            continue
        if len(segment) > 1:
            parts.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{OKABE_ITO[0]}" stroke-width="1.5"/>')
        elif segment:
            x, y = segment[0].split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="1.5" fill="{OKABE_ITO[0]}"/>')
        segment = []
    last_index = max(i for i, v in enumerate(values) if pd.notna(v))
    cx, cy = xy(last_index, values[last_index])
    parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{OKABE_ITO[7]}"/>')
    return "".join(parts) + "</svg>"


def locator_svg(features: list[dict], area_code: str, width: int = 260, height: int = 190) -> str:
    """The locator map as an SVG: the force's CSPs in grey, the area in blue (ringed when it is small)."""
    from html import escape

    rings = [(feature, ring) for feature in features for ring in _rings(feature["geometry"])]
    xs = [x for _, (rx, _) in rings for x in rx]
    ys = [y for _, (_, ry) in rings for y in ry]
    if not xs:
        return ""
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    scale = min((width - 8) / (max_x - min_x or 1), (height - 8) / (max_y - min_y or 1))

    def point(x: float, y: float) -> str:
        return f"{4 + (x - min_x) * scale:.1f},{height - 4 - (y - min_y) * scale:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart locator" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Locator map">']
    chosen_points: list[tuple[float, float]] = []
    for feature, (ring_x, ring_y) in rings:
        chosen = area_code in (feature["properties"]["csp_code"], feature["properties"].get("pfa_code"))
        fill, stroke = (OKABE_ITO[0], "#003F63") if chosen else ("#E3E3E3", "#FFFFFF")
        path = " ".join(point(x, y) for x, y in zip(ring_x, ring_y, strict=True))
        parts.append(f'<polygon points="{path}" fill="{fill}" stroke="{stroke}" stroke-width="0.8">'
                     f'<title>{escape(feature["properties"]["csp_name"])}</title></polygon>')
        if chosen:
            chosen_points += list(zip(ring_x, ring_y, strict=True))
    if chosen_points:
        cx = [4 + (x - min_x) * scale for x, _ in chosen_points]
        cy = [height - 4 - (y - min_y) * scale for _, y in chosen_points]
        extent = max(max(cx) - min(cx), max(cy) - min(cy))
        if extent < 20:  # a small area (the Isles of Scilly): ring it so it can be found
            parts.append(f'<circle cx="{(max(cx) + min(cx)) / 2:.1f}" cy="{(max(cy) + min(cy)) / 2:.1f}" '
                         f'r="{extent / 2 + 9:.1f}" fill="none" stroke="{OKABE_ITO[5]}" stroke-width="2"/>')
    return "".join(parts) + "</svg>"
