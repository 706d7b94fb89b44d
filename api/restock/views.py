"""Routes of /v1/restock-runs (planner scope; viewer keys read their organization's runs):
start a quarterly run, list and poll runs, download their outputs, approve one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, JSONResponse

from api import pagination
from api.auth.deps import require, require_any
from api.auth.models import Principal, Scope
from api.idempotency import IdempotencyKey, replay
from api.inputs import identifier
from api.problems import Problem, field_problem
from api.restock import service
from api.restock.models import RestockRunCreate, RestockRunList, RestockRunOut, RunStatus

router = APIRouter(prefix="/v1/restock-runs", tags=["restock runs"])

PROBLEM = {"content": {"application/problem+json": {}}, "description": "problem details"}
RunId = Annotated[identifier(40), Path()]
MAX_QUEUED_RUNS = 3
"""Runs waiting for the worker beyond which a new one is refused (429): each takes minutes of
CPU, one at a time."""
QUEUE_RETRY_SECONDS = 60
READER = Depends(require_any(Scope.PLANNER, Scope.VIEWER))
"""Who reads runs: planner and admin keys all of them, viewer keys their organization's."""


@router.post("", status_code=202, response_model=RestockRunOut,
             responses={401: PROBLEM, 403: PROBLEM, 422: PROBLEM, 429: PROBLEM},
             summary="Start a quarterly restocking run")
def start_run(body: RestockRunCreate, request: Request,
              idempotency_key: IdempotencyKey = None,
              who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Queue a run (forecast, re-plan, transfer/repair/buy orders under the budget) on the
    database's stock ledger; it belongs to the key's organization. Answers 202 at once with
    the run id; poll the Location. With three runs already waiting for the worker it is a 429
    with `Retry-After`. With an `Idempotency-Key`, a retry answers the first answer (the run
    it queued, `Idempotent-Replayed: true`) and queues nothing. With `overlay` (a stored
    what-if, by id or name) the run plans and orders for the changed network, names the
    overlay in its outputs and cannot be approved; an unknown overlay is a 422 naming
    `body.overlay`."""
    ctx = request.app.state.ctx
    if idempotency_key is not None:
        found = service.started_with(ctx, owner=who.organization_id, key=idempotency_key,
                                     body=body)
        if found is not None:
            return replay(found, headers={"Location": f"/v1/restock-runs/{found.response['id']}"})
    queued = service.queued_runs(ctx)
    if queued >= MAX_QUEUED_RUNS:
        raise Problem(429, "restock-queue-full", "Too many queued restock runs",
                      f"{queued} restock runs are queued for the worker (at most "
                      f"{MAX_QUEUED_RUNS}); retry when one has started",
                      headers={"Retry-After": str(QUEUE_RETRY_SECONDS)})
    what_if = (service.what_if_for(ctx, body.overlay, tenant=who.tenant)
               if body.overlay is not None else None)
    out_root = service.runs_dir(getattr(request.app.state, "restock_dir", None))
    view, _ = service.start_run(ctx, owner=who.organization_id, created_by=who.key_id,
                                quarter=body.quarter, budget=body.budget, out_root=out_root,
                                idempotency_key=idempotency_key, what_if=what_if,
                                overlay_ref=body.overlay)
    if isinstance(view, JSONResponse):  # a concurrent retry with the key queued it first
        return view
    return JSONResponse(jsonable_encoder(RestockRunOut.model_validate(view)), status_code=202,
                        headers={"Location": f"/v1/restock-runs/{view['id']}"})


@router.get("", response_model=RestockRunList, responses={401: PROBLEM, 403: PROBLEM,
                                                           422: PROBLEM})
def list_runs(request: Request, status: RunStatus | None = None,
              quarter: Annotated[identifier(10) | None,
                                 Query(description="only runs for this quarter (YYYYQn)")] = None,
              organization_id: Annotated[identifier(40) | None, Query(
                  description="only this organization's runs")] = None,
              limit: pagination.Limit = pagination.DEFAULT_PAGE,
              cursor: pagination.Cursor = None,
              who: Principal = READER) -> Any:
    """Restock runs, newest first, without their summary and orders (`GET /{run_id}` has
    them); each with links to its outputs. Planner and admin keys see every organization's
    runs, viewer keys their own organization's. A page holds at most `limit`; `has_more` says
    more follow, fetched with `cursor=<next_cursor>`."""
    after = pagination.decode("restock-runs", cursor, (str, str))
    if after is not None:
        try:
            aware = datetime.fromisoformat(after[0]).tzinfo is not None
        except ValueError:
            aware = False
        if not aware:
            raise field_problem(422, "query.cursor", "not a cursor of this list: pass the "
                                "next_cursor of a previous page", "invalid-cursor")
    tenant = who.tenant
    if organization_id is not None and tenant is not None and organization_id != tenant:
        items: list[dict[str, Any]] = []  # another organization's runs: none visible
    else:
        items = service.list_runs(request.app.state.ctx, status=status,
                                  quarter=quarter.upper() if quarter else None,
                                  tenant=tenant or organization_id, limit=limit + 1,
                                  after=after)  # type: ignore[arg-type]
    return pagination.page("restock-runs", items, limit,
                           lambda r: (r["created_at"].isoformat(), r["id"]))


@router.get("/{run_id}", response_model=RestockRunOut, responses={404: PROBLEM})
def get_run(request: Request, run_id: RunId, who: Principal = READER) -> Any:
    """Status; when succeeded also the summary, the orders and the written files. Another
    organization's run is a 404 to a viewer key."""
    return service.get_run(request.app.state.ctx, run_id, tenant=who.tenant)


@router.post("/{run_id}/approve", response_model=RestockRunOut,
             responses={404: PROBLEM, 409: PROBLEM})
def approve_run(request: Request, run_id: RunId,
                who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Book the orders in the stock ledger (transfers, buys and contractual buys in transit,
    repairs in repair), once: approving again books nothing more. 409 unless the run
    succeeded. Each booked line becomes an order in `/v1/orders` (`restock_run_id`, status
    `sent`) to receive there."""
    return service.approve_run(request.app.state.ctx, run_id, approver=who.key_id,
                               tenant=who.tenant)


OUTPUT_MEDIA = {media: {} for media in sorted(set(service.MEDIA_TYPES.values()))}


@router.get("/{run_id}/outputs/{name}", response_class=FileResponse,
            responses={200: {"content": OUTPUT_MEDIA, "description": "the output file"},
                       404: PROBLEM}, summary="Download an output of a restock run")
def download_output(request: Request, run_id: RunId,
                    name: Annotated[identifier(40), Path(description="an output name as listed "
                                                                     "in the run's `outputs`")],
                    who: Principal = READER) -> Any:
    """One file the run wrote (an order table as CSV, `summary` as JSON, `xlsx`, `html`), as
    an attachment named `<run id>-<file>`."""
    path, media = service.output_file(request.app.state.ctx, run_id, name, tenant=who.tenant)
    return FileResponse(path, media_type=media, filename=f"{run_id}-{path.name}")
