"""Run the Alembic migrations programmatically, from any working directory."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from inventory.db.engine import database_url, normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at ``inventory/migrations`` for ``url`` (default: configured)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["url"] = normalize_url(url or database_url())
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (creating it from empty if need be)."""
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """The newest revision id of the bundled migrations."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
