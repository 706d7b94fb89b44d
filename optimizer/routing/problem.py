"""Solver-independent data of a vehicle routing problem with time windows (VRPTW).

All quantities are integers in the problem's own *units* (for example tenths of a Solomon distance
unit, or minutes for delivery runs) so that every solver and the checker agree exactly; ``scale``
says how many integer units make one reported unit (``cost = integer cost / scale``).
Stop 0 is the depot; stops ``1 .. n-1`` are the customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

INT = np.int64


class ProblemError(ValueError):
    """A routing problem's data is inconsistent (wrong shapes, negative values, bad windows)."""


@dataclass(frozen=True, eq=False)
class RoutingProblem:
    """A capacitated VRP with time windows, single depot at index 0.

    Parameters
    ----------
    distance
        ``(n, n)`` integer matrix: the cost of travelling from stop ``i`` to stop ``j``.
    duration
        ``(n, n)`` integer matrix: travel time from ``i`` to ``j`` (same time units as windows).
    demand
        ``(n, k)`` integer loads per stop in ``k`` capacity dimensions (size classes, or one).
        The depot row must be zero.
    capacity
        ``k`` integer capacities of every vehicle.
    time_windows
        ``(n, 2)`` integer ``[earliest, latest]`` start of service per stop; waiting is allowed.
        The depot row is the shift ``[start, end]``: vehicles leave no earlier than ``start`` and
        must be back by ``end``.
    service
        ``(n,)`` integer service times (time units) per stop; the depot's is ignored.
    num_vehicles
        Number of identical vehicles available.
    required
        ``(n,)`` booleans; an optional stop (False) may be left out at the loss of its prize.
    prize
        ``(n,)`` integer prize collected by visiting an optional stop (cost units).
    coordinates
        Optional ``(n, 2)`` coordinates, for plotting and reading only (matrices are authoritative).
    names
        Optional stop names, for reports.
    scale
        Integer units per reported unit (Solomon in tenths: 10).
    """

    distance: np.ndarray
    duration: np.ndarray
    demand: np.ndarray
    capacity: tuple[int, ...]
    time_windows: np.ndarray
    service: np.ndarray
    num_vehicles: int
    required: np.ndarray = field(default=None)  # type: ignore[assignment]
    prize: np.ndarray = field(default=None)  # type: ignore[assignment]
    coordinates: np.ndarray | None = None
    names: tuple[str, ...] | None = None
    scale: int = 1

    def __post_init__(self) -> None:
        put = object.__setattr__
        distance = _int_array("distance", self.distance, ndim=2)
        n = distance.shape[0]
        if n < 1 or distance.shape != (n, n):
            raise ProblemError(f"distance must be a square (n, n) matrix, got {distance.shape}")
        duration = _int_array("duration", self.duration, ndim=2)
        if duration.shape != (n, n):
            raise ProblemError(f"duration must have shape {(n, n)}, got {duration.shape}")
        demand = np.asarray(self.demand)
        demand = _int_array("demand", demand.reshape(n, -1) if demand.ndim == 1 else demand, ndim=2)
        if demand.shape[0] != n:
            raise ProblemError(f"demand must have {n} rows, got {demand.shape[0]}")
        capacity = tuple(int(c) for c in self.capacity)
        if len(capacity) != demand.shape[1]:
            raise ProblemError(f"capacity has {len(capacity)} dimensions but demand has {demand.shape[1]}")
        windows = _int_array("time_windows", self.time_windows, ndim=2)
        if windows.shape != (n, 2):
            raise ProblemError(f"time_windows must have shape {(n, 2)}, got {windows.shape}")
        service = _int_array("service", self.service, ndim=1)
        if service.shape != (n,):
            raise ProblemError(f"service must have shape {(n,)}, got {service.shape}")
        required = np.ones(n, dtype=bool) if self.required is None else np.asarray(self.required, bool)
        prize = np.zeros(n, dtype=INT) if self.prize is None else _int_array("prize", self.prize, 1)
        if required.shape != (n,) or prize.shape != (n,):
            raise ProblemError(f"required and prize must have shape {(n,)}")
        for name, arr in (
            ("distance", distance),
            ("duration", duration),
            ("demand", demand),
            ("service", service),
            ("prize", prize),
        ):
            if (arr < 0).any():
                raise ProblemError(f"{name} has negative entries")
        if any(c < 0 for c in capacity):
            raise ProblemError(f"capacity must be non-negative, got {capacity}")
        if demand[0].any():
            raise ProblemError("the depot (stop 0) must have zero demand")
        bad = np.flatnonzero(windows[:, 0] > windows[:, 1])
        if bad.size:
            raise ProblemError(f"time window earliest > latest at stops {bad.tolist()[:10]}")
        if int(self.num_vehicles) < 0:
            raise ProblemError(f"num_vehicles must be >= 0, got {self.num_vehicles}")
        if int(self.scale) < 1:
            raise ProblemError(f"scale must be >= 1, got {self.scale}")
        if self.names is not None and len(self.names) != n:
            raise ProblemError(f"names has {len(self.names)} entries for {n} stops")
        coords = None if self.coordinates is None else np.asarray(self.coordinates, dtype=float)
        if coords is not None and coords.shape != (n, 2):
            raise ProblemError(f"coordinates must have shape {(n, 2)}, got {coords.shape}")
        required = required.copy()
        required[0] = True
        for name, value in (
            ("distance", distance),
            ("duration", duration),
            ("demand", demand),
            ("capacity", capacity),
            ("time_windows", windows),
            ("service", service),
            ("num_vehicles", int(self.num_vehicles)),
            ("required", required),
            ("prize", prize),
            ("coordinates", coords),
            ("scale", int(self.scale)),
        ):
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            put(self, name, value)

    @property
    def num_stops(self) -> int:
        """Number of stops including the depot."""
        return int(self.distance.shape[0])

    @property
    def num_customers(self) -> int:
        """Number of customer stops (depot excluded)."""
        return self.num_stops - 1

    @property
    def shift(self) -> tuple[int, int]:
        """Vehicle shift ``(start, end)`` in time units (the depot's window)."""
        return int(self.time_windows[0, 0]), int(self.time_windows[0, 1])

    def name(self, stop: int) -> str:
        """Display name of a stop (its index when unnamed)."""
        return self.names[stop] if self.names is not None else str(stop)

    @classmethod
    def from_coordinates(
        cls,
        coordinates: Sequence[Sequence[float]] | np.ndarray,
        *,
        demand: Sequence[int] | np.ndarray,
        capacity: int | Sequence[int],
        time_windows: Sequence[Sequence[float]] | np.ndarray,
        service: Sequence[float] | np.ndarray,
        num_vehicles: int,
        scale: int = 10,
        names: Sequence[str] | None = None,
    ) -> RoutingProblem:
        """Build a problem on planar coordinates with the DIMACS distance convention.

        Distance is Euclidean truncated to one decimal, travel time equals distance, and every
        quantity with a time or distance unit is multiplied by ``scale`` (10 makes the truncated
        distances exact integers). Windows and service times are multiplied by ``scale`` too.
        """
        coords = np.asarray(coordinates, dtype=float)
        matrix = dimacs_matrix(coords, scale=scale)
        caps = (capacity,) if isinstance(capacity, int | np.integer) else tuple(capacity)
        return cls(
            distance=matrix,
            duration=matrix,
            demand=np.asarray(demand),
            capacity=tuple(int(c) for c in caps),
            time_windows=np.rint(np.asarray(time_windows, dtype=float) * scale).astype(INT),
            service=np.rint(np.asarray(service, dtype=float) * scale).astype(INT),
            num_vehicles=num_vehicles,
            coordinates=coords,
            names=None if names is None else tuple(names),
            scale=scale,
        )


def dimacs_matrix(coordinates: np.ndarray, *, scale: int = 10) -> np.ndarray:
    """Integer matrix ``trunc(scale * trunc1(euclid))``: Euclidean distance truncated to one decimal.

    With ``scale=10`` the entries are the DIMACS distances in tenths, exactly. A tiny epsilon
    guards against binary round-off (``sqrt(0.09) * 10`` is ``2.9999...``).
    """
    coords = np.asarray(coordinates, dtype=float)
    diff = coords[:, None, :] - coords[None, :, :]
    euclid = np.sqrt((diff**2).sum(axis=-1))
    tenths = np.floor(euclid * 10 + 1e-9)
    return np.floor(tenths * scale / 10 + 1e-9).astype(INT)


def _int_array(name: str, value: object, ndim: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != ndim:
        raise ProblemError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ProblemError(f"{name} must hold integers (scale the units first)")
    elif arr.dtype.kind not in "iub":
        raise ProblemError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr.astype(INT, copy=True)
