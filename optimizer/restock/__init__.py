"""Quarterly restocking: (target - position) -> transfer, repair and buy orders under a budget.

Entry points: :func:`plan_restock` (plain arrays in, orders out), :func:`run_restock` (forecast ->
re-plan -> orders), :func:`write_outputs`, :func:`approve` (orders -> ledger movements).
"""

from optimizer.restock.approve import ApprovalReport, LedgerMovement, LedgerWriter, approve, movements
from optimizer.restock.inputs import RestockInputs
from optimizer.restock.outputs import write_outputs
from optimizer.restock.plan import RestockPlan, plan_restock
from optimizer.restock.positions import PositionRow, Positions
from optimizer.restock.quarter import Quarter
from optimizer.restock.run import RestockResult, run_restock, scenario_run

__all__ = [
    "ApprovalReport", "LedgerMovement", "LedgerWriter", "PositionRow", "Positions", "Quarter",
    "RestockInputs", "RestockPlan", "RestockResult", "approve", "movements", "plan_restock",
    "run_restock", "scenario_run", "write_outputs",
]
