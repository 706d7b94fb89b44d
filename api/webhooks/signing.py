"""Standard Webhooks signatures, made by the ``standardwebhooks`` library.

Secrets are ``whsec_`` + base64 of 24 random bytes, the form the Standard Webhooks libraries
read. While a rotated-out secret is inside its overlap window the message carries one ``v1``
signature per secret (space separated), so a receiver holding either secret verifies it.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def headers(keys: Iterable[str], msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers of one
    message sent at ``at``, signed with every secret in ``keys``."""
    at = at.astimezone(UTC)
    signature = " ".join(Webhook(k).sign(msg_id, at, body) for k in keys)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature}
