"""The configured force and its partnerships, read from config/force.toml and data/reference."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import pandas as pd

from measures.paths import CONFIG_FILE, REFERENCE_DIR


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    area_type: str  # "force", "csp" or "unassigned"
    population: int | None


@dataclass(frozen=True)
class CombinedArea:
    """CSPs published as one area in public mode (e.g. the Isles of Scilly with Cornwall, as many
    official statistics do), so a very small area's counts need not hide its neighbours' figures."""

    code: str
    name: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Force:
    code: str
    name: str
    police_uk_name: str
    csps: tuple[Area, ...]
    districts: tuple[tuple[str, str, str], ...]  # (lad_code, lad_name, csp_code)
    population: int | None
    public_combined: tuple[CombinedArea, ...] = ()

    @property
    def area(self) -> Area:
        return Area(self.code, self.name, "force", self.population)

    @property
    def unassigned(self) -> Area:
        return Area(unassigned_code(self.code), f"Unassigned ({self.name})", "unassigned", None)

    def areas(self) -> list[Area]:
        """The force first, then its CSPs by name: the order every picker uses."""
        return [self.area, *sorted(self.csps, key=lambda a: a.name)]

    def area_by_code(self, code: str) -> Area | None:
        return next((a for a in [*self.areas(), self.unassigned] if a.code == code), None)

    def get_area(self, code: str) -> Area:
        """The force, one of its CSPs or its unassigned bucket (KeyError for any other code)."""
        area = self.area_by_code(code)
        if area is None:
            raise KeyError(code)
        return area

    def part_of(self) -> dict[str, str]:
        """CSP code -> the code of the combined area it is published in (public mode only)."""
        return {part: combined.code for combined in self.public_combined for part in combined.parts}

    def published(self) -> Force:
        """The force as the public site shows it: combined areas in place of their parts."""
        if not self.public_combined:
            return self
        by_code = {a.code: a for a in self.csps}
        parts = self.part_of()
        csps = [a for a in self.csps if a.code not in parts]
        for combined in self.public_combined:
            members = [by_code[p] for p in combined.parts if p in by_code]
            csps.append(Area(combined.code, combined.name, "csp", total_population(members)))
        return replace(self, csps=tuple(csps), public_combined=())


def total_population(areas: list[Area]) -> int | None:
    """The areas' residents together, or None where any area's are not known."""
    counts = [a.population for a in areas]
    return sum(c for c in counts if c is not None) if all(counts) else None


def unassigned_code(force_code: str) -> str:
    return f"UNASSIGNED-{force_code}"


@lru_cache(maxsize=1)
def districts() -> pd.DataFrame:
    """District -> CSP -> police force area lookup for England and Wales."""
    return pd.read_csv(REFERENCE_DIR / "districts.csv", dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def areas() -> pd.DataFrame:
    """Every CSP, force and force's unassigned bucket of England and Wales (area_code, area_name as ONS
    names it, area_type csp | force | unassigned, force_code): the one list of areas a code can name."""
    lookup = districts()
    csps = lookup[lookup["csp_code"] != ""].drop_duplicates("csp_code")
    forces = lookup.drop_duplicates("pfa_code")
    rows = [
        *({"area_code": r.csp_code, "area_name": r.csp_name, "area_type": "csp", "force_code": r.pfa_code}
          for r in csps.itertuples()),
        *({"area_code": r.pfa_code, "area_name": r.pfa_name, "area_type": "force", "force_code": r.pfa_code}
          for r in forces.itertuples()),
        *({"area_code": unassigned_code(r.pfa_code), "area_name": f"Unassigned ({r.pfa_name})",
           "area_type": "unassigned", "force_code": r.pfa_code} for r in forces.itertuples()),
    ]
    return pd.DataFrame(rows)


@lru_cache(maxsize=1)
def forces() -> pd.DataFrame:
    """police.uk force names with their ONS police force area codes."""
    return pd.read_csv(REFERENCE_DIR / "forces.csv", dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def split_district_msoas() -> pd.DataFrame:
    """Merged districts spanning several CSPs, by 2021 MSOA number: the old district each MSOA lies in
    (district_name, msoa, old_district_name, lsoas_matched; built by scripts/build_reference.py)."""
    return pd.read_csv(REFERENCE_DIR / "split_district_msoas.csv", dtype={"msoa": "int64"})


@lru_cache(maxsize=1)
def population() -> pd.DataFrame:
    """Census 2021 usual residents of the configured force's districts (the illustrative data's calibration)."""
    return pd.read_csv(REFERENCE_DIR / "population.csv", dtype={"usual_residents_2021": "int64"})


@lru_cache(maxsize=1)
def csp_population() -> pd.DataFrame:
    """ONS mid-year residents of every CSP of England and Wales, 2011 to the latest mid-year
    (columns csp_code, year, residents, method; built by scripts/build_reference.py)."""
    return pd.read_csv(REFERENCE_DIR / "csp_population.csv", dtype={"csp_code": str, "year": "int64",
                                                                   "residents": "int64", "method": str})


def latest_population_year() -> int:
    """Rates of later periods use this mid-year's residents (carried forward, and the pages say so)."""
    return int(csp_population()["year"].max())


def latest_residents() -> pd.Series:
    """Each CSP's residents at the latest mid-year, by CSP code."""
    table = csp_population()
    return table[table["year"] == latest_population_year()].set_index("csp_code")["residents"]


def force_of_csp(csp_code: str) -> str:
    """The police force area a CSP lies in (KeyError for a code that is not one CSP of one force)."""
    lookup = districts()
    owners = lookup.loc[lookup["csp_code"] == csp_code, "pfa_code"].unique()
    if len(owners) != 1:
        raise KeyError(csp_code)
    return str(owners[0])


def load_force(config_file: Path = CONFIG_FILE) -> Force:
    with open(config_file, "rb") as handle:
        config = tomllib.load(handle)
    combined = tuple(CombinedArea(str(c["code"]), str(c["name"]), tuple(str(p) for p in c["parts"]))
                     for c in config.get("public_combined_area", []))
    return _force(config["force"]["code"], config["force"]["name"], config["force"]["police_uk_name"],
                  tuple(sorted(config.get("csp_display_names", {}).items())), combined)


def force_by_code(code: str) -> Force:
    """Any police force area of England and Wales by its ONS code; the configured force keeps its
    local CSP names and combined areas (KeyError for a code that is not a force)."""
    configured = load_force()
    if code == configured.code:
        return configured
    known = forces().set_index("pfa_code")
    if code not in known.index:
        raise KeyError(code)
    return _force(code, str(known.at[code, "pfa_name"]), str(known.at[code, "police_uk_name"]), ())


@lru_cache(maxsize=64)
def _force(code: str, name: str, police_uk_name: str, display_names: tuple[tuple[str, str], ...],
           combined: tuple[CombinedArea, ...] = ()) -> Force:
    names = dict(display_names)
    lookup = districts()
    in_force = lookup[(lookup["pfa_code"] == code) & (lookup["csp_code"] != "")]
    residents = latest_residents()
    csps = []
    for csp_code, rows in in_force.groupby("csp_code"):
        count = int(residents[csp_code]) if csp_code in residents.index else None
        csps.append(Area(csp_code, names.get(csp_code, rows["csp_name"].iloc[0]), "csp", count))
    force_population = total_population(csps)
    return Force(
        code=code,
        name=name,
        police_uk_name=police_uk_name,
        csps=tuple(csps),
        districts=tuple(in_force[["lad_code", "lad_name", "csp_code"]].itertuples(index=False, name=None)),
        population=force_population,
        public_combined=tuple(c for c in combined if set(c.parts) <= {a.code for a in csps}),
    )
