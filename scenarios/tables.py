"""Read one CSV file of a scenario folder into parsed rows, collecting every problem on the way."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inventory.domain import DomainError, SeverityTerm
from scenarios.problems import Problem
from scenarios.schema import CONTRACT_TERMS, CONTRACTS, Table


@dataclass
class Row:
    """One data row: its spreadsheet row number, the cells that parsed, and its record if built.

    ``values`` holds every cell that parsed (even when another cell of the row did not), so
    cross-file checks can still use the row's ids; ``record`` is ``None`` when the row has a problem.
    """

    row: int
    values: dict[str, Any] = field(default_factory=dict)
    record: Any = None
    parsed: bool = True


def read_table(folder: Path, table: Table, problems: list[Problem]) -> list[Row] | None:
    """Parse ``folder / table.file``; append every problem found to ``problems``.

    A missing optional file reads as no rows; ``None`` means the file is unusable (missing,
    unreadable, or without its id column), so checks of references into it are pointless.
    Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row is
    row 2. Blank lines count as rows but are skipped.
    """
    path = folder / table.file
    if not path.exists():
        if table.required:
            problems.append(Problem(table.file, None, None, "missing file"))
            return None
        return []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            lines = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        problems.append(Problem(table.file, None, None, f"cannot read file: {exc}"))
        return None
    if not lines or not any(c.strip() for c in lines[0]):
        problems.append(Problem(table.file, 1, None, "no header row"))
        return None
    positions = _header_positions(table, [c.strip() for c in lines[0]], problems)
    complete = all(c.name in positions or not c.column_required for c in table.columns)
    out: list[Row] = []
    width = len(lines[0])
    for i, cells in enumerate(lines[1:]):
        number = i + 2
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            problems.append(Problem(table.file, number, None,
                                    f"{len(cells)} cells but the header has {width} columns"))
        row = _parse_row(table, positions, cells, number, problems)
        if complete and row.parsed:
            _build(table, row, problems)
        out.append(row)
    return out if table.key[0] in positions else None


def _header_positions(table: Table, header: list[str], problems: list[Problem]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for pos, name in enumerate(header):
        if name in positions:
            problems.append(Problem(table.file, 1, name, "duplicate column"))
        elif name not in table.names:
            if name:
                problems.append(Problem(table.file, 1, name,
                                        f"unknown column (expected: {', '.join(table.names)})"))
        else:
            positions[name] = pos
    for col in table.columns:
        if col.column_required and col.name not in positions:
            problems.append(Problem(table.file, 1, col.name, "missing column"))
    return positions


def _parse_row(table: Table, positions: dict[str, int], cells: list[str], number: int,
               problems: list[Problem]) -> Row:
    """Parse the cells of one row; ``parsed`` is False if a cell has a problem."""
    row = Row(number)
    for col in table.columns:
        pos = positions.get(col.name)
        if pos is None:
            if not col.column_required:
                row.values[col.name] = col.default
            continue
        raw = cells[pos].strip() if pos < len(cells) else ""
        if not raw:
            if col.nullable:
                row.values[col.name] = None
            elif not col.column_required:
                row.values[col.name] = col.default
            else:
                problems.append(Problem(table.file, number, col.name, "empty cell; a value is required"))
                row.parsed = False
            continue
        try:
            row.values[col.name] = col.parse(raw)
        except ValueError as exc:
            problems.append(Problem(table.file, number, col.name, str(exc)))
            row.parsed = False
    return row


def _build(table: Table, row: Row, problems: list[Problem]) -> None:
    """Construct the domain record of a fully parsed row; map a DomainError to its column."""
    v = row.values
    try:
        if table is CONTRACTS:
            row.record = dict(v)
        elif table is CONTRACT_TERMS:
            term = SeverityTerm(**{k: x for k, x in v.items() if k != "contract_id"})
            term.check(v["contract_id"])
            row.record = term
        else:
            row.record = table.record(**v)
    except DomainError as exc:
        column = exc.field if exc.field in table.names else None
        problems.append(Problem(table.file, row.row, column, exc.message))
    except ValueError as exc:
        problems.append(Problem(table.file, row.row, None, str(exc)))
