"""Fixtures for scenario tests: a writable copy of the bundled ``tiny`` and CSV edit helpers."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

import scenarios


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    """A fresh, writable copy of the bundled ``tiny`` folder."""
    dest = tmp_path / "tiny"
    shutil.copytree(scenarios.bundled_path("tiny"), dest)
    return dest


def load_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def save_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def set_cell(folder: Path, file: str, row: int, column: str, value: str) -> None:
    """Set a cell; ``row`` numbered as a spreadsheet shows it (header = 1, first data row = 2)."""
    rows = load_rows(folder / file)
    rows[row - 1][rows[0].index(column)] = value
    save_rows(folder / file, rows)


def get_cell(folder: Path, file: str, row: int, column: str) -> str:
    rows = load_rows(folder / file)
    return rows[row - 1][rows[0].index(column)]


def drop_column(folder: Path, file: str, column: str) -> None:
    rows = load_rows(folder / file)
    k = rows[0].index(column)
    save_rows(folder / file, [r[:k] + r[k + 1:] for r in rows])


def append_copy(folder: Path, file: str, row: int) -> int:
    """Append a copy of data row ``row``; return the new row's number."""
    rows = load_rows(folder / file)
    rows.append(list(rows[row - 1]))
    save_rows(folder / file, rows)
    return len(rows)
