"""The migration head creates exactly the tables of the models; revisions form one line."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from inventory.db.base import all_metadata
from inventory.db.migrate import alembic_config, head_revision


def test_head_matches_models(sessions):
    engine = sessions.kw["bind"]
    metadata = all_metadata()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
        version = conn.exec_driver_sql("select version_num from alembic_version").scalar()
    assert diff == []
    assert tables == set(metadata.tables)
    assert version == head_revision()


def test_single_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
