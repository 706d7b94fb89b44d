"""Prometheus metrics (prometheus-client) and the functions the slices call to move them.

Counters and histograms live in the process. With ``spares serve --workers N`` each worker is a
process of its own: set ``SPARES_METRICS_DIR`` (or ``PROMETHEUS_MULTIPROC_DIR``) to a folder and
prometheus-client's multiprocess mode keeps every worker's values in files there, summed at each
scrape by whichever worker answers it. The variable must be set before this module is imported
(prometheus-client picks its value store at import); ``spares serve`` creates and empties the
folder at start.

The webhook outbox figures (pending, lag, dead letters) are read from the database at scrape
time by :class:`OutboxCollector`, so they are right whichever process answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from api.settings import SettingsError
from api.settings import load as load_settings

try:
    _dir = load_settings().metrics_dir
except SettingsError:  # reported by the app's start; metrics stay single-process meanwhile
    _dir = None
if _dir is not None and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_dir)

from prometheus_client import (  # noqa: E402 - after the multiprocess switch above
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

__all__ = ["CONTENT_TYPE_LATEST", "OutboxCollector", "dispatch_decided", "exposition",
           "multiprocess_dir", "reservation_conflict", "restock_run_finished",
           "webhook_deliveries"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds; fine below 20 ms where the dispatch target lies."""
RUN_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 3600.0)

HTTP_LATENCY = Histogram(
    "spares_http_request_duration_seconds",
    "Time from the request reaching the app to the end of its answer, per route template.",
    ("method", "route"), buckets=LATENCY_BUCKETS)
HTTP_REQUESTS = Counter(
    "spares_http_requests", "Answered requests per route template and status code.",
    ("method", "route", "status"))
DISPATCH_DECISIONS = Counter(
    "spares_dispatch_decisions",
    "Dispatches created (replays not counted) by outcome (reserved / backordered), transport "
    "mode (none for a backorder) and whether the choice arrives by the deadline.",
    ("outcome", "mode", "on_time"))
RESERVATION_CONFLICTS = Counter(
    "spares_reservation_conflicts",
    "Reservations that lost a race for the stock: retried (decided again on fresh stock) or "
    "gave_up (409 contention).", ("result",))
WEBHOOK_DELIVERIES = Counter(
    "spares_webhook_deliveries",
    "Webhook delivery tries: delivered, failed (to be retried) and gave_up (dead letter).",
    ("result",))
RESTOCK_RUN_SECONDS = Histogram(
    "spares_restock_run_duration_seconds",
    "Wall time of restock runs started through the API, by final status.", ("status",),
    buckets=RUN_BUCKETS)


def multiprocess_dir() -> str | None:
    """The multiprocess folder in use (None: single-process metrics)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


_request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
"""(method, route, status) -> (histogram child, counter child): ``labels()`` takes a lock and
checks its arguments on every call; the label sets are few (routes x methods x statuses)."""


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Record one answered request (called by the middleware)."""
    key = (method, route, status)
    children = _request_children.get(key)
    if children is None:
        children = (HTTP_LATENCY.labels(method, route),
                    HTTP_REQUESTS.labels(method, route, str(status)))
        _request_children[key] = children
    children[0].observe(seconds)
    children[1].inc()


def dispatch_decided(outcome: str, mode: str | None, on_time: bool | None) -> None:
    """Count a dispatch created with ``outcome`` (its status) by ``mode`` (None: no stock)."""
    DISPATCH_DECISIONS.labels(outcome, mode or "none",
                              "unknown" if on_time is None else str(bool(on_time)).lower()).inc()


def reservation_conflict(result: str) -> None:
    """Count a reservation race: ``retried`` or ``gave_up``."""
    RESERVATION_CONFLICTS.labels(result).inc()


def webhook_deliveries(delivered: int, failed: int, gave_up: int) -> None:
    """Count one delivery pass's outcomes (``failed`` includes the ``gave_up`` ones)."""
    for result, n in (("delivered", delivered), ("failed", failed), ("gave_up", gave_up)):
        if n:
            WEBHOOK_DELIVERIES.labels(result).inc(n)


def restock_run_finished(status: str, seconds: float) -> None:
    """Record a restock run's duration (``status``: succeeded / failed)."""
    RESTOCK_RUN_SECONDS.labels(status).observe(seconds)


class OutboxCollector:
    """The webhook outbox as gauges, read at scrape time: messages pending, the lag of the
    oldest due one (seconds it has been due and not sent; 0 when none is due) and the dead
    letters (failed, awaiting a manual retry)."""

    def __init__(self, engine_of: Callable[[], object], now: Callable[[], datetime]) -> None:
        self._engine_of = engine_of
        self._now = now

    def collect(self) -> Iterable[GaugeMetricFamily]:
        from inventory.db.dispatch_models import WebhookOutbox, as_utc

        t = WebhookOutbox.__table__
        now = self._now()
        pending = (t.c.delivered_at.is_(None), t.c.failed_at.is_(None))
        with self._engine_of().connect() as conn:  # type: ignore[attr-defined]
            n_pending = conn.execute(select(func.count()).where(*pending)).scalar() or 0
            due = conn.execute(select(func.min(t.c.next_attempt_at))
                               .where(*pending, t.c.next_attempt_at <= now)).scalar()
            dead = conn.execute(select(func.count()).where(t.c.failed_at.is_not(None))).scalar()
        lag = max(0.0, (now - as_utc(due)).total_seconds()) if due is not None else 0.0
        yield GaugeMetricFamily("spares_webhook_outbox_pending",
                                "Webhook messages not yet delivered nor given up.", n_pending)
        yield GaugeMetricFamily("spares_webhook_outbox_lag_seconds",
                                "How long the oldest due webhook message has waited.", lag)
        yield GaugeMetricFamily("spares_webhook_outbox_failed",
                                "Webhook messages given up (dead letters).", dead or 0)


def exposition(*extra: object) -> bytes:
    """The text exposition: this process's (or, in multiprocess mode, every worker's) metrics
    plus the ``extra`` collectors'."""
    folder = multiprocess_dir()
    if folder:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if extra:
        own = CollectorRegistry(auto_describe=False)
        for c in extra:
            own.register(c)  # type: ignore[arg-type]
        body += generate_latest(own)
    return body
