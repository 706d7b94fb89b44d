"""How many processes the batch commands use to price stock levels (``--workers``)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


DEFAULT_WORKERS = min(usable_cores(), 8)
"""Default of ``--workers``: every usable core, at most 8."""
