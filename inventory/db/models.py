"""Tables of the network, its contracts and demand, the scenario metadata and the stock ledger.

Every scenario table keeps ``seq`` (the record's position in the scenario) so reading back yields
the same tuples in the same order. Floats are stored as double precision, so they read back
exactly; money is an exact ``NUMERIC`` (:class:`~inventory.db.base.Money`). Weekly hours and
size-class sets are stored in a text form (:mod:`inventory.db.codec`).
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db.base import Base, Money, UtcDateTime

ID = String(100)
BigId = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit ids on PostgreSQL; INTEGER PRIMARY KEY (the rowid, also 64-bit) on SQLite."""


class ScenarioMeta(Base):
    """The one loaded scenario: name, currency, horizon and the ``[defaults]`` settings."""

    __tablename__ = "scenario_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(10))
    horizon_days: Mapped[int] = mapped_column(Integer)
    circuity_factor: Mapped[float] = mapped_column(Float)
    holding_rate_per_year: Mapped[float] = mapped_column(Float)
    design_years: Mapped[float] = mapped_column(Float, server_default="5.0")
    max_service_radius_km: Mapped[float] = mapped_column(Float)
    urban_radius_km: Mapped[float] = mapped_column(Float)
    urban_speed_kmh: Mapped[float] = mapped_column(Float)
    severity_1_share: Mapped[float] = mapped_column(Float)
    severity_2_share: Mapped[float] = mapped_column(Float)
    severity_3_share: Mapped[float] = mapped_column(Float)
    severity_4_share: Mapped[float] = mapped_column(Float)
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PartRow(Base):
    __tablename__ = "parts"

    part_id: Mapped[str] = mapped_column(ID, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    unit_cost: Mapped[float] = mapped_column(Money)
    repairable: Mapped[bool] = mapped_column(Boolean)
    repair_turnaround_days: Mapped[float] = mapped_column(Float)
    repair_yield: Mapped[float] = mapped_column(Float)
    procurement_lead_time_days: Mapped[float] = mapped_column(Float)
    size_class: Mapped[str] = mapped_column(String(20))
    annual_failure_rate: Mapped[float] = mapped_column(Float)
    lifecycle: Mapped[str] = mapped_column(String(20))


class SubstitutionRow(Base):
    __tablename__ = "substitutions"
    __table_args__ = (UniqueConstraint("part_id", "substitute_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer)
    part_id: Mapped[str] = mapped_column(ForeignKey("parts.part_id"))
    substitute_id: Mapped[str] = mapped_column(ForeignKey("parts.part_id"))
    kind: Mapped[str] = mapped_column(String(20))


class DepotRow(Base):
    __tablename__ = "depots"

    depot_id: Mapped[str] = mapped_column(ID, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(10))
    hours: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("depots.depot_id"))
    replenishment_lead_time_days: Mapped[float] = mapped_column(Float)
    handling_hours: Mapped[float] = mapped_column(Float)
    customer: Mapped[str | None] = mapped_column(String(300))
    closable: Mapped[bool] = mapped_column(Boolean, server_default=false())
    annual_fixed_cost: Mapped[float] = mapped_column(Money, server_default="0")
    capacity_units: Mapped[int | None] = mapped_column(Integer)
    capacity_value: Mapped[float | None] = mapped_column(Money)
    site_ids: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    """The site ids the location is limited to, in order (empty list: every site it serves)."""


class HubRow(Base):
    __tablename__ = "hubs"

    hub_id: Mapped[str] = mapped_column(ID, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    first_flight: Mapped[time] = mapped_column(Time)
    last_flight: Mapped[time] = mapped_column(Time)


class TransportModeRow(Base):
    __tablename__ = "transport_modes"

    mode_id: Mapped[str] = mapped_column(ID, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    speed_kmh: Mapped[float] = mapped_column(Float)
    fixed_cost: Mapped[float] = mapped_column(Money)
    cost_per_km: Mapped[float] = mapped_column(Money)
    hours: Mapped[str] = mapped_column(String(100))
    size_classes: Mapped[str] = mapped_column(String(100))
    cutoff: Mapped[time | None] = mapped_column(Time)
    delivery_time: Mapped[time | None] = mapped_column(Time)
    min_distance_km: Mapped[float] = mapped_column(Float)
    handling_hours: Mapped[float] = mapped_column(Float)
    road_speed_kmh: Mapped[float] = mapped_column(Float)


class ContractRow(Base):
    __tablename__ = "contracts"

    contract_id: Mapped[str] = mapped_column(ID, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    tier: Mapped[str] = mapped_column(String(50))


class ContractTermRow(Base):
    """One severity's promise with its whole window dialect."""

    __tablename__ = "contract_terms"
    __table_args__ = (CheckConstraint("severity BETWEEN 1 AND 4", name="severity_1_to_4"),)

    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.contract_id"), primary_key=True)
    severity: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    window_kind: Mapped[str] = mapped_column(String(20))
    window_value: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    milestone: Mapped[str] = mapped_column(String(30))
    clock_start: Mapped[str] = mapped_column(String(30))
    coverage: Mapped[str] = mapped_column(String(100))
    cutoff: Mapped[time | None] = mapped_column(Time)


class SiteRow(Base):
    __tablename__ = "sites"

    site_id: Mapped[str] = mapped_column(ID, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    customer: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(10))
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.contract_id"))
    primary_depot_id: Mapped[str] = mapped_column(ForeignKey("depots.depot_id"))


class InstalledBaseRow(Base):
    __tablename__ = "installed_base"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    part_id: Mapped[str] = mapped_column(ForeignKey("parts.part_id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)


class DemandHistoryRow(Base):
    """Monthly replacements of a part at a site (``month`` is ``YYYY-MM``)."""

    __tablename__ = "demand_history"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_nonneg"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer)
    month: Mapped[str] = mapped_column(String(7))
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    part_id: Mapped[str] = mapped_column(ForeignKey("parts.part_id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)


BUCKETS = ("on_hand", "reserved", "in_transit", "defective", "in_repair")
"""The stock buckets of a (depot, part) balance, in the order of the ledger's delta vectors."""


class StockBalance(Base):
    """Current stock of a part at a depot; changed only by :mod:`inventory.ledger` movements."""

    __tablename__ = "stock_balances"
    __table_args__ = (
        UniqueConstraint("depot_id", "part_id"),
        *(CheckConstraint(f"{b} >= 0", name=f"{b}_nonneg") for b in BUCKETS),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    depot_id: Mapped[str] = mapped_column(ForeignKey("depots.depot_id"))
    part_id: Mapped[str] = mapped_column(ForeignKey("parts.part_id"), index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    in_transit: Mapped[int] = mapped_column(Integer, default=0)
    defective: Mapped[int] = mapped_column(Integer, default=0)
    in_repair: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    """Number of movements applied; bumps on every change (optimistic readers may compare it)."""


class StockMovement(Base):
    """One append-only ledger entry: a kind, a quantity and the bucket deltas it applied."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_depot_part", "depot_id", "part_id"),
        CheckConstraint("quantity <> 0", name="quantity_nonzero"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    depot_id: Mapped[str] = mapped_column(ForeignKey("depots.depot_id"))
    part_id: Mapped[str] = mapped_column(ForeignKey("parts.part_id"))
    kind: Mapped[str] = mapped_column(String(30))
    quantity: Mapped[int] = mapped_column(Integer)
    d_on_hand: Mapped[int] = mapped_column(Integer)
    d_reserved: Mapped[int] = mapped_column(Integer)
    d_in_transit: Mapped[int] = mapped_column(Integer)
    d_defective: Mapped[int] = mapped_column(Integer)
    d_in_repair: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(String(200), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(200))
