"""The per-ticket dispatch decision: which depot ships which part by which mode, and why.

Pure computation on plain data (no web, no database):

>>> from optimizer.dispatch import DispatchRequest, decide, critical_levels
>>> levels = critical_levels(scenario, base_stock)          # rationing rule from the plan
>>> decision = decide(request, scenario=scenario, network=network, free_stock=free,
...                   levels=levels)

See :mod:`optimizer.dispatch.rationing` for the critical-level rule and
:mod:`optimizer.dispatch.decide` for the choice.
"""

from optimizer.dispatch.decide import decide, redecide, tier_of
from optimizer.dispatch.rationing import TIER_RANK, CriticalLevels, critical_levels, tier_rank
from optimizer.dispatch.result import (
    DispatchDecision,
    DispatchRequest,
    Option,
    ReplenishmentOrder,
)

__all__ = ["TIER_RANK", "CriticalLevels", "DispatchDecision", "DispatchRequest", "Option",
           "ReplenishmentOrder", "critical_levels", "decide", "redecide", "tier_of", "tier_rank"]
