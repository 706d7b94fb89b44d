"""FastAPI dependencies: the caller's principal from ``Authorization: Bearer`` or ``X-API-Key``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.auth.models import Principal, Scope
from api.auth.service import authenticate, usable
from api.problems import Problem


def _refused(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Unauthorized", detail,
                   headers={"WWW-Authenticate": "Bearer"})


def lookup(ctx: Any, key: str, now: Any) -> Principal | None:
    """The principal of ``key`` from the database, in a read transaction (no write lock)."""
    with ctx.sessions() as session:
        return authenticate(session=session, key=key, now=now)


async def principal(request: Request) -> Principal:
    """401 unless a valid key is presented. A checked key is trusted for at most
    ``key_cache_seconds`` (0.5 s by default) per process, so a revocation reaches every server
    process within that time; its expiry is checked on every request. (async: a cached key
    costs no thread hop; a miss reads the key on the thread pool, never on the event loop.)"""
    auth = request.headers.get("authorization", "")
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-api-key")
    if not key:
        raise _refused("missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key'")
    ctx = request.app.state.ctx
    now = ctx.now()
    found = ctx.key_cache.get(key)
    if found is None:
        found = await run_in_threadpool(lookup, ctx, key, now)
        if found is None:
            raise _refused("unknown, expired or revoked API key")
        ctx.key_cache[key] = found
    elif not usable(found, now):
        ctx.key_cache.pop(key)
        raise _refused("unknown, expired or revoked API key")
    return found


def require(scope: Scope) -> Callable[..., Any]:
    """Dependency: the caller must hold ``scope`` (admin holds all), else 403."""

    async def check(request: Request) -> Principal:
        p = await principal(request)  # called, not a sub-dependency: one resolution per request
        if not p.has(scope):
            raise Problem(403, "forbidden", "Forbidden",
                          f"API key {p.name!r} lacks the {scope.value!r} scope")
        return p

    return check


def require_any(*scopes: Scope) -> Callable[..., Any]:
    """Dependency: the caller must hold one of ``scopes`` (admin holds all), else 403."""
    names = " or ".join(repr(s.value) for s in scopes)

    async def check(request: Request) -> Principal:
        p = await principal(request)
        if not any(p.has(s) for s in scopes):
            raise Problem(403, "forbidden", "Forbidden", f"API key {p.name!r} lacks the {names} scope")
        return p

    return check
