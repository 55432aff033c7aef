"""The measure registry (config/measures.toml): definition, polarity, method, source."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from measures.paths import QUERIES_DIR, REPO_ROOT

REGISTRY_FILE = REPO_ROOT / "config" / "measures.toml"
POLARITIES = ("lower_is_better", "higher_is_better", "neutral")
METHODS = ("proportion", "rate_per_1000", "mean")
THEMES = (  # display order
    "Accessible: contacting the police",
    "Preventing and deterring crime",
    "Protecting people from harm",
    "Context: recorded crime",
)


@dataclass(frozen=True)
class Measure:
    id: str
    title: str
    theme: str
    definition: str
    unit: str
    polarity: str
    method: str
    query: str
    frequency: str
    page: str
    source: str
    licence: str
    caveats: str
    illustrative: bool
    disclosure_control: bool
    params: dict = field(default_factory=dict)
    target: dict | None = None


@lru_cache(maxsize=1)
def measures(path: Path = REGISTRY_FILE) -> tuple[Measure, ...]:
    with open(path, "rb") as handle:
        entries = tomllib.load(handle)["measure"]
    loaded = []
    for entry in entries:
        measure = Measure(**entry)
        problems = []
        if measure.polarity not in POLARITIES:
            problems.append(f"unknown polarity {measure.polarity!r}")
        if measure.method not in METHODS:
            problems.append(f"unknown method {measure.method!r}")
        if measure.theme not in THEMES:
            problems.append(f"unknown theme {measure.theme!r}")
        if problems:
            raise ValueError(f"{path}: measure {measure.id}: " + "; ".join(problems))
        loaded.append(measure)
    ids = [m.id for m in loaded]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate measure ids")
    return tuple(loaded)


def missing_queries() -> list[str]:
    """Measures whose query file is absent (a test keeps this empty)."""
    return [m.id for m in measures() if not (QUERIES_DIR / f"{m.query}.sql").is_file()]


def get(measure_id: str) -> Measure:
    for measure in measures():
        if measure.id == measure_id:
            return measure
    raise KeyError(measure_id)


def ids() -> list[str]:
    return [m.id for m in measures()]


def as_table() -> pd.DataFrame:
    return pd.DataFrame(
        [{"id": m.id, "title": m.title, "theme": m.theme, "unit": m.unit, "polarity": m.polarity,
          "method": m.method, "frequency": m.frequency, "source": m.source,
          "illustrative": m.illustrative, "definition": m.definition} for m in measures()]
    )
