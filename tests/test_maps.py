"""The maps (Plotly drawings of the boundaries, no tiles) and the recorded-crime page: a legend with the
unit, a named hatched fill for no value, colours no one can take for "no value", the selected CSP
outlined and labelled, simplified shapes, the density map kept to the area shown, the default period,
and tables a reader can read. Real data throughout (the embedded data folder)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest
from plotly.colors import sample_colorscale, unlabel_rgb

from measures.data import config
from measures.render import charts, geo
from measures.ui import recorded_view
from tests.conftest import open_app_page

RECORDED = "app_pages/recorded_crime.py"
FORCE = config.load_force()
EXETER, SCILLY, CORNWALL = "E22000049", "E22000050", "E22000356"


# ------------------------------------------------------------------ helpers other page tests use too

def array(values: object) -> list:
    """A Plotly array as a list (the figure JSON may hold numbers as base64 typed arrays)."""
    if isinstance(values, dict) and "bdata" in values:
        decoded = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
        return [None if np.isnan(v) else float(v) for v in decoded.astype("float64")]
    return list(values)


def is_map(spec: dict) -> bool:
    return (spec["layout"].get("meta") or {}).get("kind") == "map"


def map_specs(at) -> list[dict]:
    """The figures of an AppTest run that are maps."""
    return [s for s in (json.loads(e.proto.spec) for e in at.get("plotly_chart")) if is_map(s)]


def colour_bar(spec: dict) -> dict:
    return next(t for t in spec["data"] if t.get("name") == "colour scale")


def map_areas(spec: dict) -> dict[str, dict]:
    """Each area of a CSP map: its hover text and its value (None: no value), from its click marker."""
    marks = colour_bar(spec)
    values = array(marks["marker"]["color"])
    return {code[0]: {"text": text, "value": value}
            for code, text, value in zip(marks["customdata"], marks["hovertext"], values, strict=True)}


def selected_label(spec: dict) -> str | None:
    """The name on the selected area's label (None: no area is selected)."""
    notes = spec["layout"].get("annotations") or []
    return re.sub(r"</?b>", "", notes[0]["text"]) if notes else None


def points(spec: dict) -> int:
    return sum(1 for t in spec["data"] if t.get("fill") == "toself" for v in array(t["x"]) if v is not None)


# ------------------------------------------------------------------ the map drawing, on real values

@pytest.fixture(scope="module")
def csp_values() -> pd.DataFrame:
    """Devon and Cornwall's CSPs with their residents (the configured populations) as the value, one left empty."""
    csps = sorted(FORCE.csps, key=lambda a: a.code)
    values = pd.DataFrame({"area_code": [a.code for a in csps], "area_name": [a.name for a in csps],
                           "value": [float(a.population or 0) for a in csps]})
    values.loc[values["area_code"] == SCILLY, "value"] = np.nan
    values["value_text"] = [("suppressed" if pd.isna(v) else f"{v:,.0f} residents") for v in values["value"]]
    return values


def test_a_csp_map_has_a_colour_bar_titled_with_the_unit(csp_values):
    fig = charts.csp_map(csp_values, "value", "<b>{area_name}</b><br/>{value_text}", unit="residents")
    bar = fig.to_dict()["data"][-1]["marker"]
    assert bar["showscale"] is True
    assert bar["colorbar"]["title"]["text"] == "residents"
    assert bar["cmin"] == csp_values["value"].min() and bar["cmax"] == csp_values["value"].max()


def test_no_value_is_a_hatched_fill_named_once_in_the_legend(csp_values):
    fig = charts.csp_map(csp_values, "value", "{area_name}", unit="residents").to_dict()
    hatched = [t for t in fig["data"] if t.get("name") == charts.NO_VALUE]
    assert len(hatched) == 1 and hatched[0]["fillpattern"]["shape"] == "/"
    assert hatched[0]["showlegend"] is True and hatched[0]["text"] == "Isles of Scilly"
    assert [t["name"] for t in fig["data"] if t.get("showlegend")] == [charts.NO_VALUE]


def test_no_valued_area_is_coloured_grey(csp_values):
    """Cividis's middle is grey (what "no value" used to be drawn as): every colour now has a clear hue."""
    fig = charts.csp_map(csp_values, "value", "{area_name}").to_dict()
    fills = [t["fillcolor"] for t in fig["data"] if t.get("fillcolor") and t.get("name") != charts.NO_VALUE]
    assert len(fills) == len(csp_values) - 1
    for fill in fills:
        rgb = unlabel_rgb(fill)
        assert max(rgb) - min(rgb) >= 60, fill  # a grey has equal channels
    # the scale the page would have drawn before fails the same check in its middle
    middle = unlabel_rgb(sample_colorscale("cividis", [0.5])[0])
    assert max(middle) - min(middle) < 60


def test_the_selected_csp_is_outlined_thick_and_dark_and_labelled(csp_values):
    fig = charts.csp_map(csp_values, "value", "{area_name}", selected=EXETER).to_dict()
    outline = [t for t in fig["data"] if t.get("name") == "selected"]
    assert [t["line"]["color"] for t in outline] == ["#FFFFFF", "#000000"]  # a white halo under a black line
    assert outline[1]["line"]["width"] >= 2.5 > max(t["line"]["width"] for t in fig["data"] if t.get("fill"))
    assert selected_label(fig) == "Exeter"
    assert charts.csp_map(csp_values, "value", "{area_name}").to_dict()["layout"].get("annotations") in (None, [])


def test_a_click_anywhere_in_a_csp_lands_on_one_of_its_markers(csp_values):
    """Plotly reports clicks on markers only, within 20 pixels of one: points spread over each CSP (not only
    near its middle, where its one marker was) must each have a marker of that CSP as their nearest, in reach."""
    from shapely.geometry import shape

    height = 420
    fig = charts.csp_map(csp_values, "value", "{area_name}", height=height).to_dict()
    marks = [(x, y, code[0]) for t in fig["data"] if t.get("name") in ("click area", "colour scale")
             for x, y, code in zip(array(t["x"]), array(t["y"]), t["customdata"], strict=True)]
    xs, ys, codes = (np.array(v) for v in zip(*marks, strict=True))
    features = geo.csp_features(tuple(csp_values["area_code"]), geo.FORCE_TOLERANCE)
    _, bottom, _, top = geo.bounds(features)
    per_pixel_y = (top - bottom) / (height - 100)  # at most: the plot is 100 pixels shorter than the figure
    per_pixel_x = per_pixel_y / np.cos(np.radians((top + bottom) / 2))
    rng = np.random.default_rng(16)
    tried = 0
    for feature in features:
        polygon = shape(feature["geometry"])
        inner = polygon.buffer(-charts.CLICK_STEP * per_pixel_y)  # clear of the border, where a neighbour's is nearer
        if inner.is_empty:
            continue
        min_x, min_y, max_x, max_y = inner.bounds
        for x, y in zip(rng.uniform(min_x, max_x, 1000), rng.uniform(min_y, max_y, 1000), strict=True):
            if not inner.contains(shape({"type": "Point", "coordinates": (x, y)})):
                continue
            pixels = np.hypot((xs - x) / per_pixel_x, (ys - y) / per_pixel_y)
            nearest = int(np.argmin(pixels))
            assert codes[nearest] == feature["properties"]["csp_code"] and pixels[nearest] < 20, (x, y)
            tried += 1
    assert tried > 1000  # most of the force's land was tried, not a few points by its markers


def test_a_shared_map_with_its_selection_drawn_over_it_is_the_selected_map(csp_values):
    """The national map is built once for every area and each area's outline drawn over it (issue 16):
    what is sent must be the very map csp_map draws with that area selected."""
    base = charts.csp_map_base(csp_values, "value", "{area_name}", unit="residents")
    for selected in (EXETER, None, "E99999999"):
        drawn = charts.overlaid(base.figure.to_dict(), charts.map_selection(base.geometry, selected))
        whole = charts.csp_map(csp_values, "value", "{area_name}", selected=selected, unit="residents").to_dict()
        assert json.dumps(drawn, sort_keys=True, default=str) == json.dumps(whole, sort_keys=True, default=str)
    assert "annotations" not in base.figure.to_dict()["layout"]  # the shared figure itself is left as it was


def test_maps_send_simplified_shapes():
    full = geo.csp_features(tuple(a.code for a in FORCE.csps))
    drawn = geo.csp_features(tuple(a.code for a in FORCE.csps), geo.FORCE_TOLERANCE)
    count = lambda features: sum(len(r) for f in features for r in geo.outer_rings(f["geometry"]))  # noqa: E731
    assert count(drawn) < 0.75 * count(full)
    codes = config.areas().query("area_type == 'csp'")["area_code"].tolist()
    national = geo.csp_features(tuple(codes), geo.NATIONAL_TOLERANCE)
    assert count(national) < 20_000 < count(geo.csp_features(tuple(codes)))


# ------------------------------------------------------------------ the recorded-crime page

@pytest.fixture(scope="module")
def page():
    return open_app_page(RECORDED, 180)


def test_recorded_crime_opens_on_the_latest_12_months_with_every_month_filled(page):
    months = recorded_view_months()
    latest = months[-1]
    first = dt.date.fromisoformat(page.query_params["from"] + "-01")
    last = dt.date.fromisoformat(page.query_params["to"] + "-01")
    assert last == latest
    assert (latest.year - first.year) * 12 + latest.month - first.month < 12  # within the latest 12 months
    earlier = [m for m in months if m < first]
    assert not earlier or (latest.year - earlier[-1].year) * 12 + latest.month - earlier[-1].month >= 12
    captions = " ".join(c.value for c in page.caption)
    assert "have no published data and are shown as gaps" not in captions  # no empty month in the default


def recorded_view_months() -> list[dt.date]:
    from measures.ui import views

    return views.police_uk_months(FORCE.code)


def test_default_months_counts_the_months_with_data_in_the_latest_year():
    months = [dt.date(2022, 9, 1), dt.date(2022, 10, 1), dt.date(2024, 1, 1), dt.date(2024, 7, 1),
              dt.date(2025, 1, 1), dt.date(2025, 6, 1)]
    assert recorded_view.default_months(months) == 3  # Jul 2024, Jan 2025, Jun 2025
    assert recorded_view.default_months([]) == 0


def test_the_page_draws_three_maps_each_with_its_unit(page):
    maps = map_specs(page)
    titles = [colour_bar(m)["marker"]["colorbar"]["title"]["text"] for m in maps]
    assert len(maps) == 3, titles  # CSPs, hexagons, England and Wales
    assert titles[0] == "crimes per 1,000 residents"
    assert titles[1].startswith("crimes per hexagon")
    assert titles[2].startswith("per 1,000 residents")
    assert selected_label(maps[0]) is None  # the force is shown: no CSP is singled out


def test_the_density_map_holds_only_hexagons_in_the_area_shown(page):
    from measures.ui import app

    first, last = (dt.date.fromisoformat(page.query_params[k] + "-01") for k in ("from", "to"))
    every = app.run("recorded_crime_hex", force=FORCE.code, **{"from": first, "to": last},
                    include_types=[t for t in app.run("crime_types", force=FORCE.code)["crime_type"]
                                   if t != "Anti-social behaviour"], exclude_types=[])
    inside, outside = recorded_view.area_hexes(every, recorded_view.area_codes(FORCE.area, FORCE))
    assert outside > 0 and len(inside) < len(every)  # the force's files do hold crimes outside it
    assert set(inside["h3_cell"]) <= geo.cells_of(tuple(a.code for a in FORCE.csps))
    hexes = map_specs(page)[1]
    drawn = array(colour_bar(hexes)["x"])
    assert len(drawn) == len(inside)
    caption = next(c.value for c in page.caption if "hexagons of about 5 km²" in c.value)
    assert f"{len(inside):,} hexagons" in caption and f"{outside:,} crimes the force recorded at points outside" in caption
    exeter, _ = recorded_view.area_hexes(inside, (EXETER,))
    assert 0 < len(exeter) < len(inside) / 10  # a CSP's map is its own hexagons


def test_a_csp_chosen_gets_its_own_density_map_and_is_selected_on_the_csp_map():
    at = open_app_page(RECORDED, 180, area=EXETER)
    csps, hexes, *_ = map_specs(at)
    assert selected_label(csps) == "Exeter"
    assert any("Where crimes were recorded in Exeter" in s.value for s in at.subheader)
    lats = [v for v in array(colour_bar(hexes)["y"]) if v is not None]
    assert 50.6 < min(lats) and max(lats) < 50.8  # Exeter, not the whole peninsula


def test_every_table_on_the_page_has_human_column_names(page):
    tables = [d.value for d in page.dataframe]
    assert len(tables) >= 2  # the figures and the ONS reconciliation
    for table in tables:
        for column in table.columns:
            assert "_" not in str(column) and str(column) != "None", column
            assert str(column)[:1].isupper() or str(column).startswith("police.uk"), column
        assert not table.map(lambda v: v is None or v == "None").any(axis=None)  # shown as "None"
    figures = tables[0]
    assert "Rate (crimes per 1,000 residents)" in figures.columns
    assert set(figures["Area type"]) <= {"force", "CSP", "not placed in a CSP"}
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{4}", figures["Month"].iloc[0])
