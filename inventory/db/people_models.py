"""Tables of the planner workspace's people: users who log in with a password, and the secret
that signs the workspace's session cookies.

A password is stored only as its Argon2 hash. ``session_version`` grows when a password is
changed or a user disabled, which ends every session signed for the old version. A user belongs
to an organization (``organization_id``, default ``org_default``) and acts as that
organization, like an API key of it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db.base import Base, UtcDateTime
from inventory.db.dispatch_models import DEFAULT_ORGANIZATION_ID


class PlannerUser(Base):
    """A person of the workspace: ``scope`` is ``planner`` (changes things) or ``viewer``;
    ``organization_id``: the organization whose data a viewer sees and whose rows the person's
    changes become (as for an API key of that organization)."""

    __tablename__ = "planner_users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(20))
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), index=True, default=DEFAULT_ORGANIZATION_ID,
        server_default=text(f"'{DEFAULT_ORGANIZATION_ID}'"))


class SessionSecret(Base):
    """The key that signs session cookies (one row, ``id`` = 'ui-session'): every server process
    reads the same one, so a cookie one process signed is good at every other."""

    __tablename__ = "session_secrets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
