"""workspace users belong to an organization

``planner_users`` gain ``organization_id`` (a foreign key to ``organizations``, indexed): the
organization a password user acts as, like an API key of it (a viewer sees only its
dispatches, webhooks, runs, overlays and overrides). Existing users go to ``org_default``, the
organization they acted as before.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_ORG = "org_default"


def upgrade() -> None:
    with op.batch_alter_table("planner_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_id", sa.String(length=40), nullable=False,
                                      server_default=sa.text(f"'{DEFAULT_ORG}'")))
        batch_op.create_foreign_key(op.f("fk_planner_users_organization_id_organizations"),
                                    "organizations", ["organization_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_planner_users_organization_id"),
                              ["organization_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("planner_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planner_users_organization_id"))
        batch_op.drop_constraint(op.f("fk_planner_users_organization_id_organizations"),
                                 type_="foreignkey")
        batch_op.drop_column("organization_id")
