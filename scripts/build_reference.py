"""Build the reference tables in data/reference from the raw ONS files.

Run: python scripts/build_reference.py [--shared ../shared/data]

Writes
- districts.csv : local authority district -> CSP -> police force area, England and Wales
- forces.csv    : police.uk force names ("Falls within") -> police force area codes
- population.csv: usual residents (Census 2021) by district, with the district's CSP
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "data" / "reference"

# police.uk's names for the 43 territorial forces of England and Wales, keyed by ONS code.
POLICE_UK_FORCES = {
    "E23000036": "Avon and Somerset Constabulary",
    "E23000026": "Bedfordshire Police",
    "E23000023": "Cambridgeshire Constabulary",
    "E23000006": "Cheshire Constabulary",
    "E23000034": "City of London Police",
    "E23000013": "Cleveland Police",
    "E23000002": "Cumbria Constabulary",
    "E23000018": "Derbyshire Constabulary",
    "E23000035": "Devon & Cornwall Police",
    "E23000039": "Dorset Police",
    "E23000008": "Durham Constabulary",
    "W15000004": "Dyfed-Powys Police",
    "E23000028": "Essex Police",
    "E23000037": "Gloucestershire Constabulary",
    "E23000005": "Greater Manchester Police",
    "W15000002": "Gwent Police",
    "E23000030": "Hampshire Constabulary",
    "E23000027": "Hertfordshire Constabulary",
    "E23000012": "Humberside Police",
    "E23000032": "Kent Police",
    "E23000003": "Lancashire Constabulary",
    "E23000021": "Leicestershire Police",
    "E23000020": "Lincolnshire Police",
    "E23000004": "Merseyside Police",
    "E23000001": "Metropolitan Police Service",
    "E23000024": "Norfolk Constabulary",
    "W15000001": "North Wales Police",
    "E23000009": "North Yorkshire Police",
    "E23000022": "Northamptonshire Police",
    "E23000007": "Northumbria Police",
    "E23000019": "Nottinghamshire Police",
    "W15000003": "South Wales Police",
    "E23000011": "South Yorkshire Police",
    "E23000015": "Staffordshire Police",
    "E23000025": "Suffolk Constabulary",
    "E23000031": "Surrey Police",
    "E23000033": "Sussex Police",
    "E23000029": "Thames Valley Police",
    "E23000017": "Warwickshire Police",
    "E23000016": "West Mercia Police",
    "E23000014": "West Midlands Police",
    "E23000010": "West Yorkshire Police",
    "E23000038": "Wiltshire Police",
}


# Districts that existed between the 2017 lookup and Table C2 (2025) and appear in
# police.uk LSOA names of that time; each sits wholly inside one current CSP.
INTERIM_DISTRICTS = [
    # lad_code, lad_name, csp_code, csp_name, pfa_code, why
    ("E07000246", "Somerset West and Taunton", "E22000369", "Somerset", "E23000036",
     "district 2019-2023, now part of Somerset (ONS code E07000246)"),
]


def read_c2(path: Path) -> pd.DataFrame:
    """ONS Table C2 as strings; the header is on line 8 and has line breaks in names."""
    table = pd.read_csv(path, skiprows=7, dtype=str)
    table.columns = [" ".join(str(c).split()) for c in table.columns]
    return table.apply(lambda col: col.str.strip())


def build_districts(ons_dir: Path) -> pd.DataFrame:
    lookup = pd.read_csv(ons_dir / "lad_to_csp_to_pfa_lookup_jan2017.csv", encoding="utf-8-sig", dtype=str)
    districts = pd.DataFrame(
        {
            "lad_code": lookup["LAD17CD"],
            "lad_name": lookup["LAD17NM"].str.strip(),
            "csp_code": lookup["CSP17CD"],
            "csp_name": lookup["CSP17NM"].str.strip(),
            "pfa_code": lookup["PFA17CD"],
            "source": "ONS LAD-CSP-PFA lookup Jan 2017",
        }
    )
    # Districts created since 2017 (e.g. Somerset, Dorset, North Yorkshire) appear in
    # Table C2 (2025). Add those that C2 names; where C2 splits one district over several
    # CSPs the CSP is left empty (rows still count for the force, as unassigned).
    c2 = read_c2(ons_dir / "recorded_crime_by_csp_ye_jun2025_tableC2.csv")
    c2 = c2[c2["Local Authority code"].str.match(r"^[EW]0\d{7}$", na=False)]
    new = c2[~c2["Local Authority code"].isin(districts["lad_code"])]
    for lad_code, rows in new.groupby("Local Authority code"):
        single_csp = rows["Community Safety Partnership code"].nunique() == 1
        districts.loc[len(districts)] = {
            "lad_code": lad_code,
            "lad_name": rows["Local Authority name"].iloc[0],
            "csp_code": rows["Community Safety Partnership code"].iloc[0] if single_csp else "",
            "csp_name": rows["Community Safety Partnership name"].iloc[0] if single_csp else "",
            "pfa_code": rows["Police Force Area code"].iloc[0],
            "source": "ONS Table C2 year ending June 2025",
        }
    for lad_code, lad_name, csp_code, csp_name, pfa_code, why in INTERIM_DISTRICTS:
        districts.loc[len(districts)] = {"lad_code": lad_code, "lad_name": lad_name, "csp_code": csp_code,
                                         "csp_name": csp_name, "pfa_code": pfa_code, "source": why}
    # One PFA name per code, the current ONS spelling from Table C2.
    pfa_names = (
        read_c2(ons_dir / "recorded_crime_by_csp_ye_jun2025_tableC2.csv")
        .dropna(subset=["Police Force Area code"])
        .assign(name=lambda t: t["Police Force Area name"].str.replace(r"\s*\[note \d+\]", "", regex=True))
        .groupby("Police Force Area code")["name"]
        .agg(lambda names: names.value_counts().index[0])
    )
    districts["pfa_name"] = districts["pfa_code"].map(pfa_names)
    return districts.sort_values(["pfa_code", "csp_code", "lad_code"]).reset_index(drop=True)


def build_forces(districts: pd.DataFrame) -> pd.DataFrame:
    pfa_names = districts.drop_duplicates("pfa_code").set_index("pfa_code")["pfa_name"]
    missing = set(POLICE_UK_FORCES) - set(pfa_names.index)
    if missing:
        raise SystemExit(f"force codes not in the district lookup: {sorted(missing)}")
    return pd.DataFrame(
        [
            {"pfa_code": code, "pfa_name": pfa_names[code], "police_uk_name": name}
            for code, name in sorted(POLICE_UK_FORCES.items())
        ]
    )


def build_population(reference_dir: Path) -> pd.DataFrame:
    population = pd.read_csv(reference_dir / "census2021_population_lad.csv", dtype={"usual_residents_2021": int})
    return population[["lad_code", "lad_name", "csp_code", "usual_residents_2021"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    districts = build_districts(args.shared / "ons")
    districts.to_csv(OUT / "districts.csv", index=False)
    build_forces(districts).to_csv(OUT / "forces.csv", index=False)
    build_population(args.shared / "reference").to_csv(OUT / "population.csv", index=False)
    print(f"wrote {len(districts)} districts, forces and population to {OUT}")


if __name__ == "__main__":
    main()
