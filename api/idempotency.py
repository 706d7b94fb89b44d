"""``Idempotency-Key`` replays for booking requests that have no key column of their own.

The first answer of a request sent with an Idempotency-Key is stored (``idempotency_records``)
in the transaction that booked it; the same key again, from the same organization, for the same
operation and request, answers that stored answer with ``Idempotent-Replayed: true`` and books
nothing; the same key with another request is a 422 naming the header. Refusals are not stored
(nothing was booked; a retry is decided again). Concurrent requests with one key queue on a
lock (PostgreSQL: a transaction advisory lock; SQLite's write transactions are serial), so the
second one finds the first's record.

An answer that carries a secret (a created API key) is stored without it; the secret is kept
sealed with a key derived from the caller's own API key (:func:`seal`), so only the caller that
made the request can see it again, and only within :data:`SECRET_REPLAY_WINDOW`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from api.problems import Problem
from inventory.db.dispatch_models import IdempotencyRecord, as_utc

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[!-~]+$",
    description="optional, unique per logical request and organization: a retry with it "
                "answers the first answer (`Idempotent-Replayed: true`) and books nothing; "
                "another request with it is a 422")]
SECRET_REPLAY_WINDOW = timedelta(hours=1)
"""How long a sealed secret can be shown again to the caller that created it."""
REPLAYED = {"Idempotent-Replayed": "true"}


def request_hash(*parts: Any) -> str:
    """SHA-256 of the canonical JSON of ``parts`` (sorted keys; models as validated)."""
    return hashlib.sha256(orjson.dumps(jsonable_encoder(list(parts)),
                                       option=orjson.OPT_SORT_KEYS)).hexdigest()


def _lock(session: Session, owner: str, operation: str, key: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                        {"k": f"idem:{owner}:{operation}:{key}"})


def find(session: Session, *, owner: str, operation: str, key: str,
         digest: str) -> IdempotencyRecord | None:
    """The stored first answer for ``key`` (taking the key's lock first), or None; a 422
    naming the header when the key was used for another request."""
    _lock(session, owner, operation, key)
    row = session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.owner == owner, IdempotencyRecord.operation == operation,
        IdempotencyRecord.idempotency_key == key))
    if row is not None and row.request_hash != digest:
        raise Problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                      "this Idempotency-Key was already used with a different request",
                      errors=[{"field": "header.Idempotency-Key",
                               "message": "already used with a different request"}])
    return row


def store(session: Session, *, owner: str, operation: str, key: str, digest: str,
          status_code: int, response: Any, created_by: str, now: datetime,
          sealed_secret: str | None = None) -> IdempotencyRecord:
    """Record the first answer (in the booking's transaction). ``response``: the body as the
    first answer rendered it (``model_dump(mode="json")`` of its response model)."""
    row = IdempotencyRecord(owner=owner, operation=operation, idempotency_key=key,
                            request_hash=digest, status_code=status_code,
                            response=jsonable_encoder(response), sealed_secret=sealed_secret,
                            created_by=created_by, created_at=now)
    session.add(row)
    session.flush()
    return row


def replay(row: IdempotencyRecord, *, headers: dict[str, str] | None = None,
           extra: dict[str, Any] | None = None) -> JSONResponse:
    """The stored answer again, marked as a replay."""
    body = row.response if extra is None else {**(row.response or {}), **extra}
    return JSONResponse(body, status_code=row.status_code, headers={**REPLAYED, **(headers or {})})


# --- sealed secrets -------------------------------------------------------------------------------

def _stream(caller_key: str, salt: bytes, n: int) -> bytes:
    key = hmac.new(caller_key.encode("utf-8", "replace"), b"spares-secret-replay\0" + salt,
                   hashlib.sha256).digest()
    out = b""
    block = 0
    while len(out) < n:
        out += hmac.new(key, block.to_bytes(4, "big"), hashlib.sha256).digest()
        block += 1
    return out[:n]


def seal(secret: str, caller_key: str) -> str:
    """``secret`` encrypted under a key derived from the caller's own API key and a fresh salt
    (HMAC-SHA256 as a stream cipher): the database alone (it stores only hashes of API keys)
    cannot open it."""
    salt = secrets.token_bytes(16)
    data = secret.encode()
    box = bytes(a ^ b for a, b in zip(data, _stream(caller_key, salt, len(data)), strict=True))
    return base64.urlsafe_b64encode(salt + box).decode()


def unseal(sealed: str, caller_key: str) -> str | None:
    """The sealed secret when ``caller_key`` is the key that sealed it, else None (the caller
    checks the result against the secret's stored hash)."""
    raw = base64.urlsafe_b64decode(sealed)
    salt, box = raw[:16], raw[16:]
    try:
        return bytes(a ^ b for a, b in zip(box, _stream(caller_key, salt, len(box)),
                                            strict=True)).decode()
    except UnicodeDecodeError:
        return None


def secret_replayable(row: IdempotencyRecord, *, caller_key_id: str, now: datetime) -> bool:
    """The sealed secret may be shown: same caller, within :data:`SECRET_REPLAY_WINDOW`."""
    return (row.sealed_secret is not None and row.created_by == caller_key_id
            and now - as_utc(row.created_at) < SECRET_REPLAY_WINDOW)  # type: ignore[operator]


def forget_old_secrets(session: Session, now: datetime) -> None:
    """Clear sealed secrets older than :data:`SECRET_REPLAY_WINDOW`."""
    session.execute(update(IdempotencyRecord)
                    .where(IdempotencyRecord.sealed_secret.is_not(None),
                           IdempotencyRecord.created_at < now - SECRET_REPLAY_WINDOW)
                    .values(sealed_secret=None))
