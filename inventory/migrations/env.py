"""Alembic environment: migrates ``Base.metadata`` (every module in ``MODEL_MODULES``).

The database URL comes, in order, from a connection passed in ``config.attributes["connection"]``,
``config.attributes["url"]`` (set by :func:`inventory.db.migrate.upgrade`), the ``sqlalchemy.url``
option, or ``$SPARES_DATABASE_URL`` / the default (:func:`inventory.db.engine.database_url`).
"""

from __future__ import annotations

from alembic import context

from inventory.db.base import all_metadata
from inventory.db.engine import database_url, make_engine

config = context.config
target_metadata = all_metadata()


def _url() -> str:
    return (config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
            or database_url())


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
