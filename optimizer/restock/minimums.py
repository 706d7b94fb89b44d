"""Contractual minimums: stock a location must hold whatever service it adds.

A contract may oblige the vendor to keep units of a part at a location (a customer's on-site kit,
a partner agreement, a regulator's spare). The quarterly run proposes only orders that add
service, so such stock would never be bought; ``minimums.csv`` (``spares restock --minimums``)
lists it. After the valued orders, a location whose position is still below its minimum gets a
**contractual buy** for the difference, listed on its own sheet (``minimums``) with the reason
and the service it adds (often none); it counts against a budget or step cap like any buy but
is never cut by one. Its units are part of the target, so they are never listed as excess.

File format (one header row, then one row per part and location, columns in any order):

=========  ==========================================================================
column     meaning
=========  ==========================================================================
part_id    a part of the scenario's catalog
depot_id   a location of the network (the HQ or a depot)
units      whole number >= 1: the inventory position (on hand + in transit + due from
           repair - backorders) the location must have after the orders
reason     why (contract or agreement reference), free text, not empty
=========  ==========================================================================

A (part_id, depot_id) pair appears at most once. Every problem is reported as
``file:row:column: message`` (the header is row 1) and nothing is planned.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COLUMNS = ("part_id", "depot_id", "units", "reason")
"""The columns of ``minimums.csv``, all required."""
MAX_UNITS = 1_000_000


@dataclass(frozen=True)
class Minimum:
    """``units`` of ``part_id`` to hold at ``depot_id``, for ``reason``."""

    part_id: str
    depot_id: str
    units: int
    reason: str


class MinimumsFormatError(ValueError):
    """A minimums file could not be read; ``problems`` lists every ``file:row:column: message``."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__("\n".join([f"{n} problem{'s' if n != 1 else ''} in the minimums file:",
                                    *(f"  {p}" for p in self.problems)]))


def read_minimums(path: str | Path, part_ids: Sequence[str], location_ids: Sequence[str]
                  ) -> tuple[Minimum, ...]:
    """The rows of a minimums file, checked against the catalog and the network (see the module
    docstring); raises :class:`MinimumsFormatError` naming every bad cell."""
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise MinimumsFormatError([f"{name}::: cannot read the file: {exc}"]) from None
    return parse_minimums(text.splitlines(), part_ids, location_ids, name=name)


def parse_minimums(lines: Sequence[str], part_ids: Sequence[str], location_ids: Sequence[str],
                   *, name: str = "minimums.csv") -> tuple[Minimum, ...]:
    """:func:`read_minimums` on the file's lines (``name`` labels the problems)."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise MinimumsFormatError([f"{name}:1:: the file is empty; expected the header "
                                   f"{','.join(COLUMNS)}"])
    header = [h.strip() for h in header]
    problems = [f"{name}:1:{c}: missing column" for c in COLUMNS if c not in header]
    problems += [f"{name}:1:{h}: unknown column (expected {', '.join(COLUMNS)})"
                 for h in header if h not in COLUMNS]
    problems += [f"{name}:1:{h}: column given twice" for k, h in enumerate(header)
                 if h in COLUMNS and h in header[:k]]
    if problems:
        raise MinimumsFormatError(problems)
    col = {c: header.index(c) for c in COLUMNS}
    parts, locs = set(part_ids), set(location_ids)
    seen: dict[tuple[str, str], int] = {}
    out: list[Minimum] = []
    for row, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.append(f"{name}:{row}:: {len(cells)} cells, the header has {len(header)}")
            continue
        v = {c: cells[k] for c, k in col.items()}
        bad = len(problems)
        part, depot, reason = v["part_id"], v["depot_id"], v["reason"]
        if part != part.strip() or part not in parts:
            problems.append(f"{name}:{row}:part_id: {part!r} is not a part of the catalog")
        if depot != depot.strip() or depot not in locs:
            problems.append(f"{name}:{row}:depot_id: {depot!r} is not a location of the "
                            "network")
        units = _units(v["units"])
        if units is None:
            problems.append(f"{name}:{row}:units: must be a whole number from 1 to "
                            f"{MAX_UNITS:,}, got {v['units']!r}")
        if not reason.strip():
            problems.append(f"{name}:{row}:reason: must say why the stock is held (e.g. the "
                            "contract), got an empty cell")
        elif any(ord(ch) < 32 and ch != "\t" for ch in reason):
            problems.append(f"{name}:{row}:reason: control characters are not allowed")
        if len(problems) > bad:
            continue
        first = seen.setdefault((part, depot), row)
        if first != row:
            problems.append(f"{name}:{row}:depot_id: {part} at {depot} is already given in row "
                            f"{first}")
            continue
        out.append(Minimum(part, depot, int(units), reason.strip()))
    if problems:
        raise MinimumsFormatError(problems)
    return tuple(out)


def _units(text: str) -> int | None:
    t = text.strip()
    if not t.isdigit():
        return None
    n = int(t)
    return n if 1 <= n <= MAX_UNITS else None


def minimum_levels(minimums: Sequence[Minimum], part_ids: Sequence[str],
                   location_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """((P, L) units, (P, L) object reasons, '' where none) of the minimums."""
    pix = {p: i for i, p in enumerate(part_ids)}
    lix = {d: j for j, d in enumerate(location_ids)}
    units = np.zeros((len(part_ids), len(location_ids)), dtype=np.int64)
    reasons = np.full(units.shape, "", dtype=object)
    for m in minimums:
        i, j = pix[m.part_id], lix[m.depot_id]
        units[i, j] = m.units
        reasons[i, j] = m.reason
    return units, reasons


__all__ = ["COLUMNS", "Minimum", "MinimumsFormatError", "minimum_levels", "parse_minimums",
           "read_minimums"]
