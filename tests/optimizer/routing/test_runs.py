"""Delivery runs: feasible plans on real times, impossible deliveries flagged for direct trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.domain import SizeClass
from optimizer.routing import MaxIterations, check
from optimizer.routing.runs import (
    Delivery,
    RoadTravel,
    RunPlanningError,
    Vans,
    plan_runs,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DEPOT = (52.52, 13.40)
QUICK = MaxIterations(300)


def synthetic_day(n: int, seed: int) -> list[Delivery]:
    """``n`` deliveries within ~30 km of the depot, windows of 2-8 h opening in the morning."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        early = T0 + timedelta(minutes=int(rng.integers(0, 240)))
        late = early + timedelta(hours=int(rng.choice([2, 4, 8])))
        place = (DEPOT[0] + rng.uniform(-0.2, 0.2), DEPOT[1] + rng.uniform(-0.3, 0.3))
        out.append(Delivery(f"D{i}", place, early, late, 10.0, SizeClass(rng.choice(["small", "medium"]))))
    return out


def assert_on_time(plan, deliveries: list[Delivery], vans: Vans) -> None:
    by_id = {d.delivery_id: d for d in deliveries}
    for run in plan.runs:
        assert vans.shift_start <= run.depart and run.back <= vans.shift_end
        assert run.load <= vans.capacity
        for stop in run.stops:
            d = by_id[stop.delivery_id]
            assert d.earliest - timedelta(seconds=1) <= stop.start <= d.latest
            assert stop.arrival <= stop.start < stop.depart or d.service_minutes == 0


def test_plan_is_feasible_and_covers_every_reachable_delivery() -> None:
    deliveries = synthetic_day(25, seed=1)
    vans = Vans(count=4, capacity=20, shift_start=T0, shift_end=T0 + timedelta(hours=10))
    travel = RoadTravel(speed_kmh=40, circuity=1.3)
    plan = plan_runs(DEPOT, deliveries, vans, travel.hours, distance_km=travel.km, stop=QUICK)
    assert check(plan.problem, plan.routes).feasible
    assert plan.direct == ()
    assert sorted(s.delivery_id for r in plan.runs for s in r.stops) == sorted(
        d.delivery_id for d in deliveries
    )
    assert_on_time(plan, deliveries, vans)
    # the km reported per run equal the recomputed road km of its path
    points = {d.delivery_id: d.location for d in deliveries}
    for run in plan.runs:
        path = [DEPOT, *(points[s.delivery_id] for s in run.stops), DEPOT]
        assert run.distance_km == pytest.approx(sum(travel.km(a, b) for a, b in pairwise(path)))


def test_impossible_delivery_is_flagged_for_a_direct_trip() -> None:
    deliveries = synthetic_day(8, seed=2)
    far = Delivery("FAR", (48.14, 11.58), T0, T0 + timedelta(hours=1))  # Munich within 1 h
    bulky = Delivery("BULKY", DEPOT, T0, T0 + timedelta(hours=5), load=99)
    vans = Vans(count=2, capacity=20, shift_start=T0, shift_end=T0 + timedelta(hours=10))
    plan = plan_runs(DEPOT, [*deliveries, far, bulky], vans, RoadTravel().hours, stop=QUICK)
    flagged = {u.delivery_id: u.reason for u in plan.direct}
    assert set(flagged) == {"FAR", "BULKY"}
    assert "after the deadline" in flagged["FAR"] and "capacity" in flagged["BULKY"]
    assert plan.report.feasible and plan.report.dropped == [9, 10]


def test_fleet_too_small_flags_what_it_cannot_carry() -> None:
    same_place = [Delivery(f"S{i}", (52.6, 13.5), T0, T0 + timedelta(hours=3), load=5) for i in range(5)]
    vans = Vans(count=1, capacity=10, shift_start=T0, shift_end=T0 + timedelta(hours=8))
    plan = plan_runs(DEPOT, same_place, vans, RoadTravel().hours, stop=QUICK)
    assert sum(len(r.stops) for r in plan.runs) == 2 and len(plan.direct) == 3
    assert plan.report.feasible


def test_matrix_input_and_late_departure_without_idle_wait() -> None:
    deliveries = [
        Delivery("A", (0, 0), T0 + timedelta(hours=2), T0 + timedelta(hours=3), 15),
        Delivery("B", (0, 0), T0, T0 + timedelta(hours=4), 15),
    ]
    hours = np.array([[0, 0.5, 0.5], [0.5, 0, 0.25], [0.5, 0.25, 0]])
    vans = Vans(count=1, capacity=5, shift_start=T0, shift_end=T0 + timedelta(hours=6))
    plan = plan_runs((0, 0), deliveries, vans, hours, stop=QUICK)
    [run] = plan.runs
    assert [s.delivery_id for s in run.stops] in (["A", "B"], ["B", "A"])
    first = run.stops[0]
    assert first.arrival == first.start  # the van leaves late instead of waiting on site
    assert run.depart == first.start - timedelta(minutes=30)


def test_bad_input_names_the_delivery() -> None:
    vans = Vans(count=1, capacity=5, shift_start=T0, shift_end=T0 + timedelta(hours=6))
    naive = Delivery("N1", (0, 0), datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 10))
    with pytest.raises(RunPlanningError, match="delivery N1: .*timezone-aware"):
        plan_runs((0, 0), [naive], vans, RoadTravel().hours)
    backwards = Delivery("B2", (0, 0), T0 + timedelta(hours=2), T0)
    with pytest.raises(RunPlanningError, match="delivery B2: latest"):
        plan_runs((0, 0), [backwards], vans, RoadTravel().hours)
    with pytest.raises(RunPlanningError, match=r"travel_hours matrix must be \(2, 2\)"):
        plan_runs((0, 0), [Delivery("C", (0, 0), T0, T0 + timedelta(hours=1))], vans, np.zeros((3, 3)))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 15),
    seed=st.integers(0, 10_000),
    count=st.integers(0, 3),
    capacity=st.integers(2, 12),
    hours=st.integers(3, 10),
)
def test_every_plan_passes_the_checker_and_accounts_for_every_delivery(
    n: int, seed: int, count: int, capacity: int, hours: int
) -> None:
    deliveries = synthetic_day(n, seed)
    vans = Vans(count, capacity, T0, T0 + timedelta(hours=hours))
    plan = plan_runs(DEPOT, deliveries, vans, RoadTravel(speed_kmh=35).hours, stop=QUICK)
    assert check(plan.problem, plan.routes).feasible
    planned = [s.delivery_id for r in plan.runs for s in r.stops]
    flagged = [u.delivery_id for u in plan.direct]
    assert sorted(planned + flagged) == sorted(d.delivery_id for d in deliveries)
    assert len(plan.runs) <= count
    assert_on_time(plan, deliveries, vans)
