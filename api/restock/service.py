"""Restock runs on the database: positions from the stock ledger, background runs, approval.

Shared by ``spares restock`` (CLI) and the planner API (``/v1/restock-runs``). Runs requested
through the API execute one at a time on a background thread of this process (the run is CPU
bound; the machine's cores serve the dispatch API meanwhile), each with its own sessions; the run
row carries its status (queued -> running -> succeeded | failed) and, when done, the summary, the
orders and the paths of the written outputs. Approval posts the orders to the ledger once.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session

from api.problems import Problem, field_problem
from api.restock.models import RunStatus
from inventory import ledger
from inventory.db.dispatch_models import as_utc
from inventory.db.restock_models import RestockRun

if TYPE_CHECKING:  # pandas and the restock package load at the first run, not at server start
    import pandas as pd

    from api.context import AppContext
    from inventory.domain import Scenario
    from optimizer.restock.approve import LedgerMovement
    from optimizer.restock.positions import Positions
    from optimizer.restock.quarter import Quarter
    from optimizer.restock.run import RestockResult

RUNS_DIR_ENV = "SPARES_RESTOCK_DIR"
"""Environment variable: folder under which each API run writes its outputs (``<dir>/<run id>``)."""
DEFAULT_RUNS_DIR = "restock-runs"
ORDER_TABLES = ("transfers", "repairs", "buys", "excess", "cut")


class SessionLedgerWriter:
    """:class:`optimizer.restock.approve.LedgerWriter` over a database session (the stock ledger)."""

    def __init__(self, session: Session, actor: str = "restock") -> None:
        self.session = session
        self.actor = actor

    def has_reference(self, reference: str) -> bool:
        return bool(ledger.movements(session=self.session, reference=reference))

    def post(self, movement: LedgerMovement) -> None:
        ledger.post(session=self.session, kind=movement.kind, depot_id=movement.depot_id,
                    part_id=movement.part_id, quantity=movement.quantity,
                    reference=movement.reference, actor=self.actor)


def database_positions(session: Session, scenario: Scenario, quarter: Quarter) -> Positions:
    """Inventory positions per part and location from the ledger balances (read in ``session``)."""
    from optimizer.restock.build import ledger_positions, location_ids

    bals = ledger.balances(session=session)
    return ledger_positions(scenario, bals, [p.part_id for p in scenario.parts],
                            location_ids(scenario), quarter.days)


def runs_dir(configured: str | Path | None = None) -> Path:
    """Where API runs write: ``configured``, else ``$SPARES_RESTOCK_DIR``, else ``./restock-runs``."""
    return Path(configured or os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR).resolve()


# --- the background worker ------------------------------------------------------------------------
# One daemon thread per process runs the queued runs in turn. A daemon, so that stopping the
# server does not wait minutes for a run to end: :func:`interrupt_runs` marks what it was doing.

_jobs: queue.SimpleQueue[tuple[Future, Callable[..., Any], tuple[Any, ...]]] = queue.SimpleQueue()
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()
_executing: set[str] = set()
"""Ids of the runs this process claimed and has not finished."""


def _work() -> None:
    while True:
        future, fn, args = _jobs.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            future.set_exception(exc)


def _submit(fn: Callable[..., Any], *args: Any) -> Future:
    """Queue ``fn(*args)`` on the process's single restock worker thread."""
    global _worker
    future: Future = Future()
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="restock-run", daemon=True)
            _worker.start()
        _jobs.put((future, fn, args))
    return future


def interrupt_runs(ctx: AppContext) -> list[str]:
    """At server shutdown: mark the runs this process is executing as failed (interrupted), so
    none stays ``running``; queued ones stay queued for the next start. Returns their ids."""
    ids = sorted(_executing)
    if ids:
        with ctx.sessions(write=True) as session:
            session.execute(
                update(RestockRun)
                .where(RestockRun.id.in_(ids), RestockRun.status == RunStatus.RUNNING.value)
                .values(status=RunStatus.FAILED.value, finished_at=datetime.now(UTC),
                        error=INTERRUPTED))
    return ids


# --- use cases -----------------------------------------------------------------------------------

def parse_quarter(text: str) -> Quarter:
    from optimizer.restock.quarter import Quarter

    try:
        return Quarter.parse(text)
    except ValueError as exc:
        raise field_problem(422, "body.quarter", str(exc), "invalid-quarter") from None


def start_run(ctx: AppContext, *, owner: str, quarter: str, budget: float | None,
              out_root: Path) -> tuple[dict[str, Any], Future]:
    """Record a queued run and hand it to the background worker; returns its view and future."""
    q = parse_quarter(quarter)
    run_id = f"rr_{secrets.token_hex(8)}"
    with ctx.sessions(write=True) as session:
        row = RestockRun(id=run_id, owner=owner, quarter=str(q), budget=budget,
                         status=RunStatus.QUEUED.value, created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
        view = run_view(row)
    return view, _submit(execute_run, ctx, run_id, out_root / run_id)


def queued_runs(ctx: AppContext) -> int:
    """How many runs wait for the worker (status ``queued``)."""
    with ctx.sessions() as session:
        return session.query(RestockRun).filter(
            RestockRun.status == RunStatus.QUEUED.value).count()


def _set(ctx: AppContext, run_id: str, **values: Any) -> None:
    """Record a running run's end; a run failed meanwhile as stale keeps its verdict."""
    with ctx.sessions(write=True) as session:
        session.execute(update(RestockRun).where(RestockRun.id == run_id,
                                                 RestockRun.status == RunStatus.RUNNING.value)
                        .values(**values))


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records (NaN -> null, numpy scalars -> Python)."""
    return json.loads(df.to_json(orient="records", double_precision=15))


def execute_run(ctx: AppContext, run_id: str, out_dir: Path) -> None:
    """Run one queued restock run to the end, recording success or failure (never raises)."""
    from optimizer.restock.outputs import write_outputs
    from optimizer.restock.quarter import Quarter

    try:
        with ctx.sessions(write=True) as session:
            # claim the run: only one worker (thread or process) turns it from queued to running
            claimed = session.execute(
                update(RestockRun)
                .where(RestockRun.id == run_id, RestockRun.status == RunStatus.QUEUED.value)
                .values(status=RunStatus.RUNNING.value, started_at=datetime.now(UTC))).rowcount
            row = session.get(RestockRun, run_id) if claimed == 1 else None
            if row is None:
                return
            quarter, budget = Quarter.parse(row.quarter), row.budget
        _executing.add(run_id)
        result = compute(ctx, quarter, budget)
        paths = write_outputs(result, out_dir)
        plan = result.plan
        orders = {name: _records(getattr(plan, name)) for name in ORDER_TABLES}
        summary = json.loads(json.dumps(result.summary(), default=str))
        _set(ctx, run_id, status=RunStatus.SUCCEEDED.value, finished_at=datetime.now(UTC),
             plan_ref=result.run_id, summary=summary, orders=orders,
             outputs={k: str(p) for k, p in paths.items()})
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, not lost in a thread
        # if the database itself is gone there is nothing left to record it in
        with contextlib.suppress(Exception):
            _set(ctx, run_id, status=RunStatus.FAILED.value, finished_at=datetime.now(UTC),
                 error=f"{type(exc).__name__}: {exc}"[:2000])
    finally:
        _executing.discard(run_id)


#: A run takes about a minute; one still ``running`` after this long has lost its process.
STALE_AFTER = timedelta(minutes=30)
INTERRUPTED = "interrupted: the server stopped while the run was executing; request a new run"


def _fail_stale(session: Session, stale_after: timedelta) -> list[str]:
    """Fail the runs still ``running`` ``stale_after`` after they started; their ids."""
    cutoff = datetime.now(UTC) - stale_after
    stale = [r.id for r in session.query(RestockRun).filter(
        RestockRun.status == RunStatus.RUNNING.value, RestockRun.started_at < cutoff)]
    if stale:
        session.execute(
            update(RestockRun)
            .where(RestockRun.id.in_(stale), RestockRun.status == RunStatus.RUNNING.value)
            .values(status=RunStatus.FAILED.value, finished_at=datetime.now(UTC), error=INTERRUPTED))
    return stale


def recover_runs(ctx: AppContext, out_root: Path, *,
                 stale_after: timedelta = STALE_AFTER) -> tuple[list[str], list[str]]:
    """After a server start: queue again the runs still ``queued`` and fail the ``running`` ones
    older than ``stale_after`` (a recent one may belong to another live worker process; reading a
    run fails it once it is stale too). Returns (requeued ids, failed ids): nothing is stuck or
    lost silently."""
    with ctx.sessions(write=True) as session:
        stale = _fail_stale(session, stale_after)
        queued = [r.id for r in session.query(RestockRun).filter(
            RestockRun.status == RunStatus.QUEUED.value)]
    for run_id in queued:
        _submit(execute_run, ctx, run_id, out_root / run_id)
    return queued, stale


def compute(ctx: AppContext, quarter: Quarter, budget: float | None) -> RestockResult:
    """The restock result for ``quarter`` on the app's scenario and the ledger as it is now."""
    from optimizer.restock.run import run_restock

    with ctx.sessions() as session:
        positions = database_positions(session, ctx.scenario, quarter)
    return run_restock(ctx.scenario, positions, quarter, budget=budget, source="database")


def _load(session: Session, run_id: str) -> RestockRun:
    row = session.get(RestockRun, run_id)
    if row is None:
        raise Problem(404, "restock-run-not-found", "Restock run not found",
                      f"no restock run {run_id!r}",
                      errors=[{"field": "path.run_id", "message": "unknown restock run id"}])
    return row


def output_links(row: RestockRun) -> dict[str, str] | None:
    """Output name -> the API path that downloads it (the server's file paths stay inside)."""
    if row.outputs is None:
        return None
    return {name: f"/v1/restock-runs/{row.id}/outputs/{name}" for name in row.outputs}


def run_brief(row: RestockRun) -> dict[str, Any]:
    """A run as listed: status, times, approval and output links, without summary and orders."""
    approval = None
    if row.approved_at is not None:
        approval = {"approved_at": as_utc(row.approved_at), "approved_by": row.approved_by,
                    "posted": row.posted or 0, "skipped": row.skipped or 0}
    return {"id": row.id, "status": row.status, "quarter": row.quarter, "budget": row.budget,
            "created_at": as_utc(row.created_at), "started_at": as_utc(row.started_at),
            "finished_at": as_utc(row.finished_at), "error": row.error, "plan_ref": row.plan_ref,
            "outputs": output_links(row), "approval": approval}


def run_view(row: RestockRun, *, already_approved: bool = False) -> dict[str, Any]:
    """The API view of a run row: :func:`run_brief` with the summary and the orders."""
    return {**run_brief(row), "summary": row.summary, "orders": row.orders,
            "already_approved": already_approved}


def list_runs(ctx: AppContext, *, status: RunStatus | None = None, quarter: str | None = None,
              limit: int = 100, after: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Runs matching the filters, newest first (by created_at, then id); ``after``: the
    (created_at ISO, id) of the last run of the previous page (keyset pagination)."""
    with ctx.sessions() as session:
        q = session.query(RestockRun)
        if status is not None:
            q = q.filter(RestockRun.status == status.value)
        if quarter is not None:
            q = q.filter(RestockRun.quarter == quarter)
        if after is not None:
            at = datetime.fromisoformat(after[0])
            q = q.filter(or_(RestockRun.created_at < at,
                             and_(RestockRun.created_at == at, RestockRun.id < after[1])))
        rows = q.order_by(RestockRun.created_at.desc(), RestockRun.id.desc()).limit(limit).all()
        return [run_brief(r) for r in rows]


MEDIA_TYPES = {".csv": "text/csv", ".json": "application/json", ".html": "text/html",
               ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def output_file(ctx: AppContext, run_id: str, name: str) -> tuple[Path, str]:
    """The file a run wrote under output ``name`` and its media type; 404 naming the field when
    the run has no such output or the file is gone from the server."""
    with ctx.sessions() as session:
        outputs = _load(session, run_id).outputs or {}
    stored = outputs.get(name)
    if stored is None:
        raise Problem(404, "restock-output-not-found", "Restock output not found",
                      f"restock run {run_id!r} has no output {name!r}"
                      + (f"; it has {', '.join(sorted(outputs))}" if outputs else
                         " (outputs exist once the run succeeded)"),
                      errors=[{"field": "path.name", "message": "unknown output of this run"}])
    path = Path(stored)
    if not path.is_file():
        raise Problem(404, "restock-output-gone", "Restock output removed",
                      f"output {name!r} of restock run {run_id!r} is no longer on the server; "
                      "request a new run", errors=[{"field": "path.name",
                                                    "message": "file removed from the server"}])
    return path, MEDIA_TYPES.get(path.suffix, "application/octet-stream")


def get_run(ctx: AppContext, run_id: str) -> dict[str, Any]:
    """The run's view; a run whose process died (running past :data:`STALE_AFTER`) reads as failed."""
    with ctx.sessions() as session:
        row = _load(session, run_id)
        if not (row.status == RunStatus.RUNNING.value and as_utc(row.started_at) is not None
                and as_utc(row.started_at) < datetime.now(UTC) - STALE_AFTER):
            return run_view(row)
    with ctx.sessions(write=True) as session:
        _fail_stale(session, STALE_AFTER)
        return run_view(_load(session, run_id))


def approve_run(ctx: AppContext, run_id: str, *, approver: str) -> dict[str, Any]:
    """Book a succeeded run's orders in the ledger as in transit / in repair, exactly once.

    The first call wins a conditional update of ``approved_at`` and posts the movements in the
    same transaction; later calls change nothing and say so. 409 for a run that has not
    succeeded, or when the stock moved so that an order can no longer be booked (nothing is
    booked then).
    """
    with ctx.sessions(write=True) as session:
        row = _load(session, run_id)
        if row.status != RunStatus.SUCCEEDED.value:
            raise Problem(409, "restock-run-not-finished", "Restock run not approvable",
                          f"restock run {run_id!r} is {row.status}; only a succeeded run can be "
                          "approved", errors=[{"field": "path.run_id",
                                               "message": f"run status is {row.status}"}])
        now = datetime.now(UTC)
        won = session.execute(update(RestockRun)
                              .where(RestockRun.id == run_id, RestockRun.approved_at.is_(None))
                              .values(approved_at=now, approved_by=approver)).rowcount
        if won != 1:
            session.refresh(row)
            return run_view(row, already_approved=True)
        import pandas as pd

        from optimizer.restock.approve import order_movements, post_movements

        orders = row.orders or {}
        moves = order_movements(row.plan_ref or run_id,
                                *(pd.DataFrame(orders.get(t) or []) for t in ORDER_TABLES[:3]))
        try:
            rep = post_movements(row.plan_ref or run_id, moves,
                                 SessionLedgerWriter(session, actor=f"restock-api:{approver}"))
        except ledger.LedgerError as exc:
            raise Problem(409, "stock-changed", "Orders cannot be booked",
                          f"the stock changed since the run so an order cannot be booked "
                          f"({exc}); nothing was booked: start a new run") from None
        row.posted, row.skipped = rep.posted, rep.skipped
        session.flush()
        session.refresh(row)
        return run_view(row)
