"""Organizations and their API keys: create (the secret is shown once), hash, look up, expire,
revoke.

A key reads ``spk_<id>_<secret>``; only ``sha256(key)`` is stored, so a leaked database does not
leak usable keys. Every key belongs to an organization (:data:`DEFAULT_ORGANIZATION_ID` unless
another is named), whose dispatches and webhook subscriptions it works with.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth.models import Principal, Scope
from inventory.db.dispatch_models import (
    DEFAULT_ORGANIZATION_ID,
    ApiKey,
    Organization,
    as_utc,
)


class UnknownOrganization(ValueError):
    """The named organization does not exist."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(scopes: list[str] | str) -> frozenset[Scope]:
    """Scope names (list or space/comma separated) to scopes; ValueError naming a bad one."""
    names = scopes.replace(",", " ").split() if isinstance(scopes, str) else scopes
    out = set()
    for n in names:
        try:
            out.add(Scope(n.strip().lower()))
        except ValueError:
            allowed = ", ".join(s.value for s in Scope)
            raise ValueError(f"unknown scope {n!r}; allowed: {allowed}") from None
    if not out:
        raise ValueError("at least one scope is needed")
    return frozenset(out)


def default_organization(*, session: Session) -> Organization:
    """The default organization, created if missing (a schema made without the migrations)."""
    row = session.get(Organization, DEFAULT_ORGANIZATION_ID)
    if row is None:
        row = Organization(id=DEFAULT_ORGANIZATION_ID, name="default", created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
    return row


def create_organization(*, session: Session, name: str, now: datetime | None = None) -> Organization:
    """A new organization; ValueError when the name is empty or taken."""
    name = name.strip()
    if not name:
        raise ValueError("name must not be empty")
    if session.scalar(select(Organization.id).where(Organization.name == name)) is not None:
        raise ValueError(f"an organization named {name!r} exists")
    row = Organization(id="org_" + secrets.token_hex(6), name=name, created_at=now or datetime.now(UTC))
    session.add(row)
    session.flush()
    return row


def find_organization(*, session: Session, ref: str) -> Organization | None:
    """An organization by id or by name."""
    return session.get(Organization, ref) or session.scalar(
        select(Organization).where(Organization.name == ref))


def list_organizations(*, session: Session, after: str | None = None,
                       limit: int | None = None) -> list[Organization]:
    """Organizations ordered by id, those after ``after`` only."""
    q = select(Organization).order_by(Organization.id)
    if after is not None:
        q = q.where(Organization.id > after)
    return list(session.scalars(q.limit(limit)))


def create_key(*, session: Session, name: str, scopes: list[str] | str,
               organization_id: str = DEFAULT_ORGANIZATION_ID,
               expires_at: datetime | None = None,
               now: datetime | None = None) -> tuple[ApiKey, str]:
    """Store a new key of an organization; returns the row and the plain key, which is never
    stored. ValueError for an empty name, a bad scope or an expiry not after ``now`` (default
    the system clock); :class:`UnknownOrganization` for an organization that does not exist."""
    if not name.strip():
        raise ValueError("name must not be empty")
    parsed = parse_scopes(scopes)
    now = now or datetime.now(UTC)
    if expires_at is not None and as_utc(expires_at) <= now:  # type: ignore[operator]
        raise ValueError("expires_at must lie in the future")
    if organization_id == DEFAULT_ORGANIZATION_ID:
        default_organization(session=session)
    elif session.get(Organization, organization_id) is None:
        raise UnknownOrganization(f"no organization {organization_id!r}")
    key_id = secrets.token_hex(6)
    plain = f"spk_{key_id}_{secrets.token_urlsafe(24)}"
    row = ApiKey(id=key_id, name=name.strip(), scopes=" ".join(sorted(s.value for s in parsed)),
                 key_hash=hash_key(plain), organization_id=organization_id, created_at=now,
                 expires_at=expires_at)
    session.add(row)
    session.flush()
    return row, plain


def principal_of(row: ApiKey) -> Principal:
    return Principal(row.id, row.name, frozenset(Scope(s) for s in row.scopes.split()),
                     row.organization_id, as_utc(row.expires_at))


def usable(p: Principal, now: datetime) -> bool:
    """False once the key has expired."""
    return p.expires_at is None or now < p.expires_at


def authenticate(*, session: Session, key: str, now: datetime | None = None) -> Principal | None:
    """The principal of a presented key, or None if unknown, revoked or expired."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    p = principal_of(row)
    return p if usable(p, now or datetime.now(UTC)) else None


def revoke_key(*, session: Session, key_id: str, now: datetime | None = None) -> ApiKey | None:
    """Revoke a key (a key revoked before keeps its first revocation time); None if unknown."""
    row = session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or datetime.now(UTC)
        session.flush()
    return row


def list_keys(*, session: Session, organization_id: str | None = None,
              after: str | None = None, limit: int | None = None) -> list[ApiKey]:
    """Keys ordered by id (of one organization if given), those after ``after`` only."""
    q = select(ApiKey).order_by(ApiKey.id)
    if organization_id is not None:
        q = q.where(ApiKey.organization_id == organization_id)
    if after is not None:
        q = q.where(ApiKey.id > after)
    return list(session.scalars(q.limit(limit)))


def key_out(row: ApiKey) -> dict[str, object]:
    """A key in the shape of :class:`api.auth.models.KeyOut` (never the secret)."""
    return {"id": row.id, "name": row.name, "organization_id": row.organization_id,
            "scopes": row.scopes.split(), "created_at": as_utc(row.created_at),
            "expires_at": as_utc(row.expires_at), "revoked_at": as_utc(row.revoked_at)}
