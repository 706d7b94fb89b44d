"""Prepared statements (the dispatch hot path): on SQLite they write and read exactly what
``Connection.execute`` of the same Core statement does; elsewhere they are that statement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    cast,
    select,
)
from sqlalchemy.orm import Session

from inventory.db.base import UtcDateTime
from inventory.db.engine import make_engine
from inventory.db.prepared import Prepared, insert_of

_META = MetaData()
_T = Table("things", _META, Column("id", Integer, primary_key=True), Column("name", String(20)),
           Column("at", UtcDateTime), Column("ok", Boolean), Column("x", Float),
           Column("doc", JSON), Column("note", String(20)))
_COLS = ("id", "name", "at", "ok", "x", "doc")
_BY_ID = select(_T.c.name, _T.c.at, _T.c.ok, _T.c.x, _T.c.doc, _T.c.note).where(
    _T.c.id == bindparam("id")).limit(1)


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'p.db'}", json_serializer=lambda v: orjson.dumps(v).decode(),
                      json_deserializer=orjson.loads)
    _META.create_all(eng)
    yield eng
    eng.dispose()


def _text(max_size: int) -> st.SearchStrategy[str]:
    """Text without NUL, which PostgreSQL stores in no text or JSON field, whatever the driver."""
    return st.text(st.characters(exclude_characters="\x00"), max_size=max_size)


rows = st.fixed_dictionaries({
    "name": _text(20), "ok": st.booleans(),
    "x": st.floats(allow_nan=False, allow_infinity=False) | st.none(),
    "at": st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))])),
    "doc": st.none() | st.dictionaries(_text(5), st.integers(-9, 9), max_size=3)})


@settings(max_examples=40, deadline=None)
@given(row=rows)
def test_prepared_writes_and_reads_what_core_does(tmp_path_factory, row) -> None:
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('p') / 'p.db'}")
    _META.create_all(eng)
    with eng.begin() as conn:
        conn.execute(_T.insert(), {"id": 1, **row})
        assert insert_of(_T, _COLS).run(conn, {"id": 2, **row}) == 1
        raw = conn.exec_driver_sql("SELECT name, at, ok, x, doc, note FROM things ORDER BY id").all()
        assert raw[0] == raw[1]  # the same stored values, byte for byte
        core = tuple(conn.execute(_BY_ID, {"id": 1}).one())
        assert Prepared(_BY_ID).first(conn, {"id": 2}) == core
        assert core[1] == row["at"] and core[1].tzinfo is UTC  # aware UTC on the way back
    eng.dispose()


def test_update_counts_rows_and_missing_parameters_are_refused(engine) -> None:
    bump = Prepared(_T.update().where(_T.c.id == bindparam("k")).values(x=_T.c.x + bindparam("d")))
    with engine.begin() as conn:
        insert_of(_T, ("id", "x")).run(conn, {"id": 1, "x": 1.5})
        assert bump.run(conn, {"k": 1, "d": 2.0}) == 1
        assert bump.run(conn, {"k": 9, "d": 2.0}) == 0
        assert Prepared(select(_T.c.x)).rows(conn, {}) == [(3.5,)]
        with pytest.raises(KeyError):
            bump.run(conn, {"k": 1})


def test_an_expanding_in_list_is_refused(engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match="cannot prepare"):
        Prepared(select(_T.c.id).where(_T.c.id.in_([1, 2]))).rows(conn, {})


def test_a_session_flushes_first_as_execute_does(engine) -> None:
    """On an ORM session the statement goes through ``Session.execute`` (autoflush)."""
    with Session(engine) as s, s.begin():
        s.execute(_T.insert(), {"id": 5, "name": "n"})
        assert Prepared(_BY_ID).first(s, {"id": 5})[0] == "n"


def test_outside_a_transaction_it_begins_one_as_execute_would(engine) -> None:
    with engine.connect() as conn:
        assert not conn.in_transaction()
        assert Prepared(_BY_ID).first(conn, {"id": 1}) is None
        assert conn.in_transaction()


def test_database_errors_are_sqlalchemys(engine) -> None:
    """A unique-key violation is ``sqlalchemy.exc.IntegrityError``, as from ``execute`` (the
    create catches it to answer a concurrent request with the same Idempotency-Key)."""
    from sqlalchemy.exc import IntegrityError

    add = insert_of(_T, ("id", "name"))
    with engine.begin() as conn:
        add.run(conn, {"id": 1, "name": "a"})
        with pytest.raises(IntegrityError):
            add.run(conn, {"id": 1, "name": "b"})


@pytest.fixture(scope="module")
def backend(db_url):
    """The table on each backend (SQLite and, when one answers, PostgreSQL)."""
    eng = make_engine(db_url, json_serializer=lambda v: orjson.dumps(v).decode(),
                      json_deserializer=orjson.loads)
    _META.drop_all(eng)
    _META.create_all(eng)
    yield eng
    _META.drop_all(eng)
    eng.dispose()


@settings(max_examples=25, deadline=None)
@given(row=rows)
def test_every_backend_runs_them_on_the_driver_with_the_values_core_gives(backend, row) -> None:
    """SQLite and PostgreSQL (psycopg) both take the direct path; what it stores and reads
    equals ``Connection.execute``'s, JSON and instants included."""
    with backend.begin() as conn:
        conn.execute(_T.delete())
        assert Prepared(_BY_ID)._direct(conn) is not None
        conn.execute(_T.insert(), {"id": 1, **row})
        assert insert_of(_T, _COLS).run(conn, {"id": 2, **row}) == 1
        stored = select(_T.c.name, _T.c.at, _T.c.ok, _T.c.x, cast(_T.c.doc, String),
                        _T.c.note).order_by(_T.c.id)
        raw = [tuple(r) for r in conn.execute(stored)]
        assert raw[0] == raw[1]
        core = tuple(conn.execute(_BY_ID, {"id": 1}).one())
        assert Prepared(_BY_ID).first(conn, {"id": 2}) == core
        assert core[1] == row["at"] and core[1].tzinfo is UTC


def test_every_backend_counts_updates_and_raises_sqlalchemys_errors(backend) -> None:
    from sqlalchemy.exc import IntegrityError

    bump = Prepared(_T.update().where(_T.c.id == bindparam("k")).values(x=_T.c.x + bindparam("d")))
    add = insert_of(_T, ("id", "x"))
    with backend.begin() as conn:
        conn.execute(_T.delete())
        add.run(conn, {"id": 1, "x": 1.5})
        assert bump.run(conn, {"k": 1, "d": 2.0}) == 1
        assert bump.run(conn, {"k": 9, "d": 2.0}) == 0
        assert Prepared(select(_T.c.x)).rows(conn, {}) == [(3.5,)]
    with backend.begin() as conn, pytest.raises(IntegrityError):
        add.run(conn, {"id": 1, "x": 0.0})
    with backend.connect() as conn:  # the failed transaction was rolled back
        assert Prepared(select(_T.c.x)).rows(conn, {}) == [(3.5,)]
