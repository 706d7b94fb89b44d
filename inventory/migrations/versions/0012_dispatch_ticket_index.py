"""an index on dispatches (owner, ticket_id, part_id) for the create's duplicate-ticket check

Without it SQLite answers "an open dispatch of this organization for this ticket and part"
through the ``owner`` index, reading every dispatch the organization ever made, on each create.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 19:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_dispatches_owner_ticket_part", "dispatches",
                    ["owner", "ticket_id", "part_id"])


def downgrade() -> None:
    op.drop_index("ix_dispatches_owner_ticket_part", table_name="dispatches")
