"""Routes of /v1/stock: balances for all; receipts and adjustments for planners."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request

from api import pagination
from api.auth.deps import principal, require
from api.auth.models import Principal, Scope
from api.dispatches.backorders import fill_backorders, lock_for_fill
from api.inputs import check_not_future, identifier
from api.problems import Problem, field_problem
from api.stock import service
from api.stock.models import Adjustment, Receipt, StockPage, StockRow

router = APIRouter(prefix="/v1/stock", tags=["stock"])


def _check_ids(request: Request, depot_id: str | None, part_id: str | None, where: str) -> None:
    sc = request.app.state.ctx.scenario
    if depot_id is not None and depot_id not in sc._index["depots"]:
        raise field_problem(422, f"{where}.depot_id", f"unknown depot {depot_id!r}")
    if part_id is not None and part_id not in sc._index["parts"]:
        raise field_problem(422, f"{where}.part_id", f"unknown part {part_id!r}")


@router.get("", response_model=StockPage)
def read_stock(request: Request, depot_id: identifier(100) | None = None,
               part_id: identifier(100) | None = None,
               limit: pagination.Limit = pagination.DEFAULT_PAGE,
               cursor: pagination.Cursor = None, _: Principal = Depends(principal)) -> Any:
    """Balances per (depot, part): on hand, reserved, in transit, defective, in repair, free;
    ordered by depot then part, at most `limit` a page (`has_more`, `cursor=<next_cursor>`)."""
    _check_ids(request, depot_id, part_id, "query")
    after = pagination.decode("stock", cursor, (str, str))
    with request.app.state.ctx.sessions() as session:
        rows = service.stock_rows(session=session, depot_id=depot_id, part_id=part_id)
    if after is not None:
        rows = [r for r in rows if (r["depot_id"], r["part_id"]) > after]
    return pagination.page("stock", rows[:limit + 1], limit,
                           lambda r: (r["depot_id"], r["part_id"]))


def _post(request: Request, fn: Any, body: Receipt | Adjustment, who: Principal,
          **extra: Any) -> list[dict[str, Any]]:
    _check_ids(request, body.depot_id, body.part_id, "body")
    check_not_future("body.at", body.at)
    at = body.at or datetime.now(UTC)
    ref = body.reference or f"api:{who.key_id}"
    ctx = request.app.state.ctx
    try:
        with ctx.sessions(write=True) as session:
            if body.quantity > 0:
                lock_for_fill(session)
            fn(session=session, depot_id=body.depot_id, part_id=body.part_id,
               quantity=body.quantity, reference=ref, at=at, actor=f"{who.name} ({who.key_id})",
               **extra)
            if body.quantity > 0:  # units came free: waiting backorders get them first
                fill_backorders(ctx, session, [body.part_id])
    except (ValueError, service.LedgerError) as exc:  # the ledger refuses an impossible movement
        raise Problem(409, "ledger-refused", "Stock movement refused", str(exc),
                      errors=[{"field": "body.quantity", "message": str(exc)}]) from exc
    with request.app.state.ctx.sessions() as session:
        return service.stock_rows(session=session, depot_id=body.depot_id, part_id=body.part_id)


REFUSED = {409: {"content": {"application/problem+json": {}},
                 "description": "the ledger refuses the movement (nothing was written)"}}


@router.post("/receipts", status_code=201, response_model=list[StockRow], responses=REFUSED)
def post_receipt(body: Receipt, request: Request,
                 who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Receive units into on-hand stock (one ledger receipt movement, with the key as actor).
    Backordered dispatches of the part (or of a part it may replace) are then decided again,
    earliest deadline first, and reserved in the same transaction."""
    return _post(request, service.receive, body, who)


@router.post("/adjustments", status_code=201, response_model=list[StockRow], responses=REFUSED)
def post_adjustment(body: Adjustment, request: Request,
                    who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Correct on-hand stock with a reason (one ledger adjustment movement, with the key as
    actor); removing more than the free units is a 409. Adding units fills waiting backorders
    as a receipt does."""
    if body.quantity == 0:
        raise field_problem(422, "body.quantity", "must not be 0")
    return _post(request, service.adjust, body, who, reason=body.reason)
