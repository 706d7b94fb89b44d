"""Revision 0008 moves keys, dispatches and webhook subscriptions made before tenants into the
default organization, keeping Idempotency-Keys that two keys shared apart."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from inventory.db.migrate import upgrade

T = datetime(2025, 6, 4, tzinfo=UTC)


def _dispatch(conn, id_, owner, key):
    conn.execute(text(
        "INSERT INTO dispatches (id, ticket_id, owner, idempotency_key, request_hash, site_id, "
        "part_id, severity, quantity, tier, status, reported_at, on_time, reserved, decision, "
        "created_at, updated_at) VALUES (:id, 'T', :owner, :key, '', 'S', 'P', 1, 1, 'gold', "
        "'reserved', :t, true, false, '{}', :t, :t)"), {"id": id_, "owner": owner, "key": key,
                                                       "t": T})


def test_existing_data_moves_into_the_default_organization(db_url):
    upgrade(db_url, "0007")
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            for key_id in ("k1", "k2"):
                conn.execute(text("INSERT INTO api_keys (id, name, scopes, key_hash, created_at) "
                                  "VALUES (:id, :id, 'ticketing', :h, :t)"),
                             {"id": key_id, "h": "h" + key_id, "t": T})
            _dispatch(conn, "d1", "k1", "same")
            _dispatch(conn, "d2", "k2", "same")
            _dispatch(conn, "d3", "k2", "own")
            conn.execute(text("INSERT INTO webhook_subscriptions (id, owner, url, secret, active, "
                              "created_at) VALUES ('w1', 'k1', 'https://x.example', 's', true, :t)"),
                         {"t": T})
        upgrade(db_url)
        with engine.connect() as conn:
            orgs = conn.execute(text("SELECT id, name FROM organizations")).all()
            keys = conn.execute(text("SELECT id, organization_id, expires_at FROM api_keys "
                                     "ORDER BY id")).all()
            dispatches = conn.execute(text("SELECT id, owner, idempotency_key FROM dispatches "
                                           "ORDER BY id")).all()
            subs = conn.execute(text("SELECT owner FROM webhook_subscriptions")).scalars().all()
    finally:
        engine.dispose()
    assert [tuple(o) for o in orgs] == [("org_default", "default")]
    assert [tuple(k) for k in keys] == [("k1", "org_default", None), ("k2", "org_default", None)]
    assert [tuple(d) for d in dispatches] == [("d1", "org_default", "k1:same"),
                                              ("d2", "org_default", "k2:same"),
                                              ("d3", "org_default", "own")]
    assert subs == ["org_default"]
