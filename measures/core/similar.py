"""Most similar CSPs: each CSP's nearest neighbours on deprivation, density and size.

Method (docs/similar-areas.md): per CSP, the IMD 2019 average score (England only), log10 of
residents per km2 and log10 of residents (mid-2023), read from data/reference/csp_characteristics.csv
(built by scripts/build_reference.py). Each variable is standardised over the CSPs of the
country (z-scores, population standard deviation); the distance is Euclidean; ties go to the
lower CSP code; a CSP is never its own neighbour. English CSPs are compared with English CSPs
on all three variables, Welsh CSPs with Welsh CSPs on density and size only.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from measures.paths import REFERENCE_DIR

CHARACTERISTICS_FILE = REFERENCE_DIR / "csp_characteristics.csv"
DEFAULT_N = 15
COLUMNS = ["area_code", "area_name", "imd_score", "residents", "residents_per_km2", "rank", "similar_code",
           "similar_name", "distance", "similar_imd_score", "similar_residents", "similar_residents_per_km2"]
# The variables compared, per country: the English IMD has no Welsh counterpart score for score.
VARIABLES = {"England": ["imd_score", "log_density", "log_residents"], "Wales": ["log_density", "log_residents"]}
ENGLISH_NOTE = ("English CSPs are compared with English CSPs on IMD 2019 average score, log10 residents per km2 "
                "and log10 residents (mid-2023), each standardised over English CSPs, by Euclidean distance")
WELSH_NOTE = ("Welsh CSPs are compared with Welsh CSPs on density and size only: "
              "the English IMD is not comparable with the Welsh index")


@lru_cache(maxsize=1)
def characteristics() -> pd.DataFrame:
    """The CSPs and their variables, indexed by csp_code."""
    table = pd.read_csv(CHARACTERISTICS_FILE, dtype={"csp_code": str, "csp_name": str, "pfa_code": str, "country": str})
    table = table.set_index("csp_code").sort_index()
    # Logs because size and density are skewed: London boroughs would otherwise dominate the distance.
    return table.assign(log_density=np.log10(table["residents_per_km2"]), log_residents=np.log10(table["residents"]))


def _standardised(group: pd.DataFrame, variables: list[str]) -> np.ndarray:
    values = group[variables].to_numpy(dtype=float)
    return (values - values.mean(axis=0)) / values.std(axis=0, ddof=0)


@lru_cache(maxsize=1)
def _ranked() -> pd.DataFrame:
    """Every CSP against every other CSP of its country, nearest first (the full ranking, cached)."""
    table = characteristics()
    frames = []
    for country, group in table.groupby("country", sort=True):
        z = _standardised(group, VARIABLES[str(country)])
        distances = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=2))
        codes = group.index.to_numpy()
        for i, code in enumerate(codes):
            others = np.arange(len(codes)) != i
            # lexsort: the last key sorts first, so distance, then CSP code for ties
            order = np.lexsort((codes[others], distances[i, others]))
            frames.append(pd.DataFrame({"area_code": code, "rank": np.arange(1, len(order) + 1),
                                        "similar_code": codes[others][order], "distance": distances[i, others][order]}))
    ranked = pd.concat(frames, ignore_index=True)
    own = table[["csp_name", "imd_score", "residents", "residents_per_km2"]]
    ranked = ranked.join(own.rename(columns={"csp_name": "area_name"}), on="area_code")
    ranked = ranked.join(own.rename(columns=lambda c: "similar_name" if c == "csp_name" else f"similar_{c}"),
                         on="similar_code")
    return ranked[COLUMNS]


def _check_n(n: int) -> None:
    if n < 1:
        raise ValueError(f"n must be 1 or more, not {n}")


def similar_areas(code: str, n: int = DEFAULT_N) -> pd.DataFrame:
    """The n CSPs most similar to CSP `code` (fewer if its country has fewer); KeyError if unknown."""
    _check_n(n)
    if code not in characteristics().index:
        raise KeyError(code)
    ranked = _ranked()
    return ranked[(ranked["area_code"] == code) & (ranked["rank"] <= n)].reset_index(drop=True)


def all_similar(n: int = DEFAULT_N) -> pd.DataFrame:
    """One row per (CSP, neighbour) for every CSP of England and Wales, rank 1 to n."""
    _check_n(n)
    ranked = _ranked()
    return ranked[ranked["rank"] <= n].reset_index(drop=True)


def method_note(code: str) -> str:
    """One plain sentence saying how the CSP's neighbours were chosen; KeyError if unknown."""
    country = characteristics().loc[code, "country"]  # KeyError for an unknown code
    return WELSH_NOTE if country == "Wales" else ENGLISH_NOTE
