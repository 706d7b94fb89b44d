"""Text codecs for single CSV cells: parse a cell into a Python value and format it back.

Every parser takes the stripped cell text (never empty: the caller maps empty cells to ``None`` or a
default) and raises :class:`ValueError` with a message fit for a user. Formatters are exact inverses:
floats use ``repr`` so they survive a round trip bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import time
from enum import StrEnum
from typing import Any

from inventory.domain import SizeClass, WeeklyHours, parse_clock

Parser = Callable[[str], Any]
Formatter = Callable[[Any], str]

_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}


def parse_str(text: str) -> str:
    return text


def parse_float(text: str) -> float:
    """A finite decimal number (``12.5``, ``1e-05``)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_int(text: str) -> int:
    """A whole number (``3``; ``3.0`` is accepted, ``3.5`` is not)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if not math.isfinite(value) or value != int(value):
        raise ValueError(f"{text!r} is not a whole number")
    return int(value)


def parse_bool(text: str) -> bool:
    """``true``/``false`` (also yes/no, 1/0, case-insensitive)."""
    t = text.lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean (use true or false)")


def enum_parser(enum: type[StrEnum]) -> Parser:
    """Parse an enum by its value, case-insensitively; the error lists the allowed values."""
    allowed = {m.value: m for m in enum}

    def parse(text: str) -> StrEnum:
        try:
            return allowed[text.lower()]
        except KeyError:
            raise ValueError(f"{text!r} is not one of {', '.join(allowed)}") from None

    return parse


def parse_hours(text: str) -> WeeklyHours:
    """Weekly hours: ``24x7`` or ``mon-fri 08:00-18:00``."""
    return WeeklyHours.parse(text)


def parse_time(text: str) -> time:
    """A local wall-clock time ``HH:MM``."""
    return parse_clock(text)


def parse_sizes(text: str) -> frozenset[SizeClass]:
    """Size classes separated by ``|``: ``small|medium``."""
    parse_one = enum_parser(SizeClass)
    items = [t.strip() for t in text.split("|")]
    if any(not t for t in items):
        raise ValueError(f"{text!r}: empty size class between '|'")
    return frozenset(parse_one(t) for t in items)  # type: ignore[misc]


def parse_ids(text: str) -> tuple[str, ...]:
    """Ids separated by ``|``: ``S00012|S00013`` (order kept; empty or repeated ids refused)."""
    items = [t.strip() for t in text.split("|")]
    if any(not t for t in items):
        raise ValueError(f"{text!r}: empty id between '|'")
    seen = [t for i, t in enumerate(items) if t in items[:i]]
    if seen:
        raise ValueError(f"{text!r}: id {seen[0]!r} listed twice")
    return tuple(items)


def fmt_str(value: str) -> str:
    return value


def fmt_float(value: float) -> str:
    return repr(float(value))


def fmt_int(value: int) -> str:
    return str(int(value))


def fmt_bool(value: bool) -> str:
    return "true" if value else "false"


def fmt_enum(value: StrEnum) -> str:
    return value.value


def fmt_hours(value: WeeklyHours) -> str:
    return value.format()


def fmt_time(value: time) -> str:
    if value.second or value.microsecond:
        raise ValueError(f"time {value} has seconds; the scenario format keeps HH:MM only")
    return f"{value.hour:02d}:{value.minute:02d}"


def fmt_ids(value: tuple[str, ...]) -> str:
    if any("|" in v for v in value):
        raise ValueError(f"ids {value!r}: an id containing '|' has no list-cell form")
    return "|".join(value)


_SIZE_ORDER = {s: i for i, s in enumerate(SizeClass)}


def fmt_sizes(value: frozenset[SizeClass]) -> str:
    return "|".join(s.value for s in sorted(value, key=_SIZE_ORDER.__getitem__))
