"""Former home of the whole-model marginal analysis (replaced by :mod:`optimizer.stocking.lagrange`).

Only the target helpers remain, re-exported from :mod:`optimizer.stocking.targets` for code that
still imports them from here (``benchmarks/restock_run.py``); new code imports ``targets``.
"""

from optimizer.stocking.targets import CEILING_MARGIN, class_ceiling, effective_targets

__all__ = ["CEILING_MARGIN", "class_ceiling", "effective_targets"]
