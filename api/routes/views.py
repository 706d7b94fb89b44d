"""Route of /v1/route-plans (planner scope): a depot's van runs for one day."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from api.auth.deps import require
from api.auth.models import Principal, Scope
from api.problems import field_problem
from api.routes import service
from api.routes.models import RoutePlanCreate, RoutePlanOut

router = APIRouter(prefix="/v1/route-plans", tags=["route plans"])

PROBLEM = {"content": {"application/problem+json": {}}, "description": "problem details"}


@router.post("", response_model=RoutePlanOut, responses={401: PROBLEM, 403: PROBLEM, 422: PROBLEM},
             summary="Plan a depot's van runs for a day")
def plan_routes(body: RoutePlanCreate, request: Request,
                _: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Multi-stop runs (VRP with time windows, PyVRP) over the depot's pending van-run
    dispatches (reserved or picked, due on/after the day): stop times per run, km, and the
    deliveries no run makes on time, flagged for a direct trip. Nothing is stored or reserved."""
    ctx = request.app.state.ctx
    try:
        with ctx.sessions() as session:
            day = service.plan_day(session=session, network=ctx.network, depot_id=body.depot_id,
                                   day=body.date, vans=body.vans, capacity=body.capacity,
                                   seconds=body.seconds)
    except service.RoutePlanError as exc:
        raise field_problem(422, f"body.{exc.field}", exc.message, "invalid-route-plan") from None
    return service.plan_view(day)
