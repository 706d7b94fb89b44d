"""Engine setup: URL handling and the SQLite settings that let several writers wait their turn."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from inventory.db.engine import SQLITE_BUSY_TIMEOUT_MS, database_url, make_engine, normalize_url


def test_database_url_from_environment(monkeypatch):
    monkeypatch.delenv("SPARES_DATABASE_URL", raising=False)
    assert database_url() == "sqlite:///spares.db"
    monkeypatch.setenv("SPARES_DATABASE_URL", "postgresql://u@h/db")
    assert database_url() == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("given, expected", [
    ("postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
    ("postgres://h/d", "postgresql+psycopg://h/d"),
    ("postgresql+psycopg://h/d", "postgresql+psycopg://h/d"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_normalize_url(given, expected):
    assert normalize_url(given) == expected


def test_unsupported_backend_is_refused():
    with pytest.raises(ValueError, match="only sqlite"):
        make_engine("mysql://h/d")


def test_sqlite_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()
