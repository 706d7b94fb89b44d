"""Tables of the planners' own inputs: named what-if overlays, stock and forecast overrides, and
the audit trail of every change to them (who, when, old, new, why).

Overrides name a part (and a location) by id without a foreign key: an override outlives a
scenario reload that drops the part, and is then reported as not applied rather than lost.

``owner`` is the organization of whoever created the overlay or last set the override (and of
the audit row's change): planner keys see every organization's, viewer keys their own
(``/v1/overlays``, ``/v1/overrides``). Plans and restock runs apply every active override: the
network is one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db.base import Base, UtcDateTime
from inventory.db.dispatch_models import DEFAULT_ORGANIZATION_ID

BigId = BigInteger().with_variant(Integer(), "sqlite")


class WhatIfOverlay(Base):
    """A named what-if overlay (TOML text, :mod:`scenarios.overlay`)."""

    __tablename__ = "what_if_overlays"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    owner: Mapped[str] = mapped_column(String(40), index=True, default=DEFAULT_ORGANIZATION_ID,
                                       server_default=text(f"'{DEFAULT_ORGANIZATION_ID}'"))


class StockOverride(Base):
    """A planner's minimum and/or maximum base stock of a part at a location."""

    __tablename__ = "stock_overrides"
    __table_args__ = (UniqueConstraint("part_id", "location_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    part_id: Mapped[str] = mapped_column(String(100))
    location_id: Mapped[str] = mapped_column(String(100))
    min_stock: Mapped[int | None] = mapped_column(Integer)
    max_stock: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    owner: Mapped[str] = mapped_column(String(40), index=True, default=DEFAULT_ORGANIZATION_ID,
                                       server_default=text(f"'{DEFAULT_ORGANIZATION_ID}'"))


class ForecastOverride(Base):
    """A planner's forecast of a part (units a month) replacing the computed one until expiry."""

    __tablename__ = "forecast_overrides"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    part_id: Mapped[str] = mapped_column(String(100), unique=True)
    units_per_month: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    owner: Mapped[str] = mapped_column(String(40), index=True, default=DEFAULT_ORGANIZATION_ID,
                                       server_default=text(f"'{DEFAULT_ORGANIZATION_ID}'"))


class PlanningAudit(Base):
    """One change to an override or an overlay: ``kind`` (stock, forecast, overlay), ``subject``
    (``part@location``, ``part`` or the overlay's name), ``action`` (create, update, delete),
    the values before and after (JSON; null for none), who, when and why."""

    __tablename__ = "planning_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(210))
    action: Mapped[str] = mapped_column(String(10))
    old: Mapped[dict | None] = mapped_column(JSON)
    new: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(40), index=True, default=DEFAULT_ORGANIZATION_ID,
                                       server_default=text(f"'{DEFAULT_ORGANIZATION_ID}'"))
