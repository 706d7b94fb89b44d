"""The overview's figures: per (tier, severity) planned and actual on-time against target, open
dispatches at risk, the last restock run. Read-only; the numbers come from the latest plan, the
SLA service (:func:`api.sla.service.compliance`) and the dispatch and restock tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from api.sla.service import compliance
from api.ui import plans
from inventory.db.dispatch_models import Dispatch
from inventory.db.restock_models import RestockRun
from inventory.domain import Scenario

OPEN = ("reserved", "backordered", "picked", "shipped")


@dataclass(frozen=True)
class ClassRow:
    """One contract class: target, the plan's predicted and the dispatches' actual on-time share
    (0..1, None when unknown), and how many dispatches the actual share counts."""

    tier: str
    severity: int
    target: float | None
    planned: float | None
    actual: float | None
    counted: int

    @property
    def planned_miss(self) -> bool:
        return None not in (self.target, self.planned) and self.planned < self.target - 1e-9

    @property
    def actual_miss(self) -> bool:
        return None not in (self.target, self.actual) and self.actual < self.target - 1e-9


def class_rows(scenario: Scenario, plan_summary: dict[str, Any] | None,
               actual: dict[str, Any]) -> list[ClassRow]:
    """Every (tier, severity) of the scenario's contracts, most demanding target per class."""
    targets: dict[tuple[str, int], float] = {}
    for c in scenario.contracts:
        for t in c.terms:
            key = (c.tier, t.severity)
            targets[key] = min(targets.get(key, 1.0), t.target)
    planned = {(r["tier"], int(r["severity"])): r["predicted_on_time"]
               for r in (plan_summary or {}).get("classes", [])}
    seen = {(r["tier"], int(r["severity"])): r for r in actual.get("by_tier_severity", [])}
    order = {c.tier: i for i, c in enumerate(scenario.contracts)}
    rows = []
    for key in sorted(targets, key=lambda k: (order.get(k[0], 99), k[1])):
        a = seen.get(key, {})
        rows.append(ClassRow(key[0], key[1], targets[key], planned.get(key), a.get("on_time_share"),
                             int(a.get("delivered", 0)) + int(a.get("overdue", 0))))
    return rows


def at_risk(session: Session, now: datetime, limit: int = 20, tenant: str | None = None
            ) -> tuple[int, list[Dispatch]]:
    """Open dispatches decided late (no on-time source) or already past their due time (of
    organization ``tenant`` only, if given): the count and the ``limit`` with the earliest due
    time."""
    cond = and_(Dispatch.status.in_(OPEN),
                or_(Dispatch.on_time.is_(False), and_(Dispatch.due_at.is_not(None),
                                                      Dispatch.due_at < now)))
    if tenant is not None:
        cond = and_(cond, Dispatch.owner == tenant)
    n = session.scalar(select(func.count()).select_from(Dispatch).where(cond)) or 0
    rows = list(session.scalars(select(Dispatch).where(cond)
                                .order_by(Dispatch.due_at.is_(None), Dispatch.due_at).limit(limit)))
    return int(n), rows


def last_restock(session: Session, tenant: str | None = None) -> RestockRun | None:
    """The newest restock run (of organization ``tenant`` only, if given)."""
    q = select(RestockRun)
    if tenant is not None:
        q = q.where(RestockRun.owner == tenant)
    return session.scalar(q.order_by(RestockRun.created_at.desc()).limit(1))


def overview(ctx: Any, tenant: str | None = None) -> dict[str, Any]:
    """Everything the overview page shows, from the app context ``ctx``; ``tenant``: the
    organization whose dispatches and restock runs alone the viewer sees (None: all)."""
    latest = plans.latest_plan()
    summary = plans.summary(latest.id) if latest else None
    now = ctx.now()
    with ctx.sessions() as session:
        actual = compliance(session=session, scenario=ctx.scenario, as_of=now, owner=tenant)
        n_risk, risky = at_risk(session, now, tenant=tenant)
        risk_rows = [{"id": d.id, "ticket_id": d.ticket_id, "site_id": d.site_id,
                      "part_id": d.part_id, "tier": d.tier, "severity": d.severity,
                      "status": d.status, "due_at": d.due_at, "source": d.source_depot_id,
                      "overdue": d.due_at is not None and d.due_at < now} for d in risky]
        run = last_restock(session, tenant)
        restock = None if run is None else {
            "id": run.id, "quarter": run.quarter, "status": run.status,
            "created_at": run.created_at, "approved_by": run.approved_by,
            "approved_at": run.approved_at}
    return {"plan": latest, "summary": summary, "classes": class_rows(ctx.scenario, summary, actual),
            "actual_total": actual, "at_risk_count": n_risk, "at_risk": risk_rows,
            "restock": restock, "reached": plans.site_reach(latest.id) if latest else {}}
