"""webhook filters, secret rotation and the retry horizon

``webhook_subscriptions`` gains ``event_types`` (JSON list, NULL: every type), the rotated-out
``previous_secret`` with ``previous_secret_expires_at``, and an index on ``owner``;
``webhook_outbox`` gains ``failed_at`` (the worker gave up) and ``retry_from`` (a manual retry),
and an index on ``(subscription_id, created_at)`` for the paginated delivery lists. Messages that
had used the old fixed 12 tries are marked failed at their last scheduled try.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 13:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_MAX_ATTEMPTS = 12


def upgrade() -> None:
    op.add_column("webhook_subscriptions", sa.Column("event_types", sa.JSON(), nullable=True))
    op.add_column("webhook_subscriptions",
                  sa.Column("previous_secret", sa.String(length=200), nullable=True))
    op.add_column("webhook_subscriptions",
                  sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_webhook_subscriptions_owner"), "webhook_subscriptions", ["owner"],
                    unique=False)
    op.add_column("webhook_outbox", sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("webhook_outbox", sa.Column("retry_from", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_outbox_subscription", "webhook_outbox", ["subscription_id", "created_at"],
                    unique=False)
    op.execute(sa.text("UPDATE webhook_outbox SET failed_at = next_attempt_at "
                       f"WHERE delivered_at IS NULL AND attempts >= {OLD_MAX_ATTEMPTS}"))


def downgrade() -> None:
    op.drop_index("ix_outbox_subscription", table_name="webhook_outbox")
    op.drop_column("webhook_outbox", "retry_from")
    op.drop_column("webhook_outbox", "failed_at")
    op.drop_index(op.f("ix_webhook_subscriptions_owner"), table_name="webhook_subscriptions")
    for column in ("previous_secret_expires_at", "previous_secret", "event_types"):
        op.drop_column("webhook_subscriptions", column)
