"""Revision 0014 gives workspace users an organization (existing users: the default
organization, the one they acted as before; a foreign key to ``organizations``) and takes it
away again."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from inventory.db.migrate import alembic_config, upgrade


def _columns(engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("planner_users")}


def test_upgrade_keeps_users_in_the_default_organization_and_downgrade_drops_it(db_url):
    upgrade(db_url, "0013")
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO planner_users (id, username, display_name, password_hash, scope, "
                "session_version, created_at) VALUES ('usr_1', 'liwei', 'Li Wei', 'h', "
                "'viewer', 1, '2026-11-30 10:00:00')"))
        upgrade(db_url, "0014")
        engine.dispose()
        assert "organization_id" in _columns(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT organization_id FROM planner_users")).scalar() == \
                "org_default"
        found = inspect(engine)
        assert "ix_planner_users_organization_id" in {
            i["name"] for i in found.get_indexes("planner_users")}
        assert [(fk["referred_table"], fk["constrained_columns"])
                for fk in found.get_foreign_keys("planner_users")] == [
            ("organizations", ["organization_id"])]
        with engine.connect() as conn:  # SQLite checks foreign keys only when asked
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
            with pytest.raises(IntegrityError), conn.begin():
                conn.execute(text(
                    "INSERT INTO planner_users (id, username, display_name, password_hash, "
                    "scope, session_version, created_at, organization_id) VALUES ('usr_2', "
                    "'ghost', 'G', 'h', 'viewer', 1, '2026-11-30 10:00:00', 'org_nope')"))
        command.downgrade(alembic_config(db_url), "0013")
        engine.dispose()
        assert "organization_id" not in _columns(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT username FROM planner_users")).all() == [("liwei",)]
        upgrade(db_url)
        engine.dispose()
        assert "organization_id" in _columns(engine)
    finally:
        engine.dispose()
