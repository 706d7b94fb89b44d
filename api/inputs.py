"""Strict input types of the HTTP API: what a hostile caller may send, refused with the field named.

Request models and route parameters use these instead of bare ``int``/``str``/``datetime`` so
that nothing is coerced and nothing reaches the database or the optimizer that they cannot hold:

- integers are JSON integers (no ``true``, ``"3"`` or ``3.0``) within the column range;
- text carries no control characters (NUL, which PostgreSQL refuses, and the other C0/C1
  controls; free text may hold tabs and line breaks) and no lone surrogates;
- instants are ISO 8601 strings (never epoch numbers) between :data:`EARLIEST` and
  :data:`LATEST`; body instants carry their offset; query filters may give a date or a time
  without offset, read as UTC;
- an instant that says something happened may lie at most :data:`CLOCK_SKEW` after the
  server's system clock (:func:`check_not_future`).

Every refusal is a 422 problem whose ``errors`` name the field (``body.reported_at``,
``query.from``, ...). :func:`known_query_only` refuses query parameters an endpoint does not
take, and any given twice.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

from api.problems import Problem, field_problem

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""The earliest instant the API takes (UTC)."""
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""The first instant the API no longer takes (UTC)."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far after the server's system clock a caller's 'it happened at' instant may lie."""
MAX_DB_INT = 2**31 - 1
"""The largest value of an INTEGER column (PostgreSQL ``int4``): ids and counts stay below."""

_ALLOWED_IN_TEXT = frozenset("\t\n\r")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OFFSET_SPACE = re.compile(r"[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)? \d{2}:?\d{2}$")


def _controls(value: str, allowed: frozenset[str]) -> list[str]:
    """The control characters (Unicode Cc) and lone surrogates (Cs) in ``value``."""
    return [c for c in value if c not in allowed and unicodedata.category(c) in ("Cc", "Cs")]


def _identifier(value: str) -> str:
    bad = _controls(value, frozenset())
    if bad:
        raise PydanticCustomError("control_character", "must not contain control characters "
                                  "(found {code})", {"code": f"U+{ord(bad[0]):04X}"})
    if value != value.strip():
        raise PydanticCustomError("surrounding_space", "must not start or end with white space")
    return value


def _free_text(value: str) -> str:
    bad = _controls(value, _ALLOWED_IN_TEXT)
    if bad:
        raise PydanticCustomError("control_character", "must not contain control characters "
                                  "other than tab and line breaks (found {code})",
                                  {"code": f"U+{ord(bad[0]):04X}"})
    return value


def identifier(max_length: int = 100) -> Any:
    """An id or reference: 1 to ``max_length`` characters, no control characters, no
    surrounding white space."""
    return Annotated[str, Field(min_length=1, max_length=max_length),
                     AfterValidator(_identifier)]


def free_text(max_length: int, min_length: int = 0) -> Any:
    """Free text (notes, reasons) of at most ``max_length`` characters; tabs and line breaks
    allowed, other control characters not."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length),
                     AfterValidator(_free_text)]


def integer(ge: int, le: int) -> Any:
    """A JSON integer in [ge, le]: booleans, numeric strings and floats are refused."""
    return Annotated[int, Strict(), Field(ge=ge, le=le)]


def _whole_number_text(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]{1,30}", value):
        raise PydanticCustomError("int_text", "must be a whole number written in digits")
    return value


WholeNumberText = BeforeValidator(_whole_number_text)
"""For integers in paths and queries (always text): digits only, so ``1.0`` or ``1e3`` is
refused rather than read as an integer."""


def number(ge: float | None = None, le: float | None = None, gt: float | None = None) -> Any:
    """A finite JSON number (integers allowed; booleans and strings refused)."""
    return Annotated[float, Strict(), Field(ge=ge, le=le, gt=gt, allow_inf_nan=False)]


def _in_range(value: datetime) -> datetime:
    # compare the calendar year first: converting a year-1 or year-9999 instant to UTC overflows
    if not (EARLIEST.year - 1 <= value.year <= LATEST.year) or not EARLIEST <= value < LATEST:
        raise PydanticCustomError("instant_range", "must be from {earliest} to before {latest}",
                                  {"earliest": EARLIEST.date().isoformat(),
                                   "latest": LATEST.date().isoformat()})
    return value


def _instant_text(value: Any) -> Any:
    """Only an ISO 8601 date-time string reaches the datetime parser (never an epoch number)."""
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        raise PydanticCustomError("instant_format", "must be an ISO 8601 date-time with an "
                                  "offset, e.g. 2025-06-04T10:00:00+08:00")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_instant_text), AfterValidator(_in_range),
                    Field(description="ISO 8601 with offset")]
"""A body instant: an ISO 8601 date-time string with an offset, within the API's range."""


def _filter_instant(value: Any) -> Any:
    """A query filter: a date (00:00 UTC), a date-time without offset (UTC) or with one."""
    if not isinstance(value, str):
        return value
    if _DATE.fullmatch(value):
        try:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
        except ValueError:
            raise PydanticCustomError("instant_format", "is not a valid date") from None
    if _OFFSET_SPACE.search(value):
        raise PydanticCustomError("instant_format", "has a space before its offset: send '+' "
                                  "as %2B in a URL")
    if not _DATE_TIME.match(value):
        raise PydanticCustomError("instant_format", "must be a date (YYYY-MM-DD, read as UTC) or "
                                  "an ISO 8601 date-time (without an offset read as UTC)")
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise PydanticCustomError("instant_format", "is not a valid ISO 8601 date-time") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


FilterInstant = Annotated[AwareDatetime, BeforeValidator(_filter_instant),
                          AfterValidator(_in_range)]
"""A query filter instant: a date or a date-time; without an offset it is read as UTC."""


def _day_text(value: Any) -> Any:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise PydanticCustomError("date_format", "must be a date written YYYY-MM-DD")
    return value


def _day_in_range(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise PydanticCustomError("date_range", "must be from {earliest} to before {latest}",
                                  {"earliest": EARLIEST.date().isoformat(),
                                   "latest": LATEST.date().isoformat()})
    return value


Day = Annotated[date, BeforeValidator(_day_text), AfterValidator(_day_in_range)]
"""A calendar day written YYYY-MM-DD within the API's range."""


def check_not_future(field: str, value: datetime | None,
                     now: datetime | None = None) -> None:
    """422 naming ``field`` when ``value`` lies more than :data:`CLOCK_SKEW` after ``now``
    (default the system clock, not the decision clock that tests pin): a caller cannot report
    what has not happened yet."""
    if value is None:
        return
    limit = (now or datetime.now(UTC)) + CLOCK_SKEW
    if value > limit:
        raise field_problem(422, field, f"{value.isoformat()} is in the future (the server's "
                                        f"clock allows {int(CLOCK_SKEW.total_seconds())} s of "
                                        "skew)", "future-instant")



def _query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameter names (aliases) of a route and of all its dependencies."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


async def known_query_only(request: Request) -> None:
    """App-wide dependency: 422 naming ``query.<name>`` for a parameter the endpoint does not
    take (a misspelt filter must not silently widen a list) or one given more than once."""
    route = request.scope.get("route")
    if route is None or not request.query_params:
        return
    known = _query_names(route.dependant)  # a few short lists: cheaper than a cache's upkeep
    seen: set[str] = set()
    errors = []
    for name, _ in request.query_params.multi_items():
        if name not in known:
            takes = ", ".join(sorted(known)) or "none"
            errors.append({"field": f"query.{name}",
                           "message": f"unknown query parameter (this endpoint takes: {takes})"})
        elif name in seen:
            errors.append({"field": f"query.{name}", "message": "given more than once"})
        seen.add(name)
    if errors:
        raise Problem(422, "invalid-query", "Invalid query parameters",
                      "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
