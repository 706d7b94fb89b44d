"""One-time submission tokens of the workspace's create forms (new what-if, plan, design,
restock run, plan of a what-if): a double click or a browser retry must not create twice.

Each rendering of such a form carries a fresh random token (hidden field
:data:`FIELD`, :func:`new_token`); its POST uses the token as an Idempotency-Key of the user's
organization, through :mod:`api.idempotency` as the ``/v1`` API does. The first post creates
and its answer (where it redirected) is stored with the key; a post of the same form again
redirects there and creates nothing. The same token with other values is refused
(:func:`reused`: the form comes back with a fresh token). A form without the token creates
every time, as before.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Form

from api import idempotency
from api.problems import Problem
from api.ui.session import User

FIELD = "submission_token"
SubmissionToken = Annotated[str, Form(alias=FIELD, max_length=255)]
REUSED = ("This form was sent before with other values; it is shown again: check the values "
          "and send it once more.")


def new_token() -> str:
    """A fresh token for one rendering of a form."""
    return secrets.token_urlsafe(24)


def reused(exc: Problem) -> str | None:
    """The form's message when ``exc`` refuses a token sent before with other values."""
    return REUSED if exc.slug == "idempotency-key-reused" else None


def _key(user: User, operation: str, token: str, request: dict[str, Any]) -> dict[str, str]:
    return {"owner": user.org, "operation": operation, "key": token,
            "digest": idempotency.request_hash(request)}


def replayed(ctx: Any, user: User, *, operation: str, token: str,
             request: dict[str, Any]) -> str | None:
    """Where the first post of this form redirected, or None (no token, or not sent yet);
    a 422 :class:`Problem` when the token came with other values (:func:`reused`)."""
    if not token:
        return None
    with ctx.sessions() as session:
        found = idempotency.find(session, **_key(user, operation, token, request))
        return None if found is None else found.response["location"]


def once(ctx: Any, user: User, *, operation: str, token: str, request: dict[str, Any],
         start: Callable[[], str]) -> str:
    """``start()`` (which creates and returns the page to redirect to) unless a post with
    ``token`` did already: then that post's page. The answer is stored in a write transaction
    held across ``start()``, so a concurrent post with the token waits for it and finds it;
    ``start()`` must not open a write transaction of its own. Without a token: ``start()``."""
    if not token:
        return start()
    key = _key(user, operation, token, request)
    with ctx.sessions(write=True) as session:
        found = idempotency.find(session, **key)
        if found is not None:
            return found.response["location"]
        location = start()
        idempotency.store(session, **key, status_code=303, response={"location": location},
                          created_by=user.principal.key_id, now=ctx.now())
    return location
