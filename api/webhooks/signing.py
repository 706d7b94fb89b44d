"""Standard Webhooks signatures: ``v1,base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}"))``.

Secrets are ``whsec_`` + base64 of the key bytes, as the Standard Webhooks libraries expect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header value for one message."""
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def verify(secret: str, msg_id: str, timestamp: int, body: str, header: str) -> bool:
    """True if any ``v1`` signature in the (space separated) header matches."""
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in header.split())
