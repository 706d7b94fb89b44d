"""Numbers as a planner reads them: percentages as percentages, thousands separators, no
scientific notation, a dash for unknown."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

DASH = "–"


def _unknown(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def pct(x: float | None, digits: int = 1) -> str:
    """0.9512 -> '95.1 %'."""
    return DASH if _unknown(x) else f"{100 * float(x):.{digits}f} %"


def num(x: float | None, digits: int = 0) -> str:
    """1234567.8 -> '1,234,568'."""
    return DASH if _unknown(x) else f"{float(x):,.{digits}f}"


def pp(x: float | None) -> str:
    """A difference of shares in percentage points with its sign: 0.012 -> '+1.2 pp'."""
    if _unknown(x):
        return DASH
    points = round(100 * float(x), 1)
    return "0.0 pp" if points == 0 else f"{points:+.1f} pp"


def signed(x: float | None) -> str:
    """A change with its sign and thousands separators: -12345.6 -> '-12,346'."""
    return DASH if _unknown(x) else f"{float(x):+,.0f}"


def when(x: datetime | str | None) -> str:
    """An instant as 'YYYY-MM-DD HH:MM UTC'."""
    if _unknown(x) or x == "":
        return DASH
    if isinstance(x, str):
        x = datetime.fromisoformat(x)
    return x.strftime("%Y-%m-%d %H:%M UTC")


FILTERS = {"pct": pct, "num": num, "pp": pp, "signed": signed, "when": when}


def form_amount(text: str, *, positive: bool) -> tuple[float | None, str | None]:
    """``(amount, error)`` of a money field typed by a planner ("1,200,000" allowed); empty
    text is no amount. ``positive``: zero is refused too (else only negative amounts)."""
    if not text.strip():
        return None, None
    try:
        amount = float(text.replace(",", "").strip())
    except ValueError:
        return None, f"Budget: {text!r} is not a number."
    if not math.isfinite(amount) or amount < 0 or (positive and amount == 0):
        return None, ("Budget: give a positive amount, or leave it empty to meet every target."
                      if positive else
                      "Budget: give an amount of zero or more, or leave it empty.")
    return amount, None
