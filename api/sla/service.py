"""On-time share of dispatches per tier and severity, per depot and per depot kind.

This module selects the dispatches whose outcome is known at ``as_of`` (delivered, or overdue:
past due, neither delivered nor cancelled); :func:`optimizer.compliance.compliance` computes the
figures (the rule and its definitions are documented there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from inventory.db.dispatch_models import Dispatch
from inventory.domain import Scenario
from optimizer.compliance import compliance as compliance_of
from optimizer.compliance import sla_targets


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
    kinds = {d.depot_id: d.kind.value for d in scenario.depots}
    return {**compliance_of(session.execute(q), depot_kinds=kinds, targets=sla_targets(scenario)),
            "as_of": as_of}
