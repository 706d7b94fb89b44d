"""On-time share of delivered dispatches per tier and severity, per depot and depot kind."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.db.dispatch_models import Dispatch
from inventory.domain import Scenario


def _share(met: int, n: int) -> float | None:
    return round(met / n, 4) if n else None


def compliance(*, session: Session, scenario: Scenario, date_from: datetime | None = None,
               date_to: datetime | None = None, tier: str | None = None) -> dict[str, Any]:
    """Counts over dispatches delivered with reported_at in [from, to), optionally one tier."""
    q = select(Dispatch.tier, Dispatch.severity, Dispatch.source_depot_id, Dispatch.sla_outcome
               ).where(Dispatch.sla_outcome.is_not(None))
    if date_from is not None:
        q = q.where(Dispatch.reported_at >= date_from)
    if date_to is not None:
        q = q.where(Dispatch.reported_at < date_to)
    if tier is not None:
        q = q.where(Dispatch.tier == tier)
    by_ts: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    by_depot: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    targets: dict[tuple[str, int], float] = {}
    for c in scenario.contracts:
        for t in c.terms:
            k = (c.tier, t.severity)
            targets[k] = min(targets.get(k, 1.0), t.target)
    n = met = 0
    for tier_, sev, depot, outcome in session.execute(q):
        hit = int(outcome == "met")
        n, met = n + 1, met + hit
        for bucket, key in ((by_ts, (tier_, sev)), (by_depot, depot or "-"),
                            (by_kind, scenario.depot(depot).kind.value if depot else "-")):
            bucket[key][0] += 1
            bucket[key][1] += hit
    return {
        "delivered": n, "met": met, "on_time_share": _share(met, n),
        "by_tier_severity": [{"tier": t, "severity": s, "delivered": v[0], "met": v[1],
                              "on_time_share": _share(v[1], v[0]), "target": targets.get((t, s))}
                             for (t, s), v in sorted(by_ts.items())],
        "by_depot": [{"depot_id": d, "depot_kind": scenario.depot(d).kind.value if d != "-" else "-",
                      "delivered": v[0], "met": v[1], "on_time_share": _share(v[1], v[0])}
                     for d, v in sorted(by_depot.items())],
        "by_depot_kind": [{"depot_id": "*", "depot_kind": k, "delivered": v[0], "met": v[1],
                           "on_time_share": _share(v[1], v[0])} for k, v in sorted(by_kind.items())],
    }
