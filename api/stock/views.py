"""Routes of /v1/stock: balances for all; receipts and adjustments for planners."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api import idempotency, pagination
from api.auth.deps import principal, require
from api.auth.models import Principal, Scope
from api.dispatches.flows import on_units_landed
from api.idempotency import IdempotencyKey
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


def _replay(session: Any, kind: str, body: Receipt | Adjustment) -> bool:
    """True when ``body.reference`` was booked before as the same ``kind`` movement (a replay:
    book nothing); a 409 naming ``body.reference`` when it was booked with another body."""
    if body.reference is None:
        return False
    found = service.booked(session=session, kind=kind, reference=body.reference)
    if found is None:
        return False
    same = (found.depot_id, found.part_id, found.quantity, found.reason or None) == (
        body.depot_id, body.part_id, body.quantity, getattr(body, "reason", None) or None)
    if not same:
        raise Problem(409, "reference-reused", "Reference already booked",
                      f"reference {body.reference!r} was already booked as {kind} of "
                      f"{found.quantity} x {found.part_id} at {found.depot_id}; nothing was "
                      "booked now. Send the same body to read it back, or use a new reference",
                      errors=[{"field": "body.reference",
                               "message": "already booked with another body"}])
    return True


def _post(request: Request, fn: Any, kind: str, body: Receipt | Adjustment, who: Principal,
          key: str | None, **extra: Any) -> Any:
    """Book one ``kind`` movement. With Idempotency-Key ``key`` (per organization) a retry
    answers the first answer (201, ``Idempotent-Replayed: true``) and books nothing; the key
    with another body is a 422. A ``reference`` booked before with the same body answers 200
    with ``Idempotent-Replayed: true`` and books nothing."""
    _check_ids(request, body.depot_id, body.part_id, "body")
    check_not_future("body.at", body.at)
    ctx = request.app.state.ctx
    at = body.at or ctx.now()
    ref = body.reference or f"api:{who.key_id}"
    operation = f"POST /v1/stock/{kind}s"
    digest = idempotency.request_hash(body.model_dump(mode="json"))
    try:
        # exclusive: units that come free fill backorders; it also serialises the reference
        # check (PostgreSQL; a key takes its own lock in idempotency.find)
        with ctx.sessions(write=True,
                          exclusive=body.quantity > 0 or body.reference is not None) as session:
            if key is not None:
                found = idempotency.find(session, owner=who.organization_id,
                                         operation=operation, key=key, digest=digest)
                if found is not None:
                    return idempotency.replay(found)
            if _replay(session, kind, body):
                rows = service.stock_rows(session=session, depot_id=body.depot_id,
                                          part_id=body.part_id)
                return JSONResponse(rows, status_code=200, headers=idempotency.REPLAYED)
            fn(session=session, depot_id=body.depot_id, part_id=body.part_id,
               quantity=body.quantity, reference=ref, at=at, actor=f"{who.name} ({who.key_id})",
               **extra)
            if body.quantity > 0:  # units came free: waiting backorders get them first
                on_units_landed(ctx, session, [body.part_id])
            rows = service.stock_rows(session=session, depot_id=body.depot_id,
                                      part_id=body.part_id)
            if key is not None:
                idempotency.store(session, owner=who.organization_id, operation=operation,
                                  key=key, digest=digest, status_code=201, response=rows,
                                  created_by=who.key_id, now=ctx.now())
    except (ValueError, service.LedgerError) as exc:  # the ledger refuses an impossible movement
        raise Problem(409, "ledger-refused", "Stock movement refused", str(exc),
                      errors=[{"field": "body.quantity", "message": str(exc)}]) from exc
    return rows


REFUSED = {409: {"content": {"application/problem+json": {}},
                 "description": "the ledger refuses the movement, or the reference was booked "
                                "before with another body (nothing was written)"},
           200: {"model": list[StockRow], "description": "replay: the reference was booked "
                                                         "before with this body; nothing new"},
           422: {"content": {"application/problem+json": {}},
                 "description": "invalid body, or the Idempotency-Key was used with another "
                                "body (`header.Idempotency-Key`)"}}


@router.post("/receipts", status_code=201, response_model=list[StockRow], responses=REFUSED)
def post_receipt(body: Receipt, request: Request, idempotency_key: IdempotencyKey = None,
                 who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Receive units into on-hand stock (one ledger receipt movement, with the key as actor).
    Backordered dispatches of the part (or of a part it may replace) are then decided again,
    earliest deadline first, and reserved in the same transaction.

    Retries: send a `reference` or an `Idempotency-Key` (both optional; a request with neither
    is booked each time it arrives, so a client that may retry must send one). A `reference` is
    booked once: the same body again answers 200 (`Idempotent-Replayed: true`), another body a
    409. An `Idempotency-Key` (unique per request and organization): a retry answers the first
    answer (201, `Idempotent-Replayed: true`) and books nothing; the key with another body is a
    422 naming the header."""
    return _post(request, service.receive, "receipt", body, who, idempotency_key)


@router.post("/adjustments", status_code=201, response_model=list[StockRow], responses=REFUSED)
def post_adjustment(body: Adjustment, request: Request, idempotency_key: IdempotencyKey = None,
                    who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Correct on-hand stock with a reason (one ledger adjustment movement, with the key as
    actor); removing more than the free units is a 409. Adding units fills waiting backorders
    as a receipt does. Retries as for receipts: a `reference` is booked once, an
    `Idempotency-Key` replays the first answer; with neither, each request books."""
    if body.quantity == 0:
        raise field_problem(422, "body.quantity", "must not be 0")
    return _post(request, service.adjust, "adjustment", body, who, idempotency_key,
                 reason=body.reason)
