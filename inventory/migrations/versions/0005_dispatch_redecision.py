"""dispatch re-decision

``dispatches.redecision`` (JSON, nullable) holds the decision that filled a backorder when stock
came free, so the create answer in ``decision`` stays what an Idempotency-Key replay returns.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 08:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redecision", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.drop_column("redecision")
