"""The charts made unvalidated (go.Figure(..., _validate=False): the maps, the spine chart, the locator map, the funnel plot)
are charts Plotly accepts: validating each figure raises nothing and changes nothing, so a typo in a
property cannot reach the browser. Real boundaries throughout (the embedded reference data)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from measures.data import config
from measures.render import charts, geo

FORCE = config.load_force()
CODES = tuple(sorted(a.code for a in FORCE.csps))
NAN = float("nan")  # one object: a list holding it equals itself (list equality tries identity first)


def assert_valid(fig: go.Figure) -> None:
    """Plotly's validation of the figure's JSON raises nothing (an unknown property or a bad value would)
    and leaves it as it was (no value the unvalidated figure holds needed coercing): the same JSON either way.

    One known exception: a CSP map's click markers are coloured by value, None for a CSP without one.
    Plotly.js draws no colour for it (the markers are invisible anyway); Plotly.py's validator refuses
    None in a colour array, so those are validated as NaN (a number: the same no colour).
    """
    spec = fig.to_dict()
    for trace in spec["data"]:
        colours = trace.get("marker", {}).get("color")
        if trace.get("name") == "colour scale" and isinstance(colours, list):
            trace["marker"]["color"] = [NAN if c is None else c for c in colours]
    # Compared as the JSON the browser is sent (a figure's dict may hold NumPy arrays, which == cannot compare).
    validated, sent = (json.loads(pio.to_json(f, validate=False), parse_constant=str) for f in (go.Figure(**spec), spec))
    assert validated == sent


def spine_table() -> pd.DataFrame:
    """Rows of every kind the spine chart draws: each polarity, significant at 95% and 99.8%, suppressed, no data."""
    rows = 5
    return pd.DataFrame({
        "title": ["Calls answered", "Wait", "Hidden", "Suppressed one", "Missing one"],
        "polarity": ["higher_is_better", "lower_is_better", "neutral", "higher_is_better", "neutral"],
        "status": ["ok", "ok", "ok", "suppressed", "no data"],
        "value": [80.0, 6.0, 2.0, np.nan, np.nan], "force_value": [75.0, 5.0, 1.5, 3.0, 2.0],
        "csp_min": [70.0, 4.0, 1.0, 1.0, np.nan], "csp_q1": [72.0, 4.5, 1.2, 2.0, np.nan],
        "csp_q3": [78.0, 5.5, 1.8, 4.0, np.nan], "csp_max": [85.0, 7.0, 2.5, 5.0, np.nan],
        "judgement": ["better", "worse", "higher", "not compared", "not compared"],
        "confidence": [0.998, 0.95, 0.998, None, None], "area_name": ["Exeter"] * rows,
        "value_text": ["80.0%", "6.00", "2.00", "suppressed", "no data"],
        "value_unit": ["", "minutes", "per 1,000", "", ""], "interval_text": ["–"] * rows,
        "force_text": ["75.0%", "5.00", "1.50", "3.00", "2.00"], "range_text": ["–"] * rows,
        "comparison_text": ["better"] * rows, "illustrative": [False] * rows})


def csp_values(codes: tuple[str, ...]) -> pd.DataFrame:
    """A value for each CSP (one empty, drawn hatched), with the text the tooltips name."""
    names = {row.csp_code: row.csp_name for row in config.districts().itertuples()}
    values = pd.DataFrame({"area_code": list(codes), "area_name": [names.get(c, c) for c in codes],
                           "value": np.linspace(1.0, 100.0, len(codes))})
    values.loc[0, "value"] = np.nan
    values["value_text"] = [("no data" if pd.isna(v) else f"{v:,.1f}") for v in values["value"]]
    return values


@pytest.mark.parametrize("selected", [None, CODES[0], CODES[-1]])
def test_force_map_is_valid(selected):
    assert_valid(charts.csp_map(csp_values(CODES), "value", "<b>{area_name}</b><br/>{value_text}", selected=selected,
                                unit="residents"))


def test_national_map_is_valid():
    lookup = config.districts()
    codes = tuple(sorted(set(lookup.loc[lookup["csp_code"] != "", "csp_code"])))
    values = csp_values(codes)
    values.loc[values.index[-1], "value"] = 1000.0  # one far above the rest: the colour bar's top is capped
    assert_valid(charts.csp_map(values, "value", "{area_name}: {value_text}", selected=CODES[1], height=520,
                                tolerance=geo.NATIONAL_TOLERANCE, unit="per 1,000 residents"))


def test_hex_map_is_valid():
    cells = sorted(geo.cells_of(CODES[:2]))[:60]
    hexes = pd.DataFrame({"h3_cell": cells, "crimes": np.arange(1, len(cells) + 1) ** 2})
    assert_valid(charts.hex_map(hexes, geo.csp_features(CODES[:2], geo.FORCE_TOLERANCE)))
    assert_valid(charts.hex_map(hexes.iloc[0:0], []))  # nothing to draw


def test_spine_chart_is_valid():
    assert_valid(charts.spine_chart(spine_table(), "Exeter against the force", False))
    assert_valid(charts.spine_chart(spine_table(), "Exeter against the force", True))


@pytest.mark.parametrize("area_code", [FORCE.code, CODES[0]])
def test_locator_map_is_valid(area_code):
    assert_valid(charts.locator_map(geo.csp_features(CODES), area_code))


@pytest.mark.parametrize("method", ["rate_per_1000", "proportion"])
def test_funnel_plot_is_valid(method):
    """Points of every position (within, beyond the 95% and the 99.8% limits on both sides), one selected."""
    from measures.core import comparison

    denominators = np.array([2_000.0, 5_000.0, 20_000.0, 60_000.0, 150_000.0, 400_000.0])
    centre = 30.0 if method == "rate_per_1000" else 0.3
    factors = np.array([1.0, 2.5, 0.2, 1.05, 1.3, 0.85])
    values = centre * factors
    numerators = values * denominators / (1000.0 if method == "rate_per_1000" else 1.0)
    areas = pd.DataFrame({"area_code": list(CODES[:6]), "area_name": [f"Area {i}" for i in range(6)],
                          "numerator": numerators.round(), "denominator": denominators, "value": values})
    points = comparison.funnel_points(areas, centre, method, "higher_is_better")
    assert {-2, 2} <= set(points["position"])  # beyond the 99.8% limits both ways: named, triangles
    curves = comparison.funnel_curves(centre, method, denominators.min(), denominators.max())
    for selected, illustrative in ((None, False), (CODES[1], True)):
        assert_valid(charts.funnel_plot(points, curves, centre, "Funnel", "residents", "per 1,000", selected=selected,
                                        illustrative=illustrative))
