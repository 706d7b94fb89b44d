"""Request limits in front of the app: duplicated headers, body size and rate limits.

:class:`LimitsMiddleware` (pure ASGI, before any routing, authentication or database work):

- a single-valued header sent twice (``Idempotency-Key``, ``Authorization``, ...) is a 400:
  which of the two counts would be a guess;
- a body larger than ``max_body_bytes`` is a 413, by its ``Content-Length`` before it is read,
  or as soon as a streamed body passes the limit;
- per API key and per client address, requests beyond the rate limits are a 429 with
  ``Retry-After`` (seconds); an address whose requests were refused as unauthenticated more
  often than ``auth_failures`` allows gets 429 without a key lookup until its window frees up.

Health checks (``/healthz``, ``/readyz``) are exempt from the rate limits. Counters live in the
process (the ``limits`` package's moving window in memory): with ``--workers N`` each server
process counts on its own. Every refusal is an RFC 9457 problem (:mod:`api.problems`).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections import Counter
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import Problem, response

SINGLE_VALUED = ("authorization", "x-api-key", "idempotency-key", "content-type",
                 "content-length", "host")
"""Headers that may appear once per request."""
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
OFF = ("", "off", "none", "0")


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

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, overridden by ``SPARES_MAX_BODY_BYTES``, ``SPARES_RATE_PER_KEY``,
        ``SPARES_RATE_PER_ADDRESS`` and ``SPARES_RATE_AUTH_FAILURES`` (``off`` disables one)."""
        base = cls()

        def rate(name: str, default: str | None) -> str | None:
            value = os.environ.get(name)
            if value is None:
                return default
            return None if value.strip().lower() in OFF else value.strip()

        body = os.environ.get("SPARES_MAX_BODY_BYTES")
        return cls(max_body_bytes=int(body) if body else base.max_body_bytes,
                   per_key=rate("SPARES_RATE_PER_KEY", base.per_key),
                   per_address=rate("SPARES_RATE_PER_ADDRESS", base.per_address),
                   auth_failures=rate("SPARES_RATE_AUTH_FAILURES", base.auth_failures))


class _BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit (FastAPI passes an
    HTTPException from reading the body through to the problem handlers)."""


def _rates(text: str | None) -> list[RateLimitItem]:
    return parse_many(text) if text else []


def presented_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The API key as :func:`api.auth.deps.principal` reads it (Bearer first, then X-API-Key)."""
    found = dict(headers)
    auth = found.get(b"authorization", b"").decode("latin-1")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    key = found.get(b"x-api-key")
    return key.decode("latin-1") if key else None


class LimitsMiddleware:
    """Enforce :class:`Limits` before the request reaches the app (see the module docstring)."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits.from_env()
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_key = _rates(self.limits.per_key)
        self._per_address = _rates(self.limits.per_address)
        self._auth_failures = _rates(self.limits.auth_failures)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._check_headers(scope["headers"])
        address = scope["client"][0] if scope.get("client") else "unknown"
        if problem is None and scope["path"] not in EXEMPT_PATHS:
            problem = self._check_rates(address, presented_key(scope["headers"]))
        if problem is not None:
            await response(problem, scope["path"])(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), self._watching(send, address))

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

    def _check_rates(self, address: str, key: str | None) -> Problem | None:
        if any(not self._limiter.test(r, "auth-failures", address) for r in self._auth_failures):
            return self._too_many(self._auth_failures, ("auth-failures", address),
                                  "too many requests with a missing or unknown API key from "
                                  "this address", "header.Authorization")
        for r in self._per_address:
            if not self._limiter.hit(r, "address", address):
                return self._too_many([r], ("address", address),
                                      f"more than {r} from this address", None)
        if key:
            digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
            for r in self._per_key:
                if not self._limiter.hit(r, "key", digest):
                    return self._too_many([r], ("key", digest),
                                          f"more than {r} with this API key",
                                          "header.Authorization")
        return None

    def _too_many(self, rates: list[RateLimitItem], ids: tuple[str, str], detail: str,
                  field: str | None) -> Problem:
        now = time.time()
        reset = max(self._limiter.get_window_stats(r, *ids).reset_time for r in rates)
        retry = max(1, math.ceil(reset - now))
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
                    self._limiter.hit(r, "auth-failures", address)
            await send(message)

        return watched
