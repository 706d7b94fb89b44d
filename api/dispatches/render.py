"""How the dispatch slice shows things: the JSON-ready answers (in the shape of
:class:`api.dispatches.models.DispatchOut`, a test validates them), their size on request, and
the data of the webhook messages. Instants are written in UTC as ``...Z``. No database here:
the service and the flows pass in what they read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from api.dispatches.models import DispatchCreate
from inventory.db.dispatch_models import as_utc
from optimizer.deadlines import Deadline
from optimizer.dispatch import DispatchDecision, Option, ReplenishmentOrder
from optimizer.dispatch.lifecycle import Status
from optimizer.dispatch.result import Outcome

TOP_ALTERNATIVES = 3
"""Alternatives an answer carries unless the caller asks for all (``?expand=alternatives``)."""


def iso(value: datetime | None) -> str | None:
    """An instant as ISO 8601 in UTC with a ``Z`` (the API's one form for instants)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def r3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def deadline_out(d: Deadline) -> dict[str, Any]:
    return {"due_at": iso(d.due_at), "clock_started_at": iso(d.clock_started_at),
            "milestone": d.milestone, "coverage": d.coverage, "timezone": d.timezone,
            "holidays_skipped": [x.isoformat() for x in d.holidays_skipped],
            "cutoff_applied": d.cutoff_applied, "explanation": d.text}


def option_out(o: Option) -> dict[str, Any]:
    """An :class:`optimizer.dispatch.Option` in the shape of ``OptionOut``."""
    return {"depot_id": o.depot_id, "part_id": o.part_id, "mode_id": o.mode_id,
            "free_units": o.free_units, "critical_level": o.critical_level,
            "departs_at": iso(o.departs_at), "eta": iso(o.arrives_at),
            "margin_hours": r3(o.margin_hours), "meets_deadline": o.meets_deadline,
            "takes_protected_units": o.takes_protected, "transport_cost": o.transport_cost,
            "protection_cost": o.protection_cost, "substitute_cost": o.substitute_cost,
            "cost": o.cost, "route": o.route, "lost_because": o.lost_because}


def order_out(o: ReplenishmentOrder | Any, lead_time_days: float | None = None) -> dict[str, Any]:
    """A replenishment order (decision) or a stored order row in the shape of ``OrderOut``."""
    lead = o.lead_time_days if lead_time_days is None else lead_time_days
    return {"kind": o.kind, "depot_id": o.depot_id, "part_id": o.part_id, "quantity": o.quantity,
            "from_id": o.from_id, "expected_at": iso(as_utc(o.expected_at)),
            "lead_time_days": float(lead)}


def status_of(dec: DispatchDecision) -> Status:
    """The status a create decision leaves the dispatch in."""
    return Status.BACKORDERED if dec.outcome is Outcome.BACKORDERED else Status.RESERVED


def create_answer(dispatch_id: str, body: DispatchCreate, dec: DispatchDecision, ready: datetime,
                  created_at: datetime) -> dict[str, Any]:
    """The stored answer of a create: everything the decision said, JSON-ready, rendered once
    (an Idempotency-Key replay and GET return it as stored)."""
    ch = dec.chosen
    assert dec.deadline is not None  # a create decides with the contract's deadline
    return {
        "id": dispatch_id, "ticket_id": body.ticket_id, "status": status_of(dec).value,
        "site_id": body.site_id, "part_id": body.part_id, "severity": body.severity,
        "quantity": body.quantity, "tier": dec.tier, "on_time": dec.on_time,
        "at_risk": not dec.on_time, "reason": dec.reason, "deadline": deadline_out(dec.deadline),
        "source_depot_id": ch.depot_id if ch else None, "mode_id": ch.mode_id if ch else None,
        "shipped_part_id": ch.part_id if ch else None, "substitute_part_id": dec.substitute_id,
        "eta": iso(ch.arrives_at) if ch else None,
        "margin_hours": r3(ch.margin_hours) if ch else None,
        "cost": ch.cost if ch else None,
        "expected_at": iso(dec.expected_at), "ready_at": iso(ready),
        "chosen": option_out(ch) if ch else None,
        "alternatives": [option_out(o) for o in dec.alternatives],
        "replenishment_order": order_out(dec.replenishment) if dec.replenishment else None,
        "repair_order": None,
        "sla": {"outcome": None, "delta_hours": None, "delivered_at": None},
        "events": [],
        "created_at": iso(created_at),
        "redecided_at": None,
    }


def redecision_answer(dec: DispatchDecision, ready: datetime, at: datetime) -> dict[str, Any]:
    """The fields of a dispatch answer that a re-decision replaces (deadline and order stay)."""
    ch = dec.chosen
    assert ch is not None
    return {
        "status": Status.RESERVED.value, "on_time": dec.on_time, "at_risk": not dec.on_time,
        "reason": f"Backorder filled at {iso(at)}: {dec.reason}",
        "source_depot_id": ch.depot_id, "mode_id": ch.mode_id, "shipped_part_id": ch.part_id,
        "substitute_part_id": dec.substitute_id, "eta": iso(ch.arrives_at),
        "margin_hours": r3(ch.margin_hours), "cost": ch.cost, "expected_at": iso(ch.arrives_at),
        "ready_at": iso(ready), "chosen": option_out(ch),
        "alternatives": [option_out(o) for o in dec.alternatives], "redecided_at": iso(at),
    }


def event_out(e: Any) -> dict[str, Any]:
    """A stored dispatch event in the shape of ``EventOut``."""
    return {"kind": e.kind, "at": iso(as_utc(e.at)), "note": e.note,
            "recorded_at": iso(as_utc(e.recorded_at))}


def dispatch_answers(rows: Iterable[Any], events: Mapping[str, list[dict[str, Any]]],
                     repairs: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored dispatches as the API shows them: the stored decision (a filled backorder's
    re-decision over it) plus the live status, SLA outcome, events and repair order."""
    out = []
    for row in rows:
        view = dict(row.decision)
        if row.redecision:  # a filled backorder: the decision that reserved it
            view.update(row.redecision)
        view["status"] = row.status
        view["sla"] = {"outcome": row.sla_outcome, "delta_hours": row.sla_delta_hours,
                       "delivered_at": iso(as_utc(row.delivered_at))}
        view["events"] = events.get(row.id, [])
        view["repair_order"] = repairs.get(row.id)
        out.append(view)
    return out


def sized(answer: dict[str, Any], expand: str | None) -> dict[str, Any]:
    """The answer with its first :data:`TOP_ALTERNATIVES` alternatives (earliest arrival
    first, as decided), or all of them with ``expand``; ``alternatives_total`` counts them all."""
    alternatives = answer.get("alternatives") or []
    out = {**answer, "alternatives_total": len(alternatives)}
    if expand is None and len(alternatives) > TOP_ALTERNATIVES:
        out["alternatives"] = alternatives[:TOP_ALTERNATIVES]
    return out


def event_data(dispatch_id: str, ticket_id: str, status: str, event: str | None,
               at: datetime, *, depot_id: str | None, mode_id: str | None,
               eta: datetime | None, due_at: datetime | None, **extra: Any) -> dict[str, Any]:
    """The ``data`` of a webhook message: the change, and where the part ships from (depot),
    by which transport mode, when it arrives (ETA) and when it is due (None while backordered)."""
    return {"dispatch_id": dispatch_id, "ticket_id": ticket_id, "status": status, "event": event,
            "at": iso(at), "depot_id": depot_id, "mode_id": mode_id, "eta": iso(eta),
            "due_at": iso(due_at), **extra}
