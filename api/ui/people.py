"""The workspace's people: planner users with a password (hashed with Argon2, argon2-cffi), and the
signed session cookie a login (password or API key) is exchanged for.

A session cookie is ``itsdangerous``-signed JSON under a secret kept in the database (every
server process signs and checks with the same one): a password user's id and session version,
or the SHA-256 of an API key (never the key itself). It is checked on every request, so a
disabled user, a changed password or a revoked key ends the session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth.service import default_organization, find_organization
from inventory.db.dispatch_models import DEFAULT_ORGANIZATION_ID, Organization
from inventory.db.people_models import PlannerUser, SessionSecret

SCOPES = ("planner", "viewer")
SESSION_HOURS = 12
"""A session cookie is good for this long after the login."""
MIN_PASSWORD = 10
"""Characters a password needs at least."""
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("a password nobody has")  # verified for unknown names: same time either way


class UserError(ValueError):
    """A user cannot be created or changed as asked (the message names the field)."""


@dataclass(frozen=True)
class SessionData:
    """What a valid session cookie says: ``user`` (id and version) or ``key_hash``; ``sid``:
    the session's random id, which the CSRF token is bound to."""

    sid: str
    user: str | None = None
    version: int | None = None
    key_hash: str | None = None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > 1000:
        raise UserError("password: at most 1000 characters")


def _organization(session: Session, ref: str) -> Organization:
    """The organization ``ref`` (its id or name; the default one made if missing); UserError
    naming ``organization`` when malformed or unknown."""
    if not ref.strip() or len(ref) > 200 or not ref.isprintable():
        raise UserError("organization: an organization's id or name (1 to 200 printable "
                        "characters)")
    org = (default_organization(session=session) if ref == DEFAULT_ORGANIZATION_ID
           else find_organization(session=session, ref=ref.strip()))
    if org is None:
        raise UserError(f"organization: no organization {ref!r} (an id or a name)")
    return org


def create_user(*, session: Session, username: str, display_name: str, password: str,
                scope: str, organization: str = DEFAULT_ORGANIZATION_ID,
                now: datetime | None = None) -> PlannerUser:
    """A new user of ``organization`` (its id or name; default the default organization, made
    if missing), whose data a viewer sees and whose rows the user's changes become.
    UserError naming the field for a taken or malformed username, an empty display name, a
    short password, an unknown scope or an unknown organization."""
    username = username.strip().lower()
    if not username or len(username) > 40 or not all(c.isalnum() or c in "._-" for c in username):
        raise UserError("username: 1 to 40 letters, digits, '.', '_' or '-'")
    if not display_name.strip() or len(display_name) > 100 or not display_name.isprintable():
        raise UserError("name: 1 to 100 printable characters")
    if scope not in SCOPES:
        raise UserError(f"scope: one of {', '.join(SCOPES)}")
    _check_password(password)
    org = _organization(session, organization)
    if session.scalar(select(PlannerUser.id).where(PlannerUser.username == username)):
        raise UserError(f"username: {username!r} is taken")
    row = PlannerUser(id="usr_" + secrets.token_hex(6), username=username,
                      display_name=display_name.strip(), password_hash=_hasher.hash(password),
                      scope=scope, session_version=1, created_at=now or datetime.now(UTC),
                      organization_id=org.id)
    session.add(row)
    session.flush()
    return row


def find_user(*, session: Session, username: str) -> PlannerUser | None:
    return session.scalar(select(PlannerUser).where(PlannerUser.username == username.strip().lower()))


def set_password(*, session: Session, username: str, password: str) -> PlannerUser:
    """A new password; every session of the user ends."""
    row = find_user(session=session, username=username)
    if row is None:
        raise UserError(f"username: no user {username!r}")
    _check_password(password)
    row.password_hash = _hasher.hash(password)
    row.session_version += 1
    session.flush()
    return row


def disable_user(*, session: Session, username: str, now: datetime | None = None) -> PlannerUser:
    """The user can no longer log in; every session of the user ends."""
    row = find_user(session=session, username=username)
    if row is None:
        raise UserError(f"username: no user {username!r}")
    if row.disabled_at is None:
        row.disabled_at = now or datetime.now(UTC)
        row.session_version += 1
        session.flush()
    return row


def move_user(*, session: Session, username: str, organization: str) -> tuple[PlannerUser, bool]:
    """Make the user one of ``organization`` (its id or name); every session of the user ends,
    since a session's organization decides what it sees. Returns the user and whether it moved
    (False: it was of that organization already, nothing changed). UserError naming the field
    for an unknown user or organization."""
    row = find_user(session=session, username=username)
    if row is None:
        raise UserError(f"username: no user {username!r}")
    org = _organization(session, organization)
    if row.organization_id == org.id:
        return row, False
    row.organization_id = org.id
    row.session_version += 1
    session.flush()
    return row, True


def list_users(*, session: Session) -> list[PlannerUser]:
    return list(session.scalars(select(PlannerUser).order_by(PlannerUser.username)))


def check_login(*, session: Session, username: str, password: str) -> PlannerUser | None:
    """The enabled user whose password this is, or None (as slow for an unknown name as for a
    wrong password). A hash made with older parameters is upgraded on the way."""
    row = find_user(session=session, username=username)
    try:
        _hasher.verify(row.password_hash if row is not None else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled_at is not None:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
        session.flush()
    return row


def session_secret(*, session: Session) -> str:
    """The secret that signs session cookies, made on first use (one row for every process)."""
    row = session.get(SessionSecret, "ui-session")
    if row is not None:
        return row.secret
    try:
        with session.begin_nested():
            session.add(SessionSecret(id="ui-session", secret=secrets.token_urlsafe(48),
                                      created_at=datetime.now(UTC)))
    except IntegrityError:  # another process made it first
        pass
    return session.get(SessionSecret, "ui-session").secret


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="spares-ui-session")


def sign_session(secret: str, data: SessionData) -> str:
    payload = {"sid": data.sid}
    if data.user is not None:
        payload.update(u=data.user, v=data.version)
    else:
        payload["k"] = data.key_hash
    return _serializer(secret).dumps(payload)


def read_session(secret: str, cookie: str) -> SessionData | None:
    """The session a cookie carries; None when its signature is wrong or it is too old."""
    try:
        p = _serializer(secret).loads(cookie, max_age=SESSION_HOURS * 3600)
    except BadSignature:
        return None
    if not isinstance(p, dict) or not isinstance(p.get("sid"), str):
        return None
    if isinstance(p.get("u"), str) and isinstance(p.get("v"), int):
        return SessionData(p["sid"], user=p["u"], version=p["v"])
    if isinstance(p.get("k"), str):
        return SessionData(p["sid"], key_hash=p["k"])
    return None


def new_sid() -> str:
    return secrets.token_urlsafe(18)
