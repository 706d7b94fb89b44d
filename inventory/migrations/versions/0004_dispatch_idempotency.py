"""dispatch idempotency on the dispatch row

The Idempotency-Key and the request hash move onto ``dispatches`` (unique per owner), so a create
writes one row instead of two copies of its answer; ``idempotency_records`` goes. Dispatches made
before this revision get the key ``legacy:<id>`` (their original keys are not carried over: a
replay of such a key is decided anew).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
    op.execute("UPDATE dispatches SET idempotency_key = 'legacy:' || id, request_hash = ''")
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.alter_column("idempotency_key", existing_type=sa.String(length=255), nullable=False)
        batch_op.alter_column("request_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_dispatches_owner_idempotency_key",
                                          ["owner", "idempotency_key"])
    op.drop_table("idempotency_records")


def downgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("owner", "key", name="uq_idempotency_owner_key"),
    )
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.drop_constraint("uq_dispatches_owner_idempotency_key", type_="unique")
        batch_op.drop_column("request_hash")
        batch_op.drop_column("idempotency_key")
