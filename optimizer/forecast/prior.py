"""Prior failure rates from the installed base and the catalog annual failure rates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inventory.domain import Scenario

MONTHS_PER_YEAR = 12.0


@dataclass(frozen=True, eq=False)
class PriorRates:
    """Prior demand rate per key (units per month) and the installed units behind it.

    ``keys`` are part ids (``by="part"``) or ``(site_id, part_id)`` tuples (``by="site_part"``).
    """

    keys: tuple
    installed_units: np.ndarray
    rate_per_month: np.ndarray

    def index(self) -> dict:
        return {k: i for i, k in enumerate(self.keys)}


def installed_rate_per_month(installed_units: np.ndarray, annual_failure_rate: np.ndarray
                             ) -> np.ndarray:
    """Poisson failure rate per month of ``installed_units`` units failing ``annual_failure_rate``
    times per unit-year: ``units x afr / 12``."""
    u = np.asarray(installed_units, dtype=float)
    r = np.asarray(annual_failure_rate, dtype=float)
    if np.any(u < 0) or np.any(r < 0):
        raise ValueError("installed units and failure rates must be >= 0")
    return u * r / MONTHS_PER_YEAR


def prior_rates(scenario: Scenario, by: str = "part") -> PriorRates:
    """Prior monthly rate per part (every catalog part, in catalog order) or per (site, part)
    (every installed-base row)."""
    if by == "part":
        idx = {p.part_id: i for i, p in enumerate(scenario.parts)}
        units = np.zeros(len(idx))
        for ib in scenario.installed_base:
            units[idx[ib.part_id]] += ib.quantity
        afr = np.array([p.annual_failure_rate for p in scenario.parts])
        keys: tuple = tuple(idx)
    elif by == "site_part":
        agg: dict[tuple[str, str], int] = {}
        for ib in scenario.installed_base:
            agg[(ib.site_id, ib.part_id)] = agg.get((ib.site_id, ib.part_id), 0) + ib.quantity
        keys = tuple(agg)
        units = np.array([agg[k] for k in keys], dtype=float)
        afr = np.array([scenario.part(k[1]).annual_failure_rate for k in keys])
    else:
        raise ValueError(f"by must be 'part' or 'site_part', got {by!r}")
    return PriorRates(keys, units, installed_rate_per_month(units, afr))
