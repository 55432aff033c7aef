"""CSP boundaries for maps (built by scripts/build_boundaries.py)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from measures.data import config
from measures.paths import REFERENCE_DIR

BOUNDARIES = REFERENCE_DIR / "boundaries"


# A map of all of England and Wales is about 1.4 km a pixel: its boundaries are simplified to about
# 1 km (a tenth of the points), which a reader cannot see and the browser need not be sent.
NATIONAL_TOLERANCE = 0.01  # degrees
# A force's map is about 0.5 km a pixel in a half-width column: 0.003° (330 m north-south) is below a pixel,
# and leaves 30% fewer points than the stored (already generalised) boundaries.
FORCE_TOLERANCE = 0.003  # degrees
HEX_RESOLUTION = 7  # the police.uk ingest's H3 resolution (measures/data/ingest/police_uk.py)


@lru_cache(maxsize=4)
def _collection(path: Path, tolerance: float = 0.0) -> dict:
    collection = json.loads(path.read_text())
    if tolerance:
        from shapely.geometry import mapping, shape

        for feature in collection["features"]:
            simple = shape(feature["geometry"]).simplify(tolerance, preserve_topology=True)
            feature["geometry"] = json.loads(json.dumps(mapping(simple)))  # tuples -> lists, as GeoJSON
    return collection


def csp_features(csp_codes: tuple[str, ...], tolerance: float = 0.0) -> list[dict]:
    """GeoJSON features of the given CSPs, optionally with boundaries simplified to `tolerance` degrees.
    Each feature's properties are a copy (callers add theirs); geometries are shared: never change them.

    A combined area of the public site (config: public_combined_area) is drawn as its parts'
    polygons together, under its own code and name.
    """
    features = _collection(BOUNDARIES / "csps.geojson", tolerance)["features"]
    wanted = set(csp_codes)
    out = [{"type": "Feature", "properties": dict(f["properties"]), "geometry": f["geometry"]}
           for f in features if f["properties"]["csp_code"] in wanted]
    for combined in config.load_force().public_combined:
        if combined.code not in wanted:
            continue
        parts = [f for f in features if f["properties"]["csp_code"] in set(combined.parts)]
        polygons: list = []
        for part in parts:
            geometry = part["geometry"]
            polygons += [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        properties = {**parts[0]["properties"], "csp_code": combined.code, "csp_name": combined.name} if parts else {}
        out.append({"type": "Feature", "properties": properties,
                    "geometry": {"type": "MultiPolygon", "coordinates": polygons}})
    return out


def bounds(features: list[dict]) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of some features."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: list) -> None:
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for part in coords:
                walk(part)

    for feature in features:
        walk(feature["geometry"]["coordinates"])
    return min(xs), min(ys), max(xs), max(ys)


def outer_rings(geometry: dict) -> list[list[list[float]]]:
    """The outer ring of each polygon of a (Multi)Polygon, as [lon, lat] points.

    Holes are left out: a hole in a CSP is another CSP, drawn on top of it (maps draw larger areas first).
    """
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return [polygon[0] for polygon in polygons if polygon]


@lru_cache(maxsize=2048)
def shape_facts(csp_code: str, tolerance: float = 0.0) -> tuple[float, float, float]:
    """(x, y, size) of a CSP's boundary as drawn: a point inside it, for its label and its click target
    (the centre of a bay-shaped area is not), and its area in square degrees (to draw larger ones first).
    Kept once per CSP: shapely cost about 0.3 s a national map when worked out on every run."""
    from shapely.geometry import shape

    (feature,) = csp_features((csp_code,), tolerance)
    polygon = shape(feature["geometry"])
    point = polygon.representative_point()
    return float(point.x), float(point.y), float(polygon.area)


@lru_cache(maxsize=2048)
def click_points(csp_code: str, tolerance: float, step_x: float, step_y: float) -> tuple[tuple[float, ...],
                                                                                          tuple[float, ...]]:
    """(xs, ys): points on a grid `step_x` by `step_y` degrees apart that lie inside a CSP's boundary as drawn.
    Plotly reports clicks on markers, not on fills: invisible markers this close together let a click anywhere
    in a CSP select it, not only one near its middle. Kept once per CSP and grid, as shape_facts is."""
    import numpy as np
    import shapely
    from shapely.geometry import shape

    (feature,) = csp_features((csp_code,), tolerance)
    polygon = shape(feature["geometry"])
    min_x, min_y, max_x, max_y = polygon.bounds
    # The grid is offset half a step so that a CSP smaller than a step still gets the point at its middle.
    grid_x, grid_y = np.meshgrid(np.arange(min_x + step_x / 2, max_x, step_x), np.arange(min_y + step_y / 2, max_y, step_y))
    inside = shapely.contains_xy(polygon, grid_x.ravel(), grid_y.ravel())
    return tuple(round(float(x), 5) for x in grid_x.ravel()[inside]), tuple(round(float(y), 5) for y in grid_y.ravel()[inside])


@lru_cache(maxsize=64)
def cells_of(csp_codes: tuple[str, ...], resolution: int = HEX_RESOLUTION) -> frozenset[str]:
    """The H3 cells that overlap these CSPs' full boundaries: a density map of an area keeps only these,
    so crimes a force recorded at points outside its area are not drawn as if inside it."""
    import h3

    cells: set[str] = set()
    for feature in csp_features(csp_codes):
        shape = h3.geo_to_h3shape(feature["geometry"])
        cells.update(h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap"))
    return frozenset(cells)
