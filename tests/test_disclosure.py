"""Exact disclosure control (measures.core.disclosure.audit / protect): no count from 1 to 4 below force level can be
worked out from everything published together - by subtraction, by a variant total, or by 'reoffenders <= offenders'."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

from measures.core import disclosure

VARIANTS = ("all", ("adult", "juvenile"))
AT_MOST = (("reoffenders", "offenders"), ("reoffenders", "reoffences"))
RELATIONS = {"variant_sum": VARIANTS, "at_most": AT_MOST}
COLUMNS = ["period_start", "area_code", "area_type", "variant", "quantity", "value"]


def _cells(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def _with_force(frame: pd.DataFrame, force: str = "FORCE") -> pd.DataFrame:
    """Add the force cells: the sum of its CSP and unassigned cells, per period, variant and quantity."""
    total = frame.groupby(["period_start", "variant", "quantity"], as_index=False)["value"].sum()
    return pd.concat([frame, total.assign(area_code=force, area_type="force")[COLUMNS]], ignore_index=True)


def _status(cells: pd.DataFrame, hidden: pd.Series) -> pd.Series:
    """Labels for a set of hidden cells: 'primary' for 1 to 4, 'secondary' otherwise."""
    return pd.Series(np.where(~hidden, "", np.where(cells["value"].between(1, 4), "primary", "secondary")),
                     index=cells.index)


def _reoffending(rng: np.random.Generator, periods: int, csps: int = 7) -> pd.DataFrame:
    """Quarterly cohorts for one force: CSPs, an unassigned row and the force (9 areas) x 3 variants x 3 quantities.

    Adults dominate; juvenile cohorts and the unassigned row are small, so many counts are 1 to 4.
    """
    rows = []
    for k in range(periods):
        period = f"{2010 + k // 4}-{3 * (k % 4) + 1:02d}-01"
        for j in range(csps + 1):
            code, kind = (f"CSP{j}", "csp") if j < csps else ("UNASSIGNED", "unassigned")
            offenders = {"adult": int(rng.integers(20, 300)), "juvenile": int(rng.integers(0, 20))} if kind == "csp" \
                else {"adult": int(rng.integers(0, 8)), "juvenile": int(rng.integers(0, 3))}
            reoffenders = {v: int(rng.binomial(n, 0.3)) for v, n in offenders.items()}
            reoffences = {v: int(r + rng.poisson(2 * r)) for v, r in reoffenders.items()}
            for quantity, counts in (("offenders", offenders), ("reoffenders", reoffenders), ("reoffences", reoffences)):
                for variant, value in {**counts, "all": counts["adult"] + counts["juvenile"]}.items():
                    rows.append((period, code, kind, variant, quantity, value))
    return _with_force(_cells(rows))


def _exeter() -> pd.DataFrame:
    """Cohort 2018-04 of one force: Exeter's juveniles are 2 reoffenders of 9 offenders (all 74 of 273, adults 72 of 264)."""
    counts = {  # area: (adult offenders, juvenile offenders, adult reoffenders, juvenile reoffenders)
        "EXETER": (264, 9, 72, 2), "PLYMOUTH": (602, 38, 176, 14), "TORBAY": (295, 15, 90, 5),
        "CORNWALL": (790, 30, 211, 9), "NORTH_DEVON": (146, 4, 39, 1), "UNASSIGNED": (12, 0, 3, 0),
    }
    rows = []
    for area, (adult, juvenile, adult_re, juvenile_re) in counts.items():
        kind = "unassigned" if area == "UNASSIGNED" else "csp"
        for quantity, a, j in (("offenders", adult, juvenile), ("reoffenders", adult_re, juvenile_re)):
            for variant, value in (("all", a + j), ("adult", a), ("juvenile", j)):
                rows.append(("2018-04-01", area, kind, variant, quantity, value))
    return _with_force(_cells(rows), "DEVON_CORNWALL")


def _cell(cells: pd.DataFrame, area: str, variant: str, quantity: str) -> int:
    match = cells.index[(cells["area_code"] == area) & (cells["variant"] == variant) & (cells["quantity"] == quantity)]
    assert len(match) == 1
    return match[0]


def _naive_exeter(cells: pd.DataFrame) -> pd.Series:
    """The old rule's result for Exeter: per variant, its small juvenile figures hidden, and a partner row of
    the same variant (Torbay's juveniles) so the force total does not give them away; the all-offender and
    adult figures stay shown."""
    hidden = pd.Series(False, index=cells.index)
    for area in ("EXETER", "TORBAY"):
        for quantity in ("reoffenders", "offenders"):
            hidden[_cell(cells, area, "juvenile", quantity)] = True
    return _status(cells, hidden)


def test_exeter_juveniles_revealed_by_all_minus_adult_then_protected() -> None:
    cells = _exeter()
    exeter_juvenile = _cell(cells, "EXETER", "juvenile", "reoffenders")
    relations = {"variant_sum": VARIANTS, "at_most": (("reoffenders", "offenders"),)}
    naive = _naive_exeter(cells)
    assert naive[exeter_juvenile] == "primary"
    leak = disclosure.audit(cells, naive, **relations)
    assert leak.loc[exeter_juvenile, ["lower", "upper"]].tolist() == [2, 2]  # 74 - 72
    assert leak.loc[exeter_juvenile, "revealed"]

    status = disclosure.protect(cells, **relations)
    assert status[exeter_juvenile] == "primary"
    exeter_row = [_cell(cells, "EXETER", v, "reoffenders") for v in ("all", "adult")]
    assert (status[exeter_row] == "secondary").any()  # all - adult no longer gives the juveniles
    check = disclosure.audit(cells, status, **relations)
    assert not check["revealed"].any()
    assert check.loc[exeter_juvenile, "lower"] < check.loc[exeter_juvenile, "upper"]
    assert (cells.loc[status != "", "area_type"] != "force").all()


def _month(values: list[int]) -> pd.DataFrame:
    rows = [("2024-01-01", f"CSP{i}", "csp", "", "count", v) for i, v in enumerate(values)]
    return _with_force(_cells(rows))


def test_one_primary_in_nine_csps_gets_a_partner() -> None:
    cells = _month([3, 12, 40, 25, 60, 8, 17, 33, 51])
    status = disclosure.protect(cells)
    assert (status == "primary").sum() == 1 and status[0] == "primary"
    assert (status == "secondary").sum() >= 1
    alone = disclosure.audit(cells, _status(cells, status == "primary"))
    assert alone.loc[0, "revealed"]  # force minus the rest
    check = disclosure.audit(cells, status)
    assert not check["revealed"].any()
    assert check.loc[0, ["lower", "upper"]].tolist() != [3, 3]


def test_small_counts_whose_hidden_total_is_pinned() -> None:
    cells = _month([1, 1, 1, 40, 55, 0, 23, 9, 70])
    primaries = _status(cells, cells["value"].between(1, 4) & (cells["area_type"] != "force"))
    naive = disclosure.audit(cells, primaries)
    assert naive["revealed"].all()  # three cells of 1 to 4 adding up to 3: each is 1
    assert (naive["lower"] == 1).all()
    status = disclosure.protect(cells)
    assert (status == "secondary").sum() >= 1
    check = disclosure.audit(cells, status)
    assert not check.loc[check["status"] == "primary", "revealed"].any()


def test_a_secondary_of_5_cannot_hide_a_1() -> None:
    cells = _month([1, 5, 30, 44, 12])
    trap = disclosure.audit(cells, _status(cells, cells.index.isin([0, 1])))
    # hidden total 6; the secondary is 0 or 5 and more, the primary 1 to 4: only 1 + 5 fits
    assert trap.loc[0, ["lower", "upper", "revealed"]].tolist() == [1, 1, True]
    assert trap.loc[1, ["lower", "upper", "revealed"]].tolist() == [5, 5, True]
    status = disclosure.protect(cells)
    check = disclosure.audit(cells, status)
    assert not check["revealed"].any()


def test_random_periods_protect_leaves_nothing_derivable() -> None:
    cells = _reoffending(np.random.default_rng(20240101), 200)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = disclosure.protect(cells, **RELATIONS)
    below = cells["area_type"] != "force"
    small = cells["value"].between(1, 4)
    assert ((status == "primary") == (below & small)).all()
    assert not (status == "secondary")[~below | small].any()  # never a force cell, never a count of 1 to 4
    check = disclosure.audit(cells, status, **RELATIONS)
    assert set(check.index) == set(status.index[status != ""])  # every other cell is published exactly
    assert not check.loc[check["status"] == "secondary", "revealed"].any()
    revealed = check[(check["status"] == "primary") & check["revealed"]]
    lost = [w for w in caught if issubclass(w.category, disclosure.DisclosureWarning)]
    assert bool(len(revealed)) == bool(lost)
    for period in revealed["period_start"].unique():  # only where no hiding below force level could help
        mine = cells[cells["period_start"] == period]
        everything = _status(mine, below[mine.index] & ~small[mine.index] | (status[mine.index] == "primary"))
        worst = disclosure.audit(mine, everything, **RELATIONS)
        worst = worst[(worst["status"] == "primary") & worst["revealed"]]
        assert set(revealed.index[revealed["period_start"] == period]) == set(worst.index)
    cost = ((status == "secondary") & (cells["value"] >= 5)).sum()
    assert cost < (status == "primary").sum()  # below one cell of 5+ per primary on these data


def test_protect_is_deterministic_and_ignores_row_order() -> None:
    cells = _reoffending(np.random.default_rng(7), 12)
    first = disclosure.protect(cells, **RELATIONS)
    shuffled = cells.sample(frac=1, random_state=3)
    again = disclosure.protect(shuffled, **RELATIONS)
    pd.testing.assert_series_equal(first, again.loc[first.index])


def test_controlled_quantities_and_validation() -> None:
    cells = _reoffending(np.random.default_rng(11), 4)
    status = disclosure.protect(cells, **RELATIONS, controlled_quantities=("offenders",))
    assert (status[cells["quantity"] != "offenders"] != "primary").all()
    assert not (status == "secondary")[cells["value"].between(1, 4)].any()
    assert disclosure.audit(cells, pd.Series("", index=cells.index), **RELATIONS).empty
    wrong = pd.Series("", index=cells.index)
    wrong[cells.index[cells["value"] >= 5][0]] = "primary"
    with pytest.raises(ValueError, match="primary"):
        disclosure.audit(cells, wrong)


def test_timing_protect_100_periods(capsys: pytest.CaptureFixture[str]) -> None:
    cells = _reoffending(np.random.default_rng(1), 100)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", disclosure.DisclosureWarning)
        status = disclosure.protect(cells, **RELATIONS)
    took = time.perf_counter() - start
    start = time.perf_counter()
    disclosure.audit(cells, status, **RELATIONS)
    audited = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nprotect: {took:.2f} s, audit: {audited:.2f} s for 100 periods of 9 areas x 3 variants x 3 quantities "
              f"({(status == 'primary').sum()} primaries, {((status == 'secondary') & (cells['value'] >= 5)).sum()} "
              f"cells of 5+ hidden of {(cells['area_type'] != 'force').sum()} below force)")
