"""restock orders in dispatch_orders, runs owned by organizations, idempotency records, shared
rate-limit counters

``dispatch_orders`` also holds the orders an approved restock run opened: ``dispatch_id``
becomes nullable, ``restock_run_id`` and ``restock_line`` (``T0``, ``R3``, ``B12``: the line of
the run's order tables, unique per run) and ``value`` are added, with a check that an order
comes from a dispatch or a run, not both. Runs approved before this revision get their orders:
each line whose movements the ledger holds, once (equal plans share their references), as
``sent`` at the approval time. ``restock_runs.owner`` held the requesting key's id: it moves to
``created_by`` and ``owner`` becomes that key's organization (``org_default`` for a key no longer
known). New tables: ``idempotency_records`` (first answers of booking requests sent with an
Idempotency-Key) and ``rate_limit_counters`` (request counters all server processes share).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_ORG = "org_default"
TABLES = (("transfers", "T", "transfer", "transport_cost"), ("repairs", "R", "repair", "repair_cost"),
          ("buys", "B", "buy", "amount"))
"""Order table of a run, its line prefix, the order kind and the column holding its value."""


def upgrade() -> None:
    with op.batch_alter_table("restock_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(length=40), nullable=True))
    op.execute(sa.text("UPDATE restock_runs SET created_by = owner"))
    op.execute(sa.text(
        "UPDATE restock_runs SET owner = COALESCE((SELECT k.organization_id FROM api_keys k "
        "WHERE k.id = restock_runs.created_by), :org)").bindparams(org=DEFAULT_ORG))

    with op.batch_alter_table("dispatch_orders", schema=None) as batch_op:
        batch_op.alter_column("dispatch_id", existing_type=sa.String(length=40), nullable=True)
        batch_op.add_column(sa.Column("restock_run_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("restock_line", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("value", sa.Float(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_dispatch_orders_restock_run_id_restock_runs"),
                                    "restock_runs", ["restock_run_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_dispatch_orders_restock_run_id"),
                              ["restock_run_id"], unique=False)
        batch_op.create_unique_constraint("uq_dispatch_orders_restock_run_id",
                                          ["restock_run_id", "restock_line"])
        batch_op.create_check_constraint("origin",
                                         "(dispatch_id IS NULL) <> (restock_run_id IS NULL)")

    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("sealed_secret", sa.String(length=400), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("owner", "operation", "idempotency_key",
                            name="uq_idempotency_records_owner"),
    )
    op.create_index(op.f("ix_idempotency_records_created_at"), "idempotency_records",
                    ["created_at"], unique=False)
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_no", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("previous", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_counters")),
    )
    op.create_index(op.f("ix_rate_limit_counters_expires_at"), "rate_limit_counters",
                    ["expires_at"], unique=False)
    _backfill_restock_orders()


def _aware(value: object) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _backfill_restock_orders() -> None:
    """Orders of the runs approved before this revision (see the module docstring)."""
    conn = op.get_bind()
    orders_t = sa.table("dispatch_orders", *(sa.column(c) for c in (
        "restock_run_id", "restock_line", "value", "kind", "depot_id", "part_id", "quantity",
        "from_id", "status")), sa.column("expected_at", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)))
    runs = conn.execute(sa.text(
        "SELECT id, plan_ref, orders, approved_at FROM restock_runs WHERE approved_at IS NOT NULL "
        "AND status = 'succeeded' ORDER BY approved_at, id")).all()
    done: set[str] = set()
    for run_id, plan_ref, orders, approved_at in runs:
        if isinstance(orders, str):
            import json

            orders = json.loads(orders)
        at = _aware(approved_at)
        rows = []
        for table, prefix, kind, value_col in TABLES:
            for n, line in enumerate((orders or {}).get(table) or []):
                ref = f"restock:{plan_ref or run_id}:{prefix}{n}"
                if ref in done or conn.execute(sa.text(
                        "SELECT 1 FROM stock_movements WHERE reference = :r LIMIT 1"),
                        {"r": ref}).first() is None:
                    continue
                done.add(ref)
                to = line.get("to_depot")
                rows.append({"restock_run_id": run_id, "restock_line": f"{prefix}{n}",
                             "value": line.get(value_col), "kind": kind,
                             "depot_id": to, "part_id": line["part_id"],
                             "quantity": int(line["quantity"]),
                             "from_id": "supplier" if kind == "buy" else line["from_depot"],
                             "expected_at": at + timedelta(days=float(line.get("lead_time_days")
                                                                      or 0.0)),
                             "status": "sent", "created_at": at})
        if rows:
            op.bulk_insert(orders_t, rows)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM dispatch_orders WHERE restock_run_id IS NOT NULL"))
    op.drop_index(op.f("ix_rate_limit_counters_expires_at"), table_name="rate_limit_counters")
    op.drop_table("rate_limit_counters")
    op.drop_index(op.f("ix_idempotency_records_created_at"), table_name="idempotency_records")
    op.drop_table("idempotency_records")
    with op.batch_alter_table("dispatch_orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_dispatch_orders_origin"), type_="check")
        batch_op.drop_constraint("uq_dispatch_orders_restock_run_id", type_="unique")
        batch_op.drop_index(batch_op.f("ix_dispatch_orders_restock_run_id"))
        batch_op.drop_constraint(op.f("fk_dispatch_orders_restock_run_id_restock_runs"),
                                 type_="foreignkey")
        batch_op.drop_column("value")
        batch_op.drop_column("restock_line")
        batch_op.drop_column("restock_run_id")
        batch_op.alter_column("dispatch_id", existing_type=sa.String(length=40), nullable=False)
    op.execute(sa.text("UPDATE restock_runs SET owner = created_by WHERE created_by IS NOT NULL"))
    with op.batch_alter_table("restock_runs", schema=None) as batch_op:
        batch_op.drop_column("created_by")
