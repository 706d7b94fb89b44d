"""the planner workspace's people: password users and the session-signing secret

New tables: ``planner_users`` (username, display name, Argon2 password hash, scope, session
version, disabled time) and ``session_secrets`` (the key that signs the workspace's session
cookies, created on first use).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "planner_users",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planner_users")),
        sa.UniqueConstraint("username", name=op.f("uq_planner_users_username")),
    )
    op.create_table(
        "session_secrets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_secrets")),
    )


def downgrade() -> None:
    op.drop_table("session_secrets")
    op.drop_table("planner_users")
