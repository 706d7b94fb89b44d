"""Routes of /v1/pipeline (planner scope): book stock out of the in-transit, defective and
in-repair buckets through the ledger."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.auth.deps import require
from api.auth.models import Principal, Scope
from api.inputs import check_not_future
from api.pipeline import service
from api.pipeline.models import (
    BookingOut,
    OrderReceipt,
    PipelineBooking,
    RepairReturn,
    RepairSend,
    Scrap,
    TransferArrival,
)
from api.pipeline.service import Booking

router = APIRouter(prefix="/v1/pipeline", tags=["pipeline"])

PROBLEM = {"content": {"application/problem+json": {}}, "description": "problem details"}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": BookingOut, "description": "replay: the reference was booked before with this "
                                              "body; nothing was booked now"},
    401: PROBLEM, 403: PROBLEM,
    409: {**PROBLEM, "description": "the balances do not allow it (nothing was written), or "
                                    "the reference was booked before with another body"},
    422: {**PROBLEM, "description": "unknown depot or part, bad quantity"}}


def _book(request: Request, booking: Booking, body: PipelineBooking, who: Principal) -> Any:
    ctx = request.app.state.ctx
    service.check_known(ctx, "body", depot_id=body.depot_id, part_id=body.part_id,
                        to_depot_id=getattr(body, "to_depot_id", None))
    check_not_future("body.at", body.at)
    done = service.book(ctx, booking, service.plan(booking, body), reference=body.reference,
                        actor=service.actor_of(who.name, who.key_id), at=body.at)
    out = BookingOut(booking=booking.value, reference=body.reference, replayed=done.replayed,
                     movements=[service.movement_out(m) for m in done.moves], stock=done.stock,
                     filled_dispatch_ids=done.filled)
    headers = {"Idempotent-Replayed": "true"} if done.replayed else None
    return JSONResponse(jsonable_encoder(out), status_code=200 if done.replayed else 201,
                        headers=headers)


@router.post("/transfer-arrivals", status_code=201, response_model=BookingOut,
             responses=RESPONSES, summary="Book a transfer's arrival")
def transfer_arrival(body: TransferArrival, request: Request,
                     who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Units in transit to `depot_id` on a transfer (a restock run's or a dispatch order's)
    arrive: one `transfer_in` movement (in transit -> on hand). More than the transfers left in
    transit there is a 409. Waiting backorders of the part are then filled, earliest deadline
    first, in the same transaction."""
    return _book(request, Booking.TRANSFER_ARRIVAL, body, who)


@router.post("/order-receipts", status_code=201, response_model=BookingOut,
             responses=RESPONSES, summary="Book the receipt of a supplier buy")
def order_receipt(body: OrderReceipt, request: Request,
                  who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Units of a placed buy are received at `depot_id`: one `order_received` movement (in
    transit -> on hand). More than the buys left in transit there is a 409. Waiting backorders
    are filled as for an arrival. (Stock that was never ordered: `POST /v1/stock/receipts`.)"""
    return _book(request, Booking.ORDER_RECEIPT, body, who)


@router.post("/repair-sends", status_code=201, response_model=BookingOut,
             responses=RESPONSES, summary="Send defective units to repair")
def repair_send(body: RepairSend, request: Request,
                who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Defective units at `depot_id` enter the repair loop: one `send_to_repair` movement
    (defective -> in repair). More than the defective units there is a 409."""
    return _book(request, Booking.REPAIR_SEND, body, who)


@router.post("/repair-returns", status_code=201, response_model=BookingOut,
             responses=RESPONSES, summary="Book repaired units coming back")
def repair_return(body: RepairReturn, request: Request,
                  who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Repaired units sent by `depot_id` come back on hand: `repair_return` at the sender, or
    `repair_out` there plus `repair_in` at `to_depot_id`. More than the sender has in repair is
    a 409. Waiting backorders are filled as for an arrival."""
    return _book(request, Booking.REPAIR_RETURN, body, who)


@router.post("/scraps", status_code=201, response_model=BookingOut,
             responses=RESPONSES, summary="Scrap defective or in-repair units")
def scrap(body: Scrap, request: Request,
          who: Principal = Depends(require(Scope.PLANNER))) -> Any:
    """Write units off with a reason. From `in_repair` (default): one `condemned` movement
    (the repair failed). From `defective`: one `scrapped` movement (written off unrepaired).
    More than the bucket holds is a 409."""
    return _book(request, Booking.SCRAP, body, who)
