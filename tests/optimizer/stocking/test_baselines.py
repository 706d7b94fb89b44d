"""Baselines: the item approach meets every target part by part; the rule of thumb's k search."""

import numpy as np
import pytest
from scipy import stats

from optimizer.stocking.baselines import item_approach, part_class_demand, rate_total, rule_of_thumb
from optimizer.stocking.evaluate import evaluate
from optimizer.stocking.problem import DAYS_PER_YEAR
from optimizer.stocking.targets import CEILING_MARGIN, effective_targets
from tests.optimizer.stocking.fixtures import random_problem


@pytest.mark.parametrize("seed", [1, 4, 11])
def test_item_approach_meets_each_target_part_by_part(seed: int) -> None:
    pr = random_problem(seed, n_parts=5, targets=(0.8, 0.7))
    tg, _ = effective_targets(pr)
    b = item_approach(pr, tg)
    ev = evaluate(pr, b.levels)
    assert b.feasible and ev.meets_targets(pr, tg)
    # independent per-part shares from the stream on-time shares of a full evaluation
    w = pr.stream_rate_per_year * ev.stream_on_time
    P, C = pr.n_parts, pr.n_classes
    num = np.zeros((P, C))
    np.add.at(num, (pr.stream_part, pr.stream_class), w)
    den, ceil = part_class_demand(pr)
    has = den > 0
    share = np.where(has, num / np.where(has, den, 1), np.nan)
    goal = np.minimum(np.broadcast_to(tg, (P, C)), ceil - CEILING_MARGIN)
    assert np.all(share[has] >= goal[has] - 1e-7)
    assert b.investment == pytest.approx(float(pr.unit_cost @ b.levels.sum(axis=1)))


def test_item_approach_raises_capped_classes_to_the_system_target() -> None:
    """Targets at the system ceiling minus the margin: parts capped at their own ceilings leave
    the class short, so the other parts must be raised until the system target holds."""
    pr = random_problem(2, n_parts=4, targets=(0.999, 0.999))
    tg, notes = effective_targets(pr)
    assert any("aiming at" in n for n in notes)
    b = item_approach(pr, tg)
    assert b.feasible
    assert evaluate(pr, b.levels).meets_targets(pr, tg)


@pytest.mark.parametrize("seed", [0, 3])
def test_rule_of_thumb_is_the_first_feasible_k_of_a_linear_search(seed: int) -> None:
    pr = random_problem(seed, n_parts=4, targets=(0.85, 0.75))
    tg, _ = effective_targets(pr)
    b = rule_of_thumb(pr, tg)
    # independent linear search over k = k0 + 0.25 i with mu, k0 from scipy
    P, L = pr.n_parts, pr.n_locations
    d = np.zeros((P, L))
    np.add.at(d, (pr.stream_part, pr.stream_primary), pr.stream_rate_per_year)
    t = np.zeros((P, L))
    np.maximum.at(t, (pr.stream_part, pr.stream_primary), np.nan_to_num(tg[pr.stream_class], nan=0.5))
    mu = d * pr.transit_days / DAYS_PER_YEAR
    mu[:, 0] = rate_total(pr) * pr.hq_resupply_days / DAYS_PER_YEAR
    t[:, 0] = np.nanmax(tg)
    k0 = stats.norm.ppf(np.clip(t, 0.5, 0.9999))
    for i in range(40):
        S = np.where(mu > 0, np.ceil(mu + (k0 + 0.25 * i) * np.sqrt(mu)), 0).astype(int)
        if evaluate(pr, S).meets_targets(pr, tg):
            break
    assert b.feasible
    assert np.array_equal(b.levels, S)
