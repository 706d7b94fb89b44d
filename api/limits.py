"""Request limits in front of the app: duplicated headers, body size and rate limits.

:class:`LimitsMiddleware` (pure ASGI, before any routing, authentication or database work):

- a single-valued header sent twice (``Idempotency-Key``, ``Authorization``, ...) is a 400:
  which of the two counts would be a guess;
- a body larger than ``max_body_bytes`` is a 413, by its ``Content-Length`` before it is read,
  or as soon as a streamed body passes the limit;
- per API key and per client address, requests beyond the rate limits are a 429 with
  ``Retry-After`` (seconds); an address whose requests were refused as unauthenticated more
  often than ``auth_failures`` allows gets 429 without a key lookup until its window frees up.

Health checks (``/healthz``, ``/readyz``) are exempt from the rate limits. The counters live
where every server process sees them (:mod:`api.ratecount`: the database by default, Redis, or
this process only), so ``--workers N`` shares each limit; the store's calls run on a worker
thread of their own, never on the event loop. A store that fails (the database gone) admits the
request and logs why: the request meets the same failure where it matters. Every refusal is an
RFC 9457 problem (:mod:`api.problems`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from anyio import to_thread
from limits import RateLimitItem, parse_many
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import Problem, response
from api.ratecount import Check, counters
from api.settings import load as load_settings

SINGLE_VALUED = ("authorization", "x-api-key", "idempotency-key", "content-type",
                 "content-length", "host")
"""Headers that may appear once per request."""
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
T = TypeVar("T")
log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from api.context import AppContext


@dataclass(frozen=True)
class Limits:
    """The limits of one app. Rates are ``limits`` strings (``"200/second;5000/minute"``);
    None switches that limit off.

    ``max_body_bytes``: the largest request body. ``per_key``: requests per presented API key.
    ``per_address``: requests per client address (all keys together). ``auth_failures``:
    401 answers per client address before its requests are refused unread.
    """

    max_body_bytes: int = 256 * 1024
    per_key: str | None = "200/second"
    per_address: str | None = "400/second"
    auth_failures: str | None = "30/minute"
    storage: str = "memory"
    """Where the counters live (:func:`api.ratecount.counters`): ``memory`` (this process),
    ``database`` or a ``redis://`` URL (shared by every server process)."""

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, overridden by ``SPARES_MAX_BODY_BYTES``, ``SPARES_RATE_PER_KEY``,
        ``SPARES_RATE_PER_ADDRESS``, ``SPARES_RATE_AUTH_FAILURES`` (``off`` disables one) and
        ``SPARES_RATE_LIMIT_STORAGE``."""
        env = load_settings()
        return cls(max_body_bytes=env.max_body_bytes, per_key=env.rate_per_key,
                   per_address=env.rate_per_address, auth_failures=env.rate_auth_failures,
                   storage=env.rate_limit_storage)


class _BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit (FastAPI passes an
    HTTPException from reading the body through to the problem handlers)."""


def _rates(text: str | None) -> list[RateLimitItem]:
    return parse_many(text) if text else []


def _in_memory(ctx: AppContext) -> bool:
    """The app's database lives in this process only (in-memory SQLite)."""
    url = ctx.engine.url
    return url.get_backend_name() == "sqlite" and (
        not url.database or url.database == ":memory:" or "mode=memory" in url.database)


def presented_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The API key as :func:`api.auth.deps.principal` reads it (Bearer first, then X-API-Key)."""
    found = dict(headers)
    auth = found.get(b"authorization", b"").decode("latin-1")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    key = found.get(b"x-api-key")
    return key.decode("latin-1") if key else None


class LimitsMiddleware:
    """Enforce :class:`Limits` before the request reaches the app (see the module docstring).

    ``ctx``: the app's context, whose database holds the counters with storage ``database``
    (an in-memory SQLite database, or no context, counts in this process)."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None,
                 ctx: AppContext | None = None) -> None:
        self.app = app
        self.limits = limits or Limits.from_env()
        self._per_key = _rates(self.limits.per_key)
        self._per_address = _rates(self.limits.per_address)
        self._auth_failures = _rates(self.limits.auth_failures)
        storage = self.limits.storage
        if storage == "database" and (ctx is None or _in_memory(ctx)):
            storage = "memory"
        self.counters = counters(storage, transaction=ctx.transaction if ctx else None,
                                 dialect=ctx.engine.dialect.name if ctx else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._check_headers(scope["headers"])
        address = scope["client"][0] if scope.get("client") else "unknown"
        if problem is None and scope["path"] not in EXEMPT_PATHS:
            problem = await self._check_rates(address, presented_key(scope["headers"]))
        if problem is not None:
            await response(problem, scope["path"])(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), self._watching(send, address))

    async def _run(self, fn: Callable[..., T], *args: Any) -> T | None:
        """``fn(*args)`` on the counters (on a worker thread when they do I/O); None when
        the store fails (logged; the request is admitted)."""
        try:
            if not self.counters.blocking:
                return fn(*args)
            return await to_thread.run_sync(fn, *args)
        except Exception:  # noqa: BLE001 - a broken counter store must not refuse requests
            log.warning("rate-limit counters unavailable; request admitted", exc_info=True)
            return None

    def _check_headers(self, headers: list[tuple[bytes, bytes]]) -> Problem | None:
        counts = Counter(name.lower() for name, _ in headers)
        for name in SINGLE_VALUED:
            if counts[name.encode()] > 1:
                return Problem(400, "duplicate-header", "Header sent more than once",
                               f"the {name} header may appear once; it appeared "
                               f"{counts[name.encode()]} times",
                               errors=[{"field": f"header.{name}",
                                        "message": "sent more than once"}])
        length = dict(headers).get(b"content-length")
        if length is None:
            return None
        if not length.isdigit():
            return Problem(400, "invalid-header", "Invalid header",
                           "content-length must be a number of bytes",
                           errors=[{"field": "header.content-length", "message": "not a number"}])
        if int(length) > self.limits.max_body_bytes:
            return self._too_large()
        return None

    def _too_large(self) -> Problem:
        return Problem(413, "content-too-large", "Content too large",
                       f"the request body may hold at most {self.limits.max_body_bytes} bytes",
                       errors=[{"field": "body", "message": "too large"}])

    async def _check_rates(self, address: str, key: str | None) -> Problem | None:
        checks = [Check("test", r, ("auth-failures", address)) for r in self._auth_failures]
        checks += [Check("hit", r, ("address", address)) for r in self._per_address]
        if key:
            digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
            checks += [Check("hit", r, ("key", digest)) for r in self._per_key]
        if not checks:
            return None
        refused = await self._run(self.counters.first_refusal, checks)
        if refused is None:
            return None
        check, retry = refused
        if check.ids[0] == "auth-failures":
            detail = "too many requests with a missing or unknown API key from this address"
            field: str | None = "header.Authorization"
        elif check.ids[0] == "address":
            detail, field = f"more than {check.item} from this address", None
        else:
            detail, field = f"more than {check.item} with this API key", "header.Authorization"
        return Problem(429, "rate-limited", "Too many requests", f"{detail}; retry after "
                       f"{retry} s", errors=[{"field": field, "message": "rate limit reached"}]
                       if field else None, headers={"Retry-After": str(retry)},
                       retry_after_seconds=retry)

    def _counting(self, receive: Receive) -> Receive:
        """``receive`` that refuses a streamed body once it passes the limit."""
        seen = 0
        limit = self.limits.max_body_bytes

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge(413, self._too_large().detail)
            return message

        return counted

    def _watching(self, send: Send, address: str) -> Send:
        """``send`` that counts 401 answers against the address."""
        if not self._auth_failures:
            return send

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                for r in self._auth_failures:
                    await self._run(self.counters.record, r, ("auth-failures", address))
            await send(message)

        return watched
