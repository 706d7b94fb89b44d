"""Reading and writing Solomon VRPTW benchmark files (VRPLIB ``.vrp``/``.sol``, ``bks.csv``).

Convention (DIMACS): distance is Euclidean distance truncated to one decimal, travel time equals
distance. :meth:`SolomonInstance.to_problem` multiplies by ``scale=10`` so every distance is an
exact integer (tenths) and the reported cost (integer cost / 10) equals the DIMACS cost.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optimizer.routing.problem import RoutingProblem


class SolomonFormatError(ValueError):
    """A benchmark file is malformed; the message names the file and line."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path, self.line = Path(path), line


@dataclass(frozen=True)
class SolomonInstance:
    """A VRPTW instance as stated in a ``.vrp`` file (node 0 is the depot after reading)."""

    name: str
    num_vehicles: int
    capacity: int
    coordinates: np.ndarray  # (n, 2) float
    demand: np.ndarray  # (n,) int
    time_windows: np.ndarray  # (n, 2) float, [earliest, latest] start of service
    service: np.ndarray  # (n,) float, service time per stop (depot 0)

    def to_problem(self, scale: int = 10) -> RoutingProblem:
        """The :class:`RoutingProblem` under the DIMACS convention, in ``1/scale`` units."""
        return RoutingProblem.from_coordinates(
            self.coordinates,
            demand=self.demand,
            capacity=self.capacity,
            time_windows=self.time_windows,
            service=self.service,
            num_vehicles=self.num_vehicles,
            scale=scale,
        )


@dataclass(frozen=True)
class SolomonSolution:
    """Routes (customer indices, depot 0 omitted) and the stated cost of a ``.sol`` file."""

    routes: list[list[int]]
    cost: float | None


@dataclass(frozen=True)
class BestKnown:
    """A best-known solution's vehicle count and distance from ``bks.csv``."""

    routes: int
    cost: float


_SECTIONS = {
    "NODE_COORD_SECTION": 3,
    "DEMAND_SECTION": 2,
    "TIME_WINDOW_SECTION": 3,
    "SERVICE_TIME_SECTION": 2,
}


def read_vrp(path: Path | str) -> SolomonInstance:
    """Read a VRPLIB ``.vrp`` file of type CVRPTW with EUC_2D distances.

    Raises
    ------
    SolomonFormatError
        On any malformed line, naming the file and 1-based line number.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise SolomonFormatError(path, None, f"cannot read: {exc.strerror}") from exc
    header: dict[str, tuple[str, int]] = {}
    rows: dict[str, dict[int, tuple[list[float], int]]] = {}
    depots: list[int] = []
    section: str | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line == "EOF":
            break
        first = line.split()[0]
        if first.endswith("_SECTION"):
            if first not in _SECTIONS and first != "DEPOT_SECTION":
                raise SolomonFormatError(path, number, f"unknown section {first}")
            section = first
            rows.setdefault(first, {})
            continue
        if section is None:
            key, sep, value = line.partition(":")
            if not sep:
                raise SolomonFormatError(path, number, f"expected 'KEY : VALUE', got {line!r}")
            header[key.strip().upper()] = (value.strip(), number)
            continue
        if section == "DEPOT_SECTION":
            node = _number(path, number, first, int)
            if node == -1:
                section = None
                continue
            depots.append(node)
            continue
        fields = line.split()
        width = _SECTIONS[section]
        if len(fields) != width:
            raise SolomonFormatError(
                path, number, f"{section} rows need {width} numbers, got {len(fields)}: {line!r}"
            )
        node = _number(path, number, fields[0], int)
        if node in rows[section]:
            raise SolomonFormatError(path, number, f"node {node} repeated in {section}")
        rows[section][node] = ([_number(path, number, f, float) for f in fields[1:]], number)

    def head(key: str, kind: type) -> int | float | str:
        if key not in header:
            raise SolomonFormatError(path, None, f"missing header field {key}")
        value, number = header[key]
        return value if kind is str else _number(path, number, value, kind)

    name = str(head("NAME", str))
    edge = str(head("EDGE_WEIGHT_TYPE", str))
    if edge != "EUC_2D":
        raise SolomonFormatError(
            path, header["EDGE_WEIGHT_TYPE"][1], f"only EUC_2D distances are supported, got {edge}"
        )
    n = int(head("DIMENSION", int))
    capacity = int(head("CAPACITY", int))
    vehicles = int(head("VEHICLES", int)) if "VEHICLES" in header else n - 1
    for required in ("NODE_COORD_SECTION", "DEMAND_SECTION", "TIME_WINDOW_SECTION"):
        if required not in rows:
            raise SolomonFormatError(path, None, f"missing {required}")
        got = sorted(rows[required])
        if got != list(range(1, n + 1)):
            missing = sorted(set(range(1, n + 1)) - set(got))
            extra = sorted(set(got) - set(range(1, n + 1)))
            raise SolomonFormatError(
                path,
                None,
                f"{required} must list nodes 1..{n}; missing {missing[:5]}, unexpected {extra[:5]}",
            )
    if len(depots) != 1:
        raise SolomonFormatError(path, None, f"expected exactly one depot, got {depots}")
    depot = depots[0]
    if not 1 <= depot <= n:
        raise SolomonFormatError(path, None, f"depot node {depot} is outside 1..{n}")
    order = [depot, *[i for i in range(1, n + 1) if i != depot]]

    def column(section: str) -> np.ndarray:
        return np.asarray([rows[section][i][0] for i in order], dtype=float)

    coords = column("NODE_COORD_SECTION")
    demand_f = column("DEMAND_SECTION")[:, 0]
    for i, q in zip(order, demand_f, strict=True):
        if q != int(q) or q < 0:
            raise SolomonFormatError(
                path,
                rows["DEMAND_SECTION"][i][1],
                f"demand of node {i} must be a non-negative integer, got {q}",
            )
    windows = column("TIME_WINDOW_SECTION")
    for i, (e, l_) in zip(order, windows, strict=True):
        if e > l_:
            raise SolomonFormatError(
                path, rows["TIME_WINDOW_SECTION"][i][1], f"node {i} has earliest {e:g} after latest {l_:g}"
            )
    if "SERVICE_TIME_SECTION" in rows:
        service = column("SERVICE_TIME_SECTION")[:, 0]
    else:
        service = np.full(n, float(head("SERVICE_TIME", float)) if "SERVICE_TIME" in header else 0.0)
    service[0] = 0.0
    return SolomonInstance(name, vehicles, capacity, coords, demand_f.astype(np.int64), windows, service)


def read_sol(path: Path | str) -> SolomonSolution:
    """Read a ``.sol`` file: ``Route #k: i j ...`` lines and an optional ``Cost X`` line."""
    path = Path(path)
    routes: list[list[int]] = []
    cost: float | None = None
    for number, raw in enumerate(Path(path).read_text().splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = re.fullmatch(r"Route\s*#\s*\d+\s*:(.*)", line, flags=re.IGNORECASE)
        if match:
            routes.append([_number(path, number, f, int) for f in match.group(1).split()])
        elif line.lower().startswith("cost"):
            parts = line.split()
            if len(parts) != 2:
                raise SolomonFormatError(path, number, f"expected 'Cost X', got {line!r}")
            cost = _number(path, number, parts[1], float)
        else:
            raise SolomonFormatError(path, number, f"expected 'Route #k: ...' or 'Cost X', got {line!r}")
    return SolomonSolution(routes, cost)


def write_sol(path: Path | str, routes: Sequence[Sequence[int]], cost: float) -> None:
    """Write routes (non-empty ones, numbered from 1) and the cost in ``.sol`` format."""
    lines = [
        f"Route #{k}: {' '.join(str(s) for s in route)}"
        for k, route in enumerate((r for r in routes if r), start=1)
    ]
    lines.append(f"Cost {cost:.1f}" if float(cost).is_integer() or _one_decimal(cost) else f"Cost {cost:g}")
    Path(path).write_text("\n".join(lines) + "\n")


def read_bks(path: Path | str) -> dict[str, BestKnown]:
    """Read ``bks.csv`` (instance, routes, cost, ...) into ``{instance: BestKnown}``."""
    path = Path(path)
    out: dict[str, BestKnown] = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"instance", "routes", "cost"} - set(reader.fieldnames or ())
        if missing:
            raise SolomonFormatError(path, 1, f"missing columns {sorted(missing)}")
        for row in reader:
            line = reader.line_num
            out[row["instance"]] = BestKnown(
                routes=_number(path, line, row["routes"], int),
                cost=_number(path, line, row["cost"], float),
            )
    return out


def _one_decimal(value: float) -> bool:
    return abs(round(value, 1) - value) < 1e-9


def _number(path: Path, line: int, text: str, kind: type) -> int | float:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        what = "an integer" if kind is int else "a number"
        raise SolomonFormatError(path, line, f"expected {what}, got {text!r}") from None
    if kind is float and not np.isfinite(value):
        raise SolomonFormatError(path, line, f"expected a finite number, got {text!r}")
    return value
