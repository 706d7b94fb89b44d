"""Schemas of the pipeline bookings (planner API)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.inputs import Instant, free_text, identifier, integer
from api.stock.models import StockRow


class PipelineBooking(BaseModel):
    """Units of a part moving out of a pipeline bucket at a depot."""

    model_config = ConfigDict(extra="forbid")

    depot_id: identifier(100)
    part_id: identifier(100)
    quantity: integer(1, 1_000_000) = Field(description="pieces")
    reference: identifier(190) = Field(
        description="your document number (delivery note, RMA, ...); stored on the ledger "
                    "movements and the idempotency key of the booking: the same reference "
                    "booked again with the same body answers 200 and books nothing, with "
                    "another body it is a 409")
    at: Instant | None = Field(default=None,
                               description="when it happened (default now; not after the "
                                           "server's clock); not compared on a replay")
    reason: free_text(500) | None = Field(default=None, description="free text kept on the "
                                          "movement")


class TransferArrival(PipelineBooking):
    """A transfer reaches ``depot_id``: in transit -> on hand (ledger ``transfer_in``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"depot_id": "GZ", "part_id": "PSU-1200", "quantity": 2,
         "reference": "DN-2027-0412", "at": "2027-01-12T09:30:00+08:00"}]})


class OrderReceipt(PipelineBooking):
    """A supplier buy is received at ``depot_id``: in transit -> on hand (``order_received``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"depot_id": "HQ-SZ", "part_id": "LC-10G-B", "quantity": 3, "reference": "PO-4711"}]})


class RepairSend(PipelineBooking):
    """Defective units at ``depot_id`` go to repair: defective -> in repair (``send_to_repair``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"depot_id": "HQ-SZ", "part_id": "PSU-1200", "quantity": 2, "reference": "RMA-77"}]})


class RepairReturn(PipelineBooking):
    """Repaired units sent by ``depot_id`` come back serviceable, on hand at ``to_depot_id``
    (default the sender: ``repair_return``; another depot: ``repair_out`` + ``repair_in``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"depot_id": "HQ-SZ", "part_id": "PSU-1200", "quantity": 1, "reference": "RMA-77"},
        {"depot_id": "HQ-SZ", "part_id": "PSU-1200", "quantity": 1, "reference": "RMA-78",
         "to_depot_id": "GZ"}]})

    to_depot_id: identifier(100) | None = Field(default=None,
                                                description="where the repaired units land "
                                                            "(default the sender)")


class Scrap(PipelineBooking):
    """Units written off with a reason: from ``in_repair`` (``condemned``, the repair failed) or
    from ``defective`` (``scrapped``, never sent to repair)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"depot_id": "HQ-SZ", "part_id": "PSU-1200", "quantity": 1, "reference": "RMA-77",
         "reason": "beyond economic repair"},
        {"depot_id": "GZ", "part_id": "FAN-T1", "quantity": 1, "reference": "SCRAP-12",
         "bucket": "defective", "reason": "consumable part"}]})

    reason: free_text(500, min_length=1) = Field(description="why the units are scrapped")
    bucket: Literal["in_repair", "defective"] = Field(
        default="in_repair", description="where the scrapped units are counted now")


class MovementOut(BaseModel):
    """One ledger movement as written."""

    id: int
    at: datetime
    depot_id: str
    part_id: str
    kind: str
    quantity: int
    reference: str | None
    reason: str | None
    actor: str | None


class BookingOut(BaseModel):
    """The movements of a booking, the stock after it and the backorders it filled."""

    booking: str = Field(description="transfer_arrival, order_receipt, repair_send, "
                                     "repair_return or scrap")
    reference: str
    replayed: bool = Field(description="true when the reference was booked before with this "
                                       "body: nothing was booked now")
    movements: list[MovementOut]
    stock: list[StockRow] = Field(description="balances of the (depot, part) pairs touched, now")
    filled_dispatch_ids: list[str] = Field(
        description="backordered dispatches reserved from the units that landed on hand")
