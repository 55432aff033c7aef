"""Everything the public site shows, audited together as a disclosure auditor would.

The public exports of every hidden-crime strand and of every reoffending measure and offender type
are read as an outsider reads them: a figure shown is known exactly, "fewer than 5" is 1 to 4,
"hidden to protect another small count" is 0 or 5 or more, and the sums the site states hold (the
force is the sum of its areas; all offenders are adults plus juveniles; no more reoffenders than
offenders or reoffences). An exact integer solver (measures.core.disclosure.audit) then finds the
smallest and largest value every hidden count can take: none from 1 to 4 may be pinned. Window
figures (any period a visitor can choose) are checked to be sums of published figures, so they add
nothing to what is audited.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from measures.core import disclosure, pipeline, registry
from measures.data import config, db

ROOT = Path(__file__).resolve().parent.parent
FORCE = config.load_force()
STRANDS = [m for m in registry.members("hidden_crime")]
REOFFENDING = [m for m in registry.members("reoffending")]
OFFENDER_TYPES = list(registry.family("reoffending").variants)


@cache
def connection():
    return db.connect(ROOT / "data", lockdown=False)


@cache
def frames(measure_id: str, variant: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the public rows, the true rows of the same areas) of a measure or variant."""
    measure = registry.get(measure_id)
    if variant is not None:
        measure = registry.variant(measure, variant)
    public = pipeline.measure_frame(connection(), measure, FORCE.code, public=True)
    truth = pipeline.measure_frame(connection(), measure, FORCE.code, public=False, combined=True)
    if measure.public_csp_period == "year":  # the public site has its CSPs by year: so do the true figures
        truth = pipeline.csp_by_year(truth, measure)
    return public, truth


def _cells(measure: registry.Measure, public: pd.DataFrame, truth: pd.DataFrame, variant: str) -> pd.DataFrame:
    """The published counts as audit cells: the true value, and what the outsider is told of it."""
    numerator_q, denominator_q = measure.disclosure_counts or ("count", None)
    key = ["period_start", "area_code"]
    merged = public.merge(truth[[*key, "numerator", "denominator"]], on=key, suffixes=("", "_true"), validate="1:1")
    pieces = []
    for quantity, column in ((numerator_q, "numerator"), (denominator_q, "denominator")):
        if quantity is None:
            continue
        shown = merged[column].notna()
        value = merged[f"{column}_true"].fillna(0).round().astype("int64")
        # The outsider is told more than the site says (which hidden count is the small one): a stricter audit.
        status = np.where(shown, "", np.where(value.between(1, 4), "primary", "secondary"))
        pieces.append(pd.DataFrame({"period_start": merged["period_start"], "area_code": merged["area_code"],
                                    "area_type": merged["area_type"], "variant": variant, "quantity": quantity,
                                    "value": value, "status": status}))
    return pd.concat(pieces, ignore_index=True)


def _family_cells(members: list[registry.Measure], variants: list[str | None]) -> pd.DataFrame:
    cells = []
    for measure in members:
        for variant in variants:
            public, truth = frames(measure.id, variant)
            cells.append(_cells(measure, public, truth, variant or ""))
    table = pd.concat(cells, ignore_index=True)
    if any(m.public_csp_period == "year" for m in members):  # the force's years: sums of its published months
        public = frames(members[0].id, None)[0]
        table = pipeline.force_by_year(table.assign(status=table["status"].where(table["area_type"] != "force", "")),
                                       public).fillna({"status": ""})
    # A count shared by two measures (reoffenders) is one cell: hidden if either shows it hidden.
    table["hidden"] = table["status"] != ""
    table = table.sort_values("hidden", ascending=False).drop_duplicates(
        ["period_start", "area_code", "variant", "quantity"]).drop(columns="hidden")
    return table.reset_index(drop=True)


def _recovered(table: pd.DataFrame, **relations) -> pd.DataFrame:
    result = disclosure.audit(table.drop(columns="status"), table["status"], **relations)
    if result.empty:
        return result
    return result[result["revealed"] & result["value"].between(1, 4)]


def test_public_reoffending_figures_together_reveal_no_small_count():
    table = _family_cells(REOFFENDING, OFFENDER_TYPES)
    relations = pipeline.family_relations(REOFFENDING[0])
    assert relations["variant_sum"] == ("all", ("adult", "juvenile"))
    recovered = _recovered(table, **relations)
    hidden = int((table["status"] != "").sum())
    print(f"\nreoffending: {len(table)} cells, {hidden} hidden, small counts recovered by an exact audit: "
          f"{len(recovered)}")
    assert hidden > 0, "the juvenile cohorts have small counts to protect"
    assert recovered.empty, recovered.head(10).to_string()


def test_exeter_juveniles_are_no_longer_all_offenders_less_adults():
    """The leak users found: cohort 2018-04, Exeter, 74 of 273 all offenders and 72 of 264 adults."""
    table = _family_cells(REOFFENDING, OFFENDER_TYPES)
    exeter = table[(table["area_code"] == "E22000049") & (pd.to_datetime(table["period_start"]) == "2018-04-01")]
    juvenile = exeter[exeter["variant"] == "juvenile"].set_index("quantity")
    assert (juvenile["status"] != "").any(), "the juvenile cohort's small counts are hidden"
    assert _recovered(exeter.reset_index(drop=True), **pipeline.family_relations(REOFFENDING[0])).empty


@pytest.mark.parametrize("measure", STRANDS, ids=[m.id for m in STRANDS])
def test_public_hidden_crime_strand_reveals_no_small_count_and_hides_little(measure: registry.Measure):
    table = _family_cells([measure], [None])
    recovered = _recovered(table)
    csp = table[table["area_type"] == "csp"]
    costly = int(((csp["status"] != "") & (csp["value"] >= 5)).sum())
    share = costly / len(csp)
    # A period with a single small count needs at least one more cell hidden, and only a cell of 5 or more
    # can hide it (a hidden 0 would be known to be 0): no rule can hide fewer than that.
    primaries = csp[csp["status"] == "primary"].groupby("period_start").size()
    needed = int((primaries == 1).sum())
    print(f"\n{measure.id}: {len(csp)} CSP cells, {int((csp['status'] == 'primary').sum())} fewer than 5, "
          f"{costly} of 5 or more hidden ({share:.1%}; at least {needed} needed); small counts recovered: "
          f"{len(recovered)}")
    assert recovered.empty, recovered.head(10).to_string()
    assert costly <= max(0.01 * len(csp), needed)


@pytest.mark.parametrize("measure", STRANDS[:2] + STRANDS[4:5], ids=lambda m: m.id)
def test_any_window_figure_is_a_sum_of_published_figures(measure: registry.Measure):
    """A visitor can choose any window: each CSP figure shown over one is the sum of the months shown."""
    public, _ = frames(measure.id, None)
    months = sorted(pd.to_datetime(public["period_start"]).unique())
    rng = np.random.default_rng(12)
    for _ in range(25):
        first, last = sorted(rng.choice(len(months), 2, replace=False))
        window = pipeline.period_values(public, measure, months[first].date(), months[last].date())
        inside = public[(pd.to_datetime(public["period_start"]) >= months[first])
                        & (pd.to_datetime(public["period_start"]) <= months[last])
                        & (~pipeline.year_rows(public)  # a CSP's year counts in a window holding all of it
                           | (pd.to_datetime(public["period_end"]) <= months[last] + pd.offsets.MonthEnd(0)))]
        for row in window[window["area_type"] != "force"].itertuples():
            rows = inside[inside["area_code"] == row.area_code]
            if row.suppressed:
                assert rows["suppressed"].any() or rows.empty
                assert pd.isna(row.numerator) and pd.isna(row.value)
            else:
                assert not rows["suppressed"].any() and row.numerator == rows["numerator"].sum()


def test_audit_finds_the_leak_the_old_rule_left():
    """The audit is not blind: hiding only the small juvenile figure lets all less adults reveal it."""
    cohort = dt.date(2018, 4, 1)
    rows = []
    for variant, offenders, reoffenders in (("all", 273, 74), ("adult", 264, 72), ("juvenile", 9, 2)):
        for quantity, value in (("offenders", offenders), ("reoffenders", reoffenders)):
            rows.append({"period_start": cohort, "area_code": "E22000049", "area_type": "csp", "variant": variant,
                         "quantity": quantity, "value": value,
                         "status": "primary" if variant == "juvenile" and value < 5 else ""})
    table = pd.DataFrame(rows)
    recovered = _recovered(table, variant_sum=("all", ("adult", "juvenile")))
    assert len(recovered) == 1 and recovered["value"].iloc[0] == 2
