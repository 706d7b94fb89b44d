"""Order lines as level changes, and which of them are proposed.

Every candidate order is a line: a **transfer** (units leave ``src`` and land at ``dst``), a
**repair** (the expected serviceable units land at ``dst``; ``src`` -1) or a **buy** (units land at
``dst``; ``src`` -1), each with its money (transport, repair or buy amount). The run proposes
the lines that pay for themselves:

1. :func:`prune`: on the levels all active lines lead to, every line is valued (leave one out,
   :class:`optimizer.restock.value.OrderModel`); lines adding less than ``min_gain`` on-time
   requests a year are dropped; repeated until every line adds at least ``min_gain``;
2. :func:`rank`: buys by gain per money, most valuable first;
3. :func:`fit`: under a cap on the buy amount the most valuable buys are kept while they fit (the
   first that does not fit keeps the units that do; cheaper ones further down may still fit), so
   a budget cut removes the least valuable first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from optimizer.restock.value import OrderModel

TRANSFER, REPAIR, BUY = "transfer", "repair", "buy"
MAX_PRUNE_ROUNDS = 8
"""Prune rounds (each values the lines of the parts the previous round changed)."""


@dataclass(frozen=True, eq=False)
class Lines:
    """n order lines: ``kind`` (n,) str, ``part``, ``src`` (-1: none), ``dst`` (n,) int,
    ``qty`` (n,) int units landing at ``dst``, ``money`` (n,) currency of the whole line."""

    kind: np.ndarray
    part: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    qty: np.ndarray
    money: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def deltas(self, L: int, qty: np.ndarray | None = None) -> np.ndarray:
        """(n, L) level change of each line's part (``qty`` overrides the quantities)."""
        q = self.qty if qty is None else qty
        d = np.zeros((len(self), L), dtype=np.int64)
        n = np.arange(len(self))
        d[n, self.dst] += q
        has_src = self.src >= 0
        d[n[has_src], self.src[has_src]] -= q[has_src]
        return d

    def positions(self, before: np.ndarray, qty: np.ndarray) -> np.ndarray:
        """(P, L) positions after the lines with quantities ``qty`` (0 = not placed)."""
        out = np.array(before, dtype=np.int64, copy=True)
        np.add.at(out, (self.part, self.dst), qty)
        s = self.src >= 0
        np.subtract.at(out, (self.part[s], self.src[s]), qty[s])
        return out

    def unit_money(self) -> np.ndarray:
        """(n,) money per unit of each line."""
        return np.divide(self.money, self.qty, out=np.zeros(len(self)), where=self.qty > 0)

    @staticmethod
    def concat(*parts: Lines) -> Lines:
        return Lines(*(np.concatenate([getattr(x, f) for x in parts]) for f in
                       ("kind", "part", "src", "dst", "qty", "money")))

    @staticmethod
    def make(kind: str, part, src, dst, qty, money) -> Lines:
        part = np.asarray(part, dtype=np.int64)
        return Lines(np.full(len(part), kind, dtype=object), part,
                     np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64),
                     np.asarray(qty, dtype=np.int64), np.asarray(money, dtype=float))


@dataclass(frozen=True, eq=False)
class Valued:
    """Quantities placed (n,), the gains (n, C) of the placed quantities on the levels they
    lead to (leave one out; 0 for lines not placed) and, per line, the gain per year the units
    taken off showed when they were taken off (``dropped_gain``, (n,))."""

    qty: np.ndarray
    gains: np.ndarray
    dropped_gain: np.ndarray


def value(model: OrderModel, lines: Lines, before: np.ndarray, qty: np.ndarray,
          which: np.ndarray | None = None) -> np.ndarray:
    """(n, C) gains of the lines with quantities ``qty`` on the positions they lead to, for the
    lines in ``which`` (bool, default all placed ones; the others 0)."""
    out = np.zeros((len(lines), len(model.classes)))
    on = np.nonzero((qty > 0) if which is None else (qty > 0) & which)[0]
    if on.size:
        pos = lines.positions(before, qty)
        L = pos.shape[1]
        out[on] = model.gains(pos, lines.part[on], lines.deltas(L, qty)[on])
    return out


def prune(model: OrderModel, lines: Lines, before: np.ndarray, qty: np.ndarray,
          min_gain: float, *, gains: np.ndarray | None = None,
          stale: np.ndarray | None = None) -> Valued:
    """Drop lines adding less than ``min_gain`` on-time requests a year.

    ``gains`` (n, C) are known gains of the lines not in ``stale`` (bool; default: every line is
    valued). Lines of one part interact, so after each round the remaining lines of the parts
    that lost one are valued again on the new levels.
    """
    qty = np.array(qty, dtype=np.int64, copy=True)
    g = np.zeros((len(lines), len(model.classes))) if gains is None else np.array(gains)
    need = np.ones(len(lines), dtype=bool) if stale is None else np.asarray(stale, dtype=bool)
    dropped = np.zeros(len(lines))
    for _ in range(MAX_PRUNE_ROUNDS):
        if need.any():
            g[need] = value(model, lines, before, qty, need)[need]
        low = (qty > 0) & (g.sum(axis=1) < min_gain)
        if not low.any():
            break
        qty[low] = 0
        dropped[low] = g[low].sum(axis=1)
        g[low] = 0.0
        need = (qty > 0) & np.isin(lines.part, lines.part[low])
    return Valued(qty, g, dropped)


def rank(lines: Lines, gains: np.ndarray) -> np.ndarray:
    """Indices of the candidate buy lines, most gain per money first (ties: line order)."""
    buys = np.nonzero((lines.kind == BUY) & (lines.qty > 0))[0]
    ratio = gains[buys].sum(axis=1) / np.maximum(lines.money[buys], 1e-12)
    return buys[np.lexsort((buys, -ratio))]


def fit(lines: Lines, order: np.ndarray, qty: np.ndarray, cap: float) -> np.ndarray:
    """Quantities after keeping the buys in ``order`` while they fit in ``cap`` (currency).

    A buy that does not fit keeps the units that do; later (less valuable) buys that are cheap
    enough may still fit. Lines outside ``order`` keep their quantities.
    """
    out = np.array(qty, dtype=np.int64, copy=True)
    unit = lines.unit_money()
    left = float(cap)
    for i in order:
        n = int(min(out[i], np.floor((left + 1e-6) / unit[i]))) if unit[i] > 0 else int(out[i])
        out[i] = max(n, 0)
        left -= out[i] * unit[i]
    return out


def with_qty(lines: Lines, qty: np.ndarray) -> Lines:
    """The lines with new quantities (money scaled per unit), placed ones only."""
    keep = qty > 0
    unit = lines.unit_money()
    return replace(lines, kind=lines.kind[keep], part=lines.part[keep], src=lines.src[keep],
                   dst=lines.dst[keep], qty=qty[keep].astype(np.int64),
                   money=unit[keep] * qty[keep])
