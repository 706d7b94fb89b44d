"""what-if overlays, stock and forecast overrides, and their audit trail

New tables: ``what_if_overlays`` (named TOML overlays), ``stock_overrides`` (minimum / maximum
base stock per part and location, with reason and optional expiry), ``forecast_overrides`` (units
a month per part, with reason and expiry) and ``planning_audit`` (every change to them: who,
when, old, new, why).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "what_if_overlays",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_what_if_overlays")),
        sa.UniqueConstraint("name", name=op.f("uq_what_if_overlays_name")),
    )
    op.create_table(
        "stock_overrides",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("part_id", sa.String(length=100), nullable=False),
        sa.Column("location_id", sa.String(length=100), nullable=False),
        sa.Column("min_stock", sa.Integer(), nullable=True),
        sa.Column("max_stock", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_overrides")),
        sa.UniqueConstraint("part_id", "location_id", name=op.f("uq_stock_overrides_part_id")),
    )
    op.create_table(
        "forecast_overrides",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("part_id", sa.String(length=100), nullable=False),
        sa.Column("units_per_month", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_overrides")),
        sa.UniqueConstraint("part_id", name=op.f("uq_forecast_overrides_part_id")),
    )
    op.create_table(
        "planning_audit",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=210), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planning_audit")),
    )
    with op.batch_alter_table("planning_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planning_audit_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("planning_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planning_audit_at"))
    op.drop_table("planning_audit")
    op.drop_table("forecast_overrides")
    op.drop_table("stock_overrides")
    op.drop_table("what_if_overlays")
