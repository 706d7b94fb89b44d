"""What is wrong with a scenario folder: :class:`Problem` records and :class:`ScenarioFormatError`.

A problem names the file, the data row as a spreadsheet shows it (the header is row 1, the first
data row is row 2; ``None`` when the problem is about the whole file) and the column (``None`` when
it is about the whole row or file).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario folder, located as precisely as it can be."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        row = "" if self.row is None else str(self.row)
        col = self.column or ""
        return f"{self.file}:{row}:{col}: {self.message}"


class ScenarioFormatError(ValueError):
    """A scenario folder could not be read; ``problems`` lists everything found wrong."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in scenario:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))
