"""Keyset pagination of the list endpoints: ``limit`` (hard maximum :data:`MAX_PAGE`), an opaque
``cursor`` and ``has_more`` / ``next_cursor`` in every page.

A cursor is the sort key of the last item of a page, tagged with the list it belongs to and
base64url-encoded; the next page starts strictly after it, so items inserted meanwhile are
neither skipped nor repeated the way an offset would. A cursor from another list, or altered, is
a 422 naming ``query.cursor``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field

from api.inputs import WholeNumberText
from api.problems import field_problem

MAX_PAGE = 200
"""The largest page any list answers."""
DEFAULT_PAGE = 100

Limit = Annotated[int, WholeNumberText,
                  Query(ge=1, le=MAX_PAGE, description=f"items per page (at most {MAX_PAGE})")]
Cursor = Annotated[str | None, Query(min_length=1, max_length=400, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="`next_cursor` of the previous page")]

T = TypeVar("T")


class PageInfo(BaseModel):
    """What every list answers beside its items."""

    count: int = Field(description="items on this page")
    has_more: bool = Field(description="more items follow: ask again with `cursor`")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on "
                                                "the last page")


def encode(tag: str, key: Sequence[Any]) -> str:
    """The cursor after an item whose sort key is ``key`` in list ``tag``."""
    return base64.urlsafe_b64encode(orjson.dumps([tag, *key])).decode().rstrip("=")


def decode(tag: str, cursor: str | None, types: Sequence[type]) -> tuple[Any, ...] | None:
    """The sort key in ``cursor`` (None without one); 422 unless it is a cursor of ``tag``
    with values of ``types``."""
    if cursor is None:
        return None
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raw = None
    if (not isinstance(raw, list) or len(raw) != len(types) + 1 or raw[0] != tag
            or not all(type(v) is t for v, t in zip(raw[1:], types, strict=True))):
        raise field_problem(422, "query.cursor", "not a cursor of this list: pass the "
                                                 "next_cursor of a previous page", "invalid-cursor")
    return tuple(raw[1:])


def page(tag: str, rows: list[T], limit: int, key: Callable[[T], Sequence[Any]],
         render: Callable[[list[T]], list[Any]] | None = None) -> dict[str, Any]:
    """A page from ``rows`` fetched with ``limit + 1`` (the extra row only tells that more
    follow): items, count, has_more and next_cursor."""
    more = len(rows) > limit
    rows = rows[:limit]
    items = render(rows) if render else rows
    return {"items": items, "count": len(items), "has_more": more,
            "next_cursor": encode(tag, key(rows[-1])) if more and rows else None}
