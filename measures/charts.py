"""All drawing: Plotly charts and pydeck maps, colour-blind-safe, gaps shown as gaps."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk
from plotly.colors import sample_colorscale, sequential

from measures import geo

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
SEQUENTIAL = sequential.Cividis
ILLUSTRATIVE_NOTE = "Illustrative data, not official statistics"


def full_months(first: dt.date, last: dt.date) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="MS")


def with_gaps(frame: pd.DataFrame, first: dt.date, last: dt.date, date_col: str = "period_start") -> pd.DataFrame:
    """One row per calendar month; months with no data get empty values (drawn as gaps)."""
    frame = frame.copy()
    frame[date_col] = pd.to_datetime(frame[date_col])
    return frame.set_index(date_col).reindex(full_months(first, last)).rename_axis(date_col).reset_index()


def _layout(fig: go.Figure, title: str, y_title: str, illustrative: bool) -> go.Figure:
    if illustrative:
        title = f"{title}<br><sup>{ILLUSTRATIVE_NOTE}</sup>"
    fig.update_layout(
        title=title, yaxis_title=y_title, margin=dict(l=10, r=10, t=60, b=10), height=380,
        legend=dict(orientation="h", yanchor="bottom", y=-0.3), template="plotly_white",
    )
    return fig


def monthly_trend(series: dict[str, pd.DataFrame], value_col: str, title: str, y_title: str,
                  first: dt.date, last: dt.date, illustrative: bool = False) -> go.Figure:
    """Lines over calendar months; a month with no data is a gap, never a zero."""
    fig = go.Figure()
    for index, (name, frame) in enumerate(series.items()):
        full = with_gaps(frame, first, last)
        fig.add_trace(go.Scatter(
            x=full["period_start"], y=full[value_col], name=name, mode="lines+markers", connectgaps=False,
            line=dict(color=OKABE_ITO[index % len(OKABE_ITO)]), marker=dict(size=5),
        ))
    return _layout(fig, title, y_title, illustrative)


def bar_chart(frame: pd.DataFrame, x: str, y: str, title: str, y_title: str, illustrative: bool = False) -> go.Figure:
    fig = go.Figure(go.Bar(x=frame[x], y=frame[y], marker_color=OKABE_ITO[0]))
    return _layout(fig, title, y_title, illustrative)


def _colour(values: pd.Series) -> list[list[int]]:
    """Cividis colours for values (missing values grey)."""
    finite = values.dropna()
    low, high = (finite.min(), finite.max()) if len(finite) else (0, 1)
    span = (high - low) or 1
    colours = []
    for value in values:
        if pd.isna(value):
            colours.append([200, 200, 200, 160])
            continue
        rgb = sample_colorscale(SEQUENTIAL, [(value - low) / span])[0]
        r, g, b = (int(float(c)) for c in rgb[rgb.index("(") + 1:-1].split(","))
        colours.append([r, g, b, 200])
    return colours


def csp_map(values: pd.DataFrame, value_col: str, tooltip_html: str, selected: str | None = None,
            height: int = 420) -> pdk.Deck:
    """Choropleth of CSPs. `values` has area_code, area_name and the tooltip's columns."""
    features = geo.csp_features(tuple(values["area_code"]))
    by_code = values.set_index("area_code")
    colours = dict(zip(values["area_code"], _colour(values[value_col]), strict=True))
    for feature in features:
        code = feature["properties"]["csp_code"]
        row = by_code.loc[code]
        feature["properties"].update({k: (None if pd.isna(v) else v) for k, v in row.items()
                                      if not isinstance(v, (dt.date, pd.Timestamp))})
        feature["properties"]["fill"] = colours[code]
        feature["properties"]["line_width"] = 600 if code == selected else 150  # metres
    min_x, min_y, max_x, max_y = geo.bounds(features) if features else (-6, 50, -3, 51.5)
    view = pdk.ViewState(longitude=(min_x + max_x) / 2, latitude=(min_y + max_y) / 2,
                         zoom=_zoom(max_x - min_x, max_y - min_y))
    layer = pdk.Layer(
        "GeoJsonLayer", {"type": "FeatureCollection", "features": features}, id="csps", pickable=True,
        stroked=True, filled=True, get_fill_color="properties.fill", get_line_color=[40, 40, 40],
        get_line_width="properties.line_width", line_width_min_pixels=1,
    )
    return pdk.Deck(layers=[layer], initial_view_state=view, map_style=None, height=height,
                    tooltip={"html": tooltip_html, "style": {"backgroundColor": "white", "color": "black"}})


def hex_map(hexes: pd.DataFrame, centre: tuple[float, float], zoom: float, height: int = 420) -> pdk.Deck:
    """Density of recorded crime by H3 hexagon."""
    hexes = hexes.copy()
    hexes["fill"] = _colour(hexes["crimes"].clip(upper=hexes["crimes"].quantile(0.98) if len(hexes) else 1))
    layer = pdk.Layer(
        "H3HexagonLayer", hexes, id="hexes", pickable=True, stroked=False, filled=True, extruded=False,
        get_hexagon="h3_cell", get_fill_color="fill",
    )
    view = pdk.ViewState(longitude=centre[0], latitude=centre[1], zoom=zoom)
    return pdk.Deck(layers=[layer], initial_view_state=view, map_style=None, height=height,
                    tooltip={"html": "<b>{crimes}</b> crimes recorded in this hexagon",
                             "style": {"backgroundColor": "white", "color": "black"}})


def _zoom(width_degrees: float, height_degrees: float) -> float:
    span = max(width_degrees, height_degrees * 1.5, 0.01)
    for zoom, limit in ((11, 0.15), (10, 0.3), (9, 0.7), (8, 1.8), (7, 4.0), (6, 8)):
        if span <= limit:
            return zoom
    return 5


def sparkline(series: pd.DataFrame, frequency: str) -> go.Figure:
    """A small trend line (gaps kept) for the Overview."""
    freq = "QS" if frequency == "quarterly_cohort" else "MS"
    full = series.set_index("period_start")["value"].reindex(
        pd.date_range(series["period_start"].min(), series["period_start"].max(), freq=freq))
    fig = go.Figure(go.Scatter(x=full.index, y=full.to_numpy(), mode="lines", connectgaps=False,
                               line=dict(color=OKABE_ITO[0], width=2)))
    fig.update_layout(height=90, margin=dict(l=0, r=0, t=0, b=0), xaxis=dict(visible=False),
                      yaxis=dict(visible=False), showlegend=False, template="plotly_white")
    return fig


def control_chart(series: pd.DataFrame, result, signal_words: list[str], title: str, y_title: str,
                  freq: str = "MS", illustrative: bool = False, target: float | None = None) -> go.Figure:
    """XmR chart: values (gaps kept), mean, process limits, and signal points marked with a word."""
    full = series.set_index("period_start")["value"].reindex(
        pd.date_range(series["period_start"].min(), series["period_start"].max(), freq=freq))
    x = full.index
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=full.to_numpy(), name="value", mode="lines+markers", connectgaps=False,
                             line=dict(color=OKABE_ITO[0]), marker=dict(size=5)))
    for name, level, dash in (("mean", result.mean, "solid"), ("upper process limit", result.upper_limit, "dot"),
                              ("lower process limit", result.lower_limit, "dot")):
        fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[level, level], name=name, mode="lines",
                                 line=dict(color="#555555", dash=dash, width=1)))
    if target is not None:
        fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[target, target], name=f"target ({target:g})", mode="lines",
                                 line=dict(color=OKABE_ITO[5], dash="dash", width=2)))
    markers = {"improvement": ("triangle-up", OKABE_ITO[0]), "concern": ("x", OKABE_ITO[5]),
               "change": ("diamond", OKABE_ITO[3])}
    words = pd.Series(signal_words, index=x)
    for word, (symbol, colour) in markers.items():
        points = words[words == word].index
        if len(points):
            fig.add_trace(go.Scatter(x=points, y=full[points].to_numpy(), name=f"signal: {word}", mode="markers",
                                     marker=dict(symbol=symbol, size=12, color=colour, line=dict(width=1)),
                                     hovertemplate=f"{word}: %{{y:.2f}}<extra></extra>"))
    return _layout(fig, title, y_title, illustrative)


def interval_bars(frame: pd.DataFrame, title: str, y_title: str, reference: float | None = None,
                  illustrative: bool = False) -> go.Figure:
    """Each area's value with its 95% interval, against the force value."""
    fig = go.Figure(go.Bar(
        x=frame["area_name"], y=frame["value"], marker_color=OKABE_ITO[4],
        error_y=dict(type="data", symmetric=False, array=frame["upper_95"] - frame["value"],
                     arrayminus=frame["value"] - frame["lower_95"], color="#333333"),
    ))
    if reference is not None and not pd.isna(reference):
        fig.add_hline(y=reference, line_dash="dash", line_color=OKABE_ITO[5], annotation_text="force")
    return _layout(fig, title, y_title, illustrative)


# --- measure pages (101, reoffending, hidden crimes): funnel plots, heatmaps, reference points ---


# --- area profile and briefing pack: spine chart, locator map ---
