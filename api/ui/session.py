"""Who is using the workspace: an API key exchanged at the login form for an HttpOnly cookie.

The cookie holds the key itself (``SameSite=Strict``, ``HttpOnly``, ``Secure`` over https), so the
workspace has exactly the API's key model: a revoked key stops working within the key cache's
time. Planner (or admin) keys change things; viewer keys only look; ticketing keys are refused.

Every state-changing request carries a CSRF token: a form field ``csrf`` or the header
``X-CSRF-Token`` (htmx sends it from ``<body hx-headers>``). The token is an HMAC of the key, so
it needs no server state and a page of another origin, which cannot read the cookie, cannot
forge it. The login form itself is protected by a random pre-login cookie echoed in the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request

from api.auth.models import Principal, Scope
from api.auth.service import authenticate

COOKIE = "spares_ui"
LOGIN_COOKIE = "spares_ui_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No valid key in the cookie: the page answers with a redirect to the login form."""


class Forbidden(Exception):
    """The key lacks the scope the page needs; ``detail`` says which."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class User:
    """The signed-in key: its principal, whether it may change things, its CSRF token."""

    principal: Principal
    can_change: bool
    csrf: str

    @property
    def name(self) -> str:
        return self.principal.name


def csrf_token(key: str) -> str:
    """The CSRF token bound to ``key`` (hex HMAC-SHA256 keyed by the key's own hash)."""
    secret = hashlib.sha256(key.encode()).digest()
    return hmac.new(secret, b"spares-ui-csrf", hashlib.sha256).hexdigest()


def lookup(request: Request, key: str) -> Principal | None:
    """The principal of ``key`` (the API's per-process key cache first), None if unknown."""
    ctx = request.app.state.ctx
    found = ctx.key_cache.get(key)
    if found is None:
        with ctx.sessions() as session:
            found = authenticate(session=session, key=key)
        if found is not None:
            ctx.key_cache[key] = found
    return found


def may_look(p: Principal) -> bool:
    return p.has(Scope.PLANNER) or Scope.VIEWER in p.scopes


def current_user(request: Request) -> User:
    """The signed-in user; :class:`LoginRequired` without a valid key, :class:`Forbidden` for a
    key that may not look at the workspace."""
    key = request.cookies.get(COOKIE)
    if not key:
        raise LoginRequired
    p = lookup(request, key)
    if p is None:
        raise LoginRequired
    if not may_look(p):
        raise Forbidden(f"API key {p.name!r} has neither the 'planner' nor the 'viewer' scope")
    return User(p, p.has(Scope.PLANNER), csrf_token(key))


def check_change(request: Request, user: User, form_token: str | None) -> None:
    """Refuse a change without the planner scope or without the right CSRF token."""
    if not user.can_change:
        raise Forbidden(f"API key {user.name!r} lacks the 'planner' scope: it may look, not change")
    sent = form_token or request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), user.csrf.encode()):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page and try again")


def new_login_token() -> str:
    return secrets.token_urlsafe(24)
