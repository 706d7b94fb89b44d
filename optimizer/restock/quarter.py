"""Planning quarters written ``YYYYQn`` (e.g. ``2027Q1``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_QUARTER_RE = re.compile(r"(\d{4})[Qq]([1-4])")


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter: ``start`` (first day) to ``end`` (last day), both inclusive."""

    year: int
    q: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """Parse ``YYYYQn`` with n in 1-4; ValueError with the expected form otherwise."""
        m = _QUARTER_RE.fullmatch(str(text).strip())
        if not m:
            raise ValueError(f"quarter {text!r} is not of the form YYYYQn with n in 1-4, "
                             "e.g. 2027Q1")
        year = int(m[1])
        if year < 1900:
            raise ValueError(f"quarter {text!r}: year {year} is before 1900")
        return cls(year, int(m[2]))

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> date:
        nxt = date(self.year + 1, 1, 1) if self.q == 4 else date(self.year, 3 * self.q + 1, 1)
        return nxt - timedelta(days=1)

    @property
    def days(self) -> int:
        """Length in days (90 to 92)."""
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"
