"""Most similar CSPs (measures/core/similar.py) and the CSP populations behind them.

The main test recomputes every neighbour list from the raw ONS/MHCLG files with its own short
code (not scripts/build_reference.py), so a slip in the build or in similar.py shows up as a
different list. It is skipped when ../shared/data is absent.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from measures import cli
from measures.core import similar
from measures.paths import REFERENCE_DIR, SHARED_DATA_DIR

MYE = SHARED_DATA_DIR / "reference" / "lad23_mid_year_population_2011_2023.xlsx"
LOOKUP23 = SHARED_DATA_DIR / "reference" / "lad23_csp23_pfa23_lookup_dec2023.csv"
LOOKUP17 = SHARED_DATA_DIR / "ons" / "lad_to_csp_to_pfa_lookup_jan2017.csv"
C4 = SHARED_DATA_DIR / "ons" / "policeforceareatablesyedecember2024.xlsx"
IMD = SHARED_DATA_DIR / "reference" / "imd2019" / "File_10_IoD2019_Local_Authority_District_Summaries_lower_tier.xlsx"
RAW = [MYE, LOOKUP23, LOOKUP17, C4, IMD]
TORBAY, DEVON_AND_CORNWALL = "E22000060", "E23000035"
ENGLISH_CSPS, WELSH_CSPS = 293, 21


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    missing = [str(path) for path in RAW if not path.exists()]
    if missing:
        pytest.skip(f"raw shared data absent: {', '.join(missing)}")
    mye = pd.read_excel(MYE, sheet_name="MYE4", header=7)
    mye = mye[mye["Geography"].isin(["Unitary Authority", "Non-metropolitan District", "Metropolitan District",
                                     "London Borough"])].set_index("Code")
    lookup23 = pd.read_csv(LOOKUP23, dtype=str, encoding="utf-8-sig")
    lookup17 = pd.read_csv(LOOKUP17, dtype=str, encoding="utf-8-sig")
    c4 = pd.read_excel(C4, sheet_name="Table C4", header=7, dtype=str)
    c4.columns = [" ".join(str(c).split()) for c in c4.columns]
    imd = pd.read_excel(IMD, sheet_name="IMD").rename(columns=lambda c: c.strip())
    income = pd.read_excel(IMD, sheet_name="Income").rename(columns=lambda c: c.strip())
    return {"mye": mye, "lookup23": lookup23, "lookup17": lookup17, "c4": c4, "imd": imd, "income": income}


def _recomputed_variables(raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """imd_score, residents (mid-2023) and residents_per_km2 per CSP, from the raw files."""
    import geopandas as gpd

    mye, look = raw["mye"], raw["lookup23"]
    c4 = raw["c4"].dropna(subset=["Community Safety Partnership code"])
    c4_pop = pd.to_numeric(c4.set_index("Community Safety Partnership code")["Population figures (mid-2022) - rounded to 100"])
    n_csps = look.groupby("LAD23CD")["CSP23CD"].nunique()
    whole = look[look["LAD23CD"].map(n_csps) == 1]
    whole_2022 = whole.groupby("CSP23CD")["LAD23CD"].apply(lambda lads: mye.loc[lads, "Mid-2022"].sum())
    share: dict[tuple[str, str], float] = {}
    for lad, rows in look.groupby("LAD23CD"):
        if len(rows) == 1:
            share[(lad, rows["CSP23CD"].iloc[0])] = 1.0
            continue
        piece = {csp: c4_pop[csp] - whole_2022.get(csp, 0) for csp in rows["CSP23CD"]}
        for csp, value in piece.items():
            share[(lad, csp)] = value / sum(piece.values())

    def residents(year: str) -> pd.Series:  # whole people, each council's total kept (largest remainder)
        out: dict[str, int] = {}
        for lad, rows in look.groupby("LAD23CD"):
            csps = sorted(rows["CSP23CD"])
            raw_parts = [mye.at[lad, year] * share[(lad, csp)] for csp in csps]
            parts = [math.floor(x) for x in raw_parts]
            for i in sorted(range(len(csps)), key=lambda i: -(raw_parts[i] - parts[i]))[: mye.at[lad, year] - sum(parts)]:
                parts[i] += 1
            for csp, part in zip(csps, parts, strict=True):
                out[csp] = out.get(csp, 0) + part
        return pd.Series(out)

    res23, res19 = residents("Mid-2023"), residents("Mid-2019")
    # IMD: 2019 districts still on the 2023 map weigh their mid-2019 residents (split councils by share);
    # merged ones (not in MYE4) split their CSP's mid-2019 residents by the IoD2019 denominators.
    imd = raw["imd"].merge(raw["income"], on="Local Authority District code (2019)")
    imd = pd.DataFrame({"lad": imd["Local Authority District code (2019)"], "score": imd["IMD - Average score"],
                        "denominator": imd["Income scale"] / imd["Income - Average score"]})
    csp17 = dict(zip(raw["lookup17"]["LAD17CD"], raw["lookup17"]["CSP17CD"], strict=True))
    csp17["E07000246"] = "E22000369"  # Somerset West and Taunton (2019-2023): Somerset CSP
    weights: list[tuple[str, float, float]] = []
    gone: dict[str, list[tuple[float, float]]] = {}
    for lad, score, denominator in imd.itertuples(index=False):
        if lad in mye.index:
            for (lad23, csp), s in share.items():
                if lad23 == lad:
                    weights.append((csp, score, mye.at[lad, "Mid-2019"] * s))
        else:
            gone.setdefault(csp17[lad], []).append((score, denominator))
    for csp, parts in gone.items():
        total = sum(d for _, d in parts)
        weights.extend((csp, score, res19[csp] * d / total) for score, d in parts)
    w = pd.DataFrame(weights, columns=["csp", "score", "weight"])
    imd_score = (w["score"] * w["weight"]).groupby(w["csp"]).sum() / w.groupby("csp")["weight"].sum()

    shapes = gpd.read_file(REFERENCE_DIR / "boundaries" / "csps.geojson").to_crs(27700)
    area = pd.Series(shapes.area.to_numpy() / 1e6, index=shapes["csp_code"])
    return pd.DataFrame({"imd_score": imd_score, "residents": res23, "residents_per_km2": res23 / area})


def _neighbours(variables: pd.DataFrame, columns: list[str], n: int = 15) -> dict[str, list[str]]:
    z = (variables[columns] - variables[columns].mean()) / variables[columns].std(ddof=0)
    out = {}
    for code in z.index:
        d = np.sqrt(((z - z.loc[code]) ** 2).sum(axis=1)).drop(code)
        out[code] = sorted(d.index, key=lambda c: (d[c], c))[:n]
    return out


def test_the_neighbours_match_an_independent_recomputation(raw: dict[str, pd.DataFrame]) -> None:
    variables = _recomputed_variables(raw)
    variables = variables.assign(density=np.log10(variables["residents_per_km2"]), size=np.log10(variables["residents"]))
    english = variables[variables.index.str.startswith("E")]
    welsh = variables[variables.index.str.startswith("W")]
    assert len(english) == ENGLISH_CSPS and len(welsh) == WELSH_CSPS
    assert english["imd_score"].notna().all()
    expected = _neighbours(english, ["imd_score", "density", "size"]) | _neighbours(welsh, ["density", "size"])
    got = similar.all_similar().groupby("area_code")["similar_code"].apply(list).to_dict()
    assert len(expected) == len(got) == ENGLISH_CSPS + WELSH_CSPS
    wrong = {code: (got.get(code), want) for code, want in expected.items() if got.get(code) != want}
    assert not wrong, f"{len(wrong)} CSPs differ, e.g. {next(iter(wrong.items()))}"
    # and the precomputed variables agree with the raw files
    table = similar.characteristics()
    assert (table["residents"] == variables["residents"].reindex(table.index)).all()
    assert np.allclose(table["imd_score"].dropna(), english["imd_score"].reindex(table["imd_score"].dropna().index))


def test_csp_population_adds_up_to_the_mid_year_estimates(raw: dict[str, pd.DataFrame]) -> None:
    population = pd.read_csv(REFERENCE_DIR / "csp_population.csv", dtype={"csp_code": str, "method": str})
    assert list(population.columns) == ["csp_code", "year", "residents", "method"]
    assert population["residents"].dtype == "int64"
    districts = pd.read_csv(REFERENCE_DIR / "districts.csv", dtype=str)
    assert set(population["csp_code"]) == set(districts["csp_code"].dropna())
    assert len(population) == 314 * 13 and set(population["year"]) == set(range(2011, 2024))
    mye, look = raw["mye"], raw["lookup23"]
    pfa_of_csp = look.drop_duplicates("CSP23CD").set_index("CSP23CD")["PFA23CD"]
    pfa_of_lad = look.drop_duplicates("LAD23CD").set_index("LAD23CD")["PFA23CD"]
    n_csps = look.groupby("LAD23CD")["CSP23CD"].nunique()
    for year in range(2011, 2024):
        rows = population[population["year"] == year].set_index("csp_code")["residents"]
        force = rows.groupby(rows.index.map(pfa_of_csp)).sum()
        want = mye[f"Mid-{year}"].groupby(mye.index.map(pfa_of_lad)).sum()
        assert force.sort_index().tolist() == want.sort_index().tolist(), year
        for csp, lads in look.groupby("CSP23CD")["LAD23CD"]:
            if (lads.map(n_csps) == 1).all():  # unsplit councils: exactly MYE4
                assert rows[csp] == mye.loc[list(lads), f"Mid-{year}"].sum(), (csp, year)
    apportioned = set(population.loc[population["method"] == "apportioned", "csp_code"])
    split_csps = set(look.loc[look["LAD23CD"].map(n_csps) > 1, "CSP23CD"])
    assert apportioned == split_csps and len(apportioned) == 21


def test_the_welsh_rule() -> None:
    table = similar.characteristics()
    for code in table.index:
        rows = similar.similar_areas(code)
        country = table.at[code, "country"]
        assert (table.loc[rows["similar_code"], "country"] == country).all()
        assert len(rows) == 15 and code not in set(rows["similar_code"])
        assert rows["rank"].tolist() == list(range(1, 16)) and rows["distance"].is_monotonic_increasing
    cwm_taf = similar.similar_areas("W14000023")
    assert cwm_taf["imd_score"].isna().all() and cwm_taf["similar_imd_score"].isna().all()
    assert similar.method_note("W14000023") == ("Welsh CSPs are compared with Welsh CSPs on density and size only: "
                                                "the English IMD is not comparable with the Welsh index")
    assert "IMD" in similar.method_note(TORBAY)
    with pytest.raises(KeyError):
        similar.similar_areas("E99999999")
    with pytest.raises(KeyError):
        similar.method_note("E99999999")


def test_torbay_is_compared_with_places_like_it_across_england() -> None:
    rows = similar.similar_areas(TORBAY)
    forces = similar.characteristics().loc[rows["similar_code"], "pfa_code"]
    assert not (forces == DEVON_AND_CORNWALL).all()
    assert forces.nunique() >= 5  # a national comparison, not the force's own CSPs
    assert (rows["area_code"] == TORBAY).all() and (rows["area_name"] == "Torbay").all()


def test_the_command_line_prints_the_documented_columns(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["similar", TORBAY, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split(",") == similar.COLUMNS == [
        "area_code", "area_name", "imd_score", "residents", "residents_per_km2", "rank", "similar_code",
        "similar_name", "distance", "similar_imd_score", "similar_residents", "similar_residents_per_km2"]
    assert len(lines) == 16 and all(line.startswith(f"{TORBAY},Torbay,") for line in lines[1:])

    assert cli.main(["similar", "--all", "--format", "csv", "--n", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 3 * (ENGLISH_CSPS + WELSH_CSPS)

    assert cli.main(["similar", TORBAY, "--n", "2"]) == 0
    text = capsys.readouterr().out
    assert "Torbay (E22000060)" in text and "Norwich" in text

    assert cli.main(["similar", "E99999999"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "E99999999" in err
