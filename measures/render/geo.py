"""CSP boundaries for maps (built by scripts/build_boundaries.py)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from measures.data import config
from measures.paths import REFERENCE_DIR

BOUNDARIES = REFERENCE_DIR / "boundaries"


@lru_cache(maxsize=4)
def _collection(path: Path) -> dict:
    return json.loads(path.read_text())


def csp_features(csp_codes: tuple[str, ...]) -> list[dict]:
    """GeoJSON features of the given CSPs (a copy: callers add properties).

    A combined area of the public site (config: public_combined_area) is drawn as its parts'
    polygons together, under its own code and name.
    """
    features = _collection(BOUNDARIES / "csps.geojson")["features"]
    wanted = set(csp_codes)
    out = [json.loads(json.dumps(f)) for f in features if f["properties"]["csp_code"] in wanted]
    for combined in config.load_force().public_combined:
        if combined.code not in wanted:
            continue
        parts = [f for f in features if f["properties"]["csp_code"] in set(combined.parts)]
        polygons: list = []
        for part in parts:
            geometry = part["geometry"]
            polygons += [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        properties = {**parts[0]["properties"], "csp_code": combined.code, "csp_name": combined.name} if parts else {}
        out.append({"type": "Feature", "properties": json.loads(json.dumps(properties)),
                    "geometry": {"type": "MultiPolygon", "coordinates": json.loads(json.dumps(polygons))}})
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
