"""Database fixtures shared by all tests.

``db_url`` is parametrised over SQLite (always) and PostgreSQL (when one answers at
``$SPARES_TEST_PG_URL`` or ``postgresql+psycopg://postgres@127.0.0.1:5432/test``; skipped with the
reason otherwise). Each test module gets its own empty database (a SQLite file in a temp dir, or a
freshly created PostgreSQL database with a random name, dropped afterwards), so pytest-xdist
workers never share one. The database is empty: call ``inventory.db.migrate.upgrade(db_url)``.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@functools.cache
def pg_admin_url() -> tuple[str | None, str]:
    """(URL of a reachable PostgreSQL, "") or (None, why it is not usable)."""
    from inventory.db.engine import normalize_url

    url = normalize_url(os.environ.get("SPARES_TEST_PG_URL") or PG_DEFAULT)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: skip the PostgreSQL variant, saying why
        return None, f"PostgreSQL not reachable at {url}: {type(exc).__name__}: {exc}".splitlines()[0]
    return url, ""


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of an empty database of the parametrised backend, private to the test module."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'spares.db'}"
        return
    admin, why = pg_admin_url()
    if admin is None:
        pytest.skip(why)
    name = f"spares_test_{uuid.uuid4().hex[:16]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
