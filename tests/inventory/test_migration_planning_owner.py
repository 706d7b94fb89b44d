"""Revision 0013 gives overlays, overrides and audit rows an owner (existing rows: the default
organization) and takes it away again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from inventory.db.migrate import alembic_config, upgrade

TABLES = ("what_if_overlays", "stock_overrides", "forecast_overrides", "planning_audit")


def _owned(engine) -> dict[str, bool]:
    found = inspect(engine)
    return {t: "owner" in {c["name"] for c in found.get_columns(t)} for t in TABLES}


def test_upgrade_keeps_rows_under_the_default_organization(db_url):
    upgrade(db_url, "0012")
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO stock_overrides (part_id, location_id, min_stock, reason, "
                "updated_by, updated_at) VALUES ('P', 'L', 1, 'r', 'me', '2026-11-30 10:00:00')"))
        upgrade(db_url, "0013")
        engine.dispose()
        assert all(_owned(engine).values())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT owner FROM stock_overrides")).scalar() == "org_default"
        indexes = {i["name"] for i in inspect(engine).get_indexes("planning_audit")}
        assert "ix_planning_audit_owner" in indexes
        command.downgrade(alembic_config(db_url), "0012")
        engine.dispose()
        assert not any(_owned(engine).values())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM stock_overrides")).scalar() == 1
        upgrade(db_url)
    finally:
        engine.dispose()
