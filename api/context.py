"""What the running app holds: settings, the engine and session factory, the network model."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from api.settings import load as env_settings
from inventory.db.engine import WriterBusy, nowait, reading
from inventory.domain import Scenario
from optimizer.dispatch import CriticalLevels, critical_levels
from optimizer.travel import TravelNetwork

try:  # POSIX: writer processes queue on an flock (see AppContext._writer)
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]


@dataclass
class ApiSettings:
    """Settings of one app instance.

    ``scenario`` is the network the decisions use; None reads it from the database at start.
    ``plan_dir`` holds a stocking plan (``optimizer.stocking.io.read_plan``) whose base-stock
    levels give the critical levels; without one the opening stock stands in.
    ``webhook_worker`` starts the background delivery thread; tests call
    :func:`api.webhooks.worker.deliver_due` instead. ``webhook_allow``: origins
    (``scheme://host[:port]``) that may take plain http and non-public addresses
    (``SPARES_WEBHOOK_ALLOW``, comma separated; everything else must be https to a public
    address). ``webhook_retry_hours``: how long a message is retried before it is marked failed
    (``SPARES_WEBHOOK_RETRY_HOURS``). ``webhook_max_subscriptions``: active subscriptions per
    owner (``SPARES_WEBHOOK_MAX_SUBSCRIPTIONS``). ``webhook_resolver``: (host, port) -> addresses
    (default: the system resolver; tests give a fixed table). ``key_cache_seconds``: how long a checked API
    key is trusted without a database lookup (a key revoked anywhere stops working on every
    server process within this time; a revocation through this process's API at once).
    ``clock`` returns the current aware instant (default: the system clock); a decision ships
    from the later of this instant and the request's own times, and tests pin it.
    """

    database_url: str | None = None
    scenario: Scenario | None = None
    plan_dir: Path | None = None
    webhook_worker: bool = False
    webhook_poll_seconds: float = 1.0
    webhook_timeout_seconds: float = 5.0
    webhook_allow: tuple[str, ...] = field(
        default_factory=lambda: env_settings().webhook_allow)
    webhook_retry_hours: float = field(
        default_factory=lambda: env_settings().webhook_retry_hours)
    webhook_max_subscriptions: int = field(
        default_factory=lambda: env_settings().webhook_max_subscriptions)
    webhook_secret_overlap_hours: float = 24.0
    webhook_resolver: Callable[[str, int], list[str]] | None = None
    key_cache_seconds: float = 0.5
    clock: Callable[[], datetime] | None = None
    request_threads: int = field(
        default_factory=lambda: env_settings().request_threads)
    """How many requests run on worker threads at once per process
    (``SPARES_REQUEST_THREADS``): the rest wait their turn and the event loop stays responsive."""

    def __post_init__(self) -> None:
        from api.webhooks.destinations import allow_list

        allow_list(self.webhook_allow)  # a malformed entry stops the start, naming it


class TtlCache:
    """A small thread-safe TTL cache (API keys, webhook subscriptions): saves a DB read per request."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < time.monotonic():
                self._items.pop(key, None)
                return None
            return item[1]

    def __setitem__(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl, value)

    def pop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()



@dataclass
class AppContext:
    settings: ApiSettings
    engine: Engine
    session_maker: sessionmaker
    scenario: Scenario
    network: TravelNetwork
    levels: CriticalLevels
    read_engine: Engine | None = None
    """Engine for lock-free single-statement reads (:func:`inventory.db.engine.snapshot_engine`);
    None: :func:`inventory.db.engine.reading` of ``engine``."""
    key_cache: TtlCache = field(default_factory=lambda: TtlCache(0.5))
    subscription_cache: TtlCache = field(default_factory=lambda: TtlCache(5.0))
    """owner -> active subscription ids; cleared in-process on (un)subscribe."""

    def dispose(self) -> None:
        """Close the connection pools (the snapshot engine's too) and the writer lock file."""
        if self.read_engine is not None and self.read_engine is not self.engine:
            self.read_engine.dispose()
        self.engine.dispose()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def now(self) -> datetime:
        """The current instant (aware UTC) by the settings' clock."""
        clock = self.settings.clock
        return (clock() if clock else datetime.now(UTC)).astimezone(UTC)

    def __post_init__(self) -> None:
        # SQLite has one writer at a time. Queueing writers on a lock (a thread lock in-process,
        # an flock on a file beside the database across server processes) is much faster than
        # letting them collide in SQLite's busy handler, which sleeps 1, 2, 5, 10 ... 100 ms per
        # try. The locks only order writers; SQLite's own locking still guarantees correctness
        # (other programs, e.g. the CLI, do not take them).
        sqlite = self.engine.dialect.name == "sqlite"
        self._read_sessions = sessionmaker(bind=reading(self.engine), expire_on_commit=False)
        self._nowait_engine = nowait(self.engine)
        if self.read_engine is None:
            self.read_engine = reading(self.engine)
        self._write_lock = threading.Lock() if sqlite else None
        db = self.engine.url.database if sqlite else None
        self._lock_path = (f"{db}.writelock" if fcntl is not None and db and db != ":memory:"
                           and not db.startswith("file:") else None)
        self._lock_fd: int | None = None

    @contextmanager
    def _writer(self, wait: bool = True) -> Iterator[None]:
        """Hold the writer locks (none on PostgreSQL, whose row locks do the queueing);
        ``wait=False``: :class:`WriterBusy` at once when another writer holds one."""
        if self._write_lock is None:
            yield
            return
        if not self._write_lock.acquire(blocking=wait):
            raise WriterBusy("another thread of this process is writing")
        try:
            if self._lock_path is None:
                yield
                return
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise WriterBusy("another server process is writing") from None
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        finally:
            self._write_lock.release()

    @contextmanager
    def sessions(self, *, write: bool = False, exclusive: bool = False) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error; every slice
        opens its transactions here (or with :meth:`transaction` / :meth:`snapshot`).

        Without ``write`` a read transaction: on SQLite a deferred ``BEGIN``, one consistent
        snapshot that never takes nor waits for the write lock (do not write in it).
        ``write=True`` marks a read-decide-write transaction: on SQLite it queues for the
        writer locks first and opens with ``BEGIN IMMEDIATE``. ``exclusive=True`` (with
        ``write``) also makes such transactions run one at a time across server processes
        (:meth:`_exclusive`), for the ones that free stock and then reserve it for waiting
        backorders; ``session.info["exclusive"]`` says it was taken.
        """
        if not write:
            with self._read_sessions() as session, session.begin():
                yield session
            return
        with self._writer(), self.session_maker() as session, session.begin():
            if exclusive:
                self._exclusive(session)
            yield session

    @staticmethod
    def _exclusive(session: Session | Connection) -> None:
        """First in a transaction: on PostgreSQL a transaction-scoped advisory lock
        (:data:`EXCLUSIVE_LOCK_KEY`) held until it ends, so such transactions run one at a time
        across server processes: two that free stock at different depots and each reserve at the
        other's could otherwise deadlock. Creates do not take it; they hold one balance row and
        wait on nothing else, so no cycle forms. SQLite has one writer anyway."""
        bind = session.get_bind() if isinstance(session, Session) else session
        if bind.dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EXCLUSIVE_LOCK_KEY})
        session.info["exclusive"] = True

    @contextmanager
    def transaction(self, *, wait: bool = True) -> Iterator[Connection]:
        """A Core connection in a write transaction (commit on success, rollback on error),
        queued like ``sessions(write=True)``: the hot path's lighter alternative to a Session.
        ``wait=False`` (only where :attr:`nowait_writes`): never wait for a lock, raise
        :class:`WriterBusy` instead, so that an event loop can run the transaction itself."""
        if wait:
            with self._writer(), self.engine.begin() as conn:
                yield conn
            return
        assert self._nowait_engine is not None, "wait=False needs nowait_writes"
        with self._writer(wait=False), self._nowait_engine.begin() as conn:
            yield conn

    @property
    def nowait_writes(self) -> bool:
        """Write transactions can be opened without waiting (``transaction(wait=False)``):
        SQLite, whose one write lock is taken at ``BEGIN``; not PostgreSQL."""
        return self._nowait_engine is not None

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A Core connection for lock-free reads (:attr:`read_engine`): on a SQLite file every
        statement reads its own committed snapshot, no transaction, no lock."""
        assert self.read_engine is not None
        with self.read_engine.connect() as conn:
            yield conn


EXCLUSIVE_LOCK_KEY = 0x5350_4152_4553_4230  # "SPARESB0"
"""PostgreSQL advisory lock of ``sessions(write=True, exclusive=True)`` transactions."""


def plan_levels(scenario: Scenario, plan_dir: Path | None) -> CriticalLevels:
    """Critical levels from a stocking plan's base stock (``optimizer.stocking.io.read_plan``),
    or from the opening stock without a plan."""
    if plan_dir is None:
        return critical_levels(scenario)
    from optimizer.stocking.io import read_plan

    plan = read_plan(plan_dir)
    base = {(str(p), str(d)): int(plan.levels[i, j])
            for i, p in enumerate(plan.part_ids) for j, d in enumerate(plan.location_ids)}
    return critical_levels(scenario, base)
