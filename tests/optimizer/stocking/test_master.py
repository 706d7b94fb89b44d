"""The MIP runner's check of HiGHS's answer against the objective it reports."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from scipy import sparse

import optimizer.stocking.master as master_mod
from optimizer.stocking.master import run_checked


def _pick_one(costs: np.ndarray) -> tuple:
    """A MIP picking exactly one of ``costs``' columns: ``(cost, col_lo, col_hi, A, row_lo,
    row_hi)``."""
    n = len(costs)
    A = sparse.csr_matrix(np.ones((1, n)))
    return costs, np.zeros(n), np.ones(n), A, np.ones(1), np.ones(1)


class _Misreported:
    """A solver whose report puts the objective ``by`` below what its answer costs."""

    def __init__(self, h, by: float) -> None:
        self._h, self._by = h, by

    def __getattr__(self, name: str):
        return getattr(self._h, name)

    def getInfo(self):  # noqa: N802 (HiGHS's name)
        info = self._h.getInfo()
        return SimpleNamespace(primal_solution_status=info.primal_solution_status,
                               objective_function_value=info.objective_function_value - self._by,
                               mip_dual_bound=info.mip_dual_bound)


def test_an_answer_that_costs_what_is_reported_is_kept() -> None:
    costs = np.array([5.0, 3.0, 4.0])
    h, again = run_checked(*_pick_one(costs), integer_cols=np.arange(3), start=np.eye(3)[0])
    assert not again
    assert np.allclose(h.getSolution().col_value, [0, 1, 0])


def test_an_answer_that_costs_more_than_reported_is_solved_without_presolve(monkeypatch) -> None:
    calls = []
    real = master_mod.run_sparse

    def misreporting(*args, **kw):
        calls.append((kw.get("presolve", True), kw.get("time_limit_s")))
        h = real(*args, **kw)
        return _Misreported(h, 1.0) if len(calls) == 1 else h

    monkeypatch.setattr(master_mod, "run_sparse", misreporting)
    costs = np.array([5.0, 3.0, 4.0])
    h, again = run_checked(*_pick_one(costs), integer_cols=np.arange(3), start=np.eye(3)[0],
                           time_limit_s=2.0)
    assert again and calls == [(True, 2.0), (False, 2.0 * master_mod.RECHECK_TIME)]
    assert h.getInfo().objective_function_value == 3.0
    calls.clear()
    _, again = run_checked(*_pick_one(costs))  # an LP is not checked
    assert not again and calls == [(True, None)]
