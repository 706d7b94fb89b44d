"""Scopes of API keys and the authenticated principal."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    """TICKETING: create and read dispatches, register webhooks. PLANNER: stock (receipts,
    adjustments) and plans. ADMIN: everything."""

    TICKETING = "ticketing"
    PLANNER = "planner"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """The caller behind an API key."""

    key_id: str
    name: str
    scopes: frozenset[Scope]

    def has(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes
