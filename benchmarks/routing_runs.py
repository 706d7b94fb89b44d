"""Wall-clock time of ``plan_runs`` on a synthetic 100-stop delivery day (target <= 5 s).

Usage: ``python benchmarks/routing_runs.py [--stops 100] [--days 5] [--vans 12]``.

Each day: deliveries uniformly within ~35 km x 50 km around a city depot, windows of 2, 4 or 8 h
opening between 08:00 and 14:00, 10 min service, small/medium parts; vans with 30 load units and
a 10 h shift; road km = great-circle x 1.3 at 40 km/h. Default stopping criterion of plan_runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inventory.domain import SizeClass  # noqa: E402
from optimizer.routing.checker import check  # noqa: E402
from optimizer.routing.runs import Delivery, RoadTravel, Vans, plan_runs  # noqa: E402

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DEPOT = (52.52, 13.40)


def synthetic_day(stops: int, seed: int) -> list[Delivery]:
    """``stops`` deliveries around the depot with windows derived from dispatch deadlines."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(stops):
        early = T0 + timedelta(minutes=int(rng.integers(0, 360)))
        late = early + timedelta(hours=int(rng.choice([2, 4, 8])))
        place = (DEPOT[0] + rng.uniform(-0.16, 0.16), DEPOT[1] + rng.uniform(-0.37, 0.37))
        size = SizeClass.SMALL if rng.random() < 0.7 else SizeClass.MEDIUM
        out.append(Delivery(f"D{i:03d}", place, early, late, 10.0, size))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=100)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--vans", type=int, default=12)
    args = parser.parse_args()
    travel = RoadTravel(speed_kmh=40.0, circuity=1.3)
    vans = Vans(args.vans, 30, T0, T0 + timedelta(hours=10))
    seconds, runs, direct, km = [], [], [], []
    for day in range(args.days):
        deliveries = synthetic_day(args.stops, seed=day)
        began = time.perf_counter()
        plan = plan_runs(DEPOT, deliveries, vans, travel.hours, distance_km=travel.km, seed=day)
        seconds.append(time.perf_counter() - began)
        assert check(plan.problem, list(plan.routes)).feasible
        runs.append(len(plan.runs))
        direct.append(len(plan.direct))
        km.append(sum(r.distance_km or 0.0 for r in plan.runs))
    print(
        f"| plan_runs, {args.stops} stops, {args.vans} vans ({args.days} days) | "
        f"median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s | <= 5 s |"
    )
    print(f"| runs per day | {min(runs)}-{max(runs)} | |")
    print(f"| deliveries flagged for direct trips | {min(direct)}-{max(direct)} per day | |")
    print(f"| van km per day | {min(km):.0f}-{max(km):.0f} | |")


if __name__ == "__main__":
    main()
