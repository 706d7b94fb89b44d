"""On-time share of dispatches per tier and severity, per depot and per depot kind.

A dispatch counts once its outcome is known: delivered (met or missed by its delivery time) or
**overdue** (past its due time, neither delivered nor cancelled: a miss already, so a backorder
or a lost shipment never hides from the figures). ``on_time_share = met / (delivered + overdue)``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from inventory.db.dispatch_models import Dispatch
from inventory.domain import Scenario


def _share(met: int, n: int) -> float | None:
    return round(met / n, 4) if n else None


def compliance(*, session: Session, scenario: Scenario, as_of: datetime,
               date_from: datetime | None = None, date_to: datetime | None = None,
               tier: str | None = None, owner: str | None = None) -> dict[str, Any]:
    """Counts over dispatches reported in [from, to) (optionally one tier; with ``owner``, of
    that organization only) whose outcome is known at ``as_of``: delivered, or overdue (due
    before ``as_of``, not delivered, not cancelled)."""
    overdue = and_(Dispatch.sla_outcome.is_(None), Dispatch.status != "cancelled",
                   Dispatch.due_at.is_not(None), Dispatch.due_at < as_of)
    q = select(Dispatch.tier, Dispatch.severity, Dispatch.source_depot_id, Dispatch.sla_outcome
               ).where(or_(Dispatch.sla_outcome.is_not(None), overdue))
    if date_from is not None:
        q = q.where(Dispatch.reported_at >= date_from)
    if date_to is not None:
        q = q.where(Dispatch.reported_at < date_to)
    if tier is not None:
        q = q.where(Dispatch.tier == tier)
    if owner is not None:
        q = q.where(Dispatch.owner == owner)
    # [delivered, met, overdue] per key
    by_ts: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    by_depot: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    targets: dict[tuple[str, int], float] = {}
    for c in scenario.contracts:
        for t in c.terms:
            k = (c.tier, t.severity)
            targets[k] = min(targets.get(k, 1.0), t.target)
    total = [0, 0, 0]
    for tier_, sev, depot, outcome in session.execute(q):
        add = (0, 0, 1) if outcome is None else (1, int(outcome == "met"), 0)
        kind = scenario.depot(depot).kind.value if depot else "-"
        for acc in (total, by_ts[(tier_, sev)], by_depot[depot or "-"], by_kind[kind]):
            for i in range(3):
                acc[i] += add[i]

    def counts(v: list[int]) -> dict[str, Any]:
        return {"delivered": v[0], "met": v[1], "overdue": v[2],
                "on_time_share": _share(v[1], v[0] + v[2])}

    return {
        **counts(total), "as_of": as_of,
        "by_tier_severity": [{"tier": t, "severity": s, **counts(v), "target": targets.get((t, s))}
                             for (t, s), v in sorted(by_ts.items())],
        "by_depot": [{"depot_id": d, "depot_kind": scenario.depot(d).kind.value if d != "-" else "-",
                      **counts(v)} for d, v in sorted(by_depot.items())],
        "by_depot_kind": [{"depot_id": "*", "depot_kind": k, **counts(v)}
                          for k, v in sorted(by_kind.items())],
    }
