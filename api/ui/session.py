"""Who is using the workspace: a person logged in with a password (:mod:`api.ui.people`) or an
API key exchanged at the login form for a signed session cookie.

The cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure`` over https) is signed with a secret
kept in the database and holds no password and no API key: a password user's id and session
version, or the key's SHA-256. Both are checked again at most every ``key_cache_seconds``, so
a disabled user, a changed password or a revoked key ends the session. Planner (or admin)
keys and planner users change things; viewers only look; ticketing keys are refused.

Every state-changing request carries a CSRF token: a form field ``csrf`` or the header
``X-CSRF-Token`` (htmx sends it from ``<body hx-headers>``). The token is an HMAC of the
session's random id under the signing secret, so it needs no server state and a page of another
origin, which cannot read the cookie, cannot forge it. The login form itself is protected by a
random pre-login cookie echoed in the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy import select

from api.auth.models import Principal, Scope
from api.auth.service import authenticate, principal_of, usable
from api.ui import people
from inventory.db.dispatch_models import ApiKey, Organization
from inventory.db.people_models import PlannerUser

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
    """The signed-in key: its principal, whether it may change things, its CSRF token and its
    organization as the header shows it (the name, else the id)."""

    principal: Principal
    can_change: bool
    csrf: str
    organization: str = ""

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def org(self) -> str:
        """The organization the user's changes belong to."""
        return self.principal.organization_id


def csrf_token(secret: str, sid: str) -> str:
    """The CSRF token of session ``sid`` (hex HMAC-SHA256 under the signing secret)."""
    return hmac.new(secret.encode(), b"spares-ui-csrf:" + sid.encode(), hashlib.sha256).hexdigest()


def signing_secret(request: Request) -> str:
    """The session-signing secret (read from the database once per process)."""
    state = request.app.state
    secret = getattr(state, "ui_session_secret", None)
    if secret is None:
        with state.ctx.sessions(write=True) as session:
            secret = people.session_secret(session=session)
        state.ui_session_secret = secret
    return secret


def start_session(request: Request, response: Response, data: people.SessionData) -> None:
    """Set the signed session cookie of ``data`` on ``response``."""
    response.set_cookie(COOKIE, people.sign_session(signing_secret(request), data), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https",
                        max_age=people.SESSION_HOURS * 3600)


def _user_principal(row: PlannerUser) -> Principal:
    """A password user as a principal of the user's organization: a viewer sees that
    organization's data only, exactly as a viewer key of it would."""
    return Principal(row.id, f"{row.display_name} ({row.username})", frozenset({Scope(row.scope)}),
                     row.organization_id)


def _principal(request: Request, data: people.SessionData) -> Principal | None:
    """Who the session is, checked against the database (cached for ``key_cache_seconds``)."""
    ctx = request.app.state.ctx
    cache_key = (f"ui-user:{data.user}:{data.version}" if data.user is not None
                 else f"ui-key:{data.key_hash}")
    found = ctx.key_cache.get(cache_key)
    if found is None:
        with ctx.sessions() as session:
            if data.user is not None:
                row = session.get(PlannerUser, data.user)
                ok = (row is not None and row.disabled_at is None
                      and row.session_version == data.version)
                found = _user_principal(row) if ok else None
            else:
                key = session.scalar(select(ApiKey).where(ApiKey.key_hash == data.key_hash))
                found = (principal_of(key) if key is not None and key.revoked_at is None
                         else None)
        if found is None:
            return None
        ctx.key_cache[cache_key] = found
    return found if usable(found, ctx.now()) else None


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


def organization_label(request: Request, org_id: str) -> str:
    """The organization's name (its id when it has none or is gone), cached as the keys are."""
    ctx = request.app.state.ctx
    cache_key = f"ui-org:{org_id}"
    label = ctx.key_cache.get(cache_key)
    if label is None:
        with ctx.sessions() as session:
            org = session.get(Organization, org_id)
            label = (org.name if org is not None else "") or org_id
        ctx.key_cache[cache_key] = label
    return label


def may_look(p: Principal) -> bool:
    return p.has(Scope.PLANNER) or Scope.VIEWER in p.scopes


def current_user(request: Request) -> User:
    """The signed-in user; :class:`LoginRequired` without a valid session, :class:`Forbidden`
    for a key that may not look at the workspace."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise LoginRequired
    secret = signing_secret(request)
    data = people.read_session(secret, cookie)
    p = _principal(request, data) if data is not None else None
    if p is None:
        raise LoginRequired
    if not may_look(p):
        raise Forbidden(f"{p.name!r} has neither the 'planner' nor the 'viewer' scope")
    return User(p, p.has(Scope.PLANNER), csrf_token(secret, data.sid),
                organization_label(request, p.organization_id))


def check_change(request: Request, user: User, form_token: str | None) -> None:
    """Refuse a change without the planner scope or without the right CSRF token."""
    if not user.can_change:
        raise Forbidden(f"{user.name!r} lacks the 'planner' scope: may look, not change")
    sent = form_token or request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), user.csrf.encode()):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page and try again")


def new_login_token() -> str:
    return secrets.token_urlsafe(24)
