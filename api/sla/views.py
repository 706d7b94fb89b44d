"""Route of /v1/sla/compliance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.auth.deps import principal
from api.auth.models import Principal
from api.inputs import FilterInstant, identifier
from api.problems import field_problem
from api.sla import service
from api.sla.models import Compliance

router = APIRouter(prefix="/v1/sla", tags=["sla"])


@router.get("/compliance", response_model=Compliance)
def compliance(request: Request,
               date_from: Annotated[FilterInstant | None, Query(alias="from")] = None,
               date_to: Annotated[FilterInstant | None, Query(alias="to")] = None,
               tier: identifier(50) | None = None, who: Principal = Depends(principal)) -> Any:
    """On-time share of dispatches reported in [from, to) per tier and severity, per depot and per
    depot kind (hq / regional / partner): met over delivered plus overdue (past due, neither
    delivered nor cancelled, so a backorder or a lost shipment counts as missed). A date, or a
    time without offset, is read as UTC. A ticketing key counts its organization's dispatches;
    planner and admin keys count all."""
    if date_from is not None and date_to is not None and date_to <= date_from:
        raise field_problem(422, "query.to", "must be after 'from'")
    ctx = request.app.state.ctx
    if tier is not None and tier not in {c.tier for c in ctx.scenario.contracts}:
        raise field_problem(422, "query.tier", f"unknown tier {tier!r}")
    with ctx.sessions() as session:
        return service.compliance(session=session, scenario=ctx.scenario, as_of=ctx.now(),
                                  date_from=date_from, date_to=date_to, tier=tier,
                                  owner=who.tenant)
