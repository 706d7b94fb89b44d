"""Routes of /v1/restock-runs (planner scope): start a quarterly run, poll it, approve it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.auth.deps import require
from api.auth.models import Principal, Scope
from api.inputs import identifier
from api.problems import Problem
from api.restock import service
from api.restock.models import RestockRunCreate, RestockRunOut

router = APIRouter(prefix="/v1/restock-runs", tags=["restock runs"])

PROBLEM = {"content": {"application/problem+json": {}}, "description": "problem details"}
RunId = Annotated[identifier(40), Path()]
MAX_QUEUED_RUNS = 3
"""Runs waiting for the worker beyond which a new one is refused (429): each takes minutes of
CPU, one at a time."""
QUEUE_RETRY_SECONDS = 60


@router.post("", status_code=202, response_model=RestockRunOut,
             responses={401: PROBLEM, 403: PROBLEM, 422: PROBLEM, 429: PROBLEM},
             summary="Start a quarterly restocking run")
def start_run(body: RestockRunCreate, request: Request,
              who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Queue a run (forecast, re-plan, transfer/repair/buy orders under the budget) on the
    database's stock ledger. Answers 202 at once with the run id; poll the Location. With
    three runs already waiting for the worker it is a 429 with `Retry-After`."""
    queued = service.queued_runs(request.app.state.ctx)
    if queued >= MAX_QUEUED_RUNS:
        raise Problem(429, "restock-queue-full", "Too many queued restock runs",
                      f"{queued} restock runs are queued for the worker (at most "
                      f"{MAX_QUEUED_RUNS}); retry when one has started",
                      headers={"Retry-After": str(QUEUE_RETRY_SECONDS)})
    out_root = service.runs_dir(getattr(request.app.state, "restock_dir", None))
    view, _ = service.start_run(request.app.state.ctx, owner=who.key_id, quarter=body.quarter,
                                budget=body.budget, out_root=out_root)
    return JSONResponse(jsonable_encoder(RestockRunOut.model_validate(view)), status_code=202,
                        headers={"Location": f"/v1/restock-runs/{view['id']}"})


@router.get("/{run_id}", response_model=RestockRunOut, responses={404: PROBLEM})
def get_run(request: Request, run_id: RunId,
            _: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Status; when succeeded also the summary, the orders and the written files."""
    return service.get_run(request.app.state.ctx, run_id)


@router.post("/{run_id}/approve", response_model=RestockRunOut,
             responses={404: PROBLEM, 409: PROBLEM})
def approve_run(request: Request, run_id: RunId,
                who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Book the orders in the stock ledger (transfers and buys in transit, repairs in repair),
    once: approving again books nothing more. 409 unless the run succeeded."""
    return service.approve_run(request.app.state.ctx, run_id, approver=who.key_id)
