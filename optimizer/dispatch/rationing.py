"""Critical levels: how many units of a part a depot keeps back for customers of higher tiers.

The rule:

For depot ``d``, part ``p`` and a request from tier ``t``, the critical level is

    c(d, p, t) = round_half_up(S[p, d] * w_higher(d, p, t) / w_all(d, p))

where ``S[p, d]`` is the base-stock level from the current plan (or, without a plan, the
opening stock on hand), ``w_all`` the expected annual failures of ``p`` at the sites whose
primary depot is ``d`` (installed quantity x annual failure rate) and ``w_higher`` the part of
``w_all`` at sites whose contract tier ranks strictly above ``t``. A platinum request therefore
has critical level 0 everywhere; a basic request at a depot that mostly serves platinum sites
sees most of the base stock as protected. The decision never refuses a request because of a
critical level: taking protected units only loses against another source that meets the same
deadline without doing so (see :func:`optimizer.dispatch.decide.decide`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from inventory.domain import Scenario

TIER_RANK: dict[str, int] = {"platinum": 0, "gold": 1, "silver": 2, "basic": 3}
"""Tier order, most demanding first. Tiers not listed rank after ``basic``."""


@lru_cache(maxsize=256)
def tier_rank(tier: str) -> int:
    """Rank of a tier name (0 = most demanding); unknown names rank last (cached: a decision
    asks for every option it weighs)."""
    return TIER_RANK.get(tier.strip().lower(), len(TIER_RANK))


@dataclass(frozen=True)
class CriticalLevels:
    """Critical levels per (depot, part), one per tier rank.

    ``levels[(depot_id, part_id)][r]`` is the number of units protected from a request of tier
    rank ``r``; ranks beyond the list have the last entry's protection.
    """

    levels: Mapping[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)

    def level(self, depot_id: str, part_id: str, tier: str) -> int:
        """Units of ``part_id`` at ``depot_id`` that a ``tier`` request should not take."""
        row = self.levels.get((depot_id, part_id))
        if not row:
            return 0
        return row[min(tier_rank(tier), len(row) - 1)]


def critical_levels(scenario: Scenario,
                    base_stock: Mapping[tuple[str, str], int] | None = None) -> CriticalLevels:
    """Critical levels by the rule in the module docstring.

    Parameters
    ----------
    scenario
        The network: sites (primary depot, contract tier), installed base, failure rates.
    base_stock
        ``{(part_id, depot_id): S}`` from the stocking plan; None uses the scenario's opening
        stock on hand as S.
    """
    if base_stock is None:
        base_stock = {(s.part_id, s.depot_id): s.on_hand for s in scenario.stock}
    ranks = len(TIER_RANK) + 1
    weight: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0] * ranks)
    for b in scenario.installed_base:
        site = scenario.site(b.site_id)
        tier = scenario.contract(site.contract_id).tier
        weight[(site.primary_depot_id, b.part_id)][tier_rank(tier)] += b.rate_per_year(
            scenario.part(b.part_id))
    out: dict[tuple[str, str], tuple[int, ...]] = {}
    for (part_id, depot_id), s in base_stock.items():
        w = weight.get((depot_id, part_id))
        if s <= 0 or w is None or sum(w) <= 0:
            continue
        total = sum(w)
        row = []
        for r in range(ranks):
            higher = sum(w[:r])
            # round half up; the epsilon keeps float noise off an exact half
            row.append(min(int(s), math.floor(s * higher / total + 0.5 + 1e-9)))
        out[(depot_id, part_id)] = tuple(row)
    return CriticalLevels(out)
