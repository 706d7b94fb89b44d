"""Revision 0009: restock runs move from their key to the key's organization, and runs approved
before it get their orders in ``dispatch_orders`` (each booked line once, equal plans sharing
their references); the downgrade puts both back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import create_engine, select, text

import scenarios
from inventory.db.dispatch_models import DispatchOrder
from inventory.db.engine import make_engine, session_factory
from inventory.db.load import load_scenario
from inventory.db.migrate import alembic_config, upgrade

T = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
ORDERS = {"transfers": [{"part_id": "PSU-1200", "from_depot": "HQ-SZ", "to_depot": "GZ",
                         "quantity": 2, "transport_cost": 40.0, "lead_time_days": 1.0}],
          "repairs": [{"part_id": "PSU-1200", "from_depot": "HQ-SZ", "to_depot": "HQ-SZ",
                       "quantity": 1, "repair_cost": 350.0, "lead_time_days": 21.0}],
          "buys": [{"part_id": "LC-10G-B", "to_depot": "HQ-SZ", "quantity": 1,
                    "amount": 26500.0, "lead_time_days": 90.0}],
          "excess": [], "cut": []}


def _run(conn, id_, owner, approved_at):
    conn.execute(text(
        "INSERT INTO restock_runs (id, owner, quarter, status, created_at, plan_ref, orders, "
        "approved_at, approved_by, posted, skipped) VALUES (:id, :owner, '2027Q1', 'succeeded', "
        ":t, 'P1', :orders, :a, :owner, 0, 0)"),
        {"id": id_, "owner": owner, "t": T, "orders": json.dumps(ORDERS), "a": approved_at})


def _move(conn, kind, depot, part, qty, ref):
    conn.execute(text(
        "INSERT INTO stock_movements (at, recorded_at, depot_id, part_id, kind, quantity, "
        "d_on_hand, d_reserved, d_in_transit, d_defective, d_in_repair, reference) VALUES "
        "(:t, :t, :d, :p, :k, :q, 0, 0, 0, 0, 0, :r)"),
        {"t": T, "d": depot, "p": part, "k": kind, "q": qty, "r": ref})


def test_runs_move_to_organizations_and_approved_runs_get_their_orders(db_url):
    upgrade(db_url, "0008")
    engine = make_engine(db_url)
    with session_factory(engine)() as session, session.begin():
        load_scenario(scenarios.load("tiny"), session=session)
    engine.dispose()
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO organizations (id, name, created_at) "
                              "VALUES ('org_p', 'partner', :t)"), {"t": T})
            conn.execute(text("INSERT INTO api_keys (id, name, scopes, key_hash, created_at, "
                              "organization_id) VALUES ('k1', 'k1', 'planner', 'h1', :t, "
                              "'org_p')"), {"t": T})
            _run(conn, "rr_first", "k1", T + timedelta(hours=1))
            _run(conn, "rr_twin", "gone", T + timedelta(hours=2))  # an equal plan, key deleted
            conn.execute(text("INSERT INTO restock_runs (id, owner, quarter, status, created_at) "
                              "VALUES ('rr_queued', 'k1', '2027Q2', 'queued', :t)"), {"t": T})
            # the transfer and the buy were booked; the repair line never was
            _move(conn, "transfer_out", "HQ-SZ", "PSU-1200", 2, "restock:P1:T0")
            _move(conn, "transfer_expected", "GZ", "PSU-1200", 2, "restock:P1:T0:in")
            _move(conn, "order_placed", "HQ-SZ", "LC-10G-B", 1, "restock:P1:B0")
        upgrade(db_url)
        with engine.connect() as conn:
            runs = conn.execute(text("SELECT id, owner, created_by FROM restock_runs "
                                     "ORDER BY id")).all()
            orders = conn.execute(text(
                "SELECT restock_run_id, restock_line, kind, from_id, depot_id, part_id, "
                "quantity, value, status, expected_at, dispatch_id FROM dispatch_orders "
                "ORDER BY id")).all()
        assert [tuple(r) for r in runs] == [("rr_first", "org_p", "k1"),
                                            ("rr_queued", "org_p", "k1"),
                                            ("rr_twin", "org_default", "gone")]
        assert [tuple(o)[:9] for o in orders] == [
            ("rr_first", "T0", "transfer", "HQ-SZ", "GZ", "PSU-1200", 2, 40.0, "sent"),
            ("rr_first", "B0", "buy", "supplier", "HQ-SZ", "LC-10G-B", 1, 26500.0, "sent")]
        expected = [at if at.tzinfo else at.replace(tzinfo=UTC) for at in (
            o.expected_at if isinstance(o.expected_at, datetime)
            else datetime.fromisoformat(o.expected_at) for o in orders)]
        assert expected == [T + timedelta(hours=1, days=1), T + timedelta(hours=1, days=90)]
        assert all(o.dispatch_id is None for o in orders)
        app_engine = make_engine(db_url)  # the models read the backfilled instants
        with session_factory(app_engine)() as session:
            got = session.scalars(select(DispatchOrder.expected_at)
                                  .order_by(DispatchOrder.id)).all()
        app_engine.dispose()
        assert got == expected

        command.downgrade(alembic_config(db_url), "0008")
        with engine.connect() as conn:
            runs = conn.execute(text("SELECT id, owner FROM restock_runs ORDER BY id")).all()
            left = conn.execute(text("SELECT COUNT(*) FROM dispatch_orders")).scalar()
        assert [tuple(r) for r in runs] == [("rr_first", "k1"), ("rr_queued", "k1"),
                                            ("rr_twin", "gone")]
        assert left == 0
    finally:
        engine.dispose()
