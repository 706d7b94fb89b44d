"""FastAPI dependencies: the caller's principal from ``Authorization: Bearer`` or ``X-API-Key``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from api.auth.models import Principal, Scope
from api.auth.service import authenticate
from api.problems import Problem


async def principal(request: Request) -> Principal:
    """401 unless a valid key is presented. Keys are cached per process after the first lookup
    (async: a cached key costs no thread hop; a miss does one short indexed read)."""
    auth = request.headers.get("authorization", "")
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-api-key")
    if not key:
        raise Problem(401, "unauthorized", "Unauthorized",
                      "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key'",
                      headers={"WWW-Authenticate": "Bearer"})
    ctx = request.app.state.ctx
    found = ctx.key_cache.get(key)
    if found is None:
        with ctx.sessions() as session:
            found = authenticate(session=session, key=key)
        if found is None:
            raise Problem(401, "unauthorized", "Unauthorized", "unknown or revoked API key",
                          headers={"WWW-Authenticate": "Bearer"})
        ctx.key_cache[key] = found
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
