"""Build the reference tables in data/reference from the raw ONS files.

Run: python scripts/build_reference.py [--shared ../shared/data]

Writes
- districts.csv : local authority district -> CSP -> police force area, England and Wales
- forces.csv    : police.uk force names ("Falls within") -> police force area codes
- population.csv: usual residents (Census 2021) by district, with the district's CSP
- csp_population.csv: residents of every CSP, mid-2011 to mid-2023 (ONS MYE4; councils that
  span several CSPs apportioned by ONS Table C4's mid-2022 CSP populations)
- csp_characteristics.csv: per CSP, IMD 2019 average score, mid-2023 residents, area and
  density: the variables of the "most similar areas" (measures/core/similar.py)
See data/reference/README.md and docs/similar-areas.md for the method.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

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
    # The December 2023 lookup names today's districts (C2 labels East Suffolk by an old district's name)
    # and adds any C2 does not list (e.g. West Suffolk); one spanning several CSPs keeps no CSP.
    dec23 = pd.read_csv(ons_dir.parent / "reference" / "lad23_csp23_pfa23_lookup_dec2023.csv",
                        encoding="utf-8-sig", dtype=str)
    for lad_code, rows in dec23.groupby("LAD23CD"):
        single_csp = rows["CSP23CD"].nunique() == 1
        known = districts["lad_code"] == lad_code
        if known.any():  # 2017 names stay: older LSOA names carry them (e.g. "Shepway 001A")
            renamed = known & (districts["source"] != "ONS LAD-CSP-PFA lookup Jan 2017")
            districts.loc[renamed, "lad_name"] = rows["LAD23NM"].iloc[0].strip()
            continue
        districts.loc[len(districts)] = {
            "lad_code": lad_code,
            "lad_name": rows["LAD23NM"].iloc[0].strip(),
            "csp_code": rows["CSP23CD"].iloc[0] if single_csp else "",
            "csp_name": rows["CSP23NM"].iloc[0].strip() if single_csp else "",
            "pfa_code": rows["PFA23CD"].iloc[0],
            "source": "ONS LAD-CSP-PFA lookup Dec 2023",
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


# --- CSP populations per mid-year and CSP characteristics (issue 13) ---------------------------

YEARS = list(range(2011, 2024))
MYE_FILE = "lad23_mid_year_population_2011_2023.xlsx"
LOOKUP23_FILE = "lad23_csp23_pfa23_lookup_dec2023.csv"
C4_FILE = "policeforceareatablesyedecember2024.xlsx"
IMD_FILE = "imd2019/File_10_IoD2019_Local_Authority_District_Summaries_lower_tier.xlsx"
IMD_LSOA_FILE = "imd2019/File_1_IMD2019_Index_of_Multiple_Deprivation.xlsx"
# MYE4 rows that are districts (the rest are countries, regions and counties).
DISTRICT_GEOGRAPHIES = {"Unitary Authority", "Non-metropolitan District", "Metropolitan District", "London Borough"}
EQUAL_AREA_CRS = "EPSG:27700"  # British National Grid: metres; area scale within ~0.1% of true over England and Wales


def _clean(columns: pd.Index) -> list[str]:
    """Workbook headers carry line breaks and trailing spaces."""
    return [" ".join(str(c).split()) for c in columns]


def read_mye4(path: Path) -> pd.DataFrame:
    """ONS MYE4: residents per 2023 district (index lad_code), one column per mid-year."""
    table = pd.read_excel(path, sheet_name="MYE4", header=7)
    table.columns = _clean(table.columns)
    table = table[table["Geography"].isin(DISTRICT_GEOGRAPHIES)]
    wide = table.set_index("Code")[[f"Mid-{year}" for year in YEARS]].astype("int64")
    wide.columns = pd.Index(YEARS)
    wide.index.name = "lad_code"
    if len(wide) != 318:  # 296 English and 22 Welsh districts on 2023 boundaries
        raise SystemExit(f"MYE4: expected 318 districts, found {len(wide)}")
    return wide


def read_lookup23(path: Path) -> pd.DataFrame:
    lookup = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    return lookup.rename(columns={"LAD23CD": "lad_code", "LAD23NM": "lad_name", "CSP23CD": "csp_code",
                                  "CSP23NM": "csp_name", "PFA23CD": "pfa_code"})[
        ["lad_code", "lad_name", "csp_code", "csp_name", "pfa_code"]]


def read_c4_population(path: Path) -> pd.Series:
    """ONS Table C4 (year ending Dec 2024): each CSP's mid-2022 population, rounded to 100."""
    table = pd.read_excel(path, sheet_name="Table C4", header=7, dtype=str)
    table.columns = _clean(table.columns)
    table = table.dropna(subset=["Community Safety Partnership code"])
    population = table.set_index("Community Safety Partnership code")["Population figures (mid-2022) - rounded to 100"]
    return pd.to_numeric(population).astype("int64")


def csp_shares(lookup23: pd.DataFrame, mye4: pd.DataFrame, c4: pd.Series) -> pd.DataFrame:
    """Each (2023 district, CSP) pair with the share of the district's residents that the CSP holds.

    A district inside one CSP: share 1. A 2023 council spanning several CSPs (Cumberland,
    Buckinghamshire, BCP...): ONS publishes no split on 2023 boundaries, so the CSPs' mid-2022
    populations in Table C4 give the shares, applied to every year. A CSP that also holds whole
    districts (Dorset CSP: Dorset council and Christchurch, from BCP) is credited with its C4
    population less those districts' mid-2022 residents (MYE4).
    """
    pairs = lookup23[["lad_code", "csp_code"]].drop_duplicates().reset_index(drop=True)
    split = pairs.groupby("lad_code")["csp_code"].transform("nunique") > 1
    whole = pairs[~split]
    whole_2022 = whole.assign(residents=whole["lad_code"].map(mye4[2022])).groupby("csp_code")["residents"].sum()
    parts = pairs[split].copy()
    parts["piece"] = parts["csp_code"].map(c4) - parts["csp_code"].map(whole_2022).fillna(0)
    if parts["piece"].isna().any() or (parts["piece"] <= 0).any():
        raise SystemExit(f"Table C4 gives no positive population for {parts[~(parts['piece'] > 0)].to_dict('records')}")
    parts["share"] = parts["piece"] / parts.groupby("lad_code")["piece"].transform("sum")
    shares = pd.concat([whole.assign(share=1.0), parts[["lad_code", "csp_code", "share"]]])
    return shares.assign(split=shares["share"] < 1).sort_values(["lad_code", "csp_code"]).reset_index(drop=True)


def apportion(total: int, shares: np.ndarray) -> np.ndarray:
    """Whole residents in proportion to shares that add up to total exactly (largest remainder)."""
    raw = total * shares
    counts = np.floor(raw).astype("int64")
    order = np.argsort(-(raw - counts), kind="stable")  # ties: the CSP first in code order
    counts[order[: total - counts.sum()]] += 1
    return counts


def build_csp_population(mye4: pd.DataFrame, shares: pd.DataFrame, lookup23: pd.DataFrame) -> pd.DataFrame:
    """csp_code, year, residents, method: every CSP of England and Wales, every mid-year."""
    pieces = []
    for lad_code, rows in shares.groupby("lad_code"):
        for year in YEARS:
            residents = apportion(int(mye4.at[lad_code, year]), rows["share"].to_numpy())
            pieces.append(pd.DataFrame({"csp_code": rows["csp_code"].to_numpy(), "year": year, "residents": residents,
                                        "split": rows["split"].to_numpy(), "lad_code": lad_code}))
    long = pd.concat(pieces)
    population = long.groupby(["csp_code", "year"]).agg(residents=("residents", "sum"), split=("split", "any"),
                                                       districts=("lad_code", "nunique")).reset_index()
    population["method"] = np.select([population["split"], population["districts"] > 1],
                                     ["apportioned", "sum_of_districts"], "district")
    population = population[["csp_code", "year", "residents", "method"]].sort_values(["csp_code", "year"])
    # Checks: each force's total equals its districts' MYE4 total; unsplit CSPs equal MYE4 exactly.
    pfa_of_lad = lookup23.drop_duplicates("lad_code").set_index("lad_code")["pfa_code"]
    pfa_of_csp = lookup23.drop_duplicates("csp_code").set_index("csp_code")["pfa_code"]
    by_force = population.assign(pfa=population["csp_code"].map(pfa_of_csp)).groupby(["pfa", "year"])["residents"].sum()
    mye_force = mye4.groupby(pfa_of_lad).sum().stack()
    mye_force.index.names = ["pfa", "year"]
    if not by_force.sort_index().equals(mye_force.sort_index().astype("int64")):
        raise SystemExit("CSP populations do not add up to the force totals of MYE4")
    exact = long[~long["split"]].groupby(["csp_code", "year"])["residents"].sum()
    unsplit = population[population["method"] != "apportioned"].set_index(["csp_code", "year"])["residents"]
    if not unsplit.equals(exact.reindex(unsplit.index)):
        raise SystemExit("an unsplit CSP differs from the sum of its MYE4 districts")
    return population.reset_index(drop=True)


def read_imd(path: Path) -> pd.DataFrame:
    """IoD2019 File 10 (2019 lower-tier districts): IMD average score and the population behind it.

    The IoD's scores are averages weighted by its mid-2015 population denominators, which File 10
    does not print; the Income domain gives them back: Income scale (people income-deprived) /
    Income average score (their proportion).
    """
    imd = pd.read_excel(path, sheet_name="IMD")
    income = pd.read_excel(path, sheet_name="Income")
    imd.columns, income.columns = _clean(imd.columns), _clean(income.columns)
    code = "Local Authority District code (2019)"
    table = imd[[code, "IMD - Average score"]].merge(income[[code, "Income scale", "Income - Average score"]], on=code)
    return pd.DataFrame({"lad_code": table[code], "imd_score": table["IMD - Average score"],
                         "iod_population": table["Income scale"] / table["Income - Average score"]})


def imd_by_csp(imd: pd.DataFrame, shares: pd.DataFrame, districts: pd.DataFrame, mye4: pd.DataFrame,
               population: pd.DataFrame) -> pd.Series:
    """Each English CSP's IMD 2019 score: the mean of its 2019 districts' average scores weighted by
    their mid-2019 residents.

    - A 2019 district still on the 2023 map: its MYE4 mid-2019 residents; a district split
      between CSPs (BCP, East Suffolk) gives each CSP its share (csp_shares) and the same score.
    - A 2019 district merged since (Cumbria, Northamptonshire, Buckinghamshire, North Yorkshire,
      Somerset) is not in MYE4: its CSP (Jan 2017 lookup, districts.csv) is made of such districts
      only, so the CSP's mid-2019 residents are split in proportion to the IoD2019 denominators.
    """
    current = imd[imd["lad_code"].isin(mye4.index)].merge(shares, on="lad_code")
    current["weight"] = current["lad_code"].map(mye4[2019]) * current["share"]
    gone = imd[~imd["lad_code"].isin(mye4.index)].merge(districts[["lad_code", "csp_code"]], on="lad_code")
    if (gone["csp_code"] == "").any() or gone["csp_code"].isin(current["csp_code"]).any():
        raise SystemExit("a merged 2019 district has no CSP of its own in districts.csv")
    residents_2019 = population[population["year"] == 2019].set_index("csp_code")["residents"]
    gone["weight"] = (gone["csp_code"].map(residents_2019) * gone["iod_population"]
                      / gone.groupby("csp_code")["iod_population"].transform("sum"))
    weighted = pd.concat([current, gone])[["csp_code", "imd_score", "weight"]]
    score = (weighted["imd_score"] * weighted["weight"]).groupby(weighted["csp_code"]).sum()
    return score / weighted.groupby("csp_code")["weight"].sum()


def csp_areas(boundaries: Path) -> pd.Series:
    """Area of each CSP outline (km2), measured in an equal-area projection."""
    import geopandas as gpd  # only this step needs it

    shapes = gpd.read_file(boundaries)
    return pd.Series(shapes.to_crs(EQUAL_AREA_CRS).area.to_numpy() / 1e6, index=shapes["csp_code"])


def build_csp_characteristics(districts: pd.DataFrame, population: pd.DataFrame, imd: pd.Series,
                              areas: pd.Series) -> pd.DataFrame:
    csps = (districts[districts["csp_code"] != ""].drop_duplicates("csp_code")
            .set_index("csp_code")[["csp_name", "pfa_code"]].sort_index())
    residents = population[population["year"] == 2023].set_index("csp_code")["residents"]
    table = csps.assign(
        country=np.where(csps.index.str.startswith("W"), "Wales", "England"),
        imd_score=imd.reindex(csps.index).round(6),  # no English IMD for Wales: blank
        residents=residents.reindex(csps.index),
        area_km2=areas.reindex(csps.index),
    )
    missing = table[table["residents"].isna() | table["area_km2"].isna()
                    | ((table["country"] == "England") & table["imd_score"].isna())]
    if len(missing):
        raise SystemExit(f"CSPs without residents, area or IMD score: {missing.index.tolist()}")
    # 6 decimals: near-ties in the neighbour ranking are as close as 1e-6 (Brighton and Hove's 10th and 11th)
    table["residents_per_km2"] = (table["residents"] / table["area_km2"]).round(6)
    table["area_km2"] = table["area_km2"].round(6)
    return table.reset_index()


def _name_key(name: str) -> str:
    """A district name as the police.uk ingest matches it: lower case, '&' as 'and', no punctuation."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name.lower().replace("&", " and ")).split())


def build_split_msoas(shared: Path, districts: pd.DataFrame) -> pd.DataFrame:
    """Merged districts that span several CSPs (no CSP in districts.csv), by 2021 MSOA: the old district
    each MSOA lies in, and so its CSP.

    2021 LSOA names carry the merged district ("East Suffolk 014B"); the 3 digits are its MSOA. Every
    2021 LSOA code of such a district in the police.uk files that is also a 2011 code has a 2011 name in
    IMD 2019 File 1 ("Waveney 002C"), which names the old district. An MSOA whose LSOAs name one old
    district takes it; one naming several, or none, is left out (its rows stay unassigned, reported).
    """
    import io
    import zipfile

    import pyarrow.csv as pacsv

    split_names = {_name_key(n): n for n in districts.loc[districts["csp_code"].fillna("") == "", "lad_name"]}
    pairs = set()
    archives = sorted((shared / "police_uk_national").glob("*.zip"))
    files = sorted((shared / "police_uk").rglob("*-street.csv"))
    options = pacsv.ConvertOptions(include_columns=["LSOA code", "LSOA name"], strings_can_be_null=True)

    def add(table: pa.Table) -> None:
        for code, name in zip(table.column("LSOA code").to_pylist(), table.column("LSOA name").to_pylist(),
                              strict=True):
            if name:
                match = re.match(r"^(.*) (\d{3})[A-Z]$", name)
                if match and _name_key(match.group(1)) in split_names:
                    pairs.add((code, _name_key(match.group(1)), int(match.group(2))))

    for archive in archives:
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.namelist():
                if member.endswith("-street.csv"):
                    add(pacsv.read_csv(io.BytesIO(bundle.read(member)), convert_options=options))
    for file in files:
        add(pacsv.read_csv(file, convert_options=options))
    lsoa11 = pd.read_excel(shared / "reference" / IMD_LSOA_FILE, sheet_name="IMD2019",
                           usecols=["LSOA code (2011)", "LSOA name (2011)"], dtype=str)
    old_name = dict(zip(lsoa11["LSOA code (2011)"], lsoa11["LSOA name (2011)"].str[:-5], strict=True))
    found = pd.DataFrame(sorted(pairs), columns=["lsoa_code", "district_key", "msoa"])
    found["old_district"] = found["lsoa_code"].map(old_name)
    found = found.dropna(subset=["old_district"])
    per_msoa = found.groupby(["district_key", "msoa"])["old_district"].agg(["nunique", "first", "size"])
    single = per_msoa[per_msoa["nunique"] == 1].reset_index()
    return pd.DataFrame({
        "district_name": single["district_key"].map(split_names),
        "msoa": single["msoa"].astype(int),
        "old_district_name": single["first"],
        "lsoas_matched": single["size"].astype(int),
    }).sort_values(["district_name", "msoa"]).reset_index(drop=True)


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
    splits = build_split_msoas(args.shared, districts)
    splits.to_csv(OUT / "split_district_msoas.csv", index=False)
    print(f"wrote {len(splits)} MSOAs of {splits['district_name'].nunique()} merged districts to split_district_msoas.csv")

    reference = args.shared / "reference"
    mye4 = read_mye4(reference / MYE_FILE)
    lookup23 = read_lookup23(reference / LOOKUP23_FILE)
    csp_codes = set(districts.loc[districts["csp_code"].fillna("") != "", "csp_code"])
    if set(lookup23["csp_code"]) != csp_codes or set(lookup23["lad_code"]) != set(mye4.index):
        raise SystemExit("the Dec 2023 lookup, MYE4 and districts.csv disagree on the districts or CSPs")
    shares = csp_shares(lookup23, mye4, read_c4_population(args.shared / "ons" / C4_FILE))
    population = build_csp_population(mye4, shares, lookup23)
    population.to_csv(OUT / "csp_population.csv", index=False)
    names = lookup23.drop_duplicates("csp_code").set_index("csp_code")["csp_name"]
    lad_names = lookup23.drop_duplicates("lad_code").set_index("lad_code")["lad_name"]
    for lad_code, rows in shares[shares["split"]].groupby("lad_code"):
        print(f"  {lad_names[lad_code]} ({lad_code}) apportioned: "
              + ", ".join(f"{names[r.csp_code]} {r.share:.4f}" for r in rows.itertuples()))
    districts = districts.fillna({"csp_code": ""})
    imd = imd_by_csp(read_imd(reference / IMD_FILE), shares, districts, mye4, population)
    characteristics = build_csp_characteristics(districts, population, imd, csp_areas(OUT / "boundaries" / "csps.geojson"))
    characteristics.to_csv(OUT / "csp_characteristics.csv", index=False)
    print(f"wrote {population['csp_code'].nunique()} CSPs x {len(YEARS)} years to csp_population.csv and "
          f"{len(characteristics)} CSPs to csp_characteristics.csv")

if __name__ == "__main__":
    main()
