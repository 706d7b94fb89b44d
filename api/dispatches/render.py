"""How the dispatch slice shows things: the JSON-ready answers (in the shape of
:class:`api.dispatches.models.DispatchOut`, a test validates them), their size on request, and
the data of the webhook messages. Instants are written in UTC as ``...Z``. No database here:
the service and the flows pass in what they read.

A stored answer keeps the :data:`TOP_ALTERNATIVES` alternatives an answer shows by default in
full and the others compactly under :data:`MORE` (one list per option, instants as integer
microseconds since the epoch, no route text): a cn-telecom create renders and stores about
6 kB instead of 13 kB, in less than half the time. ``?expand=alternatives`` (:func:`sized`)
renders the others in full, their route texts rebuilt from the scenario's travel network (the
same ETA computation gives the same text). :data:`MORE` never leaves the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from api.dispatches.models import DispatchCreate
from inventory.db.dispatch_models import as_utc
from optimizer.deadlines import Deadline
from optimizer.dispatch import DispatchDecision, Option, ReplenishmentOrder
from optimizer.dispatch.lifecycle import Status
from optimizer.dispatch.result import Outcome

if TYPE_CHECKING:
    from optimizer.travel import TravelNetwork

TOP_ALTERNATIVES = 3
"""Alternatives an answer carries unless the caller asks for all (``?expand=alternatives``)."""

MORE = "alternatives_more"
"""Key of a stored answer holding the alternatives after the first :data:`TOP_ALTERNATIVES`,
compactly (:func:`option_row`); :func:`sized` removes it from every answer."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


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


def _us(value: datetime | None) -> int | None:
    return None if value is None else (value - _EPOCH) // _US


def _from_us(value: int | None) -> str | None:
    return None if value is None else iso(_EPOCH + value * _US)


def option_row(o: Option) -> list[Any]:
    """An option compactly, for :data:`MORE`: :func:`option_out`'s values in its order, the
    instants as integer microseconds since the epoch, without the route text."""
    return [o.depot_id, o.part_id, o.mode_id, o.free_units, o.critical_level, _us(o.departs_at),
            _us(o.arrives_at), r3(o.margin_hours), o.meets_deadline, o.takes_protected,
            o.transport_cost, o.protection_cost, o.substitute_cost, o.cost, o.lost_because]


def option_from_row(row: list[Any], route: str = "") -> dict[str, Any]:
    """An :func:`option_row` in the shape of ``OptionOut``, with its ``route`` text."""
    (depot_id, part_id, mode_id, free_units, critical, departs, eta, margin, meets, taken,
     transport, protection, substitute, cost, lost) = row
    return {"depot_id": depot_id, "part_id": part_id, "mode_id": mode_id,
            "free_units": free_units, "critical_level": critical,
            "departs_at": _from_us(departs), "eta": _from_us(eta), "margin_hours": margin,
            "meets_deadline": meets, "takes_protected_units": taken,
            "transport_cost": transport, "protection_cost": protection,
            "substitute_cost": substitute, "cost": cost, "route": route, "lost_because": lost}


def expand_rows(rows: list[list[Any]], site_id: str, ready_at: str | None,
                network: TravelNetwork | None) -> list[dict[str, Any]]:
    """:func:`option_row` rows in the shape of ``OptionOut``. The route texts are those of the
    network's legs from each depot for an order ready at ``ready_at`` (the ones the decision
    weighed; one picking computation per depot and part); empty when an option cannot ship
    or the network no longer gives that leg (another scenario served since)."""
    legs: dict[tuple[str, str], dict[str, Any]] = {}
    ready = datetime.fromisoformat(ready_at) if ready_at else None
    out = []
    for row in rows:
        depot_id, part_id, mode_id, departs, eta = row[0], row[1], row[2], row[5], row[6]
        route = ""
        if network is not None and mode_id is not None and ready is not None:
            found = legs.get((depot_id, part_id))
            if found is None:
                try:
                    found = {g.mode_id: g for g in network.options(
                        depot_id, site_id, network.scenario.part(part_id), ready)}
                except KeyError:
                    found = {}
                legs[(depot_id, part_id)] = found
            leg = found.get(mode_id)
            if leg is not None and _us(leg.departs_at) == departs and _us(leg.arrives_at) == eta:
                route = leg.explanation
        out.append(option_from_row(row, route))
    return out


def _alternatives(dec: DispatchDecision) -> dict[str, Any]:
    """The stored alternatives: the first :data:`TOP_ALTERNATIVES` in full, the rest compact."""
    alts = dec.alternatives
    return {"alternatives": [option_out(o) for o in alts[:TOP_ALTERNATIVES]],
            MORE: [option_row(o) for o in alts[TOP_ALTERNATIVES:]]}


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
        **_alternatives(dec),
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
        "ready_at": iso(ready), "chosen": option_out(ch), **_alternatives(dec),
        "redecided_at": iso(at),
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


def sized(answer: dict[str, Any], expand: str | None,
          network: TravelNetwork | None = None) -> dict[str, Any]:
    """The answer with its first :data:`TOP_ALTERNATIVES` alternatives (earliest arrival
    first, as decided), or all of them with ``expand`` (the compact ones of :data:`MORE`
    rendered, their route texts from ``network``); ``alternatives_total`` counts them all.
    The stored answer is not changed."""
    alternatives = answer.get("alternatives") or []
    more = answer.get(MORE) or []
    out = {**answer, "alternatives_total": len(alternatives) + len(more)}
    out.pop(MORE, None)
    if expand is not None:
        if more:
            out["alternatives"] = [*alternatives, *expand_rows(
                more, answer.get("site_id", ""), answer.get("ready_at"), network)]
    elif len(alternatives) > TOP_ALTERNATIVES:
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
