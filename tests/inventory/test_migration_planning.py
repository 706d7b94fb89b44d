"""Revision 0010 adds the overlay, override and audit tables and takes them away again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from inventory.db.migrate import alembic_config, upgrade

TABLES = {"what_if_overlays", "stock_overrides", "forecast_overrides", "planning_audit"}


def test_upgrade_downgrade_upgrade(db_url):
    upgrade(db_url, "0010")
    engine = create_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
        command.downgrade(alembic_config(db_url), "0009")
        engine.dispose()
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(db_url, "0010")
        engine.dispose()
        found = inspect(engine)
        assert set(found.get_table_names()) >= TABLES
        uniques = {tuple(u["column_names"]) for u in found.get_unique_constraints("stock_overrides")}
        assert ("part_id", "location_id") in uniques
    finally:
        engine.dispose()
