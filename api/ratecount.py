"""Where the rate limits of :mod:`api.limits` count requests: in the process, in the database,
or in Redis.

With ``--workers N`` each process counts on its own unless the store is shared (else each limit
is multiplied by N). :func:`counters` picks the store from ``SPARES_RATE_LIMIT_STORAGE``:

- ``memory`` (default): the moving window in this process only. Free: the dispatch hot path
  takes no extra write per request.
- ``database``: the ``rate_limit_counters`` table of the app's database, one row per
  (identity, rate) holding a sliding-window counter: the count of the current fixed window and
  of the one before, the estimate being ``previous * (1 - elapsed share) + current`` (the
  ``limits`` package's sliding window counter). A request is one upsert per rate in one short
  transaction (on SQLite it queues with the other writers, :meth:`api.context.AppContext.
  transaction`); a refused request takes its count back, so a client sending faster than its
  rate still gets its rate through.
- ``redis://host:port/db``: the ``limits`` package's moving window in Redis (the ``redis``
  package must be installed).

Each store answers :meth:`Counters.first_refusal` (count a request against its rates, or say
which one refuses it and in how many seconds to retry) and :meth:`Counters.record` (count a
request that was answered 401).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

from limits import RateLimitItem
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import TextClause, delete, select, text
from sqlalchemy.engine import Connection

from inventory.db.dispatch_models import RateLimitCounter

SWEEP_SECONDS = 30.0
"""How often a process deletes the counters that expired."""


@dataclass(frozen=True)
class Check:
    """One rate applied to one identity. ``kind``: ``hit`` counts the request (if admitted),
    ``test`` only looks whether one more would be admitted."""

    kind: Literal["hit", "test"]
    item: RateLimitItem
    ids: tuple[str, ...]


class Counters:
    """A counter store (see the module docstring). ``blocking``: its calls do I/O, so the
    middleware runs them on a worker thread."""

    blocking = False

    def first_refusal(self, checks: Sequence[Check]) -> tuple[Check, int] | None:
        """Apply ``checks`` in order; the first that refuses and the whole seconds (>= 1) until
        it would admit, or None when all admit. Hits before a refusal stay counted."""
        raise NotImplementedError

    def record(self, item: RateLimitItem, ids: tuple[str, ...]) -> None:
        """Count one request against ``item`` (one past the limit changes nothing more)."""
        raise NotImplementedError


class LimitsCounters(Counters):
    """The ``limits`` package's moving window over one of its storages (memory, Redis)."""

    def __init__(self, storage: Storage, *, blocking: bool) -> None:
        self.limiter = MovingWindowRateLimiter(storage)
        self.blocking = blocking

    def first_refusal(self, checks: Sequence[Check]) -> tuple[Check, int] | None:
        for c in checks:
            ok = (self.limiter.hit(c.item, *c.ids) if c.kind == "hit"
                  else self.limiter.test(c.item, *c.ids))
            if not ok:
                reset = self.limiter.get_window_stats(c.item, *c.ids).reset_time
                return c, max(1, math.ceil(reset - time.time()))
        return None

    def record(self, item: RateLimitItem, ids: tuple[str, ...]) -> None:
        self.limiter.hit(item, *ids)  # a moving window stops counting at its limit


def retry_seconds(amount: int, period: float, share: float, current: int,
                  previous: int) -> float:
    """Seconds until a sliding-window counter admits one more request: ``amount`` per
    ``period`` seconds, ``share`` of the current window elapsed, ``current`` and ``previous``
    the counts of this window and the one before."""
    if current + 1 <= amount and previous > 0:
        # within this window, as the previous window's weight fades
        t = period * (1.0 - share - (amount - 1 - current) / previous)
        if t < (1.0 - share) * period:
            return max(0.0, t)
    # in the next window this one's count fades in turn
    fade = period * (1.0 - (amount - 1) / current) if current > amount - 1 else 0.0
    return (1.0 - share) * period + max(0.0, fade)


_T = '"rate_limit_counters"'
_SAME = f'{_T}."window_no" >= excluded."window_no"'
"""The stored window is the current one (or ahead: a clock a little ahead keeps its window)."""
UPSERT_TAIL = f"""
ON CONFLICT ("key") DO UPDATE SET
  "previous" = CASE WHEN {_SAME} THEN {_T}."previous"
                    WHEN {_T}."window_no" = excluded."window_no" - 1 THEN {_T}."count"
                    ELSE 0 END,
  "count" = CASE WHEN {_SAME} THEN {_T}."count" + 1 ELSE 1 END,
  "window_no" = CASE WHEN {_SAME} THEN {_T}."window_no" ELSE excluded."window_no" END,
  "expires_at" = CASE WHEN {_SAME} THEN {_T}."expires_at" ELSE excluded."expires_at" END
RETURNING "key", "window_no", "count", "previous"
"""
"""Count one request per row: the window rolls over (the current count becomes the previous
one) when a new window starts."""


class DatabaseCounters(Counters):
    """Sliding-window counters in ``rate_limit_counters`` (see the module docstring): a
    request is one upsert of all its rates (and one read for the rates it only tests), in one
    transaction; the statements are plain SQL that SQLite and PostgreSQL share, built once.

    ``transaction``: a write transaction on the app's database (a Core connection);
    ``dialect``: its SQLAlchemy dialect name (``postgresql`` or ``sqlite``)."""

    blocking = True

    def __init__(self, transaction: Callable[[], AbstractContextManager[Connection]],
                 dialect: str, clock: Callable[[], float] = time.time) -> None:
        if dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"rate-limit counters need PostgreSQL or SQLite, not {dialect}")
        self._postgres = dialect == "postgresql"
        self._transaction = transaction
        self._clock = clock
        self._next_sweep = 0.0
        self._upserts: dict[int, TextClause] = {}

    @staticmethod
    def _key(item: RateLimitItem, ids: tuple[str, ...]) -> str:
        return item.key_for(*ids)[:200]

    @staticmethod
    def _window(item: RateLimitItem, now: float) -> tuple[int, float, float]:
        """(window number, elapsed share of it, period seconds)."""
        period = float(item.get_expiry())
        number = math.floor(now / period)
        return number, now / period - number, period

    def _upsert(self, conn: Connection, rows: list[tuple[str, int, float]]
                ) -> dict[str, tuple[int, int, int]]:
        """Count one request in each (key, window number, period) row; key -> (window
        number, current, previous) after it."""
        stmt = self._upserts.get(len(rows))
        if stmt is None:
            values = ", ".join(f"(:k{i}, :w{i}, 1, 0, :e{i})" for i in range(len(rows)))
            stmt = self._upserts[len(rows)] = text(
                f'INSERT INTO {_T} ("key", "window_no", "count", "previous", "expires_at") '
                f"VALUES {values}{UPSERT_TAIL}")
        params: dict[str, object] = {}
        for i, (key, number, period) in enumerate(rows):
            params |= {f"k{i}": key, f"w{i}": number, f"e{i}": (number + 2) * period}
        return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in conn.execute(stmt, params)}

    @staticmethod
    def _read(conn: Connection, key: str, number: int) -> tuple[int, int]:
        """(current, previous) counts of the row for window ``number``."""
        row = conn.execute(_READ, {"k": key}).first()
        if row is None or row[0] < number - 1:
            return 0, 0
        if row[0] == number - 1:
            return 0, int(row[1])
        return int(row[1]), int(row[2])

    def first_refusal(self, checks: Sequence[Check]) -> tuple[Check, int] | None:
        now = self._clock()
        hits = [(c, self._key(c.item, c.ids), *self._window(c.item, now))
                for c in checks if c.kind == "hit"]
        with self._transaction() as conn:
            for c in checks:  # tests first: a refused address is not counted at all
                if c.kind != "test":
                    continue
                number, share, period = self._window(c.item, now)
                current, previous = self._read(conn, self._key(c.item, c.ids), number)
                if previous * (1.0 - share) + current + 1 > c.item.amount:
                    wait = retry_seconds(c.item.amount, period, share, current, previous)
                    return c, max(1, math.ceil(wait + 1e-6))  # float noise: never early
            if not hits:
                return None
            after = self._upsert(conn, [(key, number, period)
                                        for _, key, number, _, period in hits])
            for i, (c, key, _, share, period) in enumerate(hits):
                number, current, previous = after[key]
                if previous * (1.0 - share) + current <= c.item.amount:
                    continue
                # refused: this hit and the ones after it are not counted
                for _, later, *_ in hits[i:]:
                    conn.execute(_UNCOUNT, {"k": later, "w": after[later][0]})
                wait = retry_seconds(c.item.amount, period, share, current - 1, previous)
                return c, max(1, math.ceil(wait + 1e-6))  # float noise: never early
        self._sweep(now)
        return None

    def record(self, item: RateLimitItem, ids: tuple[str, ...]) -> None:
        number, _, period = self._window(item, self._clock())
        with self._transaction() as conn:
            self._upsert(conn, [(self._key(item, ids), number, period)])

    def _sweep(self, now: float) -> None:
        """Delete expired counters, at most every :data:`SWEEP_SECONDS` per process."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_SECONDS
        t = RateLimitCounter.__table__
        with self._transaction() as conn:
            if self._postgres:  # never wait for (or deadlock with) rows being counted
                stale = (select(t.c.key).where(t.c.expires_at < now).limit(1000)
                         .with_for_update(skip_locked=True))
                conn.execute(delete(t).where(t.c.key.in_(stale.scalar_subquery())))
            else:
                conn.execute(delete(t).where(t.c.expires_at < now))


_READ = text(f'SELECT "window_no", "count", "previous" FROM {_T} WHERE "key" = :k')
_UNCOUNT = text(f'UPDATE {_T} SET "count" = "count" - 1 WHERE "key" = :k AND "window_no" = :w')


def counters(storage: str, *, transaction: Callable[[], AbstractContextManager[Connection]]
             | None = None, dialect: str | None = None) -> Counters:
    """The store named by ``storage`` (``database``, ``memory`` or a ``redis://`` URL).
    ``database`` needs the app's ``transaction`` and ``dialect``; an in-memory SQLite
    database (one process) counts in memory."""
    name = storage.strip()
    if name == "memory":
        return LimitsCounters(MemoryStorage(), blocking=False)
    if name == "database":
        if transaction is None or dialect is None:
            raise ValueError("rate-limit storage 'database' needs the app's database")
        return DatabaseCounters(transaction, dialect)
    if name.startswith(("redis://", "rediss://", "redis+unix://")):
        return LimitsCounters(storage_from_string(name), blocking=True)
    raise ValueError(f"rate-limit storage {storage!r}: use database, memory or a redis:// URL")
