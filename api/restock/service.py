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
import queue
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from api import idempotency, observability
from api.problems import Problem, field_problem
from api.restock.models import RestockRunOut, RunStatus
from api.settings import load as load_settings
from inventory import ledger
from inventory.db.dispatch_models import (
    ApiKey,
    DispatchOrder,
    IdempotencyRecord,
    Organization,
    as_utc,
)
from inventory.db.models import StockMovement
from inventory.db.restock_models import RestockRun

if TYPE_CHECKING:  # pandas and the restock package load at the first run, not at server start
    import pandas as pd

    from api.context import AppContext
    from inventory.domain import Scenario
    from optimizer.restock.approve import LedgerMovement
    from optimizer.restock.positions import Positions
    from optimizer.restock.quarter import Quarter
    from optimizer.restock.run import RestockResult

ORDER_TABLES = ("transfers", "repairs", "buys", "contractual", "excess", "cut")
BOOKED_TABLES = ORDER_TABLES[:4]
"""The order tables an approval books (in ledger order): transfers, repairs, buys and the buys
that hold a contractual minimum."""


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
    return Path(configured or load_settings().restock_dir).resolve()


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
                .values(status=RunStatus.FAILED.value, finished_at=ctx.now(),
                        error=INTERRUPTED))
    return ids


# --- use cases -----------------------------------------------------------------------------------

def parse_quarter(text: str) -> Quarter:
    from optimizer.restock.quarter import Quarter

    try:
        return Quarter.parse(text)
    except ValueError as exc:
        raise field_problem(422, "body.quarter", str(exc), "invalid-quarter") from None


START_OPERATION = "POST /v1/restock-runs"


def _start_digest(quarter: str, budget: float | None, overlay: str | None = None) -> str:
    what = {"quarter": quarter, "budget": budget}
    if overlay is not None:  # runs without an overlay keep the digests stored before
        what["overlay"] = overlay
    return idempotency.request_hash(what)


WHAT_IF = "what_if"
"""Key of a run row's ``summary`` JSON that holds the overlay it plans on (id, name, the text
as requested, who last changed it, its changes in words), from the request on: a run row has
no column of its own for it."""


def what_if_for(ctx: AppContext, ref: str, *, tenant: str | None = None,
                field: str = "body.overlay") -> dict[str, Any]:
    """The stored overlay ``ref`` (id or name) a run is requested with, as the run keeps it;
    a 422 naming ``field`` when there is none (or it is another organization's, with
    ``tenant``) or when it no longer applies to the served scenario."""
    from api.planning.service import check_overlay, find_overlay
    from scenarios.overlay import describe

    found = find_overlay(ctx, ref, tenant=tenant)
    if found is None:
        raise field_problem(422, field, f"no stored what-if overlay {ref!r} (give the id or "
                            "the name of one in /v1/overlays)", "unknown-overlay")
    try:
        overlay, _ = check_overlay(ctx.scenario, found["body"])
    except Problem as exc:
        raise field_problem(422, field, f"overlay {found['name']!r} does not apply to the "
                            f"served scenario: {exc.detail}", "invalid-overlay") from None
    return {"id": found["id"], "name": found["name"], "body": found["body"],
            "updated_by": found["updated_by"], "changes": describe(overlay)}


def run_overlay(row: RestockRun) -> dict[str, Any] | None:
    """The overlay a run plans on (id, name, changes), None for the network as it is."""
    w = (row.summary or {}).get(WHAT_IF)
    return None if w is None else {"id": w["id"], "name": w["name"],
                                   "changes": list(w.get("changes") or [])}


def started_with(ctx: AppContext, *, owner: str, key: str,
                 body: Any) -> IdempotencyRecord | None:
    """The first answer of the run ``owner`` started with Idempotency-Key ``key``, or None;
    a 422 naming the header when that start asked for another quarter or budget."""
    with ctx.sessions() as session:
        return idempotency.find(session, owner=owner, operation=START_OPERATION, key=key,
                                digest=_start_digest(body.quarter, body.budget,
                                                     getattr(body, "overlay", None)))


def start_run(ctx: AppContext, *, owner: str, quarter: str, budget: float | None,
              out_root: Path, created_by: str | None = None,
              idempotency_key: str | None = None,
              what_if: dict[str, Any] | None = None,
              overlay_ref: str | None = None) -> tuple[Any, Future | None]:
    """Record a queued run and hand it to the background worker; returns its view and future.

    ``owner``: the organization the run belongs to; ``created_by``: the requesting key's id.
    Without ``created_by``, an ``owner`` that is a key's id stands for that key (the run
    belongs to the key's organization). With ``idempotency_key`` the answer is stored with the
    run; when a concurrent request with the key stored one first, that answer is returned as
    a replay response (and no future). ``what_if``: the overlay to plan on
    (:func:`what_if_for`), requested as ``overlay_ref`` (part of the idempotency digest)."""
    q = parse_quarter(quarter)
    run_id = f"rr_{secrets.token_hex(8)}"
    digest = _start_digest(str(q), budget, overlay_ref if what_if is not None else None)
    with ctx.sessions(write=True) as session:
        if created_by is None and session.get(Organization, owner) is None:
            key = session.get(ApiKey, owner)
            if key is not None:
                owner, created_by = key.organization_id, key.id
        if idempotency_key is not None:
            found = idempotency.find(session, owner=owner, operation=START_OPERATION,
                                     key=idempotency_key, digest=digest)
            if found is not None:
                return idempotency.replay(found, headers={
                    "Location": f"/v1/restock-runs/{found.response['id']}"}), None
        row = RestockRun(id=run_id, owner=owner, created_by=created_by, quarter=str(q),
                         budget=budget, status=RunStatus.QUEUED.value,
                         created_at=ctx.now(),
                         summary=None if what_if is None else {WHAT_IF: what_if})
        session.add(row)
        session.flush()
        view = run_view(row)
        if idempotency_key is not None:
            idempotency.store(session, owner=owner, operation=START_OPERATION,
                              key=idempotency_key, digest=digest, status_code=202,
                              response=RestockRunOut.model_validate(view).model_dump(mode="json"),
                              created_by=created_by or owner,
                              now=ctx.now())
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

    began: float | None = None
    status = RunStatus.FAILED.value
    try:
        with ctx.sessions(write=True) as session:
            # claim the run: only one worker (thread or process) turns it from queued to running
            claimed = session.execute(
                update(RestockRun)
                .where(RestockRun.id == run_id, RestockRun.status == RunStatus.QUEUED.value)
                .values(status=RunStatus.RUNNING.value, started_at=ctx.now())).rowcount
            row = session.get(RestockRun, run_id) if claimed == 1 else None
            if row is None:
                return
            quarter, budget = Quarter.parse(row.quarter), row.budget
            what_if = (row.summary or {}).get(WHAT_IF)
        began = time.perf_counter()
        _executing.add(run_id)
        if what_if is None:
            result = compute(ctx, quarter, budget)
        else:
            result = compute(ctx, quarter, budget, what_if=what_if)
        paths = write_outputs(result, out_dir)
        if what_if is not None:  # the overlay as planned, beside the reports (as the CLI)
            (out_dir / "overlay.toml").write_text(what_if["body"])
        _set(ctx, run_id, status=RunStatus.SUCCEEDED.value, finished_at=ctx.now(),
             **run_outcome(result, paths, what_if))
        status = RunStatus.SUCCEEDED.value
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, not lost in a thread
        # if the database itself is gone there is nothing left to record it in
        with contextlib.suppress(Exception):
            _set(ctx, run_id, status=RunStatus.FAILED.value, finished_at=ctx.now(),
                 error=f"{type(exc).__name__}: {exc}"[:2000])
    finally:
        _executing.discard(run_id)
        if began is not None:
            observability.restock_run_finished(status, time.perf_counter() - began)


def run_outcome(result: RestockResult, paths: dict[str, Path],
                what_if: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a succeeded run row keeps of ``result``: the plan id (ledger references), the
    summary (with the ``what_if`` overlay it planned on, if any), the order tables as records
    and the paths of the written outputs."""
    summary = json.loads(json.dumps(result.summary(), default=str))
    if what_if is not None:
        summary[WHAT_IF] = what_if
    return {"plan_ref": result.run_id, "summary": summary,
            "orders": {name: _records(getattr(result.plan, name)) for name in ORDER_TABLES},
            "outputs": {k: str(Path(p).resolve()) for k, p in paths.items()}}


def record_run(session: Session, result: RestockResult, paths: dict[str, Path], *, owner: str,
               created_by: str, budget: float | None, now: datetime) -> str:
    """Record a run computed outside the worker (``spares restock``) as a succeeded run of
    organization ``owner``, in ``session``'s transaction, so it can be approved like an API
    run (:func:`approve_in`); returns its id."""
    run_id = f"rr_{secrets.token_hex(8)}"
    session.add(RestockRun(id=run_id, owner=owner, created_by=created_by,
                           quarter=str(result.quarter), budget=budget,
                           status=RunStatus.SUCCEEDED.value, created_at=now, started_at=now,
                           finished_at=now, **run_outcome(result, paths)))
    session.flush()
    return run_id


#: A run takes about a minute; one still ``running`` after this long has lost its process.
STALE_AFTER = timedelta(minutes=30)
INTERRUPTED = "interrupted: the server stopped while the run was executing; request a new run"


def _fail_stale(session: Session, stale_after: timedelta, now: datetime) -> list[str]:
    """Fail the runs still ``running`` ``stale_after`` before ``now``; their ids."""
    cutoff = now - stale_after
    stale = [r.id for r in session.query(RestockRun).filter(
        RestockRun.status == RunStatus.RUNNING.value, RestockRun.started_at < cutoff)]
    if stale:
        session.execute(
            update(RestockRun)
            .where(RestockRun.id.in_(stale), RestockRun.status == RunStatus.RUNNING.value)
            .values(status=RunStatus.FAILED.value, finished_at=now, error=INTERRUPTED))
    return stale


def recover_runs(ctx: AppContext, out_root: Path, *,
                 stale_after: timedelta = STALE_AFTER) -> tuple[list[str], list[str]]:
    """After a server start: queue again the runs still ``queued`` and fail the ``running`` ones
    older than ``stale_after`` (a recent one may belong to another live worker process; reading a
    run fails it once it is stale too). Returns (requeued ids, failed ids): nothing is stuck or
    lost silently."""
    with ctx.sessions(write=True) as session:
        stale = _fail_stale(session, stale_after, ctx.now())
        queued = [r.id for r in session.query(RestockRun).filter(
            RestockRun.status == RunStatus.QUEUED.value)]
    for run_id in queued:
        _submit(execute_run, ctx, run_id, out_root / run_id)
    return queued, stale


def compute(ctx: AppContext, quarter: Quarter, budget: float | None, *,
            what_if: dict[str, Any] | None = None) -> RestockResult:
    """The restock result for ``quarter`` on the app's scenario and the ledger as it is now,
    with the planners' unexpired overrides applied (:mod:`api.planning.service`) and named in
    the run's notes. ``what_if`` (:func:`what_if_for`): plan and order for the scenario with
    that overlay applied, as ``spares restock --overlay`` does (the forecast calibrated on the
    scenario as it is, scaled by the overlay's demand changes)."""
    from dataclasses import replace

    from api.planning.service import active_overrides, restock_what_if
    from optimizer.restock.run import run_restock

    with ctx.sessions() as session:
        positions = database_positions(session, ctx.scenario, quarter)
    scenario, notes, name = ctx.scenario, (), None
    if what_if is not None:
        name = what_if["name"]
        w = restock_what_if(ctx.scenario, positions, what_if["body"],
                            f"what-if overlay {name} (stored overlay {what_if['id']}, last "
                            f"changed by {what_if['updated_by']})")
        scenario, positions, notes = w.scenario, w.positions, w.notes
    over = active_overrides(ctx, scenario)
    planner = None
    if over.stock_limits:
        from optimizer.stocking.analysis import plan_problem
        from optimizer.stocking.bounds import LevelBounds

        def planner(problem: Any) -> Any:  # the re-plan keeps the planners' min / max
            return plan_problem(problem, bounds=LevelBounds.from_limits(
                problem.part_ids, problem.location_ids, over.stock_limits))
    result = run_restock(scenario, positions, quarter, budget=budget, source="database",
                         planner=planner, forecast_overrides=over.forecasts or None,
                         minimums=over.restock_minimums(),
                         forecast_from=ctx.scenario if what_if is not None else None)
    if over.lines or notes:
        result = replace(result, notes=(*result.notes, *notes,
                                        *(f"override: {line}" for line in over.lines)),
                         overlay=name)
    return result


def _load(session: Session, run_id: str, tenant: str | None = None) -> RestockRun:
    """The run; 404 when unknown or, with ``tenant``, another organization's (like unknown)."""
    row = session.get(RestockRun, run_id)
    if row is None or (tenant is not None and row.owner != tenant):
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
    return {"id": row.id, "organization_id": row.owner, "requested_by": row.created_by,
            "status": row.status, "quarter": row.quarter, "budget": row.budget,
            "created_at": as_utc(row.created_at), "started_at": as_utc(row.started_at),
            "finished_at": as_utc(row.finished_at), "error": row.error, "plan_ref": row.plan_ref,
            "outputs": output_links(row), "approval": approval, "overlay": run_overlay(row)}


def run_view(row: RestockRun, *, already_approved: bool = False) -> dict[str, Any]:
    """The API view of a run row: :func:`run_brief` with the summary (once it succeeded; the
    overlay is under ``overlay``) and the orders."""
    summary = None
    if row.status == RunStatus.SUCCEEDED.value and row.summary is not None:
        summary = {k: v for k, v in row.summary.items() if k != WHAT_IF}
    return {**run_brief(row), "summary": summary, "orders": row.orders,
            "already_approved": already_approved}


def list_runs(ctx: AppContext, *, status: RunStatus | None = None, quarter: str | None = None,
              tenant: str | None = None, limit: int = 100,
              after: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Runs matching the filters, newest first (by created_at, then id); ``tenant``: only
    this organization's; ``after``: the (created_at ISO, id) of the last run of the previous
    page (keyset pagination)."""
    with ctx.sessions() as session:
        q = session.query(RestockRun)
        if tenant is not None:
            q = q.filter(RestockRun.owner == tenant)
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


def output_file(ctx: AppContext, run_id: str, name: str, *,
                tenant: str | None = None) -> tuple[Path, str]:
    """The file a run wrote under output ``name`` and its media type; 404 naming the field when
    the run has no such output or the file is gone from the server."""
    with ctx.sessions() as session:
        outputs = _load(session, run_id, tenant).outputs or {}
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


def get_run(ctx: AppContext, run_id: str, *, tenant: str | None = None) -> dict[str, Any]:
    """The run's view (404 for another organization's with ``tenant``); a run whose process
    died (running past :data:`STALE_AFTER`) reads as failed."""
    with ctx.sessions() as session:
        row = _load(session, run_id, tenant)
        if not (row.status == RunStatus.RUNNING.value and as_utc(row.started_at) is not None
                and as_utc(row.started_at) < ctx.now() - STALE_AFTER):
            return run_view(row)
    with ctx.sessions(write=True) as session:
        _fail_stale(session, STALE_AFTER, ctx.now())
        return run_view(_load(session, run_id))


@dataclass(frozen=True)
class RestockLine:
    """One line of a run's transfer, repair or buy table as the order it opens on approval.

    ``line``: ``T<n>``, ``R<n>`` or ``B<n>`` (n: the row in its table, as in the ledger
    references ``restock:<plan_ref>:<line>``). ``depot_id``: where the units land (a repair's
    serviceable unit: the depot it is credited to); ``from_id``: the sending depot, the depot
    holding the defective unit, or ``supplier``. ``value``: what the order costs (transport,
    repair cost, buy amount) in the scenario currency."""

    line: str
    kind: str
    part_id: str
    depot_id: str
    from_id: str
    quantity: int
    value: float | None
    lead_time_days: float


LINE_TABLES = (("transfers", "T", "transfer", "transport_cost"),
               ("repairs", "R", "repair", "repair_cost"), ("buys", "B", "buy", "amount"),
               ("contractual", "M", "buy", "amount"))


def restock_lines(orders: dict[str, Any]) -> list[RestockLine]:
    """The order lines of a run's stored order tables, in ledger order."""
    out = []
    for table, prefix, kind, value_col in LINE_TABLES:
        for n, r in enumerate(orders.get(table) or []):
            value = r.get(value_col)
            out.append(RestockLine(
                f"{prefix}{n}", kind, r["part_id"], r["to_depot"],
                "supplier" if kind == "buy" else r["from_depot"], int(r["quantity"]),
                None if value is None else float(value), float(r.get("lead_time_days") or 0.0)))
    return out


def line_reference(plan_ref: str, line: RestockLine | str) -> str:
    """The ledger reference of a line's (first) movement."""
    return f"restock:{plan_ref}:{line.line if isinstance(line, RestockLine) else line}"


def restock_order_for(session: Session, reference: str) -> Any:
    """The order (a ``dispatch_orders`` row) of the restock line whose ledger reference is
    ``reference`` (``restock:<plan_ref>:<line>``), or None."""
    if not reference.startswith("restock:"):
        return None
    plan_ref, _, line = reference[len("restock:"):].rpartition(":")
    o, r = DispatchOrder.__table__, RestockRun.__table__
    return session.execute(select(o).join(r, r.c.id == o.c.restock_run_id).where(
        r.c.plan_ref == plan_ref, o.c.restock_line == line)).first()


def close_restock_order(session: Session, order: Any, landed: int, scrapped: int) -> None:
    """Mark a ``sent`` restock order received (or scrapped) when a booking under its line's
    reference outside ``/v1/orders`` (``/v1/pipeline``) moved all its units."""
    status = ("received" if landed >= order.quantity else
              "scrapped" if scrapped >= order.quantity else None)
    if status is not None:
        o = DispatchOrder.__table__
        session.execute(update(o).where(o.c.id == order.id, o.c.status == "sent")
                        .values(status=status))


def _booked_references(session: Session, refs: list[str]) -> set[str]:
    """Those of ``refs`` the ledger holds."""
    found: set[str] = set()
    mov = StockMovement.__table__
    for i in range(0, len(refs), 500):
        found.update(session.scalars(select(mov.c.reference).where(
            mov.c.reference.in_(refs[i:i + 500]))))
    return found


def approve_run(ctx: AppContext, run_id: str, *, approver: str,
                tenant: str | None = None) -> dict[str, Any]:
    """Book a succeeded run's orders in the ledger as in transit / in repair, exactly once
    (:func:`approve_in`, in a write transaction of its own; ledger actor
    ``restock-api:<approver>``)."""
    with ctx.sessions(write=True) as session:
        return approve_in(session, run_id, approver=approver, actor=f"restock-api:{approver}",
                          now=ctx.now(), tenant=tenant)


def approve_in(session: Session, run_id: str, *, approver: str, actor: str, now: datetime,
               tenant: str | None = None) -> dict[str, Any]:
    """Book a succeeded run's orders in ``session``'s transaction: the API's, the workspace's
    and ``spares restock --approve``'s one code path.

    The first call wins a conditional update of ``approved_at`` and posts the movements;
    later calls change nothing and say so. Each line it books (transfers, repairs, buys,
    contractual buys) becomes an order (``dispatch_orders`` with ``restock_run_id``), visible
    in ``/v1/orders``. 409 for a run that has not succeeded, or when the stock moved so that
    an order can no longer be booked (nothing is booked then). ``actor``: who the ledger
    movements name.
    """
    row = _load(session, run_id, tenant)
    if row.status != RunStatus.SUCCEEDED.value:
        raise Problem(409, "restock-run-not-finished", "Restock run not approvable",
                      f"restock run {run_id!r} is {row.status}; only a succeeded run can be "
                      "approved", errors=[{"field": "path.run_id",
                                           "message": f"run status is {row.status}"}])
    what_if = run_overlay(row)
    if what_if is not None:
        raise Problem(409, "restock-run-what-if", "What-if run not approvable",
                      f"restock run {run_id!r} planned on the what-if overlay "
                      f"{what_if['name']!r}: its orders are for a changed network and are not "
                      "booked; start a run without an overlay to order",
                      errors=[{"field": "path.run_id", "message": "a what-if run"}])
    won = session.execute(update(RestockRun)
                          .where(RestockRun.id == run_id, RestockRun.approved_at.is_(None))
                          .values(approved_at=now, approved_by=approver)).rowcount
    if won != 1:
        session.refresh(row)
        return run_view(row, already_approved=True)
    import pandas as pd

    from optimizer.restock.approve import order_movements, post_movements

    orders = row.orders or {}
    plan_ref = row.plan_ref or run_id
    moves = order_movements(plan_ref,
                            *(pd.DataFrame(orders.get(t) or []) for t in BOOKED_TABLES))
    lines = restock_lines(orders)
    booked = _booked_references(session, [line_reference(plan_ref, ln) for ln in lines])
    try:
        rep = post_movements(plan_ref, moves, SessionLedgerWriter(session, actor=actor))
    except ledger.LedgerError as exc:
        raise Problem(409, "stock-changed", "Orders cannot be booked",
                      f"the stock changed since the run so an order cannot be booked "
                      f"({exc}); nothing was booked: start a new run") from None
    row.posted, row.skipped = rep.posted, rep.skipped
    # the orders of the lines this approval booked (an equal plan approved before holds the
    # others): visible in /v1/orders, received there like a dispatch's refill
    new = [ln for ln in lines if line_reference(plan_ref, ln) not in booked]
    if new:
        session.execute(insert(DispatchOrder.__table__), [
            {"restock_run_id": run_id, "restock_line": ln.line, "kind": ln.kind,
             "depot_id": ln.depot_id, "from_id": ln.from_id, "part_id": ln.part_id,
             "quantity": ln.quantity, "value": ln.value, "status": "sent",
             "expected_at": now + timedelta(days=ln.lead_time_days), "created_at": now}
            for ln in new])
    session.flush()
    session.refresh(row)
    return run_view(row)
