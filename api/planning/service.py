"""Named what-if overlays and planner overrides (min / max stock, forecast) with an audit trail.

Used by the workspace (``api/ui/whatif.py``), plan jobs and restock runs. Every change writes
one :class:`~inventory.db.planning_models.PlanningAudit` row in the same transaction (who, when,
the values before and after, why). Refusals are :class:`~api.problems.Problem` documents naming
the field. Overrides past their expiry are kept (and listed) but never applied.

Rows belong to an organization (``owner``): the workspace and the ``/v1`` API pass the
caller's. ``tenant`` (a viewer key's organization) limits what is read to that organization's
rows, another organization's row being a 404 like an unknown one; None reads all.
"""

from __future__ import annotations

import csv
import io
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import idempotency
from api.problems import Problem, field_problem
from inventory.db.dispatch_models import DEFAULT_ORGANIZATION_ID, as_utc
from inventory.db.planning_models import (
    ForecastOverride,
    PlanningAudit,
    StockOverride,
    WhatIfOverlay,
)
from scenarios.overlay import Overlay, OverlayError, apply_overlay, parse_overlay

if TYPE_CHECKING:
    from api.context import AppContext
    from inventory.domain import Scenario

REASON_MAX = 2000
NAME_MAX = 100
MAX_STOCK = 1_000_000
MAX_UNITS_PER_MONTH = 1e7


def _now(ctx: AppContext) -> datetime:
    return ctx.now()


def _audit(session: Session, ctx: AppContext, *, actor: str, kind: str, subject: str,
           action: str, old: dict | None, new: dict | None, reason: str,
           owner: str = DEFAULT_ORGANIZATION_ID) -> None:
    session.add(PlanningAudit(at=_now(ctx), actor=actor, kind=kind, subject=subject,
                              action=action, old=old, new=new, reason=reason, owner=owner))


def _visible(row: Any, tenant: str | None) -> bool:
    return row is not None and (tenant is None or row.owner == tenant)


def _reason(reason: str, field: str = "body.reason") -> str:
    text = (reason or "").strip()
    if not text:
        raise field_problem(422, field, "give the reason for the change")
    if len(text) > REASON_MAX:
        raise field_problem(422, field, f"at most {REASON_MAX} characters")
    return text


# --- overlays ------------------------------------------------------------------------------------

def check_overlay(scenario: Scenario, body: str) -> tuple[Overlay, Scenario]:
    """Parse ``body`` and apply it to ``scenario``; a 422 naming the overlay field if wrong."""
    try:
        overlay = parse_overlay(body)
        return overlay, apply_overlay(scenario, overlay)
    except OverlayError as exc:
        raise field_problem(422, f"body.overlay.{exc.field}", exc.message,
                            "invalid-overlay") from None


def _overlay_view(row: WhatIfOverlay) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "body": row.body, "created_by": row.created_by,
            "created_at": as_utc(row.created_at), "updated_by": row.updated_by,
            "updated_at": as_utc(row.updated_at), "organization_id": row.owner}


def _no_overlay(overlay_id: str) -> Problem:
    return Problem(404, "overlay-not-found", "Overlay not found",
                   f"no what-if overlay {overlay_id!r}",
                   errors=[{"field": "path.overlay_id", "message": "unknown overlay"}])


def list_overlays(ctx: AppContext, *, tenant: str | None = None, after: str | None = None,
                  limit: int | None = None) -> list[dict[str, Any]]:
    """Overlays by name (``tenant``'s only if given), those named after ``after`` on; at most
    ``limit``."""
    q = select(WhatIfOverlay).order_by(WhatIfOverlay.name)
    if tenant is not None:
        q = q.where(WhatIfOverlay.owner == tenant)
    if after is not None:
        q = q.where(WhatIfOverlay.name > after)
    if limit is not None:
        q = q.limit(limit)
    with ctx.sessions() as session:
        return [_overlay_view(r) for r in session.scalars(q).all()]


def get_overlay(ctx: AppContext, overlay_id: str, *, tenant: str | None = None
                ) -> dict[str, Any]:
    with ctx.sessions() as session:
        row = session.get(WhatIfOverlay, overlay_id)
        if not _visible(row, tenant):
            raise _no_overlay(overlay_id)
        return _overlay_view(row)


def overlay_named(session: Session, name: str) -> dict[str, Any] | None:
    """The stored overlay called ``name`` read in an open session (the CLI's), None if none."""
    row = session.scalar(select(WhatIfOverlay).where(WhatIfOverlay.name == name))
    return None if row is None else _overlay_view(row)


def find_overlay(ctx: AppContext, ref: str, *, tenant: str | None = None
                 ) -> dict[str, Any] | None:
    """The stored overlay whose id or name is ``ref`` (an id wins), None when there is none or,
    with ``tenant``, it is another organization's (hidden like an unknown one, as on
    ``GET /v1/overlays/{id}``)."""
    ref = (ref or "").strip()
    if not ref:
        return None
    with ctx.sessions() as session:
        row = session.get(WhatIfOverlay, ref)
        if row is None:
            row = session.scalar(select(WhatIfOverlay).where(WhatIfOverlay.name == ref))
        return _overlay_view(row) if _visible(row, tenant) else None


@dataclass(frozen=True)
class RestockWhatIf:
    """A restock run's inputs on a what-if network: the overlaid scenario, the positions on its
    locations (stock at removed locations left out) and one note per change, each starting with
    ``label`` (the run's outputs name the overlay through them)."""

    scenario: Scenario
    positions: Any
    """:class:`optimizer.restock.positions.Positions` of ``scenario``."""
    notes: tuple[str, ...]
    overlay: Overlay


def restock_what_if(scenario: Scenario, positions: Any, body: str, label: str) -> RestockWhatIf:
    """Apply the overlay text ``body`` to a restock run's ``scenario`` and ``positions``
    (:class:`~optimizer.restock.positions.Positions`): the one code path of
    ``spares restock --overlay`` and of API / workspace runs started with an overlay. Raises
    :class:`scenarios.overlay.OverlayError` naming the overlay field when it does not apply."""
    from optimizer.restock.build import location_ids
    from scenarios.overlay import describe

    overlay = parse_overlay(body)
    changed = apply_overlay(scenario, overlay)
    parts, locs = [p.part_id for p in changed.parts], location_ids(changed)
    notes = [f"{label}: {line}" for line in describe(overlay)] or [f"{label}: no changes"]
    dropped = positions.dropped_units(parts, locs)
    if dropped:
        notes.append(f"{label}: {dropped} units on hand at removed locations are not counted")
    return RestockWhatIf(changed, positions.reindexed(parts, locs), tuple(notes), overlay)


def save_overlay(ctx: AppContext, *, actor: str, name: str, body: str,
                 overlay_id: str | None = None, owner: str = DEFAULT_ORGANIZATION_ID
                 ) -> dict[str, Any]:
    """Create (``overlay_id`` None; it belongs to ``owner``) or replace a named overlay,
    checked against the app's scenario first; a taken name is a 409."""
    name = _overlay_name(name)
    check_overlay(ctx.scenario, body)
    with ctx.sessions(write=True) as session:
        return _save_overlay(session, ctx, actor=actor, name=name, body=body,
                             overlay_id=overlay_id, owner=owner)


CREATE_OVERLAY_OPERATION = "POST /v1/overlays"


def create_overlay_once(ctx: AppContext, *, actor: str, name: str, body: str, owner: str,
                        created_by: str, idempotency_key: str | None,
                        render: Callable[[dict[str, Any]], Any]) -> tuple[Any, bool]:
    """Create an overlay as :func:`save_overlay`, with an optional Idempotency-Key (per
    ``owner`` organization) as the other booking POSTs. Returns ``render(view)`` (the answer's
    body) and whether it is a replay: the first answer is stored in the create's transaction;
    a retry with the key and the same name and body gets it back and creates nothing (also
    after the overlay was renamed or deleted); the key with another request is a 422 naming
    the header. A refusal (a wrong field, a taken name) stores nothing."""
    if idempotency_key is None:
        return render(save_overlay(ctx, actor=actor, name=name, body=body, owner=owner)), False
    digest = idempotency.request_hash({"name": name, "body": body})
    key = {"owner": owner, "operation": CREATE_OVERLAY_OPERATION, "key": idempotency_key,
           "digest": digest}
    with ctx.sessions() as session:  # a retry is answered without the checks or a write lock
        found = idempotency.find(session, **key)
        if found is not None:
            return found.response, True
    clean = _overlay_name(name)
    check_overlay(ctx.scenario, body)
    with ctx.sessions(write=True) as session:
        found = idempotency.find(session, **key)  # a concurrent retry stored it meanwhile
        if found is not None:
            return found.response, True
        answer = render(_save_overlay(session, ctx, actor=actor, name=clean, body=body,
                                      overlay_id=None, owner=owner))
        idempotency.store(session, **key, status_code=201, response=answer,
                          created_by=created_by, now=_now(ctx))
    return answer, False


def _overlay_name(name: str) -> str:
    """The overlay's name stripped; a 422 on ``body.name`` when empty or not one short line."""
    name = (name or "").strip()
    if not name:
        raise field_problem(422, "body.name", "give the overlay a name")
    if len(name) > NAME_MAX or any(ord(ch) < 32 for ch in name):
        raise field_problem(422, "body.name", f"at most {NAME_MAX} characters, one line")
    return name


def _save_overlay(session: Session, ctx: AppContext, *, actor: str, name: str, body: str,
                  overlay_id: str | None, owner: str) -> dict[str, Any]:
    """:func:`save_overlay` in ``session`` (write) on a checked name and body."""
    now = _now(ctx)
    clash = session.scalar(select(WhatIfOverlay).where(WhatIfOverlay.name == name))
    if clash is not None and clash.id != overlay_id:
        raise field_problem(409, "body.name", f"an overlay named {name!r} exists already",
                            "overlay-name-taken")
    if overlay_id is None:
        row = WhatIfOverlay(id=f"ov_{secrets.token_hex(6)}", name=name, body=body,
                            created_by=actor, created_at=now, updated_by=actor, updated_at=now,
                            owner=owner)
        session.add(row)
        old = None
    else:
        row = session.get(WhatIfOverlay, overlay_id)
        if row is None:
            raise _no_overlay(overlay_id)
        old = {"name": row.name, "body": row.body}
        row.name, row.body, row.updated_by, row.updated_at = name, body, actor, now
    _audit(session, ctx, actor=actor, kind="overlay", subject=name,
           action="create" if old is None else "update", old=old,
           new={"name": name, "body": body}, reason="overlay saved", owner=owner)
    session.flush()
    return _overlay_view(row)


def delete_overlay(ctx: AppContext, *, actor: str, overlay_id: str,
                   owner: str = DEFAULT_ORGANIZATION_ID) -> None:
    """Remove a named overlay (its plans stay), recording its last text in the audit."""
    with ctx.sessions(write=True) as session:
        row = session.get(WhatIfOverlay, overlay_id)
        if row is None:
            raise _no_overlay(overlay_id)
        _audit(session, ctx, actor=actor, kind="overlay", subject=row.name, action="delete",
               old={"name": row.name, "body": row.body}, new=None, reason="overlay deleted",
               owner=owner)
        session.delete(row)


# --- overrides -----------------------------------------------------------------------------------

def _expiry(text: str | None, *, required: bool, now: datetime,
            field: str = "body.expires_at") -> datetime | None:
    """A date (``2027-03-31``: the end of that day, UTC) or an ISO instant with offset."""
    raw = (text or "").strip()
    if not raw:
        if required:
            raise field_problem(422, field, "give the date the override expires")
        return None
    try:
        if len(raw) == 10:
            at = datetime.fromisoformat(raw).replace(hour=23, minute=59, second=59, tzinfo=UTC)
        else:
            at = datetime.fromisoformat(raw)
    except ValueError:
        raise field_problem(422, field, f"{raw!r} is not a date like 2027-03-31") from None
    if at.tzinfo is None:
        raise field_problem(422, field, "give a date, or a time with its offset")
    if at <= now:
        raise field_problem(422, field, "the expiry must lie in the future")
    if at.year >= 2100:
        raise field_problem(422, field, "the expiry must lie before 2100")
    return at.astimezone(UTC)


def _stock_view(row: StockOverride, now: datetime) -> dict[str, Any]:
    exp = as_utc(row.expires_at)
    return {"id": row.id, "part_id": row.part_id, "location_id": row.location_id,
            "min_stock": row.min_stock, "max_stock": row.max_stock, "reason": row.reason,
            "expires_at": exp, "updated_by": row.updated_by, "updated_at": as_utc(row.updated_at),
            "active": exp is None or exp > now, "organization_id": row.owner}


def _forecast_view(row: ForecastOverride, now: datetime) -> dict[str, Any]:
    exp = as_utc(row.expires_at)
    return {"id": row.id, "part_id": row.part_id, "units_per_month": row.units_per_month,
            "reason": row.reason, "expires_at": exp, "updated_by": row.updated_by,
            "updated_at": as_utc(row.updated_at), "active": exp > now, "organization_id": row.owner}


def _stock_values(row: StockOverride | None) -> dict[str, Any] | None:
    if row is None:
        return None
    exp = as_utc(row.expires_at)
    return {"min_stock": row.min_stock, "max_stock": row.max_stock,
            "expires_at": exp.isoformat() if exp else None, "reason": row.reason}


def _forecast_values(row: ForecastOverride | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"units_per_month": row.units_per_month,
            "expires_at": as_utc(row.expires_at).isoformat(), "reason": row.reason}


def _stock_number(text: str | int | None, field: str) -> int | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        raise field_problem(422, field, f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_STOCK:
        raise field_problem(422, field, f"must be from 0 to {MAX_STOCK:,}")
    return value


def set_stock_override(ctx: AppContext, *, actor: str, part_id: str, location_id: str,
                       min_stock: str | int | None, max_stock: str | int | None, reason: str,
                       expires_at: str | None = None, owner: str = DEFAULT_ORGANIZATION_ID
                       ) -> dict[str, Any]:
    """Create or replace the min / max of ``part_id`` at ``location_id`` (a depot or a
    candidate of the app's scenario); at least one of the two, min <= max, a reason."""
    sc = ctx.scenario
    part_id, location_id = (part_id or "").strip(), (location_id or "").strip()
    if part_id not in {p.part_id for p in sc.parts}:
        raise field_problem(422, "body.part_id", f"unknown part {part_id!r}")
    if location_id not in {d.depot_id for d in sc.depots} | {c.candidate_id
                                                               for c in sc.candidates}:
        raise field_problem(422, "body.location_id", f"unknown location {location_id!r}")
    lo = _stock_number(min_stock, "body.min_stock")
    hi = _stock_number(max_stock, "body.max_stock")
    if lo is None and hi is None:
        raise field_problem(422, "body.min_stock", "give a minimum, a maximum or both")
    if lo is not None and hi is not None and lo > hi:
        raise field_problem(422, "body.max_stock", f"the maximum {hi} is below the minimum {lo}")
    why = _reason(reason)
    now = _now(ctx)
    exp = _expiry(expires_at, required=False, now=now)
    with ctx.sessions(write=True) as session:
        row = session.scalar(select(StockOverride).where(StockOverride.part_id == part_id,
                                                         StockOverride.location_id == location_id))
        old = _stock_values(row)
        if row is None:
            row = StockOverride(part_id=part_id, location_id=location_id)
            session.add(row)
        row.min_stock, row.max_stock, row.reason, row.expires_at = lo, hi, why, exp
        row.updated_by, row.updated_at, row.owner = actor, now, owner
        _audit(session, ctx, actor=actor, kind="stock", subject=f"{part_id}@{location_id}",
               action="create" if old is None else "update", old=old, new=_stock_values(row),
               reason=why, owner=owner)
        session.flush()
        return {**_stock_view(row, now), "created": old is None}


def set_forecast_override(ctx: AppContext, *, actor: str, part_id: str,
                          units_per_month: str | float, reason: str,
                          expires_at: str | None, owner: str = DEFAULT_ORGANIZATION_ID
                          ) -> dict[str, Any]:
    """Create or replace the forecast of ``part_id`` (units a month, >= 0) until ``expires_at``."""
    part_id = (part_id or "").strip()
    if part_id not in {p.part_id for p in ctx.scenario.parts}:
        raise field_problem(422, "body.part_id", f"unknown part {part_id!r}")
    try:
        rate = float(str(units_per_month).replace(",", "").strip())
    except ValueError:
        raise field_problem(422, "body.units_per_month",
                            f"{units_per_month!r} is not a number") from None
    if not (math.isfinite(rate) and 0 <= rate <= MAX_UNITS_PER_MONTH):
        raise field_problem(422, "body.units_per_month",
                            f"must be from 0 to {MAX_UNITS_PER_MONTH:,.0f} units a month")
    why = _reason(reason)
    now = _now(ctx)
    exp = _expiry(expires_at, required=True, now=now)
    with ctx.sessions(write=True) as session:
        row = session.scalar(select(ForecastOverride).where(ForecastOverride.part_id == part_id))
        old = _forecast_values(row)
        if row is None:
            row = ForecastOverride(part_id=part_id)
            session.add(row)
        row.units_per_month, row.reason, row.expires_at = rate, why, exp
        row.updated_by, row.updated_at, row.owner = actor, now, owner
        _audit(session, ctx, actor=actor, kind="forecast", subject=part_id,
               action="create" if old is None else "update", old=old, new=_forecast_values(row),
               reason=why, owner=owner)
        session.flush()
        return {**_forecast_view(row, now), "created": old is None}


def _override_model(kind: str) -> type[StockOverride] | type[ForecastOverride]:
    model = {"stock": StockOverride, "forecast": ForecastOverride}.get(kind)
    if model is None:
        raise field_problem(422, "path.kind", "must be stock or forecast")
    return model


def _no_override(kind: str, override_id: int) -> Problem:
    return Problem(404, "override-not-found", "Override not found",
                   f"no {kind} override {override_id}",
                   errors=[{"field": "path.override_id", "message": "unknown override"}])


def get_override(ctx: AppContext, kind: str, override_id: int, *,
                 tenant: str | None = None) -> dict[str, Any]:
    """One stock or forecast override (``kind``); 404 when unknown or another tenant's."""
    model = _override_model(kind)
    with ctx.sessions() as session:
        row = session.get(model, override_id)
        if not _visible(row, tenant):
            raise _no_override(kind, override_id)
        view = _stock_view if kind == "stock" else _forecast_view
        return view(row, _now(ctx))  # type: ignore[arg-type]


def delete_override(ctx: AppContext, *, actor: str, kind: str, override_id: int,
                    reason: str, owner: str = DEFAULT_ORGANIZATION_ID,
                    reason_field: str = "body.reason") -> None:
    """Remove a stock (``kind`` stock) or forecast override, recording why (a refused reason
    names ``reason_field``)."""
    why = _reason(reason, reason_field)
    model = _override_model(kind)
    with ctx.sessions(write=True) as session:
        row = session.get(model, override_id)
        if row is None:
            raise _no_override(kind, override_id)
        if kind == "stock":
            subject, old = f"{row.part_id}@{row.location_id}", _stock_values(row)
        else:
            subject, old = row.part_id, _forecast_values(row)
        session.delete(row)
        _audit(session, ctx, actor=actor, kind=kind, subject=subject, action="delete", old=old,
               new=None, reason=why, owner=owner)


def list_overrides(ctx: AppContext, *, tenant: str | None = None
                   ) -> dict[str, list[dict[str, Any]]]:
    """Every stock and forecast override (expired ones flagged ``active`` False);
    ``tenant``'s only if given."""
    with ctx.sessions() as session:
        return overrides_in(session, _now(ctx), tenant=tenant)


def overrides_in(session: Session, now: datetime, *, tenant: str | None = None
                 ) -> dict[str, list[dict[str, Any]]]:
    """:func:`list_overrides` in an open session (the CLI's), ``active`` as of ``now``."""
    sq = select(StockOverride).order_by(StockOverride.part_id, StockOverride.location_id)
    fq = select(ForecastOverride).order_by(ForecastOverride.part_id)
    if tenant is not None:
        sq = sq.where(StockOverride.owner == tenant)
        fq = fq.where(ForecastOverride.owner == tenant)
    return {"stock": [_stock_view(r, now) for r in session.scalars(sq).all()],
            "forecast": [_forecast_view(r, now) for r in session.scalars(fq).all()]}


@dataclass(frozen=True)
class ActiveOverrides:
    """The overrides a run applies now: stock limits ``{(part, location): (min, max)}``,
    forecasts ``{part: units a month}``, and one line per override for the run's outputs."""

    stock_limits: dict[tuple[str, str], tuple[int | None, int | None]]
    forecasts: dict[str, float]
    lines: tuple[str, ...]
    reasons: dict[tuple[str, str], str] = field(default_factory=dict)
    """(part, location) -> who set the stock limit and why."""

    def __bool__(self) -> bool:
        return bool(self.stock_limits or self.forecasts)

    def restock_minimums(self, given: Sequence[Any] = ()) -> tuple[Any, ...]:
        """The minimums a restock run must stock up to (:class:`optimizer.restock.minimums.
        Minimum`): ``given`` (a contract's, from ``--minimums``) merged with the planners'
        minimum overrides, the larger where both name a part and location."""
        from optimizer.restock.minimums import Minimum

        out = {(m.part_id, m.depot_id): m for m in given}
        for (part, loc), (lo, _hi) in self.stock_limits.items():
            have = out.get((part, loc))
            if lo and (have is None or have.units < lo):
                why = self.reasons.get((part, loc), "")
                out[(part, loc)] = Minimum(part, loc, lo, f"planner override: {why}")
        return tuple(out.values())


def active_overrides(ctx: AppContext, scenario: Scenario | None = None) -> ActiveOverrides:
    """The unexpired overrides whose part and location ``scenario`` (default: the app's) has;
    the others are named in ``lines`` as not applied."""
    return select_active(list_overrides(ctx), scenario or ctx.scenario)


def select_active(data: dict[str, list[dict[str, Any]]], sc: Scenario) -> ActiveOverrides:
    """The active overrides of ``data`` (:func:`overrides_in`) that ``sc`` can apply."""
    parts = {p.part_id for p in sc.parts}
    locs = {d.depot_id for d in sc.depots}
    limits: dict[tuple[str, str], tuple[int | None, int | None]] = {}
    forecasts: dict[str, float] = {}
    reasons: dict[tuple[str, str], str] = {}
    lines: list[str] = []
    for o in data["stock"]:
        if not o["active"]:
            continue
        label = (f"stock {o['part_id']}@{o['location_id']}: min {_dash(o['min_stock'])}, "
                 f"max {_dash(o['max_stock'])} ({o['reason']}; {o['updated_by']})")
        if o["part_id"] in parts and o["location_id"] in locs:
            limits[(o["part_id"], o["location_id"])] = (o["min_stock"], o["max_stock"])
            reasons[(o["part_id"], o["location_id"])] = f"{o['reason']} ({o['updated_by']})"
            lines.append(label)
        else:
            lines.append(f"NOT applied (location not in the network): {label}")
    for o in data["forecast"]:
        if not o["active"]:
            continue
        label = (f"forecast {o['part_id']}: {o['units_per_month']:g} units a month until "
                 f"{o['expires_at']:%Y-%m-%d} ({o['reason']}; {o['updated_by']})")
        if o["part_id"] in parts:
            forecasts[o["part_id"]] = o["units_per_month"]
            lines.append(label)
        else:
            lines.append(f"NOT applied (part not in the catalog): {label}")
    return ActiveOverrides(limits, forecasts, tuple(lines), reasons)


def _dash(v: int | None) -> str:
    return "-" if v is None else str(v)


# --- the audit trail -----------------------------------------------------------------------------

AUDIT_COLUMNS = ("at", "actor", "kind", "subject", "action", "old", "new", "reason")


def audit_rows(ctx: AppContext, *, limit: int | None = 500, tenant: str | None = None,
               before_id: int | None = None) -> list[dict[str, Any]]:
    """The audit trail, newest first (by id: the order the changes were written);
    ``tenant``'s changes only if given; those before ``before_id`` only if given."""
    with ctx.sessions() as session:
        q = select(PlanningAudit).order_by(PlanningAudit.id.desc())
        if tenant is not None:
            q = q.where(PlanningAudit.owner == tenant)
        if before_id is not None:
            q = q.where(PlanningAudit.id < before_id)
        if limit is not None:
            q = q.limit(limit)
        return [{"id": r.id, "at": as_utc(r.at), "actor": r.actor, "kind": r.kind,
                 "subject": r.subject, "action": r.action, "old": r.old, "new": r.new,
                 "reason": r.reason, "organization_id": r.owner} for r in session.scalars(q)]


def _flat(values: dict | None) -> str:
    if values is None:
        return ""
    return "; ".join(f"{k}={v}" for k, v in values.items() if k not in ("reason", "body"))


def audit_csv(ctx: AppContext, *, tenant: str | None = None) -> str:
    """The whole audit trail as CSV (old and new as ``key=value; ...``); ``tenant``'s changes
    only if given."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(AUDIT_COLUMNS)
    for r in audit_rows(ctx, limit=None, tenant=tenant):
        w.writerow([r["at"].isoformat(), r["actor"], r["kind"], r["subject"], r["action"],
                    _flat(r["old"]), _flat(r["new"]), r["reason"]])
    return buf.getvalue()
