"""Disclosure control for the public: no count from 1 to 4 in an area can be worked out.

Judged as an outsider would judge it, over everything published together: `audit` finds, by
exact mixed-integer programming, the smallest and largest value each hidden count can take
given every published figure and the sums that tie them; `protect` chooses which counts to hide
(every area count of 1 to 4, "primary", and as few others as it takes, "secondary") so that no
primary is pinned to one value. measures.core.pipeline turns a measure family's published rows into
the cells and relations these functions take (docs/pipeline.md).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

SMALL_MIN, SMALL_MAX = 1, 4


def is_small(series: pd.Series) -> pd.Series:
    return series.between(SMALL_MIN, SMALL_MAX)


# --- Exact audit and protection -------------------------------------------------------------------------------------
# One row per published cell (long format). An outsider who reads every published figure knows: the cells shown,
# exactly; that a primary cell ("fewer than 5") is 1 to 4; that a secondary cell ("hidden to protect another count")
# is 0 or 5 and more; that counts are whole numbers from 0; and the relations the caller declares (force = its CSPs and
# unassigned row; optionally a total variant = its parts; optionally one quantity at most another). `audit` works out,
# by mixed-integer programming, the exact range the outsider can narrow each hidden cell to; `protect` hides cells until
# no primary cell's range is a single number. Periods are independent: each is modelled on its own.

KEY = ["period_start", "area_code", "area_type", "variant", "quantity"]
PRIMARY, SECONDARY, SHOWN = "primary", "secondary", ""
VariantSum = tuple[str, tuple[str, ...]]
AtMost = tuple[tuple[str, str], ...]

# HiGHS runs a feasibility-jump heuristic on every MIP, some 4 ms even on a model of ten variables; these models are
# tiny, so the heuristic is switched off (exactness does not depend on it). milp passes the option on verbatim.
_HIGHS = {"disp": False, "mip_rel_gap": 0.0, "mip_heuristic_run_feasibility_jump": False}
_BATCH_VARIABLES = 1000  # blocks per MILP call: a call costs ~2 ms however small, a huge one branches slowly
_STEPS = np.array([1, -1, 2, -2, 3, -3])  # how far a witness moves its cycle: a primary stays within 1 to 4
_PARTNER_CYCLES = 8  # cheapest cycles tried for each cell moved along with a primary in another quantity
_MOVE = 8  # protect first seeks witnesses that move each cell by at most 8 (a 0 may read 5 to 8)


class DisclosureWarning(UserWarning):
    """A small count that stays derivable however many cells below force level are hidden."""


@dataclass
class _Period:
    """One period's cells, in key order, and its relations as dense matrices (periods are small)."""

    rows: np.ndarray  # positions of the cells in the prepared frame
    value: np.ndarray  # true counts
    quantity: np.ndarray  # int codes: equations never cross quantities
    slot: np.ndarray  # int codes of (area_code, variant): the same place in each quantity's table
    eq: np.ndarray  # (r, n): eq @ x == 0, +1 for the total and -1 for each part
    total: np.ndarray  # (r,): the column of each equation's total
    le: np.ndarray  # (s, n): le @ x <= 0


def _prepare(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells in key order (so results do not depend on row order), with `label` the caller's index label."""
    missing = set(KEY + ["value"]) - set(cells.columns)
    if missing:
        raise ValueError(f"cells lack columns {sorted(missing)}")
    frame = cells[KEY + ["value"]].copy()
    frame["label"] = np.arange(len(frame))
    if frame["value"].isna().any() or (frame["value"] < 0).any() or (frame["value"] % 1 != 0).any():
        raise ValueError("cell values must be whole numbers from 0")
    frame["value"] = frame["value"].astype("int64")
    frame["variant"] = frame["variant"].astype(str)
    frame["quantity"] = frame["quantity"].astype(str)
    if not frame["area_type"].isin(["force", "csp", "unassigned"]).all():
        raise ValueError("area_type must be 'force', 'csp' or 'unassigned'")
    unique = ["period_start", "area_code", "variant", "quantity"]
    if frame.duplicated(unique).any():
        raise ValueError(f"more than one cell for some {unique}")
    return frame.sort_values(KEY, kind="stable").reset_index(drop=True)


def _relations(frame: pd.DataFrame, variant_sum: VariantSum | None, at_most: AtMost) -> tuple[np.ndarray, ...]:
    """All relations as (row, col, coef) triples over the frame's positions: equations and '<= 0' rows."""
    pos = np.arange(len(frame))
    force = frame["area_type"].eq("force").to_numpy()
    eq_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    # force = sum of its CSP and unassigned cells, within each (period, variant, quantity)
    group = frame.groupby(["period_start", "variant", "quantity"], sort=False).ngroup().to_numpy()
    totals = np.bincount(group, weights=force)
    parts = np.bincount(group, weights=~force)
    if (totals > 1).any():
        raise ValueError("more than one force cell for some (period_start, variant, quantity)")
    keep = ((totals == 1) & (parts >= 1))[group]
    eq_parts.append((group[keep], pos[keep], np.where(force, 1.0, -1.0)[keep]))
    offset = len(totals)
    if variant_sum is not None:  # total variant = its parts, within each (period, area, quantity)
        whole, pieces = variant_sum
        group = frame.groupby(["period_start", "area_code", "quantity"], sort=False).ngroup().to_numpy()
        variant = frame["variant"].to_numpy()
        complete = np.bincount(group, weights=variant == whole) == 1
        for piece in pieces:
            complete &= np.bincount(group, weights=variant == piece, minlength=len(complete)) == 1
        member = np.isin(variant, [whole, *pieces]) & complete[group]
        eq_parts.append((group[member] + offset, pos[member], np.where(variant == whole, 1.0, -1.0)[member]))
    le_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if at_most:  # first <= second, within each (period, area, variant)
        group = frame.groupby(["period_start", "area_code", "variant"], sort=False).ngroup().to_numpy()
        quantity = frame["quantity"].to_numpy()
        groups = group.max() + 1 if len(group) else 0
        for k, (small, large) in enumerate(at_most):
            at = np.full((2, groups), -1)
            at[0, group[quantity == small]] = pos[quantity == small]
            at[1, group[quantity == large]] = pos[quantity == large]
            both = np.flatnonzero((at >= 0).all(axis=0))
            rows = np.repeat(both + k * groups, 2)
            le_parts.append((rows, at[:, both].T.ravel(), np.tile([1.0, -1.0], len(both))))
    return (*_concat(eq_parts), *_concat(le_parts))


def _concat(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not parts:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros(0)
    row, col, coef = (np.concatenate([part[i] for part in parts]) for i in range(3))
    return row.astype(int), col.astype(int), coef.astype(float)


def _periods(frame: pd.DataFrame, variant_sum: VariantSum | None, at_most: AtMost,
             wanted: np.ndarray) -> dict[object, _Period]:
    """Models of the periods flagged in `wanted` (a bool per frame row): only periods with something to solve."""
    period = frame["period_start"].factorize()[0]
    keep = np.isin(period, np.unique(period[wanted]))
    if not keep.any():
        return {}
    sub = frame[keep].reset_index(drop=True)
    eq_r, eq_c, eq_v, le_r, le_c, le_v = _relations(sub, variant_sum, at_most)
    sub_period = sub["period_start"].factorize()[0]
    quantity = sub["quantity"].factorize()[0]
    slot = sub.groupby(["area_code", "variant"], sort=False).ngroup().to_numpy()
    value = sub["value"].to_numpy()
    rows_of = np.flatnonzero(keep)
    local = np.zeros(len(sub), dtype=int)
    codes = np.unique(sub_period)
    split = []
    for r, c, v in ((eq_r, eq_c, eq_v), (le_r, le_c, le_v)):  # the triples of each period, by one sort
        order = np.argsort(sub_period[c], kind="stable")
        bounds = np.searchsorted(sub_period[c][order], np.append(codes, codes[-1] + 1))
        split.append((r[order], c[order], v[order], bounds))
    models = {}
    for k, code in enumerate(codes):
        cols = np.flatnonzero(sub_period == code)
        local[cols] = np.arange(len(cols))
        mats = []
        for r, c, v, bounds in split:
            part = slice(bounds[k], bounds[k + 1])
            ids, row = np.unique(r[part], return_inverse=True)
            mat = np.zeros((len(ids), len(cols)))
            mat[row, local[c[part]]] = v[part]
            mats.append(mat)
        eq, le = mats
        total = np.argmax(eq > 0, axis=1) if len(eq) else np.zeros(0, dtype=int)
        if len(eq) and (eq @ value[cols]).any() or len(le) and (le @ value[cols] > 0).any():
            raise ValueError(f"the counts of period {sub['period_start'].iloc[cols[0]]} break the declared relations")
        models[sub["period_start"].iloc[cols[0]]] = _Period(rows_of[cols], value[cols], quantity[cols], slot[cols], eq,
                                                            total, le)
    return models


def _upper(p: _Period, shown: np.ndarray) -> np.ndarray:
    """A bound on each cell the outsider also has: no part exceeds a total shown (else the period's sum, a big M)."""
    bound = np.full(len(p.value), float(max(5, p.value.sum())))
    if len(p.eq):
        parts = (p.eq < 0) & shown[p.total][:, None]
        bound = np.minimum(bound, np.where(parts, p.value[p.total][:, None], np.inf).min(axis=0))
    return bound


class _Milp:
    """Many independent blocks in one MILP: a HiGHS call costs ~2 ms however small, so calls are batched."""

    def __init__(self) -> None:
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []
        self.cost: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.n = self.m = 0
        self.objective: dict[int, float] = {}

    def set_cost(self, col: int, cost: float) -> None:
        self.objective[int(col)] = cost

    def add_vars(self, lb, ub, cost=0.0, integer: bool = True) -> np.ndarray:
        lb = np.atleast_1d(np.asarray(lb, dtype=float))
        k = len(lb)
        self.lb.append(lb)
        self.ub.append(np.broadcast_to(np.asarray(ub, dtype=float), (k,)))
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=float), (k,)))
        self.integer.append(np.full(k, int(integer)))
        self.n += k
        return np.arange(self.n - k, self.n)

    def add_rows(self, coef: np.ndarray, cols: np.ndarray | list, lo, hi) -> None:
        """Rows `lo <= coef @ x[cols] <= hi`, coef dense (k, len(cols))."""
        coef = np.atleast_2d(coef)
        i, j = np.nonzero(coef)
        self.entries.append((i + self.m, np.asarray(cols)[j], coef[i, j]))
        k = coef.shape[0]
        self.lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (k,)))
        self.hi.append(np.broadcast_to(np.asarray(hi, dtype=float), (k,)))
        self.m += k

    def extend(self, block: _Milp, times: int) -> np.ndarray:
        """Append `times` copies of `block` (same model, objectives set later); returns each copy's first column."""
        offsets = self.n + block.n * np.arange(times)
        if not times or not block.n:
            return offsets
        for mine, theirs in ((self.lb, block.lb), (self.ub, block.ub), (self.cost, block.cost),
                             (self.integer, block.integer), (self.lo, block.lo), (self.hi, block.hi)):
            mine.append(np.tile(np.concatenate(theirs), times) if theirs else np.zeros(0))
        if block.entries:
            i, j, v = (np.concatenate(e) for e in zip(*block.entries, strict=True))
            rows = self.m + block.m * np.arange(times)
            self.entries.append(((i + rows[:, None]).ravel(), (j + offsets[:, None]).ravel(), np.tile(v, times)))
        self.n += block.n * times
        self.m += block.m * times
        return offsets

    def solve(self, allow_infeasible: bool = False) -> np.ndarray | None:
        if self.n == 0:
            return np.zeros(0)
        i, j, v = (np.concatenate(e) for e in zip(*self.entries, strict=True)) if self.entries else ([], [], [])
        a = sparse.csr_array((v, (i, j)), shape=(self.m, self.n))
        cost = np.concatenate(self.cost)
        cost[list(self.objective)] += list(self.objective.values())
        constraints = [LinearConstraint(a, np.concatenate(self.lo), np.concatenate(self.hi))] if self.m else []
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Unrecognized options", RuntimeWarning)
            res = milp(cost, constraints=constraints, integrality=np.concatenate(self.integer),
                       bounds=Bounds(np.concatenate(self.lb), np.concatenate(self.ub)), options=dict(_HIGHS))
        if res.status == 2 and allow_infeasible:
            return None
        if res.status != 0 or res.x is None:  # audit's blocks always have a solution: the true counts
            raise RuntimeError(f"disclosure MILP failed: {res.message}")
        return np.round(res.x).astype(np.int64)


def _block(lp: _Milp, p: _Period, free: np.ndarray, primary: np.ndarray, hidden: np.ndarray,
           hide_cost: np.ndarray | None = None, move: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Add the outsider's model of period `p` with the `free` cells as unknowns and the rest at their true values.

    A free shown cell is a candidate to hide: x may leave its true value only if its binary z is 1 (cost `hide_cost`).
    `move` limits every free cell to within that distance of its true value: a restriction, so a solution is still a
    valid witness, and it keeps the big-M constants (and so the branching) small. None: the outsider's exact model.
    Returns the x column of each cell (-1 when fixed) and the z column of each cell (-1 when not a candidate).
    """
    n = len(p.value)
    t = p.value
    cols = np.full(n, -1)
    z = np.full(n, -1)
    f = np.flatnonzero(free)
    if not len(f):
        return cols, z
    prim = primary[f]
    lo = np.where(prim, 1.0, 0.0)
    hi = np.where(prim, 4.0, _upper(p, ~hidden)[f])
    if move is not None:
        lo, hi = np.maximum(lo, t[f] - move), np.minimum(hi, t[f] + move)
    # not primary: 0 or 5 and more. Above 0 for sure means 5 and more; below 5 for sure means 0; else a binary
    lo = np.where(~prim & (lo > 0), np.maximum(lo, 5), lo)
    hi = np.where(~prim & (hi < 5), 0, hi)
    cols[f] = lp.add_vars(lo, hi)
    fixed = ~free
    for mat, is_eq in ((p.eq, True), (p.le, False)):
        use = (mat[:, f] != 0).any(axis=1)
        if use.any():
            rhs = -mat[use][:, fixed] @ t[fixed]
            lp.add_rows(mat[use][:, f], cols[f], rhs if is_eq else -np.inf, rhs)
    either = ~prim & (lo == 0) & (hi >= 5)
    if either.any():  # x >= 5 b and x <= hi b
        k = int(either.sum())
        b = lp.add_vars(np.zeros(k), 1.0)
        eye = np.eye(k)
        both = np.concatenate([cols[f[either]], b])
        lp.add_rows(np.hstack([eye, -5 * eye]), both, 0, np.inf)
        lp.add_rows(np.hstack([eye, -hi[either] * eye]), both, -np.inf, 0)
    shown = ~hidden[f]
    if shown.any():  # x = t unless hidden: x - (hi - t) z <= t and x + (t - lo) z >= t
        cand, tc = f[shown], t[f[shown]]
        z[cand] = lp.add_vars(np.zeros(len(cand)), 1.0, hide_cost[cand] if hide_cost is not None else 0.0)
        eye = np.eye(len(cand))
        both = np.concatenate([cols[cand], z[cand]])
        lp.add_rows(np.hstack([eye, -(hi[shown] - tc) * eye]), both, -np.inf, tc)
        lp.add_rows(np.hstack([eye, (tc - lo[shown]) * eye]), both, tc, np.inf)
    return cols, z


def _pinned(p: _Period, hidden: np.ndarray) -> np.ndarray:
    """Hidden cells worked out by subtraction alone: repeatedly, the only unknown left in an equation."""
    known = ~hidden
    nonzero = p.eq != 0
    while True:
        alone = nonzero[(nonzero & ~known).sum(axis=1) == 1] & ~known
        if not alone.any():
            return hidden & known
        known = known | alone.any(axis=0)


def _components(p: _Period, cells: np.ndarray) -> np.ndarray:
    """Label the `cells` (bool) by the connected groups the relations tie them into (-1 for other cells)."""
    idx = np.flatnonzero(cells)
    mat = np.vstack([p.eq, p.le])[:, idx] != 0
    graph = sparse.bmat([[None, sparse.csr_array(mat)], [sparse.csr_array(mat.T), None]], format="csr")
    label = np.full(len(cells), -1)
    if len(idx):
        _, comp = connected_components(graph, directed=False)
        label[idx] = comp[len(mat):]
    return label


def _status_array(frame: pd.DataFrame, cells: pd.DataFrame, status: pd.Series) -> np.ndarray:
    if not status.index.equals(cells.index):
        if len(status) != len(cells) or not status.index.sort_values().equals(cells.index.sort_values()):
            raise ValueError("status must be aligned with cells")
        status = status.reindex(cells.index)
    values = status.fillna(SHOWN).astype(str).to_numpy()[frame["label"].to_numpy()]
    if not np.isin(values, [SHOWN, PRIMARY, SECONDARY]).all():
        raise ValueError("status must be '', 'primary' or 'secondary'")
    small = is_small(frame["value"]).to_numpy()
    if (values == PRIMARY)[~small].any():
        raise ValueError("a primary cell must hold 1 to 4 (it is published as 'fewer than 5')")
    if (values == SECONDARY)[small].any():
        raise ValueError("a secondary cell cannot hold 1 to 4 (those are primary)")
    return values


def audit(cells: pd.DataFrame, status: pd.Series, *, variant_sum: VariantSum | None = None,
          at_most: AtMost = ()) -> pd.DataFrame:
    """The exact integer range an outsider can narrow each suppressed cell to, from everything published together.

    `status` (aligned with `cells`): '' shown, 'primary' (published as 1 to 4), 'secondary' (0 or 5 and more). A cell
    is `revealed` when its range is one number. Bounds are exact MILP optima (scipy/HiGHS): a min and a max per cell
    that subtraction alone does not pin, batched across cells and periods because each HiGHS call has a fixed cost.
    An upper bound the outsider cannot limit shows as the period's total of all cells (a big M). Periods without a
    suppressed cell are not modelled.
    """
    frame = _prepare(cells)
    labels = _status_array(frame, cells, status)
    suppressed = labels != SHOWN
    models = _periods(frame, variant_sum, at_most, suppressed)
    lower = frame["value"].to_numpy().copy()
    upper = lower.copy()
    lp, jobs = _Milp(), []  # jobs: (frame row, +1 for its minimum / -1 for its maximum, x column)
    for p in models.values():
        primary, hidden = labels[p.rows] == PRIMARY, suppressed[p.rows]
        unknown = hidden & ~_pinned(p, hidden)  # pinned cells keep lower == upper == value
        comp = _components(p, unknown)
        for k in np.unique(comp[unknown]):
            goals = [(i, sense) for i in np.flatnonzero(comp == k) for sense in (1, -1)
                     # skip an end of the range the true value already sits at: 1 (or 0) below, 4 above a primary
                     if not (sense == 1 and p.value[i] == (1 if primary[i] else 0) or sense == -1 and primary[i]
                             and p.value[i] == 4)]
            block = _Milp()
            cols, _ = _block(block, p, comp == k, primary, hidden)
            for (i, sense), offset in zip(goals, lp.extend(block, len(goals)), strict=True):
                lp.set_cost(offset + cols[i], sense)
                jobs.append((p.rows[i], sense, offset + cols[i]))
        if lp.n >= _BATCH_VARIABLES:
            _bounds(lp, jobs, lower, upper)
            lp, jobs = _Milp(), []
    _bounds(lp, jobs, lower, upper)
    out = frame.loc[suppressed, KEY + ["value", "label"]].copy()
    out["status"] = labels[suppressed]
    out["lower"], out["upper"] = lower[suppressed], upper[suppressed]
    out["revealed"] = out["lower"] == out["upper"]
    out = out.sort_values("label")
    out.index = cells.index[out.pop("label").to_numpy()]
    return out


def _bounds(lp: _Milp, jobs: list[tuple[int, int, int]], lower: np.ndarray, upper: np.ndarray) -> None:
    if not jobs:
        return
    x = lp.solve()
    assert x is not None  # raises rather than returning None unless infeasibility is allowed
    for row, sense, col in jobs:
        (lower if sense == 1 else upper)[row] = x[col]


@dataclass
class _Plan:
    """protect's state for one period: what is hidden, and which primaries still lack a witness."""

    p: _Period
    primary: np.ndarray
    hidden: np.ndarray
    eligible: np.ndarray  # shown cells that may be hidden: below force level, 0 or 5 and more
    open: list[int]  # primaries with no witness yet, in key order
    adjacency: tuple  # _adjacency(p)
    lost: list[int] = field(default_factory=list)  # primaries no hiding below force level can protect
    witness: dict[int, np.ndarray] = field(default_factory=dict)  # primary -> the cells its witness moves


def protect(cells: pd.DataFrame, *, variant_sum: VariantSum | None = None, at_most: AtMost = (),
            controlled_quantities: tuple[str, ...] | list[str] | None = None,
            primary_area_types: tuple[str, ...] = ("csp", "unassigned")) -> pd.Series:
    """Status per cell ('' shown, 'primary', 'secondary') such that no primary can be worked out exactly.

    Primary: below force level, a controlled quantity (all if None), and 1 to 4. Then, period by period, each primary
    still open (key order) gets a witness: values for the hidden cells that fit everything published and the labels
    yet move that primary off its true value, so the outsider cannot pin it. Hiding more only widens what the
    outsider must allow, so a witness stays valid, and every open primary it moves is settled with it. The witness
    chosen hides the fewest new cells of 5 or more (the reported cost), then the fewest new cells, then moves the most
    open primaries; remaining ties go to the first found (cells in key order). Witnesses are searched among small
    cycles first (the primary and up to 3 cells balancing every equation, moved by 1 to 3; with other quantities moved
    too when an 'at most' relation binds), else by MILP (scipy/HiGHS), which also proves a primary unprotectable.
    Then secondaries are shown again, largest first, when other witnesses (cycles of up to 6 hidden cells) can
    replace theirs, and any secondary no witness moves is shown again. Force cells and counts of 1 to 4 are never
    secondary. Each step settles one primary, so it ends; an unprotectable primary (no hiding below force level can
    help, e.g. force total 3 with a single non-zero CSP) stays primary and is named in a DisclosureWarning.
    """
    frame = _prepare(cells)
    below = frame["area_type"].ne("force").to_numpy()
    small = is_small(frame["value"]).to_numpy()
    controlled = np.ones(len(frame), dtype=bool)
    if controlled_quantities is not None:
        controlled = frame["quantity"].isin(list(controlled_quantities)).to_numpy()
    # Only areas of these types have their small counts suppressed (the pipeline: CSPs; the unassigned
    # bucket names no place and no residents, so its count is published as the force total is).
    primary = below & controlled & small & frame["area_type"].isin(list(primary_area_types)).to_numpy()
    status = np.where(primary, PRIMARY, SHOWN).astype(object)
    lost: list[int] = []
    for p in _periods(frame, variant_sum, at_most, primary).values():
        plan = _plan(_Plan(p, primary[p.rows], primary[p.rows].copy(), below[p.rows] & ~small[p.rows],
                           list(np.flatnonzero(primary[p.rows])), _adjacency(p)))
        status[p.rows[plan.hidden & ~plan.primary]] = SECONDARY
        lost += list(p.rows[plan.lost])
    if lost:
        keys = frame.loc[lost, KEY].astype(str).agg("/".join, axis=1).tolist()
        warnings.warn(f"{len(lost)} small counts stay derivable whatever is hidden below force level: {keys[:5]}",
                      DisclosureWarning, stacklevel=2)
    out = np.empty(len(frame), dtype=object)
    out[frame["label"].to_numpy()] = status
    return pd.Series(out, index=cells.index, name="status", dtype=object)


def _plan(plan: _Plan) -> _Plan:
    """Greedy: give each open primary, in turn, its cheapest witness and hide what it moves; then prune."""
    p = plan.p
    while plan.open:
        target = plan.open[0]
        x = _cycle_witness(plan, target)
        if x is None:
            x = _milp_witness(plan, target, p.quantity == p.quantity[target], _MOVE)
        if x is None:
            x = _milp_witness(plan, target, np.ones(len(p.value), dtype=bool), None)
        if x is None:
            plan.open.remove(target)
            plan.lost.append(target)
            continue
        moved = x != p.value
        plan.hidden |= moved
        plan.witness.update({i: moved for i in plan.open if moved[i]})
        plan.open = [i for i in plan.open if not moved[i]]
    _prune(plan)
    return plan


def _adjacency(p: _Period) -> tuple[list[list[tuple[int, float]]], list[list[tuple[int, float]]]]:
    """Each cell's equations and each equation's cells, with coefficients, as plain lists (fast for tiny graphs)."""
    rows_of: list[list[tuple[int, float]]] = [[] for _ in range(len(p.value))]
    cells_of: list[list[tuple[int, float]]] = [[] for _ in range(len(p.eq))]
    for r, c in zip(*np.nonzero(p.eq), strict=True):
        rows_of[c].append((int(r), float(p.eq[r, c])))
        cells_of[r].append((int(c), float(p.eq[r, c])))
    return rows_of, cells_of


def _cycles(adjacency: tuple, start: int, movable: np.ndarray, depth: int = 4) -> list[dict[int, int]]:
    """Directions {cell: +1 or -1} with start +1 over at most `depth` movable cells that balance every equation.

    These are the small cycles of the tables (a primary and another cell of its force total; with a variant total,
    the rectangle through a second area; at depth 6, through three areas), by a depth-first search balancing first
    the open equation with the fewest cells.
    """
    rows_of, cells_of = adjacency
    found: dict[tuple[int, ...], dict[int, int]] = {}
    y: dict[int, int] = {}
    residual: dict[int, float] = {}

    def shift(c: int, sign: int) -> None:
        for r, a in rows_of[c]:
            v = residual.get(r, 0.0) + sign * a
            if v:
                residual[r] = v
            else:
                del residual[r]

    def grow() -> None:
        row = min(residual, key=lambda r: (len(cells_of[r]), r))  # fewest branches first
        last = len(y) == depth - 1
        for c, a in cells_of[row]:
            sign = -residual[row] / a
            if c in y or not movable[c] or abs(sign) != 1:
                continue
            if last:  # the one cell left must balance every open row at once
                if len(rows_of[c]) == len(residual) and all(residual.get(r) == -sign * b for r, b in rows_of[c]):
                    found.setdefault(tuple(sorted([*y, c])), {**y, c: int(sign)})
                continue
            y[c] = int(sign)
            shift(c, y[c])
            if residual:
                grow()
            else:
                found.setdefault(tuple(sorted(y)), dict(y))
            shift(c, -y.pop(c))

    if movable[start] and rows_of[start]:
        y[start] = 1
        shift(start, 1)
        grow()
    return list(found.values())


def _prune(plan: _Plan) -> None:
    """Show again each secondary (largest first) whose primaries all find another witness among the other hidden cells.

    The greedy pass may hide a cell that later choices make unnecessary; a replacement witness here (a cycle of up
    to 6 cells) moves only cells already hidden, so showing the cell again costs nothing elsewhere. Last, a secondary
    no witness moves is shown again: so every secondary left has a witness giving it another value (none is revealed).
    """
    p = plan.p
    secondaries = np.flatnonzero(plan.hidden & ~plan.primary)
    for s in secondaries[np.lexsort((secondaries, -p.value[secondaries]))]:
        hidden = plan.hidden.copy()
        hidden[s] = False
        users = [i for i, cells in plan.witness.items() if cells[s]]
        replaced: dict[int, np.ndarray] = {}
        for i in users:
            if i in replaced:
                continue
            x = _cycle_witness(plan, i, hidden, np.zeros_like(hidden), depth=6)
            if x is None:
                break
            replaced.update({j: x != p.value for j in users if x[j] != p.value[j]})
        else:
            plan.hidden = hidden
            plan.witness.update(replaced)
    used = plan.primary.copy()
    for cells in plan.witness.values():
        used |= cells
    plan.hidden &= used


def _cycle_witness(plan: _Plan, target: int, hidden: np.ndarray | None = None,
                   eligible: np.ndarray | None = None, depth: int = 4) -> np.ndarray | None:
    """The cheapest witness among small cycles through the target, moved by 1 to 3 either way, or None.

    If none works within the target's quantity, the same place (area and variant) in other quantities moves too, each
    along a cycle of its own (the few cheapest): reoffenders can only rise with offenders when the two are equal.
    """
    p = plan.p
    hidden = plan.hidden if hidden is None else hidden
    movable = hidden | (plan.eligible if eligible is None else eligible)
    base = _cycle_matrix(plan, target, movable, depth)
    if not len(base):
        return None
    x = _cheapest(plan, base, hidden)
    if x is not None or len(p.le) == 0:
        return x
    same_place = np.flatnonzero((p.slot == p.slot[target]) & (p.quantity != p.quantity[target]) & movable)
    partners = [_fewest(plan, _cycle_matrix(plan, int(cell), movable), hidden) for cell in same_place]
    base = _fewest(plan, base, hidden, 2 * _PARTNER_CYCLES)
    for size in range(1, len(partners) + 1):
        for group in combinations(partners, size):
            directions = base
            for cycles in group:
                if not len(cycles):
                    break
                directions = (directions[:, None, :] + cycles[None, :, :]).reshape(-1, len(p.value))
            else:
                x = _cheapest(plan, directions, hidden)
                if x is not None:
                    return x
    return None


def _fewest(plan: _Plan, cycles: np.ndarray, hidden: np.ndarray, keep: int = _PARTNER_CYCLES) -> np.ndarray:
    """The `keep` cycles hiding the fewest new cells (of 5 or more first) among those some step fits the labels of."""
    p = plan.p
    steps = p.value + cycles[:, None, :] * _STEPS[None, :, None]
    moved = (cycles != 0)[:, None, :]
    bad = (steps < 0) | moved & np.where(plan.primary, (steps < SMALL_MIN) | (steps > SMALL_MAX),
                                         (steps >= SMALL_MIN) & (steps <= SMALL_MAX))
    cycles = cycles[~bad.any(axis=2).all(axis=1)]
    new = (cycles != 0) & ~hidden
    order = np.lexsort((np.arange(len(cycles)), new.sum(axis=1), (new & (p.value >= 5)).sum(axis=1)))
    return cycles[order[:keep]]


def _cycle_matrix(plan: _Plan, start: int, movable: np.ndarray, depth: int = 4) -> np.ndarray:
    """_cycles as rows of a matrix over the period's cells."""
    cycles = _cycles(plan.adjacency, start, movable, depth)
    out = np.zeros((len(cycles), len(plan.p.value)))
    for k, cycle in enumerate(cycles):
        out[k, list(cycle)] = list(cycle.values())
    return out


def _cheapest(plan: _Plan, directions: np.ndarray, hidden: np.ndarray) -> np.ndarray | None:
    """Of true values + step * direction (step 1 to 3 either way), the cheapest consistent with the labels."""
    p = plan.p
    support = np.flatnonzero(directions.any(axis=0))  # only these cells move: work on them alone
    if not len(support):
        return None
    d = directions[:, support].astype(np.int64)
    y = (d[:, None, :] * _STEPS[None, :, None]).reshape(-1, len(support))
    x = p.value[support] + y
    moved = np.repeat(d != 0, len(_STEPS), axis=0)
    primary = plan.primary[support]
    bad = (x < 0) | moved & np.where(primary, (x < SMALL_MIN) | (x > SMALL_MAX), (x >= SMALL_MIN) & (x <= SMALL_MAX))
    ok = ~bad.any(axis=1)
    rows = np.flatnonzero(p.le[:, support].any(axis=1)) if len(p.le) else np.zeros(0, dtype=int)
    if len(rows):
        ok &= (y @ p.le[rows][:, support].T + p.le[rows] @ p.value <= 0).all(axis=1)
    if not ok.any():
        return None
    new = (d != 0) & ~hidden[support]
    large = np.repeat((new & (p.value[support] >= 5)).sum(axis=1), len(_STEPS))
    count = np.repeat(new.sum(axis=1), len(_STEPS))
    open_moved = np.repeat((d != 0)[:, np.isin(support, plan.open)].sum(axis=1), len(_STEPS))
    best = np.lexsort((np.arange(len(x)), -open_moved, count, large, ~ok))[0]
    out = p.value.copy()
    out[support] = x[best]
    return out


def _milp_witness(plan: _Plan, target: int, scope: np.ndarray, move: int | None) -> np.ndarray | None:
    """The cheapest witness for the target by MILP, the `scope` cells free (within `move` of their values), or None."""
    p = plan.p
    free = scope & (plan.hidden | plan.eligible)
    n_cand = int((free & ~plan.hidden).sum())
    per_large = n_cand + 1  # one more cell of 5 or more outweighs any number of zeros
    cost = np.where(p.value >= 5, per_large + 1, 1).astype(float)
    lp = _Milp()
    cols, _ = _block(lp, p, free, plan.primary, plan.hidden, cost, move)
    t = p.value[target]
    d = lp.add_vars([0], 1.0)[0]
    # up (d = 1): x >= t + 1; down (d = 0): x <= t - 1
    lp.add_rows(np.array([[1.0, -t]]), [cols[target], d], 1, np.inf)
    lp.add_rows(np.array([[1.0, t - 5]]), [cols[target], d], -np.inf, t - 1)
    x = lp.solve(allow_infeasible=True)
    if x is None:
        return None
    out = p.value.copy()
    out[free] = x[cols[free]]
    return out
