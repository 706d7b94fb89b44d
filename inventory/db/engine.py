"""Database URL, engine and session factory for SQLite (default) and PostgreSQL (psycopg 3).

SQLite is tuned for several writers: WAL journal (readers never block the writer), foreign keys
enforced, a busy timeout so a writer waits for the lock instead of failing, and every write
transaction opened with ``BEGIN IMMEDIATE`` so a read-then-write transaction can never fail
half-way when another writer committed in between (SQLite cannot upgrade a stale read snapshot to
a write lock). Reads go through :func:`reading` (a deferred ``BEGIN``: one consistent WAL snapshot,
never the write lock) or :func:`snapshot_engine` (single lock-free statements).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///spares.db"
ENV_VAR = "SPARES_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long (milliseconds) a SQLite writer waits for the write lock before giving up."""


def database_url() -> str:
    """The configured database URL: ``$SPARES_DATABASE_URL`` or ``sqlite:///spares.db``."""
    return normalize_url(os.environ.get(ENV_VAR) or DEFAULT_URL)


def normalize_url(url: str) -> str:
    """Pick the psycopg 3 driver for ``postgresql://`` / ``postgres://`` URLs; others unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite://`` URL names; None for other backends, in-memory databases and
    ``file:`` URIs. Lets a caller refuse a missing file instead of letting SQLite create it."""
    parsed = make_url(normalize_url(url))
    db = parsed.database
    if parsed.get_backend_name() != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default :func:`database_url`); extra kwargs go to ``create_engine``."""
    url = normalize_url(url or database_url())
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, **kwargs)
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    raise ValueError(f"database URL {url!r}: only sqlite:// and postgresql:// are supported")


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    connect_args.setdefault("check_same_thread", False)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so BEGIN (below) and SAVEPOINT work.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(NOWAIT_OPTION, False):
            _begin_nowait(conn.connection.driver_connection)
            return
        conn.exec_driver_sql("BEGIN" if options.get(READ_OPTION, False) else "BEGIN IMMEDIATE")

    return engine


READ_OPTION = "spares_read"
"""Execution option that marks a read transaction (SQLite: a deferred ``BEGIN``)."""
NOWAIT_OPTION = "spares_nowait"
"""Execution option of a write transaction that must not wait for SQLite's write lock:
``BEGIN IMMEDIATE`` with no busy timeout, :class:`WriterBusy` when another connection holds it."""


class WriterBusy(Exception):
    """Another writer holds the write lock now (a write transaction asked not to wait)."""


def _begin_nowait(dbapi_conn: Any) -> None:
    """``BEGIN IMMEDIATE`` without SQLite's busy handler (restored after): it takes the write
    lock at once or raises :class:`WriterBusy`."""
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        dbapi_conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # not a lock refusal
            raise
        raise WriterBusy(str(exc)) from exc
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def nowait(engine: Engine) -> Engine | None:
    """``engine`` for write transactions that never wait for the write lock (see
    :data:`NOWAIT_OPTION`); None where the database does not offer that (PostgreSQL: row
    locks are taken statement by statement, so a transaction may wait at any of them)."""
    if engine.dialect.name != "sqlite":
        return None
    return engine.execution_options(**{NOWAIT_OPTION: True})


def reading(engine: Engine) -> Engine:
    """``engine`` for read transactions, sharing its pool: on SQLite they open with a deferred
    ``BEGIN`` (a consistent WAL snapshot that never takes nor waits for the write lock, so reads
    do not queue behind writers); elsewhere the engine as it is. A write in such a transaction
    would have to upgrade a possibly stale snapshot: write through ``engine`` itself."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{READ_OPTION: True})


def snapshot_engine(engine: Engine, **kwargs: Any) -> Engine:
    """An engine for single-statement reads that take no lock and no transaction: on a SQLite
    file, a second pool in autocommit and ``query_only`` (each SELECT reads its own WAL
    snapshot, never waits for the writer; ``kwargs`` go to ``create_engine``, e.g. the JSON
    codec); elsewhere :func:`reading` of ``engine``."""
    db = engine.url.database
    if engine.dialect.name != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return reading(engine)
    reader = create_engine(engine.url, connect_args={"check_same_thread": False,
                                                     "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                           **kwargs)

    @event.listens_for(reader, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # autocommit: SQLAlchemy's begin emits nothing
        dbapi_conn.execute("PRAGMA query_only=1")

    return reader


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit (``expire_on_commit=False``)."""
    return sessionmaker(bind=engine, expire_on_commit=False)
