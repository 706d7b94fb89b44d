"""Turn (target - position) into transfer, repair and buy orders that pay for themselves:
:func:`plan_restock`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from optimizer.restock.inputs import RestockInputs
from optimizer.restock.lines import (
    BUY,
    MAX_PRUNE_ROUNDS,
    REPAIR,
    TRANSFER,
    Lines,
    Valued,
    fit,
    prune,
    rank,
)
from optimizer.restock.orders import excess_list, plan_repairs
from optimizer.restock.transfers import excess_and_shortfall, plan_transfers, transfer_lines
from optimizer.restock.value import OrderModel, PoissonProxy

MIN_GAIN = 1e-3
"""On-time requests per year an order line must add to be proposed."""
EXACT_FACTOR = 2.0
"""The stocking model values a line exactly when its first-order gain is below this many times
the floor (``exact_below``), to first order above."""
MAX_CAP_ROUNDS = 8
"""Rounds fitting the valued buys in what a cap leaves after the contractual units (a cut buy
at a location with a minimum turns into contractual units)."""
MONEY_UNIT = 10_000.0
"""Gain per money is written per this much currency (``gain_per_10k``)."""

CUT_COLUMNS = ("part_id", "to_depot", "quantity", "unit_cost", "amount", "gain_per_year",
               "gain_per_10k", "reason")
DROPPED_COLUMNS = ("kind", "part_id", "from_depot", "to_depot", "quantity", "money",
                   "gain_per_year", "reason")
CONTRACT_COLUMNS = ("part_id", "to_depot", "quantity", "unit_cost", "amount", "minimum_units",
                    "gain_per_year", "gain_per_10k", "lead_time_days", "reason")
MARGINAL_COLUMNS = ("rank", "part_id", "to_depot", "quantity", "amount", "gain_per_year",
                    "gain_per_10k", "cumulative_amount", "cumulative_gain_per_year", "proposed")


@dataclass(frozen=True, eq=False)
class RestockPlan:
    """The orders of one run and the positions they lead to.

    Attributes
    ----------
    transfers, repairs, buys : proposed order tables; each line carries ``gain_per_year`` (on-time
        requests per year it adds on the positions after every order, leave one out),
        ``gain_per_10k`` (the same per 10,000 of its money) and ``gain_<class>`` per class.
    cut : buy units left out by the budget (``reason`` budget) or deferred by the step cap
        (``step_cap``), with the gain they had on the uncut plan.
    dropped : candidate lines not proposed because they add less than ``min_gain`` a year.
    contractual : buys that only hold a contractual minimum (:mod:`optimizer.restock.minimums`),
        with the minimum, the reason and the service they add (often none); never cut by a cap.
    excess : excess & obsolete stock (:func:`optimizer.restock.orders.excess_list`).
    marginal : the buys (proposed and cut) most gain per money first, with cumulative amounts.
    position_before, position_after : (P, L) inventory positions before and after every order.
    flow : (P, L, L) transfer units from i to j; repair_credit, repair_sent, bought, cut_units,
        dropped_units : (P, L) units (dropped: at the destination).
    lines, planned_qty, planned_gains, placed_qty : every candidate line, the quantity that
        pays for itself without a cap and its gains (n, C), and the quantity proposed (the glide
        path continues from them).
    """

    inputs: RestockInputs
    transfers: pd.DataFrame
    repairs: pd.DataFrame
    buys: pd.DataFrame
    cut: pd.DataFrame
    dropped: pd.DataFrame
    contractual: pd.DataFrame
    excess: pd.DataFrame
    marginal: pd.DataFrame
    position_before: np.ndarray
    position_after: np.ndarray
    flow: np.ndarray
    repair_credit: np.ndarray
    repair_sent: np.ndarray
    bought: np.ndarray
    cut_units: np.ndarray
    dropped_units: np.ndarray
    budget: float | None
    max_step: float | None
    min_gain: float
    classes: tuple[str, ...]
    lines: Lines
    planned_qty: np.ndarray
    planned_gains: np.ndarray
    placed_qty: np.ndarray
    contract_units: np.ndarray | None = None

    @property
    def contract_amount(self) -> float:
        return float(self.contractual["amount"].sum())

    @property
    def buy_amount(self) -> float:
        return float(self.buys["amount"].sum())

    @property
    def cut_amount(self) -> float:
        return float(self.cut["amount"].sum())

    @property
    def transfer_cost(self) -> float:
        return float(self.transfers["transport_cost"].sum())

    @property
    def repair_cost(self) -> float:
        return float(self.repairs["repair_cost"].sum())

    @property
    def excess_value(self) -> float:
        return float(self.excess["value"].sum())

    def totals(self) -> dict[str, float | int]:
        """Headline figures (currency and units)."""
        return {
            "transfer_units": int(self.flow.sum()), "transfer_cost": self.transfer_cost,
            "repair_units": int(self.repair_sent.sum()), "repair_cost": self.repair_cost,
            "repair_expected_serviceable": int(self.repair_credit.sum()),
            "buy_units": int(self.bought.sum()), "buy_amount": self.buy_amount,
            "cut_units": int(self.cut_units.sum()), "cut_amount": self.cut_amount,
            "contractual_units": int(self.contractual["quantity"].sum()),
            "contractual_amount": self.contract_amount,
            "dropped_lines": len(self.dropped),
            "dropped_money": float(self.dropped["money"].sum()),
            "gain_per_year": float(sum(df["gain_per_year"].sum() for df in
                                       (self.transfers, self.repairs, self.buys))),
            "excess_units": int(self.excess["quantity"].sum()), "excess_value": self.excess_value,
            "shortfall_units": int(np.clip(self.inputs.target - self.position_before, 0,
                                           None).sum()),
        }


def class_column(label: str) -> str:
    """``gain_<label>`` with every run of non-alphanumerics as ``_`` (``gold/sev1`` ->
    ``gain_gold_sev1``)."""
    return "gain_" + re.sub(r"[^0-9A-Za-z]+", "_", label).strip("_")


def candidate_lines(inp: RestockInputs, flow: np.ndarray, repairs: pd.DataFrame,
                    credit: np.ndarray, need: np.ndarray) -> Lines:
    """Transfers (one per part, source, destination), repairs (one per part and destination,
    the expected serviceable units) and buys (one per part and destination) as lines."""
    p, i, j = np.nonzero(flow)
    unit = inp.transfer_cost[inp.part_size[p], i, j] if len(p) else np.zeros(0)
    tl = Lines.make(TRANSFER, p, i, j, flow[p, i, j], unit * flow[p, i, j])
    rp, rj = np.nonzero(credit)
    pix = {pid: k for k, pid in enumerate(inp.part_ids)}
    lix = {d: k for k, d in enumerate(inp.location_ids)}
    money = np.zeros(inp.target.shape)
    for r in repairs.itertuples(index=False):
        money[pix[r.part_id], lix[r.to_depot]] += r.repair_cost
    rl = Lines.make(REPAIR, rp, np.full(len(rp), -1), rj, credit[rp, rj], money[rp, rj])
    bp, bj = np.nonzero(need)
    bl = Lines.make(BUY, bp, np.full(len(bp), -1), bj, need[bp, bj],
                    inp.unit_cost[bp] * need[bp, bj])
    return Lines.concat(tl, rl, bl)


def add_top_up(lines: Lines, qty: np.ndarray, extra: np.ndarray, unit_cost: np.ndarray
               ) -> tuple[Lines, np.ndarray]:
    """Lines and quantities with ``extra`` (P, L) buy units added (to the buy line of that part
    and location, or as new buy lines)."""
    qty = np.array(qty, dtype=np.int64, copy=True)
    buys = {(int(p), int(j)): k for k, (p, j) in enumerate(zip(lines.part, lines.dst, strict=True))
            if lines.kind[k] == BUY}
    new_p, new_j, new_q = [], [], []
    for p, j in zip(*np.nonzero(extra), strict=True):
        k = buys.get((int(p), int(j)))
        if k is None:
            new_p.append(p), new_j.append(j), new_q.append(int(extra[p, j]))
        else:
            qty[k] += int(extra[p, j])
    if not new_p:
        qty_max = np.maximum(lines.qty, qty)
        return Lines(lines.kind, lines.part, lines.src, lines.dst, qty_max,
                     lines.unit_money() * qty_max), qty
    p, j, q = np.array(new_p), np.array(new_j), np.array(new_q)
    add = Lines.make(BUY, p, np.full(len(p), -1), j, q, unit_cost[p] * q)
    merged = Lines.concat(lines, add)
    qty = np.concatenate([qty, q])
    qty_max = np.maximum(merged.qty, qty)
    return Lines(merged.kind, merged.part, merged.src, merged.dst, qty_max,
                 merged.unit_money() * qty_max), qty


def plan_restock(inp: RestockInputs, budget: float | None = None, *,
                 excess_quarters: float = 4.0, model: OrderModel | None = None,
                 max_step: float | None = None, min_gain: float = MIN_GAIN,
                 minimums: tuple[np.ndarray, np.ndarray] | None = None) -> RestockPlan:
    """Transfers, then repairs, then buys, each proposed only when it pays for itself.

    Candidates: transfers of excess to shortfalls, repairs of defective units, buys of what is
    still short of target (as before). Then, on the positions every order leads to,
    :func:`optimizer.restock.lines.prune` drops lines adding less than ``min_gain`` on-time
    requests a year (``model``: the stocking model, or the Poisson proxy of
    :mod:`optimizer.restock.value`); the model may top up classes left below their aimed share;
    ``budget`` and ``max_step`` (currency) cap the buy amount, keeping the most gain per money
    first; what the cap leaves out is on the cut list (``budget`` or ``step_cap``).

    ``minimums``: (P, L) units and (P, L) reasons of contractual minimums
    (:func:`optimizer.restock.minimums.minimum_levels`): what the valued orders leave below a
    minimum is bought as a contractual line, never cut; the valued buys fit in what the cap
    leaves, and are valued on the stock with the contractual units.
    """
    for name, v in (("budget", budget), ("max_step", max_step)):
        if v is not None and not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite amount >= 0, got {v}")
    if not min_gain >= 0:
        raise ValueError(f"min_gain must be >= 0, got {min_gain}")
    model = PoissonProxy(inp) if model is None else model
    floor_units = reasons = None
    if minimums is not None:
        floor_units, reasons = np.asarray(minimums[0], dtype=np.int64), minimums[1]
        if floor_units.shape != inp.target.shape or np.shape(reasons) != inp.target.shape:
            raise ValueError(f"minimums must be two {inp.target.shape} arrays")
        inp = replace(inp, target=np.maximum(inp.target, floor_units))  # never excess
    before = inp.positions.inventory_position
    _, flow0 = plan_transfers(inp)
    after_t = before - flow0.sum(axis=2) + flow0.sum(axis=1)
    short = np.clip(inp.target - after_t, 0, None)
    repairs0, credit0, sent0 = plan_repairs(inp, short)
    need = np.clip(inp.target - after_t - credit0, 0, None)
    lines = candidate_lines(inp, flow0, repairs0, credit0, need)
    planned = prune(model, lines, before, lines.qty, min_gain)
    extra = model.top_up(lines.positions(before, planned.qty), min_gain)
    if extra.any():
        n0 = len(lines)
        lines, qty = add_top_up(lines, planned.qty, extra, inp.unit_cost)
        grown = np.r_[qty[:n0] != planned.qty, np.ones(len(lines) - n0, dtype=bool)]
        touched = np.isin(lines.part, np.nonzero(extra.any(axis=1))[0])
        known = np.r_[planned.gains, np.zeros((len(lines) - n0, planned.gains.shape[1]))]
        first = np.r_[planned.dropped_gain, np.zeros(len(lines) - n0)]
        # added stock lowers the other lines' gains (they back each other up): value them all
        planned = prune(model, lines, before, qty, min_gain, gains=known, stale=grown | touched)
        planned = Valued(planned.qty, planned.gains, planned.dropped_gain + first)
    floor = np.zeros_like(before)
    if floor_units is not None:
        floor, planned = contract_floor(model, lines, before, planned, floor_units, min_gain)
    caps = [c for c in (budget, max_step) if c is not None]
    cap = min(caps) if caps else None
    order = rank(lines, planned.gains)
    order = order[planned.qty[order] > 0]
    final = planned
    unit = lines.unit_money()
    for _ in range(MAX_CAP_ROUNDS):  # the contractual units take their money first
        if cap is None:
            break
        left = _left(cap, inp, floor)
        if float(unit[order] @ planned.qty[order]) <= left + 1e-6:
            break
        capped = fit(lines, order, planned.qty, left)
        changed = np.isin(lines.part, lines.part[capped != planned.qty])
        final = prune(model, lines, before + floor, capped, min_gain, gains=planned.gains,
                      stale=changed)
        if floor_units is None:
            break
        grown = np.clip(floor_units - lines.positions(before, final.qty), 0, None)
        if np.array_equal(grown, floor):
            break
        floor = grown
    if floor_units is not None:
        floor, final = contract_floor(model, lines, before, final, floor_units, min_gain)
        if cap is not None and float(unit @ final.qty) > _left(cap, inp, floor) + 1e-6:
            # the rounds ran out with the valued buys over what the contractual units leave:
            # fit them in what the minimums would take with no valued line at all (never less
            # than they take now), so the cap holds
            floor0 = np.clip(floor_units - lines.positions(before, np.zeros_like(final.qty)), 0,
                             None)
            capped = fit(lines, order, final.qty, _left(cap, inp, floor0))
            final = prune(model, lines, before + floor0, capped, min_gain, gains=final.gains,
                          stale=np.isin(lines.part, lines.part[capped != final.qty]))
            floor, final = contract_floor(model, lines, before, final, floor_units, min_gain)
    reason = "budget" if max_step is None or (budget is not None and budget <= max_step) \
        else "step_cap"
    contractual = contract_table(inp, model, lines.positions(before, final.qty) + floor, floor,
                                 floor_units, reasons)
    return _assemble(inp, lines, before, planned, final, order, repairs0, sent0, credit0,
                     model.classes, budget, max_step, min_gain, reason, excess_quarters,
                     floor, contractual)


def _left(cap: float, inp: RestockInputs, floor: np.ndarray) -> float:
    """What ``cap`` leaves for valued lines after the contractual units ``floor`` (P, L)."""
    return max(cap - float(inp.unit_cost @ floor.sum(axis=1)), 0.0)


def contract_floor(model: OrderModel, lines: Lines, before: np.ndarray, valued: Valued,
                   minimum: np.ndarray, min_gain: float) -> tuple[np.ndarray, Valued]:
    """(P, L) contractual units that lift the positions the valued lines lead to up to
    ``minimum``, and the lines valued again on top of them (a line the contractual units make
    worthless is dropped, its units become contractual)."""
    floor = np.zeros_like(before)
    for _ in range(MAX_PRUNE_ROUNDS):
        new = np.clip(minimum - lines.positions(before, valued.qty), 0, None)
        if np.array_equal(new, floor):
            break
        floor = new
        touched = (valued.qty > 0) & np.isin(lines.part, np.nonzero(floor.any(axis=1))[0])
        again = prune(model, lines, before + floor, valued.qty, min_gain, gains=valued.gains,
                      stale=touched)
        valued = Valued(again.qty, again.gains, valued.dropped_gain + again.dropped_gain)
    return floor, valued


def contract_table(inp: RestockInputs, model: OrderModel, after: np.ndarray, floor: np.ndarray,
                   minimum: np.ndarray | None, reasons: np.ndarray | None) -> pd.DataFrame:
    """The contractual buys of ``floor`` (P, L) with the service each adds on ``after`` (the
    positions after every order, leave one out)."""
    p, j = np.nonzero(floor)
    if len(p) == 0:
        return pd.DataFrame(columns=list(CONTRACT_COLUMNS))
    q = floor[p, j]
    deltas = np.zeros((len(p), floor.shape[1]), dtype=np.int64)
    deltas[np.arange(len(p)), j] = q
    g = np.asarray(model.gains(after, p, deltas)).sum(axis=1)
    amount = inp.unit_cost[p] * q
    return pd.DataFrame({
        "part_id": np.asarray(inp.part_ids, dtype=object)[p],
        "to_depot": np.asarray(inp.location_ids, dtype=object)[j], "quantity": q,
        "unit_cost": inp.unit_cost[p], "amount": np.round(amount, 2),
        "minimum_units": minimum[p, j], "gain_per_year": np.round(g, 6),
        "gain_per_10k": np.round(g * MONEY_UNIT / amount, 6),
        "lead_time_days": inp.inbound_days[p, j].astype(float),
        "reason": reasons[p, j]}, columns=list(CONTRACT_COLUMNS))


def _gain_frame(gains: np.ndarray, classes: tuple[str, ...], money: np.ndarray) -> dict:
    total = gains.sum(axis=1) if gains.size else np.zeros(len(money))
    per = np.divide(total * MONEY_UNIT, money, out=np.zeros(len(money)), where=money > 0)
    out = {"gain_per_year": np.round(total, 6), "gain_per_10k": np.round(per, 6)}
    if len(classes) > 1:
        for c, label in enumerate(classes):
            out[class_column(label)] = np.round(gains[:, c], 6)
    return out


def _assemble(inp: RestockInputs, lines: Lines, before: np.ndarray, planned, final, order,
              repairs0: pd.DataFrame, sent0: np.ndarray, credit0: np.ndarray,
              classes: tuple[str, ...], budget: float | None, max_step: float | None,
              min_gain: float, reason: str, excess_quarters: float, floor: np.ndarray,
              contractual: pd.DataFrame) -> RestockPlan:
    P, L = inp.target.shape
    qty = final.qty
    gains = final.gains
    ids = np.asarray(inp.part_ids, dtype=object)
    locs = np.asarray(inp.location_ids, dtype=object)
    unit = lines.unit_money()
    # transfers
    t = np.nonzero((lines.kind == TRANSFER) & (qty > 0))[0]
    flow = np.zeros((P, L, L), dtype=np.int64)
    flow[lines.part[t], lines.src[t], lines.dst[t]] = qty[t]
    transfers = transfer_lines(inp, flow)
    tix = {(p, i, j): k for k, p, i, j in zip(t, lines.part[t], lines.src[t], lines.dst[t],
                                               strict=True)}
    rows = [tix[(pix, i, j)] for pix, i, j in zip(
        [inp.part_ids.index(x) for x in transfers["part_id"]],
        [inp.location_ids.index(x) for x in transfers["from_depot"]],
        [inp.location_ids.index(x) for x in transfers["to_depot"]], strict=True)]
    rows = np.array(rows, dtype=np.int64)
    transfers = transfers.assign(**_gain_frame(gains[rows], classes, unit[rows] * qty[rows]))
    # repairs: a credit line's gain shared over its rows by units sent
    r = np.nonzero((lines.kind == REPAIR) & (qty > 0))[0]
    kept = {(int(lines.part[k]), int(lines.dst[k])): int(k) for k in r}
    rp = np.array([inp.part_ids.index(x) for x in repairs0["part_id"]], dtype=np.int64)
    rj = np.array([inp.location_ids.index(x) for x in repairs0["to_depot"]], dtype=np.int64)
    on = np.array([(int(a), int(b)) in kept for a, b in zip(rp, rj, strict=True)], dtype=bool)
    repairs = repairs0[on].reset_index(drop=True)
    credit = np.zeros((P, L), dtype=np.int64)
    credit[lines.part[r], lines.dst[r]] = qty[r]
    sent = np.zeros((P, L), dtype=np.int64)
    ri = np.array([inp.location_ids.index(x) for x in repairs["from_depot"]], dtype=np.int64)
    q_rows = repairs["quantity"].to_numpy(dtype=np.int64)
    np.add.at(sent, (rp[on], ri), q_rows)
    line_of = np.array([kept[(int(a), int(b))] for a, b in zip(rp[on], rj[on], strict=True)],
                       dtype=np.int64)
    per_line = np.zeros(len(lines))
    np.add.at(per_line, line_of, q_rows)
    share = q_rows / np.maximum(per_line[line_of], 1) if len(line_of) else np.zeros(0)
    g_rep = gains[line_of] * share[:, None]
    repairs = repairs.assign(**_gain_frame(g_rep, classes, repairs["repair_cost"].to_numpy()))
    # buys
    b = np.nonzero((lines.kind == BUY) & (qty > 0))[0]
    bought = np.zeros((P, L), dtype=np.int64)
    np.add.at(bought, (lines.part[b], lines.dst[b]), qty[b])
    buys = pd.DataFrame({
        "part_id": ids[lines.part[b]], "to_depot": locs[lines.dst[b]],
        "quantity": qty[b].astype(np.int64), "unit_cost": inp.unit_cost[lines.part[b]],
        "amount": np.round(unit[b] * qty[b], 2),
        "lead_time_days": inp.inbound_days[lines.part[b], lines.dst[b]].astype(float),
        **_gain_frame(gains[b], classes, unit[b] * qty[b])})
    # cut by the cap
    covered = np.where(lines.kind == BUY, floor[lines.part, lines.dst], 0)  # now contractual
    c = np.nonzero((lines.kind == BUY) & (planned.qty > qty + covered))[0]
    cq = planned.qty[c] - qty[c] - covered[c]
    cut_units = np.zeros((P, L), dtype=np.int64)
    np.add.at(cut_units, (lines.part[c], lines.dst[c]), cq)
    gshare = planned.gains[c] * (cq / np.maximum(planned.qty[c], 1))[:, None]
    cut = pd.DataFrame({
        "part_id": ids[lines.part[c]], "to_depot": locs[lines.dst[c]], "quantity": cq,
        "unit_cost": inp.unit_cost[lines.part[c]], "amount": np.round(unit[c] * cq, 2),
        **{k: v for k, v in _gain_frame(gshare, classes, unit[c] * cq).items()
           if k in ("gain_per_year", "gain_per_10k")},
        "reason": np.full(len(c), reason, dtype=object)}, columns=list(CUT_COLUMNS))
    # dropped: candidate units no plan keeps
    kept_qty = np.maximum(qty, planned.qty) + covered
    d = np.nonzero(lines.qty > kept_qty)[0]
    dq = lines.qty[d] - kept_qty[d]
    dropped_units = np.zeros((P, L), dtype=np.int64)
    np.add.at(dropped_units, (lines.part[d], lines.dst[d]), dq)
    dropped = pd.DataFrame({
        "kind": lines.kind[d], "part_id": ids[lines.part[d]],
        "from_depot": np.where(lines.src[d] >= 0, locs[np.maximum(lines.src[d], 0)], ""),
        "to_depot": locs[lines.dst[d]], "quantity": dq, "money": np.round(unit[d] * dq, 2),
        "gain_per_year": np.round(planned.dropped_gain[d], 6),
        "reason": np.full(len(d), f"adds less than {min_gain:g} on-time requests a year",
                          dtype=object)}, columns=list(DROPPED_COLUMNS))
    # marginal curve: planned buys, most gain per money first
    g_tot = planned.gains.sum(axis=1)
    money_o = unit[order] * planned.qty[order]
    per = np.divide(g_tot[order] * MONEY_UNIT, money_o, out=np.zeros(len(order)),
                    where=money_o > 0)
    marginal = pd.DataFrame({
        "rank": np.arange(1, len(order) + 1), "part_id": ids[lines.part[order]],
        "to_depot": locs[lines.dst[order]], "quantity": planned.qty[order],
        "amount": np.round(money_o, 2), "gain_per_year": np.round(g_tot[order], 6),
        "gain_per_10k": np.round(per, 6), "cumulative_amount": np.round(np.cumsum(money_o), 2),
        "cumulative_gain_per_year": np.round(np.cumsum(g_tot[order]), 6),
        "proposed": qty[order] > 0}, columns=list(MARGINAL_COLUMNS))
    after = lines.positions(before, qty) + floor
    shelf_after = inp.positions.free_on_hand - flow.sum(axis=2)
    excess = excess_list(inp, after, shelf_after, excess_quarters)
    return RestockPlan(inp, transfers, repairs, buys, cut, dropped, contractual, excess,
                       marginal, before, after, flow, credit, sent, bought, cut_units,
                       dropped_units, budget, max_step, min_gain, tuple(classes), lines,
                       planned.qty, planned.gains, qty, floor)


__all__ = ["MIN_GAIN", "RestockPlan", "excess_and_shortfall", "plan_restock"]
