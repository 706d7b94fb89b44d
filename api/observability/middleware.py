"""The request-id, access-log and latency middleware (pure ASGI, the outermost of the app's own).

Per HTTP request: take the incoming ``X-Request-ID`` when it is sane
(:data:`api.observability.logs.SANE_REQUEST_ID`) or make a fresh one, bind it for every log line
the request causes, echo it in the ``X-Request-ID`` answer header, time the request to the end of
its answer and record it under its route template (``/v1/dispatches/{dispatch_id}``, never the
raw path: ids would make a metric per dispatch; paths no route matches count as
``<unmatched>``), then write one access log line (``spares.access``)::

    {"msg": "GET /v1/dispatches/{dispatch_id} 200 2.1 ms", "method": "GET",
     "route": "/v1/dispatches/{dispatch_id}", "status": 200, "duration_ms": 2.1,
     "request_id": "...", "organization": "org_..."}

``organization`` is the caller's organization when its API key was checked (read from the
app's key cache after the answer; absent for unauthenticated requests).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.observability import logs, metrics

access_log = logging.getLogger("spares.access")

UNMATCHED = "<unmatched>"
_HEADER = logs.REQUEST_ID_HEADER.encode()


def route_template(scope: Scope) -> str:
    """The path template of the route that answered (``<unmatched>`` when none did)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return UNMATCHED
    root = scope.get("root_path", "")
    return root + path if root and not path.startswith(root) else path


def incoming_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The client's ``X-Request-ID`` if present and sane, else None."""
    for name, value in headers:
        if name == _HEADER:
            text = value.decode("latin-1")
            return text if logs.SANE_REQUEST_ID.fullmatch(text) else None
    return None


def new_request_id() -> str:
    """A fresh id: 32 random hex characters."""
    return os.urandom(16).hex()


class ObservabilityMiddleware:
    """See the module docstring. ``organization_of(scope)`` names the caller's organization
    after the answer (None when unknown); ``access`` switches the access log line."""

    def __init__(self, app: ASGIApp, *, access: bool = True,
                 organization_of: Any = None) -> None:
        self.app = app
        self.access = access
        self.organization_of = organization_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_request_id(scope["headers"]) or new_request_id()
        token = logs.bind_request_id(rid)
        start = time.perf_counter()
        status = 500
        header = (_HEADER, rid.encode("latin-1"))

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - start
            route = route_template(scope)
            method = scope["method"]
            metrics.observe_request(method, route, status, seconds)
            if self.access and access_log.isEnabledFor(logging.INFO):
                self._access_line(scope, method, route, status, seconds)
            logs.reset_request_id(token)

    def _access_line(self, scope: Scope, method: str, route: str, status: int,
                     seconds: float) -> None:
        """The access log line; straight to the JSON handler when that is where it goes
        (:func:`api.observability.logs.direct_handler`), else through ``logging``."""
        ms = round(seconds * 1000.0, 2)
        extra: dict[str, Any] = {"method": method, "route": route, "status": status,
                                 "duration_ms": ms}
        org = self.organization_of(scope) if self.organization_of else None
        if org is not None:
            extra["organization"] = org
        handler = logs.direct_handler(access_log)
        if handler is None:
            access_log.info("%s %s %d %.2f ms", method, route, status, ms, extra=extra)
            return
        try:
            logs.write_direct(handler, access_log, f"{method} {route} {status:d} {ms:.2f} ms",
                              extra)
        except Exception:  # as logging would: a failing stream must not fail the request
            access_log.info("%s %s %d %.2f ms", method, route, status, ms, extra=extra)
