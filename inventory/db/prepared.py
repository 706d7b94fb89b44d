"""Core statements compiled once and run straight on the DBAPI cursor (the dispatch hot path).

``Connection.execute`` costs about 20 microseconds of Python per statement on top of SQLite's
own ~2 (cache lookup, execution context, result wrapper); a create runs seven or eight. A
:class:`Prepared` statement is compiled once per dialect with its bind and result processors
(the column types' own conversions: UTC instants, JSON, booleans), and on a SQLite or
PostgreSQL (psycopg 3) Core :class:`~sqlalchemy.engine.Connection` runs on its DBAPI
connection inside the connection's transaction (begun as ``Connection.execute`` would begin
it), its errors raised as SQLAlchemy's (``IntegrityError`` for a unique key, ...); cursor
events and ``echo`` do not see these statements. The saving is the Python around the
driver's call: psycopg prepares a statement on the server once it ran ``prepare_threshold``
(5) times on a connection, through ``execute`` as well as here. Elsewhere (other drivers, an
ORM ``Session``, whose pending changes must be flushed first) it is plain ``execute``.

Statements must be ``INSERT ... VALUES`` with explicit bind parameters, ``UPDATE`` or
``SELECT`` without expanding (``IN``-list) parameters; a bind parameter missing from the
parameters is an error (column defaults computed by SQLAlchemy do not apply here; bind
parameters with a value, such as ``LIMIT``'s, take it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Executable, Table, bindparam, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

DIRECT = {"sqlite": "pysqlite", "postgresql": "psycopg"}
"""Dialects (and their driver) whose Core connections run prepared statements directly."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    bind: tuple[Callable[[Any], Any] | None, ...]
    positional: bool
    """Parameters as a list in ``names`` order (SQLite's ``?``), else a dict (``%(name)s``)."""


class Prepared:
    """``stmt`` ready to run cheaply (see the module docstring)."""

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        self._compiled: dict[str, _Compiled] = {}
        self._result: dict[str, tuple[Callable[[Any], Any] | None, ...]] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        c = self.stmt.compile(dialect=dialect)  # type: ignore[attr-defined]
        if "POSTCOMPILE" in c.string or c.escaped_bind_names or (
                not c.positional and dialect.paramstyle != "pyformat"):
            raise ValueError(f"cannot prepare {c.string!r} for {dialect.name}")
        names = tuple(c.positiontup) if c.positional else tuple(c.binds)
        defaults = {n: b.effective_value for n, b in c.binds.items() if not b.required}
        # the dialect's own implementation of each type, as Connection.execute applies it
        bind = tuple(c.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
        return _Compiled(c.string, names, defaults, bind, bool(c.positional))

    def _result_processors(self, dialect: Dialect,
                           description: Sequence[Any]) -> tuple[Callable[[Any], Any] | None, ...]:
        """The columns' result processors, given the driver's type codes of the first result
        (as SQLAlchemy's result metadata asks them: psycopg's depend on the column's OID)."""
        found = self._result.get(dialect.name)
        if found is None:
            columns = self.stmt.selected_columns  # type: ignore[attr-defined]
            found = self._result[dialect.name] = tuple(
                col.type.dialect_impl(dialect).result_processor(dialect, d[1])
                for col, d in zip(columns, description, strict=True))
        return found

    def _direct(self, db: Session | Connection) -> _Compiled | None:
        if not isinstance(db, Connection) or DIRECT.get(db.dialect.name) != db.dialect.driver:
            return None
        found = self._compiled.get(db.dialect.name)
        if found is None:
            found = self._compiled[db.dialect.name] = self._compile(db.dialect)
        if not db.in_transaction():
            db.begin()  # as Connection.execute would (autobegin), events included
        return found

    def _run(self, db: Connection, c: _Compiled, params: Mapping[str, Any]) -> Any:
        if c.defaults:
            params = {**c.defaults, **params}
        values = [params[n] if p is None else p(params[n]) for n, p in zip(c.names, c.bind,
                                                                            strict=True)]
        args: Any = values if c.positional else dict(zip(c.names, values, strict=True))
        try:
            return db.connection.driver_connection.execute(c.sql, args)  # type: ignore[union-attr]
        except db.dialect.loaded_dbapi.Error as e:  # as Connection.execute raises it
            raise DBAPIError.instance(c.sql, args, e, db.dialect.loaded_dbapi.Error) from e

    def rows(self, db: Session | Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of a SELECT, each a tuple with the columns' types applied."""
        c = self._direct(db)
        if c is None:
            return [tuple(r) for r in db.execute(self.stmt, params)]  # type: ignore[arg-type]
        cursor = self._run(db, c, params)  # type: ignore[arg-type]
        rows = cursor.fetchall()
        result = self._result_processors(db.dialect, cursor.description)
        if not any(result):
            return rows  # type: ignore[no-any-return]
        return [tuple(v if p is None else p(v) for v, p in zip(r, result, strict=True))
                for r in rows]

    def first(self, db: Session | Connection,
              params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a SELECT (None without one)."""
        found = self.rows(db, params)
        return found[0] if found else None

    def run(self, db: Session | Connection, params: Mapping[str, Any]) -> int:
        """Run an INSERT or UPDATE; the number of rows it changed."""
        c = self._direct(db)
        if c is None:
            return int(db.execute(self.stmt, params).rowcount)  # type: ignore[arg-type, attr-defined]
        return int(self._run(db, c, params).rowcount)  # type: ignore[arg-type]


def insert_of(table: Table, columns: Sequence[str]) -> Prepared:
    """``INSERT INTO table (columns) VALUES (:column, ...)``, prepared; the other columns get
    the database's defaults (NULL unless the schema says otherwise), not SQLAlchemy's."""
    return Prepared(insert(table).values({c: bindparam(c, type_=table.c[c].type)
                                          for c in columns}))
