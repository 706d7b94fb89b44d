"""overlays, overrides and their audit rows belong to an organization

``what_if_overlays``, ``stock_overrides``, ``forecast_overrides`` and ``planning_audit`` gain
``owner`` (an organization id, indexed): the organization of whoever created the overlay or last
set the override. Existing rows go to ``org_default``, the organization of the workspace's
password users. Viewer keys read their own organization's through ``/v1/overlays`` and
``/v1/overrides``; planner keys read and change all of them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("what_if_overlays", "stock_overrides", "forecast_overrides", "planning_audit")
DEFAULT_ORG = "org_default"


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("owner", sa.String(length=40), nullable=False,
                                          server_default=sa.text(f"'{DEFAULT_ORG}'")))
            batch_op.create_index(batch_op.f(f"ix_{table}_owner"), ["owner"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_owner"))
            batch_op.drop_column("owner")
