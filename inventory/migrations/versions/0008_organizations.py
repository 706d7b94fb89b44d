"""organizations own keys, dispatches and webhook subscriptions; keys expire

A new ``organizations`` table with the organization ``org_default`` ("default"). ``api_keys``
gain ``organization_id`` (every existing key goes to ``org_default``) and ``expires_at``.
``dispatches.owner`` and ``webhook_subscriptions.owner`` held the id of the key that made them;
they now hold the organization's id (``org_default`` for all existing rows), so an
Idempotency-Key is unique per organization: where several keys had used the same one, each of
those dispatches gets its key's id in front (``<key id>:<Idempotency-Key>``) so they stay
apart. ``webhook_subscriptions`` gain the ``idempotency_key`` of their create (unique per
owner).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 14:20:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_ORG = "org_default"


def upgrade() -> None:
    orgs = op.create_table(
        "organizations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("name", name=op.f("uq_organizations_name")),
    )
    op.bulk_insert(orgs, [{"id": DEFAULT_ORG, "name": "default", "created_at": datetime.now(UTC)}])
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text("UPDATE api_keys SET organization_id = :org").bindparams(org=DEFAULT_ORG))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("organization_id", existing_type=sa.String(length=40),
                              nullable=False)
        batch_op.create_foreign_key(op.f("fk_api_keys_organization_id_organizations"),
                                    "organizations", ["organization_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_api_keys_organization_id"), ["organization_id"],
                              unique=False)
    # keys shared by several owners would collide once they all belong to one organization
    op.execute(sa.text(
        "UPDATE dispatches SET idempotency_key = substr(owner || ':' || idempotency_key, 1, 255) "
        "WHERE idempotency_key IN (SELECT idempotency_key FROM dispatches "
        "GROUP BY idempotency_key HAVING COUNT(*) > 1)"))
    op.execute(sa.text("UPDATE dispatches SET owner = :org").bindparams(org=DEFAULT_ORG))
    op.execute(sa.text("UPDATE webhook_subscriptions SET owner = :org").bindparams(org=DEFAULT_ORG))
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint("uq_webhook_subscriptions_owner_idempotency_key",
                                          ["owner", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_webhook_subscriptions_owner_idempotency_key", type_="unique")
        batch_op.drop_column("idempotency_key")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_organization_id"))
        batch_op.drop_constraint(op.f("fk_api_keys_organization_id_organizations"),
                                 type_="foreignkey")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("organization_id")
    op.drop_table("organizations")
