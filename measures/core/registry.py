"""The measure registry (config/measures.toml): definition, polarity, method, source, and families.

A family is the measures one page shows that differ in one query parameter (its variant_param):
the hidden-crime strands, the police.uk crime types, the reoffending offender types. The family
gives its members their page and says which address keys open each of them (see link()).
The registry file is config/measures.toml, or the file MEASURES_REGISTRY names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from measures.paths import QUERIES_DIR, REGISTRY_FILE, registry_file  # noqa: F401  (REGISTRY_FILE: as before)

POLARITIES = ("lower_is_better", "higher_is_better", "neutral")
METHODS = ("proportion", "rate_per_1000", "mean")
THEMES = (  # display order
    "Accessible: contacting the police",
    "Preventing and deterring crime",
    "Protecting people from harm",
    "Context: recorded crime",
)
PUBLIC_CSP_PERIODS = ("period", "year")
URL_VALUES = ("param", "id")
AREA_KEY = "area"
MEASURE_PAGE = "measure"  # the measure-detail page, for a measure with no page of its own
# Whether figures are illustrative is a property of the rows as loaded (ingest --illustrative), not of a measure.
ILLUSTRATIVE_MOVED = (" (the illustrative flag comes from the data: the rows' illustrative column, set by"
                      " `python -m measures ingest ... --illustrative`)")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")  # ids and variant values: safe in an address and in SQL
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class ChangePoint:
    """A documented re-baselining point of a measure's control chart."""

    period: str  # YYYY-MM, the first period of the new baseline
    reason: str
    source: str

    def __getitem__(self, key: str) -> str:  # also readable as the registry's table: point["period"]
        return getattr(self, key)


TARGET_DIRECTIONS = {"at_most": "lower_is_better", "at_least": "higher_is_better"}  # the polarity each needs


@dataclass(frozen=True)
class Target:
    """A target the Plan or the force states for a measure: its value, which side passes, from when, whose."""

    value: float
    direction: str  # at_most | at_least
    unit: str  # the measure's unit, said with the value ("20 minutes", "5%")
    force: str  # the police force area code whose Plan or statement sets it (it applies to its CSPs too)
    source: str
    start: str = ""  # YYYY-MM, the first period it applies to ("from" in the registry); "" where not stated

    def __getitem__(self, key: str) -> object:  # also readable as the registry's table: target["value"]
        return getattr(self, "start" if key == "from" else key)

    def passes(self, value: float) -> bool:
        return value <= self.value if self.direction == "at_most" else value >= self.value

    def text(self) -> str:
        """The target in words: "at most 20 minutes", "at least 90%"."""
        amount = f"{self.value:g}%" if self.unit == "%" else f"{self.value:g} {self.unit}"
        return f"{'at most' if self.direction == 'at_most' else 'at least'} {amount}"


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
    source: str
    licence: str
    caveats: str
    disclosure_control: bool
    params: dict = field(default_factory=dict)
    target: Target | None = None
    illustrative_licence: str = ""  # how illustrative rows are made; shown instead of `licence` for them
    family: str = ""  # required in the registry file; a measure built in code may leave it out
    page: str = ""  # the family's page (set on load; never given per measure in the file)
    change_points: tuple = ()  # ChangePoint, oldest first
    public_csp_period: str = "period"  # "period" | "year": CSP figures in public mode per period or per year
    # The counts behind numerator and denominator where a family's measures share them (reoffending:
    # ("reoffenders", "offenders")); disclosure control then audits the family's counts together.
    disclosure_counts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Variant:
    value: str  # the value of the family's variant_param, and of its url_key in the address
    label: str
    suffix: str = ""  # added to the measure's title ("Proven reoffending rate, adults")


@dataclass(frozen=True)
class Family:
    id: str
    title: str
    page: str  # the url_path of the page that shows every member
    variant_param: str = ""  # the query parameter that varies
    url_key: str = ""  # the page's address key for the variant
    url_value: str = "param"  # the address gives the member's variant_param value ("param") or its id ("id")
    measure_key: str = ""  # the page's address key for the member, where members share their variants
    period_keys: tuple[str, ...] = ()  # ("from", "to") or ("cohort",)
    # Variants of every member by value, in registry order (iterating gives the values); empty: the members
    # are the variants.
    variants: dict[str, Variant] = field(default_factory=dict)
    # Orderings of the members' shared counts an outsider knows (("reoffenders", "offenders"): no more
    # reoffenders than offenders), used by the disclosure audit.
    at_most: tuple[tuple[str, str], ...] = ()


class _Registry(NamedTuple):
    measures: tuple[Measure, ...]
    families: tuple[Family, ...]


def _problem(path: Path, what: str, problems: list[str]) -> None:
    if problems:
        raise ValueError(f"{path}: {what}: " + "; ".join(problems))


def _family(path: Path, entry: dict) -> Family:
    known = {f.name for f in dataclasses.fields(Family)}
    fid = entry.get("id", "?")
    problems = [f"unknown field {k!r}" for k in entry if k not in known]
    problems += [f"missing {k}" for k in ("id", "title", "page") if not entry.get(k)]
    _problem(path, f"family {fid}", problems)
    variants = []
    for raw in entry.get("variants", []):
        unknown = [k for k in raw if k not in {"value", "label", "suffix"}]
        if unknown or not _NAME.fullmatch(str(raw.get("value", ""))) or not raw.get("label"):
            problems.append(f"variant {raw!r} needs a value (lower case, digits, _) and a label, nothing else")
            continue
        variants.append(Variant(**raw))
    fam = Family(**{**entry, "period_keys": tuple(entry.get("period_keys", ())),
                    "variants": {v.value: v for v in variants},
                    "at_most": tuple(tuple(str(q) for q in pair) for pair in entry.get("at_most", ()))})
    if any(len(pair) != 2 for pair in fam.at_most):
        problems.append("at_most: pairs of count names")
    if not _NAME.fullmatch(fam.id):
        problems.append("id must be lower case letters, digits and _")
    if fam.url_value not in URL_VALUES:
        problems.append(f"url_value must be one of {', '.join(URL_VALUES)}")
    if bool(fam.url_key) != bool(fam.variant_param):
        problems.append("variant_param and url_key go together")
    if fam.variants and not fam.variant_param:
        problems.append("variants need a variant_param")
    if len(fam.variants) != len(variants):
        problems.append("duplicate variant values")
    if len(fam.period_keys) not in (0, 1, 2):
        problems.append("period_keys: [from, to] or [one key]")
    keys = [k for k in (fam.url_key, fam.measure_key, AREA_KEY, *fam.period_keys) if k]
    if len(set(keys)) != len(keys):
        problems.append("the address keys url_key, measure_key, area and period_keys must differ")
    _problem(path, f"family {fid}", problems)
    return fam


def _change_points(raw: object) -> tuple[tuple[ChangePoint, ...], list[str]]:
    points, problems = [], []
    for point in raw if isinstance(raw, list) else [raw]:
        if not isinstance(point, dict) or set(point) != {"period", "reason", "source"}:
            problems.append(f"change point {point!r} needs period, reason and source, nothing else")
        elif not isinstance(point["period"], str) or not _MONTH.fullmatch(point["period"]):
            problems.append(f"change point period {point['period']!r} is not a month as YYYY-MM")
        elif not str(point["reason"]).strip() or not str(point["source"]).strip():
            problems.append(f"change point {point['period']} needs a reason and a source")
        else:
            points.append(ChangePoint(point["period"], str(point["reason"]), str(point["source"])))
    if [p.period for p in points] != sorted({p.period for p in points}):
        problems.append("change points must be in time order, one per period")
    return tuple(points), problems


def _target(raw: object, entry: dict) -> tuple[Target | None, list[str]]:
    if raw is None:
        return None, []
    fields = {"value", "direction", "unit", "force", "source", "from"}
    if not isinstance(raw, dict) or not {"value", "direction", "unit", "force", "source"} <= set(raw) <= fields:
        return None, [f"target {raw!r} needs value, direction, unit, force and source (and optionally from)"]
    problems = []
    if not isinstance(raw["value"], int | float) or isinstance(raw["value"], bool):
        problems.append(f"target value {raw['value']!r} is not a number")
    if TARGET_DIRECTIONS.get(raw["direction"]) != entry.get("polarity"):
        problems.append(f"target direction {raw['direction']!r} does not fit polarity {entry.get('polarity')!r} "
                        "(at_most: lower_is_better, at_least: higher_is_better)")
    if raw["unit"] != entry.get("unit"):
        problems.append(f"target unit {raw['unit']!r} is not the measure's unit {entry.get('unit')!r}")
    if "from" in raw and not (isinstance(raw["from"], str) and _MONTH.fullmatch(raw["from"])):
        problems.append(f"target from {raw['from']!r} is not a month as YYYY-MM")
    if not str(raw["source"]).strip() or not re.fullmatch(r"[EW][0-9]{8}", str(raw["force"])):
        problems.append("target needs a source and the force code (E23.../W15...) whose Plan sets it")
    if problems:
        return None, problems
    return Target(float(raw["value"]), str(raw["direction"]), str(raw["unit"]), str(raw["force"]),
                  str(raw["source"]), str(raw.get("from", ""))), []


def _measure(path: Path, entry: dict, by_id: dict[str, Family]) -> Measure:
    known = {f.name for f in dataclasses.fields(Measure)}
    mid = entry.get("id", "?")
    problems = [f"unknown field {k!r}" + (ILLUSTRATIVE_MOVED if k == "illustrative" else "")
                for k in entry if k not in known]
    problems += [f"missing {f.name}" for f in dataclasses.fields(Measure) if f.name not in entry
                 and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if "page" in entry:
        problems.append("give the family, not the page (the page comes from the family)")
    fam = by_id.get(entry.get("family", ""))
    if fam is None:
        problems.append(f"family {entry.get('family')!r} is not a [[family]] of the registry")
    points, point_problems = _change_points(entry.get("change_points", []))
    problems += point_problems
    target, target_problems = _target(entry.get("target"), entry)
    problems += target_problems
    _problem(path, f"measure {mid}", problems)
    assert fam is not None  # _problem raised for an unknown family
    measure = Measure(**{**entry, "page": fam.page, "change_points": points, "target": target,
                         "disclosure_counts": tuple(str(c) for c in entry.get("disclosure_counts", ()))})
    if len(measure.disclosure_counts) not in (0, 2):
        problems.append("disclosure_counts: the numerator's and the denominator's count names")
    if not _NAME.fullmatch(measure.id):
        problems.append("id must be lower case letters, digits and _")
    if measure.polarity not in POLARITIES:
        problems.append(f"unknown polarity {measure.polarity!r}")
    if measure.method not in METHODS:
        problems.append(f"unknown method {measure.method!r}")
    if measure.theme not in THEMES:
        problems.append(f"unknown theme {measure.theme!r}")
    if measure.public_csp_period not in PUBLIC_CSP_PERIODS:
        problems.append(f"public_csp_period must be one of {', '.join(PUBLIC_CSP_PERIODS)}")
    if fam.variant_param:
        value = measure.params.get(fam.variant_param)
        if value is None:
            problems.append(f"family {fam.id} needs params.{fam.variant_param}")
        elif fam.variants and value not in fam.variants:
            problems.append(f"params.{fam.variant_param} {value!r} is not a variant of family {fam.id}")
        elif fam.url_value == "param" and not fam.variants and not _NAME.fullmatch(str(value)):
            problems.append(f"params.{fam.variant_param} {value!r}: lower case letters, digits and _ only")
    _problem(path, f"measure {mid}", problems)
    return measure


@lru_cache(maxsize=8)
def _load(path: Path) -> _Registry:
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    fams = tuple(_family(path, entry) for entry in raw.get("family", []))
    by_id = {f.id: f for f in fams}
    if len(by_id) != len(fams):
        raise ValueError(f"{path}: duplicate family ids")
    loaded = tuple(_measure(path, entry, by_id) for entry in raw.get("measure", []))
    ids_ = [m.id for m in loaded]
    if len(set(ids_)) != len(ids_):
        raise ValueError(f"{path}: duplicate measure ids")
    for fam in fams:
        values = [variant_value(m, fam) for m in loaded if m.family == fam.id]
        if not fam.variants and fam.url_key and len(set(values)) != len(values):
            raise ValueError(f"{path}: family {fam.id}: two members with the same {fam.url_key}")
    return _Registry(loaded, fams)


def _registry(path: Path | None = None) -> _Registry:
    return _load(Path(path) if path else registry_file())


def cache_clear() -> None:
    """Forget every registry read (after changing the file or MEASURES_REGISTRY's)."""
    _load.cache_clear()


def measures(path: Path | None = None) -> tuple[Measure, ...]:
    """Every measure of the registry (the file MEASURES_REGISTRY names, else config/measures.toml)."""
    return _registry(path).measures


measures.cache_clear = cache_clear  # type: ignore[attr-defined]  # as when measures() was the lru_cache


def families() -> tuple[Family, ...]:
    return _registry().families


def family(family_id: str) -> Family:
    for fam in families():
        if fam.id == family_id:
            return fam
    raise KeyError(family_id)


def members(family_id: str) -> tuple[Measure, ...]:
    """The family's measures, in registry order."""
    family(family_id)  # KeyError for an unknown family
    return tuple(m for m in measures() if m.family == family_id)


def variant_value(measure: Measure, fam: Family | None = None) -> str | None:
    """What the family's url_key says for this measure (its strand, offender type or id); None without a key."""
    fam = fam or family(measure.family)
    if not fam.url_key:
        return None
    if fam.url_value == "id" and not fam.variants:
        return measure.id
    return str(measure.params[fam.variant_param])


def variant_values(family_id: str) -> list[str]:
    """The values the family's url_key takes: its declared variants, else each member's (registry order)."""
    fam = family(family_id)
    if fam.variants:
        return list(fam.variants)
    return [value for m in members(family_id) if (value := variant_value(m, fam)) is not None]


def variant(measure: Measure, value: str) -> Measure:
    """The measure with its family's variant set to `value`.

    Declared variants (reoffending offender types): the same measure with the query parameter
    changed and the variant in its title ("Proven reoffending rate, adults"); the measure's own
    value gives it back unchanged. A family whose members are its variants (strands, crime types):
    the member with that value. KeyError for a value the family does not have.
    """
    fam = family(measure.family)
    if fam.variants:
        chosen = fam.variants.get(value)
        if chosen is None:
            raise KeyError(f"{fam.id} has no {fam.variant_param} {value!r}")
        if measure.params.get(fam.variant_param) == value:
            return measure
        return dataclasses.replace(measure, params={**measure.params, fam.variant_param: value},
                                   title=f"{measure.title}, {chosen.suffix or chosen.value}")
    if not fam.url_key:
        raise KeyError(f"{fam.id} has no variants")
    for member in members(fam.id):
        if variant_value(member, fam) == value:
            return member
    raise KeyError(f"{fam.id} has no {fam.url_key} {value!r}")


_variant = variant  # for link(), whose keyword `variant` hides the function


def _month(value: object) -> str:
    if isinstance(value, (dt.date, pd.Timestamp)):
        return f"{value:%Y-%m}"
    text = str(value)
    if _MONTH.fullmatch(text[:7]) and len(text) in (7, 10):
        return text[:7]
    raise ValueError(f"{value!r} is not a month (a date or YYYY-MM)")


def link(measure: Measure, area_code: str, *, variant: str | None = None, period_from: object = None,
         period_to: object = None) -> tuple[str, dict[str, str]]:
    """The page (url_path) and the address parameters that open exactly this measure.

    The family's url_key gives the variant (the measure's own unless `variant` is given), its
    measure_key the member, then the area, then the period in the page's own keys: from/to as
    YYYY-MM, or the single key (reoffending's cohort) for period_to (else period_from).
    A measure with no family opens the measure-detail page (?measure=ID&area=CODE).
    """
    if variant is not None:
        measure = _variant(measure, variant)
    fam = family(measure.family) if measure.family else None
    if fam is None:
        page = measure.page or MEASURE_PAGE
        return page, ({"measure": measure.id} if page == MEASURE_PAGE else {}) | {AREA_KEY: area_code}
    params: dict[str, str] = {}
    if fam.url_key:
        params[fam.url_key] = variant_value(measure, fam) or ""
    if fam.measure_key:
        params[fam.measure_key] = measure.id
    params[AREA_KEY] = area_code
    if len(fam.period_keys) == 2:
        for key, value in zip(fam.period_keys, (period_from, period_to), strict=True):
            if value is not None:
                params[key] = _month(value)
    elif len(fam.period_keys) == 1 and (period_to is not None or period_from is not None):
        params[fam.period_keys[0]] = _month(period_to if period_to is not None else period_from)
    return fam.page, params


def licence_text(measure: Measure, illustrative: bool) -> str:
    """The licence (or, for illustrative rows, how they are made) of what a page shows: the flag is the
    rows' (measures.core.pipeline.illustrative), so rows loaded as real get the real data's licence."""
    return measure.illustrative_licence if illustrative and measure.illustrative_licence else measure.licence


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
          "target": "" if m.target is None else f"{m.target.text()} ({m.target.force}"
                    + (f", from {m.target.start})" if m.target.start else ")"),
          "definition": m.definition} for m in measures()]
    )
