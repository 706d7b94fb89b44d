"""The dispatch board: open dispatches by deadline with the time left, filtered by tier,
severity and source depot; SLA compliance per tier and severity and per depot
(:func:`api.sla.service.compliance`). A viewer sees only their organization's dispatches (as
``GET /v1/dispatches`` shows a key of it); planners see all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from api.sla.service import compliance
from api.ui.overview import OPEN
from inventory.db.dispatch_models import Dispatch

SHOWN = 200


def time_left(due: datetime | None, now: datetime) -> tuple[str, bool]:
    """'due in 3 h 05 min' or 'overdue by 20 min' (and whether overdue); '–' without a due time."""
    if due is None:
        return "–", False
    minutes = int((due - now).total_seconds() // 60)
    late = minutes < 0
    m = abs(minutes)
    text = (f"{m // 1440} d {m % 1440 // 60} h" if m >= 1440 else
            f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min")
    return (f"overdue by {text}" if late else f"due in {text}"), late


def board(ctx: Any, *, tier: str = "", severity: int | None = None, depot: str = "",
          tenant: str | None = None) -> dict[str, Any]:
    """The board's rows and compliance; ``tenant``: the organization whose dispatches alone
    are shown and counted (None: every organization's)."""
    now = ctx.now()
    q = select(Dispatch).where(Dispatch.status.in_(OPEN))
    if tenant is not None:
        q = q.where(Dispatch.owner == tenant)
    if tier:
        q = q.where(Dispatch.tier == tier)
    if severity is not None:
        q = q.where(Dispatch.severity == severity)
    if depot:
        q = q.where(Dispatch.source_depot_id == depot)
    q = q.order_by(Dispatch.due_at.is_(None), Dispatch.due_at, Dispatch.id).limit(SHOWN + 1)
    with ctx.sessions() as session:
        rows = []
        for d in session.scalars(q):
            left, late = time_left(d.due_at, now)
            rows.append({"id": d.id, "ticket_id": d.ticket_id, "site_id": d.site_id,
                         "part_id": d.part_id, "tier": d.tier, "severity": d.severity,
                         "status": d.status, "source": d.source_depot_id, "mode": d.mode_id,
                         "due_at": d.due_at, "left": left, "late": late,
                         "at_risk": not d.on_time})
        sla = compliance(session=session, scenario=ctx.scenario, as_of=now, owner=tenant)
    tiers = list(dict.fromkeys(c.tier for c in ctx.scenario.contracts))
    return {"rows": rows[:SHOWN], "more": len(rows) > SHOWN, "sla": sla, "tiers": tiers,
            "depots": [d.depot_id for d in ctx.scenario.depots],
            "filters": {"tier": tier, "severity": severity, "depot": depot}}
