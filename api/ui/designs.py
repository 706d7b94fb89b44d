"""Network designs started from the workspace: background jobs, stored as design folders.

A design (``spares plan --design``: which candidate locations to open and which closable depots
to keep, chosen with the stock, :func:`optimizer.design.plan.plan_design`) is a folder
``<plans dir>/designs/<id>/`` holding the files of :func:`optimizer.design.io.write_design`
(``design.csv``, ``before_after.csv``, ``hold_backs.csv``, the plan files) and ``job.json``
(who started it, with which inputs, status and progress). Jobs run on the plans' single worker
thread, so a plan and a design never compete for the machine; a job that a stopped process left
unfinished is shown as interrupted.
"""

from __future__ import annotations

import csv
import json
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.ui import plans
from inventory.domain import Scenario

DESIGN_ID = re.compile(r"^d[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
METHODS = ("integrated", "exact")
"""Design methods: ``integrated`` (any size) or ``exact`` (small instances, a proven bound)."""
FILES = ("design.csv", "before_after.csv", "hold_backs.csv", "stock_levels.csv", "service.csv",
         "summary.json")
"""The design's files a planner may download."""
_live: dict[str, float] = {}
_lock = threading.Lock()


class DesignNotFound(LookupError):
    """No design with that id (or a malformed id)."""


@dataclass
class DesignJob:
    """A design's inputs and state (``budget``: yearly fixed + carrying cost in the scenario's
    currency; times ISO 8601 UTC; ``yearly_cost``, ``opened``, ``closed`` once it succeeded)."""

    id: str
    scenario: str
    method: str
    budget: float | None
    max_new: int | None
    force_open: list[str]
    force_closed: list[str]
    started_by: str
    created_at: str
    status: str = "queued"  # queued | running | succeeded | failed | interrupted
    progress: float = 0.0
    finished_at: str | None = None
    error: str | None = None
    yearly_cost: float | None = None
    currency: str | None = None
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    classes_met: int | None = None
    classes: int | None = None


def designs_dir() -> Path:
    return plans.plans_dir() / "designs"


def switchable(scenario: Scenario) -> tuple[list[str], list[str]]:
    """(candidate location ids, closable depot ids) of ``scenario``: what a design decides."""
    return ([c.candidate_id for c in scenario.candidates],
            [d.depot_id for d in scenario.depots if d.closable])


def check_inputs(scenario: Scenario, *, method: str, budget: float | None, max_new: int | None,
                 force_open: list[str], force_closed: list[str]) -> None:
    """ValueError naming the input a design of ``scenario`` cannot take."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    cands, closable = switchable(scenario)
    if not cands and not closable:
        raise ValueError("the scenario has no candidate locations and no closable depot: "
                         "there is nothing to design")
    if budget is not None and not budget > 0:
        raise ValueError("budget must be a positive yearly amount")
    if max_new is not None and max_new < 0:
        raise ValueError("max_new must be 0 or more")
    allowed = set(cands) | set(closable)
    for name, ids in (("open", force_open), ("close", force_closed)):
        bad = [i for i in ids if i not in allowed]
        if bad:
            raise ValueError(f"{name}: {', '.join(bad)} is neither a candidate nor a closable depot")
    both = set(force_open) & set(force_closed)
    if both:
        raise ValueError(f"open and close both name {', '.join(sorted(both))}")


def _save(job: DesignJob, root: Path) -> None:
    folder = root / job.id
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "job.json.tmp"
    tmp.write_text(json.dumps(asdict(job), indent=2))
    tmp.replace(folder / "job.json")


def start_design(scenario: Scenario, *, method: str, budget: float | None, max_new: int | None,
                 force_open: list[str], force_closed: list[str], started_by: str) -> DesignJob:
    """Queue a design of ``scenario`` (inputs checked first: ValueError, nothing written);
    returns the job (its folder exists at once)."""
    check_inputs(scenario, method=method, budget=budget, max_new=max_new, force_open=force_open,
                 force_closed=force_closed)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    job = DesignJob(f"d{stamp}-{secrets.token_hex(3)}", scenario.name, method, budget, max_new,
                    list(force_open), list(force_closed), started_by, datetime.now(UTC).isoformat())
    root = designs_dir()  # fixed at the start: the job writes there whatever the setting later
    _save(job, root)
    with _lock:
        _live[job.id] = 0.0
    plans.worker().submit(_run, job, root, scenario)
    return job


def _run(job: DesignJob, root: Path, scenario: Scenario) -> None:
    """Design, write the files; progress as :func:`plan_design` reports it."""
    from optimizer.design.io import write_design
    from optimizer.design.plan import plan_design
    from optimizer.design.solve import DesignObjective

    last = [0.0]

    def report(f: float) -> None:
        with _lock:
            _live[job.id] = max(_live.get(job.id, 0.0), min(f, 1.0))
        if time.monotonic() - last[0] > 0.5:  # job.json at most twice a second
            last[0] = time.monotonic()
            job.progress = round(_live[job.id], 3)
            _save(job, root)

    job.status = "running"
    _save(job, root)
    try:
        objective = DesignObjective(budget=job.budget, force_open=tuple(job.force_open),
                                    force_closed=tuple(job.force_closed), max_new=job.max_new)
        d = plan_design(scenario, objective, method=job.method, progress=report)
        write_design(d, root / job.id)
        job.yearly_cost, job.currency = float(d.yearly_cost), d.plan.currency
        job.opened, job.closed = list(d.opened), list(d.closed)
        job.classes = len(d.plan.class_tier)
        job.classes_met = int(sum(bool(m) for m in d.plan.class_met))
        job.status, job.progress = "succeeded", 1.0
    except Exception as exc:  # noqa: BLE001 - the job records why it failed, the server stays up
        job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
    job.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    _save(job, root)
    with _lock:
        _live.pop(job.id, None)


def _folder(design_id: str) -> Path:
    if not DESIGN_ID.match(design_id):
        raise DesignNotFound(design_id)
    folder = designs_dir() / design_id
    if not (folder / "job.json").is_file():
        raise DesignNotFound(design_id)
    return folder


def get_design(design_id: str) -> DesignJob:
    """The job of ``design_id`` with live progress; DesignNotFound if there is none."""
    folder = _folder(design_id)
    with _lock:
        live = _live.get(design_id)
    return plans.read_job(folder, DesignJob, live)


def list_designs() -> list[DesignJob]:
    """Every design, newest first."""
    return plans.newest_first(designs_dir(), DESIGN_ID, get_design)


def file_path(design_id: str, name: str) -> Path:
    """One of the finished design's :data:`FILES`; DesignNotFound otherwise."""
    path = _folder(design_id) / name
    if name not in FILES or not path.is_file():
        raise DesignNotFound(design_id)
    return path


def _csv(design_id: str, name: str) -> list[dict[str, str]]:
    with file_path(design_id, name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def _float(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


def result(design_id: str) -> dict[str, Any]:
    """What the design page shows: the summary (costs, bound, gap, baselines, notes), the
    locations (open ones first, then by investment), the classes before and after, the sites
    that hold back unreachable classes."""
    summary = json.loads(file_path(design_id, "summary.json").read_text())
    locations = [{**r, "open": r["open"] == "yes", "candidate": r["candidate"] == "yes",
                  "fixed_cost_per_year": _float(r["fixed_cost_per_year"]),
                  "units": int(r["units"]), "investment": _float(r["investment"]) or 0.0,
                  "sites_served": int(r["sites_served"]),
                  "within_capacity": r["within_capacity"]}
                 for r in _csv(design_id, "design.csv")]
    locations.sort(key=lambda r: (not r["open"], -r["investment"], r["location_id"]))
    classes = [{"tier": r["tier"], "severity": int(r["severity"]), "target": _float(r["target"]),
                "before": _float(r["before_predicted"]), "after": _float(r["after_predicted"]),
                "before_ceiling": _float(r["before_ceiling"]),
                "after_ceiling": _float(r["after_ceiling"]),
                "met_before": r["met_before"], "met_after": r["met_after"]}
               for r in _csv(design_id, "before_after.csv")]
    holds = [{**r, **{k: _float(r[k]) for k in ("unreached_per_year", "nearest_km",
                                                   "nearest_best_case_hours")}}
             for r in _csv(design_id, "hold_backs.csv")]
    return {"summary": summary, "locations": locations, "classes": classes,
            "hold_backs": holds, "opened": sum(1 for r in locations if r["open"] and r["candidate"])}
