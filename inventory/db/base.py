"""The one declarative ``Base`` whose metadata Alembic migrates, and the list of model modules.

Every table module subclasses :class:`Base` from here. To add tables, create a module (e.g.
``inventory/db/dispatch_models.py``), append its dotted name to :data:`MODEL_MODULES`, and add an
Alembic revision on top of the current head; ``inventory/migrations/env.py`` calls
:func:`all_metadata` so autogenerate and the metadata test see every table.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import DateTime, MetaData, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MODEL_MODULES: tuple[str, ...] = (
    "inventory.db.models",
    "inventory.db.dispatch_models",
    "inventory.db.restock_models",
    "inventory.db.planning_models",
    "inventory.db.people_models",
)
"""Dotted names of the modules that define tables on :class:`Base`, imported by :func:`all_metadata`."""


class Base(DeclarativeBase):
    """Declarative base of every table; constraint names follow :data:`NAMING_CONVENTION`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def all_metadata() -> MetaData:
    """``Base.metadata`` after importing every module in :data:`MODEL_MODULES`."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant on every backend (SQLite stores naive UTC text).

    Naive datetimes are refused on write: an instant without a zone is ambiguous.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"datetime {value.isoformat()} has no time zone; pass an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[float]):
    """An amount in the scenario currency as an exact decimal (PostgreSQL ``NUMERIC``).

    The float's shortest round-trip text is stored, so it reads back as the identical float.
    """

    impl = Numeric(asdecimal=False)
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(repr(float(value)))

    def process_result_value(self, value: object, dialect: Dialect) -> float | None:
        return None if value is None else float(value)  # type: ignore[arg-type]
