"""Plain-file form of a stocking plan: ``stock_levels.csv``, ``service.csv``, ``summary.json``
and optionally ``frontier.csv`` in one folder (no database), readable back with :func:`read_plan`.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from optimizer.stocking.result import FrontierPoint, StockingPlan

LEVELS_COLUMNS = ("part_id", "depot_id", "base_stock", "unit_cost")
SERVICE_COLUMNS = ("tier", "severity", "target", "predicted_on_time")
SERVICE_EXTRA = ("ceiling", "aimed_at", "met", "reachable")
FRONTIER_COLUMNS = ("investment", "on_time", "units", "label")


class PlanFormatError(ValueError):
    """A plan folder is malformed; the message names the file, row and field."""


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _cell(x: float | None) -> str:
    return "" if x is None else repr(float(x))


def summary_dict(plan: StockingPlan) -> dict:
    """The ``summary.json`` content: investment, method, runtime, bound/gap, baselines' savings."""
    return {
        "scenario": plan.scenario,
        "investment": plan.investment,
        "currency": plan.currency,
        "method": plan.method,
        "runtime_s": plan.runtime_s,
        "bound": _num(plan.bound),
        "gap": _num(plan.gap),
        "budget": _num(plan.budget),
        "feasible": plan.feasible,
        "classes": class_rows(plan),
        "units": plan.units,
        "overall_on_time": _num(plan.overall_on_time),
        "notes": list(plan.notes),
        "baselines": [{"name": b.name, "investment": b.investment, "feasible": b.feasible,
                       "overall_on_time": _num(b.overall_on_time),
                       "savings": b.investment - plan.investment,
                       "savings_share": (b.investment - plan.investment) / b.investment
                       if b.investment > 0 else None} for b in plan.baselines],
    }


def class_rows(plan: StockingPlan) -> list[dict]:
    """Per class: tier, severity, contract target, ceiling, aimed_at, predicted, met, reachable."""
    aimed = plan.effective_target if plan.effective_target is not None else plan.class_target
    ceiling = plan.class_ceiling
    met, reach = plan.class_met, plan.class_reachable
    return [{"tier": str(plan.class_tier[c]), "severity": int(plan.class_severity[c]),
             "target": _num(plan.class_target[c]),
             "ceiling": None if ceiling is None else _num(ceiling[c]),
             "aimed_at": _num(aimed[c]), "predicted_on_time": _num(plan.class_on_time[c]),
             "met": bool(met[c]), "feasible": bool(reach[c])}
            for c in range(len(plan.class_tier))]


def write_plan(plan: StockingPlan, folder: str | Path, *, frontier: bool | None = None) -> Path:
    """Write the plan files into ``folder`` (created if missing); returns the folder.

    Only positive base-stock levels are listed in ``stock_levels.csv`` (absent = 0);
    ``frontier.csv`` is written when the plan has a frontier (or ``frontier`` is True).
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "stock_levels.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(LEVELS_COLUMNS)
        for p, j in zip(*np.nonzero(plan.levels), strict=True):
            w.writerow([plan.part_ids[p], plan.location_ids[j], int(plan.levels[p, j]),
                        repr(float(plan.unit_cost[p]))])
    with (out / "service.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(SERVICE_COLUMNS + SERVICE_EXTRA)
        for row in class_rows(plan):
            w.writerow([row["tier"], row["severity"], _cell(row["target"]),
                        _cell(row["predicted_on_time"]), _cell(row["ceiling"]),
                        _cell(row["aimed_at"]), "yes" if row["met"] else "no",
                        "yes" if row["feasible"] else "no"])
    (out / "summary.json").write_text(json.dumps(summary_dict(plan), indent=2) + "\n")
    if frontier or (frontier is None and plan.frontier):
        with (out / "frontier.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(FRONTIER_COLUMNS)
            for pt in plan.frontier:
                w.writerow([repr(pt.investment), repr(pt.on_time), pt.units, pt.label])
    return out


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise PlanFormatError(f"{path}: missing")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise PlanFormatError(f"{path}: missing column(s) {', '.join(missing)}")
        return [(i + 2, row) for i, row in enumerate(reader)]


def _float(path: Path, line: int, row: dict[str, str], field: str, allow_empty: bool = False) -> float:
    text = row[field].strip()
    if allow_empty and text == "":
        return float("nan")
    try:
        return float(text)
    except ValueError:
        raise PlanFormatError(f"{path.name}:{line}: field {field!r}: {text!r} is not a number") from None


def read_plan(folder: str | Path) -> StockingPlan:
    """Read a plan folder written by :func:`write_plan` (method ``file`` keeps the original in notes)."""
    root = Path(folder)
    summary_path = root / "summary.json"
    if not summary_path.is_file():
        raise PlanFormatError(f"{summary_path}: missing")
    try:
        summary = json.loads(summary_path.read_text())
    except json.JSONDecodeError as exc:
        raise PlanFormatError(f"{summary_path}: not valid JSON ({exc})") from None
    levels_path = root / "stock_levels.csv"
    parts: dict[str, float] = {}
    locs: list[str] = []
    entries: list[tuple[str, str, int]] = []
    for line, row in _rows(levels_path, LEVELS_COLUMNS):
        s = _float(levels_path, line, row, "base_stock")
        if s < 0 or s != int(s):
            raise PlanFormatError(f"stock_levels.csv:{line}: field 'base_stock': must be a whole number >= 0")
        parts.setdefault(row["part_id"], _float(levels_path, line, row, "unit_cost"))
        if row["depot_id"] not in locs:
            locs.append(row["depot_id"])
        entries.append((row["part_id"], row["depot_id"], int(s)))
    part_ids = np.array(list(parts), dtype=object)
    loc_ids = np.array(locs, dtype=object)
    pix = {p: i for i, p in enumerate(parts)}
    lix = {d: i for i, d in enumerate(locs)}
    S = np.zeros((len(parts), len(locs)), dtype=np.int64)
    for p, d, s in entries:
        S[pix[p], lix[d]] = s
    service_path = root / "service.csv"
    tiers, sevs, targets, on_time, ceiling, aimed = [], [], [], [], [], []
    for line, row in _rows(service_path, SERVICE_COLUMNS):
        tiers.append(row["tier"])
        sevs.append(int(_float(service_path, line, row, "severity")))
        targets.append(_float(service_path, line, row, "target", allow_empty=True))
        on_time.append(_float(service_path, line, row, "predicted_on_time", allow_empty=True))
        if "ceiling" in row and "aimed_at" in row:
            ceiling.append(_float(service_path, line, row, "ceiling", allow_empty=True))
            aimed.append(_float(service_path, line, row, "aimed_at", allow_empty=True))
    frontier: tuple[FrontierPoint, ...] = ()
    fpath = root / "frontier.csv"
    if fpath.is_file():
        frontier = tuple(FrontierPoint(_float(fpath, ln, r, "investment"), _float(fpath, ln, r, "on_time"),
                                       int(_float(fpath, ln, r, "units")), r["label"])
                         for ln, r in _rows(fpath, FRONTIER_COLUMNS))
    return StockingPlan(
        levels=S, part_ids=part_ids, location_ids=loc_ids,
        unit_cost=np.array([parts[p] for p in parts], dtype=float),
        class_tier=np.array(tiers, dtype=object), class_severity=np.array(sevs, dtype=np.int64),
        class_target=np.array(targets), class_on_time=np.array(on_time),
        overall_on_time=float(summary.get("overall_on_time") or float("nan")),
        investment=float(summary["investment"]), method=str(summary.get("method", "file")),
        runtime_s=float(summary.get("runtime_s", 0.0)), scenario=str(summary.get("scenario", "")),
        currency=str(summary.get("currency", "")), bound=summary.get("bound"), gap=summary.get("gap"),
        budget=summary.get("budget"), feasible=bool(summary.get("feasible", True)),
        class_ceiling=np.array(ceiling) if len(ceiling) == len(tiers) and tiers else None,
        effective_target=np.array(aimed) if len(aimed) == len(tiers) and tiers else None,
        notes=tuple(summary.get("notes", ())), frontier=frontier)
