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
