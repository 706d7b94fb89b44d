"""depot fields of the network design

``depots`` gains what ``inventory.domain.Depot`` gained for the network design: ``customer``
(a customer kit's customer, NULL: any), ``closable`` and its ``annual_fixed_cost`` (exact money),
the caps ``capacity_units`` / ``capacity_value`` (NULL: none) and ``site_ids`` (JSON list, empty:
every site); ``scenario_meta`` gains ``design_years``. Existing rows get the domain defaults
(not closable, cost 0, no cap, no site list, 5 design years) as server defaults.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN with defaults (no batch copy of the table: on SQLite that would drop
    # ``depots`` while sites and stock still reference it)
    op.add_column("depots", sa.Column("customer", sa.String(length=300), nullable=True))
    op.add_column("depots", sa.Column("closable", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.add_column("depots", sa.Column("annual_fixed_cost", sa.Numeric(), server_default="0",
                                      nullable=False))
    op.add_column("depots", sa.Column("capacity_units", sa.Integer(), nullable=True))
    op.add_column("depots", sa.Column("capacity_value", sa.Numeric(), nullable=True))
    op.add_column("depots", sa.Column("site_ids", sa.JSON(), server_default=sa.text("'[]'"),
                                      nullable=False))
    op.add_column("scenario_meta", sa.Column("design_years", sa.Float(), server_default="5.0",
                                             nullable=False))


def downgrade() -> None:
    # plain DROP COLUMN (SQLite >= 3.35), for the same reason
    op.drop_column("scenario_meta", "design_years")
    for column in ("site_ids", "capacity_value", "capacity_units", "annual_fixed_cost", "closable",
                   "customer"):
        op.drop_column("depots", column)
