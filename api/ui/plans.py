"""Stocking plans started from the workspace: background jobs, stored as plan folders.

Each plan is a folder ``<plans dir>/<id>/`` holding the files of
:func:`optimizer.stocking.io.write_plan`, ``site_reach.csv`` (per site, the most demanding
severity of its contract that some location reaches in time often enough for the term's target)
and ``job.json`` (who started it, with which inputs, status and progress). The plans directory is
``$SPARES_PLANS_DIR`` or ``./plans``. Jobs run one at a time in a background thread of the server
process; a job that a stopped process left unfinished is shown as interrupted.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from api.settings import load as load_settings
from inventory.domain import Scenario
from optimizer.reach import Reach, build_reach
from optimizer.stocking.methods import DEPRECATED, METHODS, method_named
from optimizer.travel import TravelNetwork

PLAN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
J = TypeVar("J")
_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ui-plan")
_live: dict[str, float] = {}
"""Progress (0..1) of the jobs this process runs or has queued."""
_lock = threading.Lock()


class PlanNotFound(LookupError):
    """No plan with that id (or a malformed id)."""


@dataclass
class PlanJob:
    """A plan's inputs and state as listed in the workspace (``budget`` in the scenario's
    currency; times ISO 8601 UTC)."""

    id: str
    scenario: str
    method: str
    budget: float | None
    frontier: bool
    started_by: str
    created_at: str
    status: str = "queued"  # queued | running | succeeded | failed | interrupted
    progress: float = 0.0
    finished_at: str | None = None
    error: str | None = None
    investment: float | None = None
    currency: str | None = None
    classes_met: int | None = None
    classes: int | None = None
    overlay: str | None = None
    """Name of the what-if overlay the plan's scenario has applied (None: the base network)."""
    applied: list[str] = field(default_factory=list)
    """The overlay's changes and the planner overrides the plan applied, one line each."""


_PLANS_DIRS: dict[tuple[tuple[str, str], ...], Path] = {}


def plans_dir() -> Path:
    """``SPARES_PLANS_DIR`` (any case, as :class:`api.settings.Settings` reads it), else
    ``plans``. Remembered per value of the variable: building the settings from the environment
    took ~10 ms, paid several times by every workspace page."""
    key = tuple(sorted((k, v) for k, v in os.environ.items()
                       if k.upper() == "SPARES_PLANS_DIR"))
    found = _PLANS_DIRS.get(key)
    if found is None:
        found = _PLANS_DIRS[key] = load_settings().plans_dir
    return found


_FILE_CACHE: dict[Path, tuple[tuple[int, int], Any]] = {}
_FILE_CACHE_MAX = 64
_file_cache_lock = threading.Lock()


def _cached_read(path: Path, read: Callable[[Path], Any]) -> Any:
    """``read(path)``, kept until the file's modification time or size changes (a plan's
    files are written once; the overview and the worklist read them on every request).
    Callers must not change what it returns."""
    st = path.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _FILE_CACHE.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    value = read(path)
    with _file_cache_lock:
        if len(_FILE_CACHE) >= _FILE_CACHE_MAX:
            _FILE_CACHE.pop(next(iter(_FILE_CACHE)))
        _FILE_CACHE[path] = (stamp, value)
    return value


def _folder(plan_id: str) -> Path:
    if not PLAN_ID.match(plan_id):
        raise PlanNotFound(plan_id)
    folder = plans_dir() / plan_id
    if not (folder / "job.json").is_file():
        raise PlanNotFound(plan_id)
    return folder


def _save(job: PlanJob, root: Path) -> None:
    folder = root / job.id
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "job.json.tmp"
    tmp.write_text(json.dumps(asdict(job), indent=2))
    tmp.replace(folder / "job.json")


def system_clock() -> datetime:
    """The real time: the default clock of jobs started outside an app (the app passes its
    own, :meth:`api.context.AppContext.now`)."""
    return datetime.now(UTC)


def start_plan(scenario: Scenario, network: TravelNetwork, *, method: str, budget: float | None,
               frontier: bool, started_by: str, overlay: str | None = None,
               overlay_lines: list[str] | None = None, overrides: Any = None,
               clock: Callable[[], datetime] = system_clock) -> PlanJob:
    """Queue a plan of ``scenario``; returns the job (its folder exists at once).

    ``overlay``: the name of the what-if overlay ``scenario`` has applied and
    ``overlay_lines`` its changes (:func:`scenarios.overlay.describe`); ``overrides``: the
    planner overrides to apply (:class:`api.planning.service.ActiveOverrides`): stock limits
    as solver bounds, forecasts as the parts' demand. Both are named in ``job.json`` and in the
    plan's notes. ``clock`` stamps the job's start and end."""
    method = DEPRECATED.get(method, method)  # "greedy": the old name of column generation
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    if budget is not None and not budget > 0:
        raise ValueError("budget must be a positive amount")
    now = clock()
    job = PlanJob(f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}", scenario.name, method, budget,
                  frontier, started_by, now.isoformat(), overlay=overlay,
                  applied=[f"overlay {overlay}: {line}" for line in overlay_lines or ()]
                  + [f"override: {line}" for line in (overrides.lines if overrides else ())])
    root = plans_dir()  # fixed at the start: the job writes there whatever the setting later
    _save(job, root)
    with _lock:
        _live[job.id] = 0.0
    _pool.submit(_run, job, root, scenario, network, overrides, clock)
    return job


def worker() -> ThreadPoolExecutor:
    """The workspace's one job thread: plans and network designs (:mod:`api.ui.designs`) run
    one at a time."""
    return _pool


def _run(job: PlanJob, root: Path, scenario: Scenario, network: TravelNetwork,
         overrides: Any = None, clock: Callable[[], datetime] = system_clock) -> None:
    """Build reach, solve, write the plan files; progress: reach 0-40 %, solve 40-100 % (with
    the frontier: solve 40-75 %, the frontier per class 75-100 %, ``frontier_classes.csv``)."""
    from optimizer.stocking.analysis import plan_scenario
    from optimizer.stocking.api import Objective
    from optimizer.stocking.io import write_plan

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
        limits = overrides.stock_limits if overrides else None
        if overrides and overrides.forecasts:
            from optimizer.overrides import with_forecasts

            scenario, unplaced = with_forecasts(scenario, overrides.forecasts)
            job.applied += [f"forecast override of {p} NOT applied: the part has no installed "
                            "base to place its demand on" for p in unplaced]
        reach = build_reach(scenario, network, progress=lambda f: report(0.4 * f))
        solved = 0.75 if job.frontier else 1.0  # the frontier sweep takes the last quarter
        plan = plan_scenario(scenario, Objective(budget=job.budget),
                             method=method_named(job.method), reach=reach,
                             progress=lambda f: report(0.4 + (solved - 0.4) * f),
                             stock_limits=limits)
        by_class = None
        if job.frontier:  # the plan's frontier, with every class's share at each point
            from optimizer.frontier import scenario_class_frontier

            by_class = scenario_class_frontier(scenario, reach, plan,
                                               progress=lambda f: report(0.75 + 0.25 * f))
            plan = replace(plan, frontier=by_class.points)
        if job.applied:
            plan = replace(plan, notes=(*plan.notes, *job.applied))
        folder = root / job.id
        write_plan(plan, folder, frontier=job.frontier)
        write_site_reach(scenario, reach, folder / "site_reach.csv")
        write_exceptions(scenario, reach, plan, folder)
        if by_class is not None:
            pd.DataFrame(by_class.rows()).to_csv(folder / "frontier_classes.csv", index=False)
        job.investment, job.currency = float(plan.investment), plan.currency
        job.classes, job.classes_met = len(plan.class_tier), int(sum(bool(m) for m in plan.class_met))
        job.status, job.progress = "succeeded", 1.0
    except Exception as exc:  # noqa: BLE001 - the job records why it failed, the server stays up
        job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
    job.finished_at = clock().isoformat(timespec="seconds")
    _save(job, root)
    with _lock:
        _live.pop(job.id, None)


def site_reach_rows(scenario: Scenario, reach: Reach) -> list[dict[str, Any]]:
    """Per site: the lowest (most demanding) severity of its contract for which the best
    location's on-time share (small parts) reaches the term's target; None if none does."""
    rows = []
    for site in scenario.sites:
        best: int | None = None
        for term in sorted(scenario.contract(site.contract_id).terms, key=lambda t: t.severity):
            shares = [p for _, p in reach.depots(site.site_id, term.severity, "small")]
            if shares and max(shares) >= term.target:
                best = term.severity
                break
        rows.append({"site_id": site.site_id, "reached_severity": best})
    return rows


def write_site_reach(scenario: Scenario, reach: Reach, path: Path) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["site_id", "reached_severity"])
        w.writeheader()
        for row in site_reach_rows(scenario, reach):
            w.writerow({**row, "reached_severity": row["reached_severity"] or ""})


DRIVERS_FILE = "class_part_shortfalls.csv"
DRIVER_COLUMNS = ("tier", "severity", "target", "class_on_time", "part_id", "requests_per_year",
                  "on_time_per_year", "shortfall_per_year")
UNCOVERED_FILE = "no_stock_in_reach.csv"
UNCOVERED_COLUMNS = ("tier", "contract_id", "site_id", "part_id", "severities",
                     "requests_per_year")


def write_exceptions(scenario: Scenario, reach: Reach, plan: Any, folder: Path) -> None:
    """The plan's worklist exceptions (:func:`optimizer.worklist.plan_exceptions`): the parts
    driving each class below target, and the platinum/gold parts with no stock in reach."""
    from optimizer.worklist import plan_exceptions

    drivers, uncovered = plan_exceptions(scenario, reach, plan)
    with (folder / DRIVERS_FILE).open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(DRIVER_COLUMNS)
        for d in drivers:
            w.writerow([d.tier, d.severity, repr(d.target), repr(d.class_on_time), d.part_id,
                        repr(d.requests_per_year), repr(d.on_time_per_year),
                        repr(d.shortfall_per_year)])
    with (folder / UNCOVERED_FILE).open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(UNCOVERED_COLUMNS)
        for u in uncovered:
            w.writerow([u.tier, u.contract_id, u.site_id, u.part_id,
                        " ".join(str(s) for s in u.severities), repr(u.requests_per_year)])


def _csv_rows(path: Path) -> list[dict[str, str]] | None:
    if not path.is_file():
        return None
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def class_drivers(plan_id: str) -> list[dict[str, Any]] | None:
    """The parts driving each class below target (numbers per year); None for a plan made
    before the workspace listed them."""
    rows = _csv_rows(_finished(plan_id) / DRIVERS_FILE)
    if rows is None:
        return None
    floats = ("target", "class_on_time", "requests_per_year", "on_time_per_year",
              "shortfall_per_year")
    out = []
    for r in rows:
        d: dict[str, Any] = {**r, "severity": int(r["severity"])}
        d.update({k: float(r[k]) for k in floats})
        d["on_time"] = d["on_time_per_year"] / d["requests_per_year"] if d["requests_per_year"] else 0.0
        out.append(d)
    return out


def no_stock_in_reach(plan_id: str) -> list[dict[str, Any]] | None:
    """Platinum/gold (site, part) pairs with no stock in reach for some severities; None for a
    plan made before the workspace listed them."""
    rows = _csv_rows(_finished(plan_id) / UNCOVERED_FILE)
    if rows is None:
        return None
    return [{**r, "severities": [int(s) for s in r["severities"].split()],
             "requests_per_year": float(r["requests_per_year"])} for r in rows]


def read_job(folder: Path, cls: type[J], live: float | None) -> J:
    """The job stored in ``folder`` (``job.json``) as ``cls``, with its ``live`` progress if it
    runs in this process; a queued or running job that does not was left unfinished by a
    process that stopped: "interrupted"."""
    job = cls(**json.loads((folder / "job.json").read_text()))
    if live is not None:
        job.progress = round(live, 3)
    elif job.status in ("queued", "running"):
        job.status = "interrupted"
    return job


def newest_first(root: Path, job_id: re.Pattern[str], get: Callable[[str], J]) -> list[J]:
    """Every job under ``root`` whose folder name matches ``job_id``, newest first."""
    if not root.is_dir():
        return []
    jobs = [get(p.name) for p in root.iterdir()
            if job_id.match(p.name) and (p / "job.json").is_file()]
    return sorted(jobs, key=lambda j: (j.created_at, j.id), reverse=True)


def get_plan(plan_id: str) -> PlanJob:
    """The job of ``plan_id`` with live progress; PlanNotFound if there is none."""
    folder = _folder(plan_id)
    with _lock:
        live = _live.get(plan_id)
    return read_job(folder, PlanJob, live)


def list_plans() -> list[PlanJob]:
    """Every plan, newest first."""
    return newest_first(plans_dir(), PLAN_ID, get_plan)


def latest_plan(*, base_only: bool = False) -> PlanJob | None:
    """The newest finished plan (``base_only``: of the base network, no what-if overlay)."""
    return next((j for j in list_plans()
                 if j.status == "succeeded" and not (base_only and j.overlay)), None)


def _finished(plan_id: str) -> Path:
    folder = _folder(plan_id)
    if not (folder / "summary.json").is_file():
        raise PlanNotFound(plan_id)
    return folder


def summary(plan_id: str) -> dict[str, Any]:
    """The plan's ``summary.json`` (investment, classes with target and predicted on-time)."""
    return json.loads((_finished(plan_id) / "summary.json").read_text())


def class_frontier(plan_id: str) -> list[dict[str, Any]]:
    """The frontier per class (``frontier_classes.csv``: point, investment, units, label, tier,
    severity, target, on_time); empty for a plan without it."""
    path = _finished(plan_id) / "frontier_classes.csv"
    if not path.is_file():
        return []
    df = pd.read_csv(path, dtype={"tier": str})
    return df.astype(object).where(df.notna(), None).to_dict("records")


def frontier(plan_id: str) -> list[dict[str, Any]]:
    path = _finished(plan_id) / "frontier.csv"
    if not path.is_file():
        return []
    return pd.read_csv(path).to_dict("records")


def _read_site_reach(path: Path) -> dict[str, int | None]:
    with path.open(newline="") as fh:
        return {r["site_id"]: int(r["reached_severity"]) if r["reached_severity"] else None
                for r in csv.DictReader(fh)}


def site_reach(plan_id: str) -> dict[str, int | None]:
    """Site id -> the most demanding severity the plan reaches there in time (None: none);
    read once per file version (:func:`_cached_read`): do not change the answer."""
    path = _finished(plan_id) / "site_reach.csv"
    if not path.is_file():
        return {}
    return _cached_read(path, _read_site_reach)


def levels(plan_id: str, scenario: Scenario) -> pd.DataFrame:
    """The plan's positive base-stock levels with part and location names and the value held
    (base stock x unit cost, in the scenario's currency)."""
    df = pd.read_csv(_finished(plan_id) / "stock_levels.csv", dtype={"part_id": str, "depot_id": str})
    names = {d.depot_id: (d.name, d.kind.value) for d in scenario.depots}
    names.update({c.candidate_id: (c.name, c.kind.value) for c in scenario.candidates})
    parts = {p.part_id: p.name for p in scenario.parts}
    df["part_name"] = df["part_id"].map(parts).fillna("")
    df["location_name"] = df["depot_id"].map(lambda d: names.get(d, ("", ""))[0])
    df["location_kind"] = df["depot_id"].map(lambda d: names.get(d, ("", ""))[1])
    df["value"] = df["base_stock"] * df["unit_cost"]
    return df[["part_id", "part_name", "depot_id", "location_name", "location_kind",
               "base_stock", "unit_cost", "value"]]
