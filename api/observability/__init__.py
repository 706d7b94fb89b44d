"""Observability of the service: JSON logs with request ids, access logs, Prometheus metrics.

The slices call the small public functions re-exported here when something worth counting
happens (:func:`dispatch_decided`, :func:`reservation_conflict`, :func:`webhook_deliveries`,
:func:`restock_run_finished`); :func:`install` puts the middleware and ``/metrics`` on the app.

Who may read ``/metrics`` (``SPARES_METRICS``): ``admin`` (default) answers only an admin-scope
key (``Authorization: Bearer``, as Prometheus' ``authorization`` scrape setting sends it);
``public`` answers anyone, for a server whose port only the monitoring network reaches;
``off`` removes the route.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Response

from api.observability.logs import configure as configure_logging
from api.observability.logs import request_id
from api.observability.metrics import (
    dispatch_decided,
    reservation_conflict,
    restock_run_finished,
    webhook_deliveries,
)

if TYPE_CHECKING:
    from api.context import AppContext

__all__ = ["configure_logging", "dispatch_decided", "install", "request_id",
           "reservation_conflict", "restock_run_finished", "webhook_deliveries"]


def install(app: FastAPI, ctx: AppContext, *, access_log: bool = True,
            metrics_access: str = "admin", outbox_clock: Callable[[], datetime] | None = None
            ) -> None:
    """Add :class:`~api.observability.middleware.ObservabilityMiddleware` (call after every
    other ``add_middleware``: it must be outside them so refusals they answer are logged and
    carry the request id) and the ``/metrics`` route readable as ``metrics_access`` says.
    ``outbox_clock``: the clock the webhook outbox is scheduled by (default ``ctx.now``)."""
    from api.limits import presented_key
    from api.observability import metrics
    from api.observability.middleware import ObservabilityMiddleware

    def organization_of(scope: Any) -> str | None:
        key = presented_key(scope["headers"])
        found = ctx.key_cache.get(key) if key else None
        return getattr(found, "organization_id", None)

    app.add_middleware(ObservabilityMiddleware, access=access_log,
                       organization_of=organization_of)
    if metrics_access == "off":
        return
    outbox = metrics.OutboxCollector(lambda: ctx.read_engine or ctx.engine,
                                     outbox_clock or ctx.now)
    deps: list[Any] = []
    if metrics_access != "public":
        from api.auth.deps import require
        from api.auth.models import Scope

        deps.append(Depends(require(Scope.ADMIN)))

    @app.get("/metrics", include_in_schema=False, dependencies=deps)
    def prometheus_metrics() -> Response:
        """Prometheus text exposition (see the module docstring for who may read it)."""
        return Response(metrics.exposition(outbox), media_type=metrics.CONTENT_TYPE_LATEST)
