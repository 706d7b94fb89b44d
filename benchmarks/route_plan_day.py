"""Wall-clock time of a cn-telecom depot's day of van runs through the service behind
``spares routes plan`` / ``POST /v1/route-plans`` (target <= 5 s for <= 100 stops).

Usage: ``python benchmarks/route_plan_day.py [--stops 100] [--vans 12] [--repeat 3]``.

A fresh SQLite database gets cn-telecom; ``--stops`` pending van dispatches (status reserved,
mode VAN, reported the evening before) are written for the regional depot with the most sites,
to its own sites (cycled if fewer), with deadlines 4-36 h after the shift start. The clock covers
``api.routes.service.plan_day`` (query, matrices, PyVRP under the default 2 s limit, checker) and
``plan_view``; the travel network is built once outside the clock, as the API holds it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scenarios  # noqa: E402
from api.routes.service import plan_day, plan_view  # noqa: E402
from inventory.db.dispatch_models import Dispatch  # noqa: E402
from inventory.db.engine import make_engine, session_factory  # noqa: E402
from inventory.db.load import load_scenario  # noqa: E402
from inventory.db.migrate import upgrade  # noqa: E402
from optimizer.travel import TravelNetwork  # noqa: E402

DAY = date(2030, 6, 12)  # a Wednesday, no holiday in CN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=100)
    parser.add_argument("--vans", type=int, default=12)
    parser.add_argument("--capacity", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sc = scenarios.load("cn-telecom")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        depot_id = Counter(s.primary_depot_id for s in sc.sites
                           if not s.primary_depot_id.startswith("HQ")).most_common(1)[0][0]
        zone = ZoneInfo(sc.depot(depot_id).timezone)
        sites = [s for s in sc.sites if s.primary_depot_id == depot_id]
        parts = [p for p in sc.parts if p.size_class.value in ("small", "medium")]
        rng = np.random.default_rng(7)
        start = datetime.combine(DAY, datetime.min.time(), tzinfo=zone) + timedelta(hours=8)
        reported = start - timedelta(hours=14)
        with sessions() as s, s.begin():
            load_scenario(sc, session=s)
            for i in range(args.stops):
                site = sites[i % len(sites)]
                part = parts[int(rng.integers(len(parts)))]
                due = start + timedelta(hours=float(rng.uniform(4, 36)))
                s.add(Dispatch(id=f"dsp_bench_{i:04d}", ticket_id=f"B-{i}", owner="bench",
                               idempotency_key=f"bench-{i}", request_hash="", site_id=site.site_id,
                               part_id=part.part_id, shipped_part_id=part.part_id, severity=3,
                               quantity=1, tier="gold", status="reserved", reported_at=reported,
                               due_at=due, source_depot_id=depot_id, mode_id="VAN", on_time=True,
                               reserved=True, decision={}, created_at=reported,
                               updated_at=reported))
        network = TravelNetwork(sc)
        seconds, view = [], {}
        for _ in range(args.repeat):
            with sessions() as s:
                t0 = time.perf_counter()
                dp = plan_day(session=s, network=network, depot_id=depot_id, day=DAY,
                              vans=args.vans, capacity=args.capacity)
                view = plan_view(dp)
                seconds.append(time.perf_counter() - t0)
            assert view["check"]["feasible"]
        engine.dispose()
    on_runs = sum(len(r["stops"]) for r in view["runs"])
    print(f"| route plan, {depot_id} ({len(sites)} sites), {args.stops} pending, {args.vans} vans "
          f"({args.repeat} runs) | median {statistics.median(seconds):.2f} s, max "
          f"{max(seconds):.2f} s | <= 5 s |")
    print(f"| on runs / direct / deferred | {on_runs} / {len(view['direct'])} / "
          f"{len(view['deferred'])} in {len(view['runs'])} runs, {view['total_km']:.0f} km | |")


if __name__ == "__main__":
    main()
