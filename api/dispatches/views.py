"""Routes of /v1/dispatches (ticket systems).

Every route is a plain ``def``: FastAPI runs it on the thread pool (at most
``SPARES_REQUEST_THREADS`` at once), so no database call, lock wait or decision blocks the event
loop that reads requests and answers ``/healthz``. The auth dependency stays on the loop (a cached
key costs no thread hop). Transactions are opened here, through the context, and passed down.

The create (the hot path) is served by :class:`LeanCreateRoute`: a well-formed request (JSON
body valid for :class:`DispatchCreate`, a valid ``Idempotency-Key``, no query but ``expand``)
is parsed once with ``model_validate_json`` and answered with the encoded answer, without
FastAPI's dependency resolution and parameter validation; any other request takes FastAPI's
own handler of the same declared endpoint, so every refusal (and the OpenAPI document) is
exactly what the declaration gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api import pagination
from api.auth.deps import require, require_any
from api.auth.models import Principal, Scope
from api.dispatches import flows, lifecycle, service
from api.dispatches.models import DispatchCreate, DispatchList, DispatchOut, EventCreate
from api.dispatches.render import TOP_ALTERNATIVES, sized
from api.fastjson import FastJSONResponse, dumps
from api.idempotency import REPLAYED, IdempotencyKey
from api.inputs import FilterInstant, check_not_future, identifier
from api.problems import field_problem
from inventory.db.engine import WriterBusy
from optimizer.dispatch.lifecycle import Status

router = APIRouter(prefix="/v1/dispatches", tags=["dispatches"])

PROBLEM = {"content": {"application/problem+json": {}}, "description": "problem details"}
DispatchId = Annotated[identifier(40), Path()]
Expand = Annotated[Literal["alternatives"] | None, Query(
    description=f"`alternatives`: every option the decision weighed (default: the "
                f"{TOP_ALTERNATIVES} that arrive first; `alternatives_total` counts them all)")]


def create_dispatch(body: DispatchCreate, request: Request,
                    idempotency_key: Annotated[str, Header(
                        alias="Idempotency-Key", max_length=255, pattern=r"^[!-~]+$",
                        description="unique per logical request and organization; a replay "
                                    "returns the first answer, another body with it is a 422")
                    ],
                    expand: Expand = None,
                    who: Principal = Depends(require(Scope.TICKETING))) -> Any:
    """Deadline from the contract dialect, the cheapest source meeting it (rationing protected
    stock), the reservation and the replenishment order, in one transaction. A replay with the
    same Idempotency-Key and body returns the same answer without reserving again; the same key
    with another body is a 422. Idempotency-Keys and dispatches belong to the key's
    organization. While the organization has an open dispatch for the same ticket and part, a
    new one is a 409 linking it, unless `allow_duplicate_ticket` is true. No stock anywhere is
    still a 201, status `backordered` with the expected date; no source in time is a
    reservation with `on_time: false` and the reason."""
    return _create(request, body, idempotency_key, expand, who)


def _create(request: Request, body: DispatchCreate, idempotency_key: str,
            expand: str | None, who: Principal) -> Response:
    """The create once its inputs are valid (both handlers of the route end here)."""
    check_not_future("body.reported_at", body.reported_at)
    check_not_future("body.confirmed_at", body.confirmed_at)
    ctx = request.app.state.ctx
    return _answer(ctx, service.create_dispatch(ctx, body, owner=who.organization_id,
                                                idempotency_key=idempotency_key), expand)


def _answer(ctx: Any, created: service.Created, expand: str | None) -> Response:
    """The create's answer: the stored body, encoded once, with its Location."""
    headers = {"Location": f"/v1/dispatches/{created.body['id']}"}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    # the body was built from the decision in the shape of DispatchOut (a test validates it);
    # skipping a second validation keeps the hot path short
    return FastJSONResponse(dumps(sized(created.body, expand, ctx.network)),
                            status_code=created.status_code, headers=headers)


_KEY = re.compile(r"[!-~]{1,255}")
"""A valid Idempotency-Key, as the declaration of :func:`create_dispatch` says."""
_TICKETING = require(Scope.TICKETING)
_EXPAND = {b"": None, b"expand=alternatives": "alternatives"}


async def lean_create(request: Request) -> Response | None:
    """The answer to a well-formed create, or None for FastAPI's handler to answer (and
    refuse) it. In FastAPI's order: the body is parsed (JSON and model) before the key is
    checked, so a request it would refuse for its body never gets a 401 here."""
    expand = _EXPAND.get(request.scope["query_string"], False)
    content_type = request.headers.get("content-type")
    if expand is False or content_type is None or \
            content_type.partition(";")[0].strip().lower() != "application/json":
        return None
    try:
        body = DispatchCreate.model_validate_json(await request.body())
    except ValidationError:
        return None
    key = request.headers.get("idempotency-key")
    if key is None or not _KEY.fullmatch(key):
        return None
    who = await _TICKETING(request)
    ctx = request.app.state.ctx
    if not ctx.nowait_writes:  # PostgreSQL: every statement a round trip, any may wait
        return await run_in_threadpool(_create, request, body, key, expand, who)
    return await _create_on_loop(ctx, body, key, expand, who)


async def _create_on_loop(ctx: Any, body: DispatchCreate, key: str, expand: str | None,
                          who: Principal) -> Response:
    """The create on the event loop while it cannot block it (SQLite): the decision (CPU and
    a lock-free read), then the write transaction when the writer locks are free right now;
    only when another writer holds them does the transaction wait on a worker thread. A
    thread hop costs a create about as much CPU as the framework around it (measured in
    BENCHMARKS.md), and most creates find the writer free."""
    check_not_future("body.reported_at", body.reported_at)
    check_not_future("body.confirmed_at", body.confirmed_at)
    step = service.prepare_create(ctx, body, owner=who.organization_id, idempotency_key=key)
    if isinstance(step, service.Pending):
        try:
            step = service.commit_create(ctx, step, wait=False)
        except WriterBusy:
            step = await run_in_threadpool(service.commit_create, ctx, step)
    return _answer(ctx, step, expand)


class LeanCreateRoute(APIRoute):
    """The create's route: :func:`lean_create` first, FastAPI's handler when it declines.
    The OpenAPI operation is derived from :func:`create_dispatch`'s declaration as usual."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        declared = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await lean_create(request) or await declared(request)

        return handler


router.add_api_route("", create_dispatch, methods=["POST"], status_code=201,
                     response_model=DispatchOut,
                     responses={401: PROBLEM, 403: PROBLEM, 409: PROBLEM, 422: PROBLEM},
                     summary="Decide and reserve a replacement part",
                     route_class_override=LeanCreateRoute)


@router.get("/{dispatch_id}", response_model=DispatchOut, responses={404: PROBLEM})
def get_dispatch(request: Request, dispatch_id: DispatchId, expand: Expand = None,
                 who: Principal = Depends(require_any(Scope.TICKETING, Scope.PLANNER))) -> Any:
    """One dispatch: the decision as answered at creation plus its live status, SLA outcome,
    events and repair order. Another organization's dispatch is a 404."""
    ctx = request.app.state.ctx
    with ctx.sessions() as db_session:
        view = service.get_dispatch(ctx, dispatch_id, db_session=db_session, tenant=who.tenant)
    return FastJSONResponse(sized(view, expand, ctx.network))


@router.get("", response_model=DispatchList)
def list_dispatches(request: Request, ticket_id: identifier(200) | None = None,
                    status: Status | None = None, at_risk: bool | None = None,
                    date_from: Annotated[FilterInstant | None, Query(alias="from")] = None,
                    date_to: Annotated[FilterInstant | None, Query(alias="to")] = None,
                    limit: pagination.Limit = pagination.DEFAULT_PAGE,
                    cursor: pagination.Cursor = None, expand: Expand = None,
                    who: Principal = Depends(require_any(Scope.TICKETING, Scope.PLANNER))) -> Any:
    """The caller's organization's dispatches (planner and admin keys: all). Filter by ticket,
    status, at-risk flag (`true`: not on time, backorders included) and reported_at in
    [from, to) (a date, or a time without offset, is read as UTC); ordered by
    reported_at. A page holds at most `limit`; `has_more` says more follow, fetched with
    `cursor=<next_cursor>`."""
    _check_range(date_from, date_to)
    after = pagination.decode("dispatches", cursor, (str,))
    ctx = request.app.state.ctx
    with ctx.sessions() as db_session:
        items = service.list_dispatches(ctx, db_session=db_session, ticket_id=ticket_id,
                                        status=status, at_risk=at_risk, date_from=date_from,
                                        date_to=date_to, limit=limit + 1,
                                        after=after[0] if after else None, tenant=who.tenant)
    return FastJSONResponse(pagination.page("dispatches", items, limit, lambda d: (d["id"],),
                                            lambda rows: [sized(d, expand, ctx.network)
                                                          for d in rows]))


@router.post("/{dispatch_id}/events", response_model=DispatchOut,
             responses={404: PROBLEM, 409: PROBLEM, 422: PROBLEM})
def post_event(request: Request, body: EventCreate, dispatch_id: DispatchId,
               expand: Expand = None, idempotency_key: IdempotencyKey = None,
               who: Principal = Depends(require(Scope.TICKETING))) -> Any:
    """picked, shipped, delivered, defective_received or cancelled; illegal ones are a 409, an
    event dated before the ticket or the previous event a 422. cancelled releases the
    reservation, shipped issues the stock, delivered fixes the SLA outcome (met / missed and by
    how many hours), defective_received books the unit back as defective and opens a repair
    order. With an `Idempotency-Key` (optional, unique per request and organization) a retry
    (same dispatch and body) answers the first answer with `Idempotent-Replayed: true` and
    books nothing, also after later events; the key with another request is a 422 naming the
    header. Without it, only a retry of the dispatch's last event (same kind and `at`) is
    answered as a replay; otherwise a repeated event is a 409."""
    check_not_future("body.at", body.at)
    ctx = request.app.state.ctx
    with ctx.sessions(write=True, exclusive=lifecycle.frees_stock(body.kind)) as db_session:
        view, replayed = lifecycle.record_event_once(
            ctx, dispatch_id, body.kind, body.at, body.note, db_session=db_session,
            tenant=who.tenant, owner=who.organization_id, created_by=who.key_id,
            idempotency_key=idempotency_key)
    return FastJSONResponse(sized(view, expand, ctx.network),
                            headers=REPLAYED if replayed else None)


@router.post("/{dispatch_id}/redecide", response_model=DispatchOut,
             responses={404: PROBLEM, 409: PROBLEM, 422: PROBLEM})
def redecide(request: Request, dispatch_id: DispatchId, expand: Expand = None,
             idempotency_key: IdempotencyKey = None,
             who: Principal = Depends(require_any(Scope.TICKETING, Scope.PLANNER))) -> Any:
    """Decide a backordered dispatch again on the free stock now and reserve it when a source
    has the units (receipts, positive adjustments and cancellations do this by themselves;
    this is for stock that came free another way). Backorders with an earlier deadline for the
    same units go first; without stock it stays backordered. Other statuses are a 409.
    Ticketing or planner keys. With an `Idempotency-Key` (optional, unique per request and
    organization) a retry for the same dispatch answers the first answer with
    `Idempotent-Replayed: true` and decides nothing, also after the dispatch moved on; the key
    with another request is a 422 naming the header; a refusal is not kept."""
    ctx = request.app.state.ctx
    with ctx.sessions(write=True, exclusive=True) as db_session:
        view, replayed = flows.redecide_once(
            ctx, dispatch_id, db_session=db_session, tenant=who.tenant,
            owner=who.organization_id, created_by=who.key_id, idempotency_key=idempotency_key)
    return FastJSONResponse(sized(view, expand, ctx.network),
                            headers=REPLAYED if replayed else None)


def _check_range(date_from: datetime | None, date_to: datetime | None) -> None:
    if date_from is not None and date_to is not None and date_to <= date_from:
        raise field_problem(422, "query.to", "must be after 'from'")
