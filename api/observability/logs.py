"""Structured logs: one JSON object per line, each with the request id of the request it serves.

The request id lives in a context variable that :class:`api.observability.middleware.
ObservabilityMiddleware` sets per request; a log record factory copies it onto every record made
anywhere while the request runs (worker threads too: Starlette runs sync routes in a copy of
the context), so any handler and any formatter can show it. Records made outside a request (the
webhook worker, start-up) carry ``request_id: null``.

:func:`configure` installs the handler on the root logger (``spares serve`` calls it; tests
pass their own stream).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

import orjson

_request_id: ContextVar[str | None] = ContextVar("spares_request_id", default=None)

REQUEST_ID_HEADER = "x-request-id"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")
"""An incoming ``X-Request-ID`` is used as sent when it matches this (printable, no spaces or
quotes, at most 128 characters); anything else is replaced by a fresh id."""

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "request_id"}
"""Attributes every record has; anything else on a record came from ``extra=`` and is logged."""


def request_id() -> str | None:
    """The id of the request being served (None outside a request)."""
    return _request_id.get()


def bind_request_id(value: str | None) -> Any:
    """Set the current request id; returns the token for :func:`reset_request_id`."""
    return _request_id.set(value)


def reset_request_id(token: Any) -> None:
    _request_id.reset(token)


def _install_record_factory() -> None:
    """Wrap the record factory once so every record carries ``request_id``."""
    current = logging.getLogRecordFactory()
    if getattr(current, "_spares_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        record.request_id = _request_id.get()
        return record

    factory._spares_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_install_record_factory()


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", "request_id", ...extra fields, "exc"?}`` on one line;
    ``ts`` is UTC with milliseconds."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            out["exc"] = record.exc_text
        return orjson.dumps(out, default=str).decode()


def direct_handler(logger: logging.Logger, level: int = logging.INFO) -> logging.StreamHandler | None:
    """The handler a ``level`` record of ``logger`` would reach when that path is plain: the
    level enabled, no filters and no handlers on the way but :func:`configure`'s JSON handler
    on the root. Then :func:`write_direct` writes the line :class:`JsonFormatter` would, without
    building a ``LogRecord`` (the access log's per-request cost: ~14 to ~4 microseconds). None
    otherwise (another handler installed, e.g. a test's capture): log the usual way."""
    if not logger.isEnabledFor(level):
        return None
    node: logging.Logger | None = logger
    while node is not None and node.parent is not None:  # up to, not including, the root
        if node.handlers or node.filters or not node.propagate:
            return None
        node = node.parent
    root = logging.getLogger()
    if root.filters or len(root.handlers) != 1:
        return None
    (handler,) = root.handlers
    if (not getattr(handler, "_spares", False) or handler.filters or handler.level > level
            or type(handler.formatter) is not JsonFormatter):
        return None
    return handler  # type: ignore[return-value]


def write_direct(handler: logging.StreamHandler, logger: logging.Logger, msg: str,
                 fields: dict[str, Any], level: int = logging.INFO) -> None:
    """Write the line :class:`JsonFormatter` makes of a ``level`` record of ``logger`` with
    message ``msg`` and ``extra=fields`` to ``handler`` (from :func:`direct_handler`)."""
    out: dict[str, Any] = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": logging.getLevelName(level), "logger": logger.name, "msg": msg,
        "request_id": _request_id.get(), **fields}
    line = orjson.dumps(out, default=str).decode() + handler.terminator
    handler.acquire()
    try:
        handler.stream.write(line)
        handler.flush()
    finally:
        handler.release()


class TextFormatter(logging.Formatter):
    """A terminal-friendly line: time, level, logger, request id, message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


def configure(*, level: str = "INFO", fmt: str = "json", stream: IO[str] | None = None
              ) -> logging.Handler:
    """Send every log record at ``level`` and above to ``stream`` (stderr) as JSON (``fmt``
    ``json``) or text; replaces handlers an earlier call installed. Returns the handler."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_spares", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler._spares = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic narrates every schema check at INFO ("setup plugin ..."): only its warnings
    logging.getLogger("alembic").setLevel(level if level == "DEBUG" else "WARNING")
    return handler
