"""API keys: create (the secret is shown once), hash, look up, revoke.

A key reads ``spk_<id>_<secret>``; only ``sha256(key)`` is stored, so a leaked database does not
leak usable keys.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth.models import Principal, Scope
from inventory.db.dispatch_models import ApiKey


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


def create_key(*, session: Session, name: str, scopes: list[str] | str) -> tuple[ApiKey, str]:
    """Store a new key; returns the row and the plain key, which is never stored."""
    if not name.strip():
        raise ValueError("name must not be empty")
    parsed = parse_scopes(scopes)
    key_id = secrets.token_hex(6)
    plain = f"spk_{key_id}_{secrets.token_urlsafe(24)}"
    row = ApiKey(id=key_id, name=name.strip(), scopes=" ".join(sorted(s.value for s in parsed)),
                 key_hash=hash_key(plain), created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    return row, plain


def authenticate(*, session: Session, key: str) -> Principal | None:
    """The principal of a presented key, or None if unknown or revoked."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    return Principal(row.id, row.name, frozenset(Scope(s) for s in row.scopes.split()))


def revoke_key(*, session: Session, key_id: str) -> bool:
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = datetime.now(UTC)
    return True


def list_keys(*, session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))
