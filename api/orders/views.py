"""Routes of /v1/orders (planner scope): the orders dispatches opened, and their completion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from api import pagination
from api.auth.deps import require
from api.auth.models import Principal, Scope
from api.idempotency import REPLAYED, IdempotencyKey
from api.inputs import MAX_DB_INT, WholeNumberText, check_not_future, identifier
from api.orders import service
from api.orders.models import (
    DispatchOrderList,
    DispatchOrderOut,
    OrderEventCreate,
    OrderEventOut,
    OrderKind,
    OrderOrigin,
    OrderStatus,
)
from api.pipeline.service import actor_of, check_known

router = APIRouter(prefix="/v1/orders", tags=["orders"])

PROBLEM = {"content": {"application/problem+json": {}}, "description": "problem details"}
OrderId = Annotated[int, WholeNumberText,
                    Path(ge=1, le=MAX_DB_INT, description="the order's id (``id`` in the list)")]


@router.get("", response_model=DispatchOrderList, responses={401: PROBLEM, 403: PROBLEM,
                                                             422: PROBLEM})
def list_orders(request: Request, kind: OrderKind | None = None,
                status: OrderStatus | None = None,
                depot_id: Annotated[identifier(100) | None,
                                    Query(description="where the units land")] = None,
                from_id: Annotated[identifier(100) | None, Query(
                    description="where they come from: a depot or 'supplier'")] = None,
                part_id: identifier(100) | None = None,
                dispatch_id: identifier(40) | None = None,
                restock_run_id: Annotated[identifier(40) | None, Query(
                    description="orders the approval of this restock run opened")] = None,
                origin: Annotated[OrderOrigin | None, Query(
                    description="dispatch or restock orders only")] = None,
                limit: pagination.Limit = pagination.DEFAULT_PAGE,
                cursor: pagination.Cursor = None,
                _: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Replenishment (transfer, buy), repair and scrap orders that dispatches opened, and the
    transfer, repair and buy orders of approved restock runs (`origin`, `restock_run_id`,
    `restock_line`, `value`; `sent` from the approval on), filtered by every parameter given,
    oldest first; each with the ledger movements booked for it. A
    page holds at most `limit`; `has_more` says more follow, fetched with
    `cursor=<next_cursor>`."""
    ctx = request.app.state.ctx
    check_known(ctx, "query", depot_id=depot_id, part_id=part_id)
    if from_id is not None and from_id != "supplier":
        check_known(ctx, "query", from_id=from_id)
    after = pagination.decode("orders", cursor, (int,))
    items = service.list_orders(ctx, kind=kind, status=status, depot_id=depot_id,
                                from_id=from_id, part_id=part_id, dispatch_id=dispatch_id,
                                restock_run_id=restock_run_id, origin=origin,
                                limit=limit + 1, after=after[0] if after else None)
    return pagination.page("orders", items, limit, lambda o: (o["id"],))


@router.get("/{order_id}", response_model=DispatchOrderOut, responses={404: PROBLEM})
def get_order(request: Request, order_id: OrderId,
              _: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """One order with the ledger movements booked for it."""
    return service.get_order(request.app.state.ctx, order_id)


@router.post("/{order_id}/events", response_model=OrderEventOut,
             responses={404: PROBLEM, 409: PROBLEM, 422: PROBLEM},
             summary="Send, receive, scrap or cancel an order")
def post_event(request: Request, body: OrderEventCreate, order_id: OrderId,
               idempotency_key: IdempotencyKey = None,
               who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Book an order's step in the ledger (reference `order:<id>`, the key as actor) and move
    its status. `sent`: the transfer ships from the parent (in transit to the depot), the buy is
    placed, the defective unit goes to repair. `received` (from open or sent): the units land on
    hand at the order's depot (a repair order may name another `depot_id`), booking the `sent`
    movements first when they are missing, and waiting backorders are filled. `scrapped` (repair
    and scrap orders, with a `reason`): the unit is written off, `scrapped` from the defective
    bucket when the order is open, `condemned` out of repair when it was sent. `cancelled`: an
    open order closes with nothing booked. A step taken twice, or not allowed from the status,
    is a 409; so is one the balances do not allow (nothing is written). With an
    `Idempotency-Key`, a retry (same order and body) answers the first answer with
    `Idempotent-Replayed: true` instead of the 409."""
    check_not_future("body.at", body.at)
    out, replayed = service.record_event(request.app.state.ctx, order_id, body,
                                         actor=actor_of(who.name, who.key_id),
                                         owner=who.organization_id, created_by=who.key_id,
                                         idempotency_key=idempotency_key)
    return JSONResponse(out, headers=REPLAYED) if replayed else out
