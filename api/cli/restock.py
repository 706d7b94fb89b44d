"""`spares restock`: the quarterly restocking run (forecast -> re-plan -> orders -> reports).

Positions come from a scenario's opening stock (``--scenario``) or, without it, from the stock
ledger of the database (``--url``); ``--approve`` (database only) records the run in the
database as a succeeded restock run of ``--organization`` (default ``org_default``, the
organization of the workspace's people) and approves it through the API's own approval
(:func:`api.restock.service.approve_in`): the orders booked in the ledger as in-transit/in-repair
movements once per plan id, and each line it books an order in ``/v1/orders``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

    from inventory.domain import Scenario
    from optimizer.restock.positions import Positions
    from optimizer.restock.quarter import Quarter
    from optimizer.restock.run import RestockResult
    from optimizer.stocking.cluster import Cluster
    from optimizer.stocking.problem import StockingProblem
    from optimizer.stocking.result import StockingPlan

console = Console()
errors = Console(stderr=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"error: {message}", markup=False)
    return typer.Exit(code)


def _print(result: RestockResult) -> None:
    s = result.summary()
    cur = result.currency
    table = Table("orders", "units", f"amount ({cur})", title=f"Restock {s['quarter']} "
                  f"({s['scenario']}, positions from {s['positions_from']})")
    table.add_row("transfers", str(s["transfer_units"]), f"{s['transfer_cost']:,.2f}")
    table.add_row("repairs", str(s["repair_units"]), f"{s['repair_cost']:,.2f}")
    table.add_row("buys", str(s["buy_units"]), f"{s['buy_amount']:,.2f}")
    if s["contractual_units"]:
        table.add_row("contractual minimums", str(s["contractual_units"]),
                      f"{s['contractual_amount']:,.2f}")
    table.add_row("cut by budget" if s["max_step"] is None else "cut / deferred by step cap",
                  str(s["cut_units"]), f"{s['cut_amount']:,.2f}")
    table.add_row("not proposed (no gain)", f"{s['dropped_lines']} lines",
                  f"{s['dropped_money']:,.2f}")
    table.add_row("excess & obsolete", str(s["excess_units"]), f"{s['excess_value']:,.2f}")
    console.print(table)
    console.print(f"run id {s['run_id']}; investment today {s['investment_today']:,.0f}, "
                  f"plan {s['investment_target']:,.0f}, after orders {s['investment_after']:,.0f} "
                  f"{cur}", markup=False)
    console.print(f"the orders add {s['gain_per_year']:,.2f} on-time requests a year; none adds "
                  f"less than {s['min_gain_per_year']:g}", markup=False)
    if len(result.glide):
        glide = Table("quarter", f"buys ({cur})", f"stock value ({cur})", "on time (%)",
                      title=f"Glide path, step cap {s['max_step']} a quarter")
        for r in result.glide.itertuples(index=False):
            glide.add_row(r.quarter, f"{r.buy_amount:,.0f}", f"{r.stock_value:,.0f}",
                          f"{100 * r.on_time:.2f}")
        console.print(glide)
    for note in result.notes:
        console.print(f"  note: {note}", markup=False)


def restock(
    quarter: str = typer.Option(..., "--quarter", help="Quarter to plan, YYYYQn (e.g. 2027Q1)."),
    out: Path = typer.Option(..., "--out", help="Folder for the CSVs, summary.json and reports."),
    budget: float | None = typer.Option(None, "--budget", help="Cap on the buy amount (currency)."),
    scenario: str | None = typer.Option(
        None, "--scenario", help="Bundled scenario name or folder; positions from its opening "
        "stock. Without it: the database's scenario and stock ledger."),
    url: str | None = typer.Option(None, "--url", help="Database URL (default: "
                                   "SPARES_DATABASE_URL or sqlite:///spares.db)."),
    plan_dir: Path | None = typer.Option(None, "--plan", help="Use the base-stock levels of a "
                                         "plan folder (spares plan --out) instead of re-planning."),
    strength: float = typer.Option(12.0, "--prior-months", help="Prior strength of the "
                                   "installed-base forecast, in months of history."),
    excess_quarters: float = typer.Option(4.0, "--excess-quarters", help="List stock above "
                                          "target by more than this many quarters of demand."),
    approve: bool = typer.Option(False, "--approve", help="Book the orders in the database "
                                 "ledger (idempotent by run id; database mode only) and open "
                                 "them as orders in /v1/orders; the run is listed in "
                                 "/v1/restock-runs."),
    organization: str = typer.Option(
        "org_default", "--organization", help="With --approve: the organization (id or name) "
        "the approved run belongs to; default org_default, that of the workspace's people."),
    max_step: str | None = typer.Option(
        None, "--max-step", help="Cap on this quarter's buy amount: an amount (e.g. 2500000) or "
        "a share of today's stock value (e.g. 25%); the rest is deferred: a glide path plans "
        "each later quarter again, within the same cap, from the stock the one before leaves."),
    glide_quarters: int = typer.Option(4, "--glide-quarters", min=1, max=40,
                                       help="Quarters in the glide path (with --max-step)."),
    min_gain: float = typer.Option(1e-3, "--min-gain", help="On-time requests a year an order "
                                   "line must add to be proposed."),
    cluster: str | None = typer.Option(
        None, "--cluster", help="Where the re-plan's per-part work and large batches of order "
        "valuations run: tcp://host:8786 (a Dask scheduler), local or local:N (N worker "
        "processes here); default $SPARES_DASK_SCHEDULER, else in this process."),
    minimums_file: Path | None = typer.Option(
        None, "--minimums", help="CSV of contractual minimums (part_id, depot_id, units, "
        "reason): stock bought whatever service it adds, listed on the contractual sheet."),
    overlay: str | None = typer.Option(
        None, "--overlay", help="A what-if: an overlay file (TOML, docs/what-if.md) or the name "
        "of an overlay stored in the database (the workspace's What-ifs); the run plans and "
        "orders for the changed network and names it in its outputs. Not with --approve."),
) -> None:
    """Quarterly restocking: forecast, re-plan, and transfer/repair/buy orders under a budget."""
    from optimizer.restock.quarter import Quarter

    try:
        q = Quarter.parse(quarter)
    except ValueError as exc:
        raise _fail(f"--quarter: {exc}", 2) from None
    if budget is not None and not budget >= 0:
        raise _fail(f"--budget: must be an amount >= 0, got {budget}", 2)
    if not strength > 0:
        raise _fail(f"--prior-months: must be > 0, got {strength}", 2)
    if not min_gain >= 0:
        raise _fail(f"--min-gain: must be >= 0, got {min_gain}", 2)
    step = None
    if max_step is not None:
        from optimizer.restock.phasing import StepCap

        try:
            step = StepCap.parse(max_step)
        except ValueError as exc:
            raise _fail(f"--max-step: {exc}", 2) from None
    if approve and scenario is not None:
        raise _fail("--approve books orders in the database ledger; it cannot be used with "
                    "--scenario", 2)
    if approve and overlay is not None:
        raise _fail("--approve books orders in the database ledger; a what-if run (--overlay) "
                    "cannot be approved", 2)
    session = None
    where = _cluster(cluster)
    try:
        if scenario is not None:
            sc, positions, source = _from_scenario(scenario)
        else:
            session, sc, positions, source = _from_database(url, q)
            if approve:
                organization = _organization(session, organization)
        base, what_if, overlay_name = sc, (), None
        if overlay is not None:
            sc, positions, what_if, overlay_text, overlay_name = _what_if(
                overlay, sc, positions, session, url)
        over = _overrides(session, sc) if session is not None else None
        targets = _targets(plan_dir, sc, positions) if plan_dir is not None else None
        minimums = _minimums(minimums_file, positions) if minimums_file is not None else ()
        result = _run(sc, positions, q, budget=budget, source=source, targets=targets,
                      strength_months=strength, excess_quarters=excess_quarters,
                      planner=_planner(where, over.stock_limits if over else None),
                      max_step=step, glide_quarters=glide_quarters,
                      min_gain=min_gain, cluster=where,
                      minimums=over.restock_minimums(minimums) if over else minimums,
                      forecast_overrides=(over.forecasts or None) if over else None,
                      forecast_from=base if overlay is not None else None)
        if what_if or (over and over.lines):
            from dataclasses import replace

            result = replace(result, notes=(*result.notes, *what_if, *(
                f"override: {line}" for line in (over.lines if over else ()))),
                             overlay=overlay_name)
        from optimizer.restock.outputs import write_outputs

        paths = write_outputs(result, out)
        if overlay is not None:
            (out / "overlay.toml").write_text(overlay_text)
        _print(result)
        if approve and session is not None:
            _approve(session, result, paths, organization=organization, budget=budget)
        console.print(f"written to {out}", markup=False)
    finally:
        where.close()
        if session is not None:
            session.close()


def _organization(session: Session, ref: str) -> str:
    """The id of organization ``ref`` (id or name); exit 2 naming ``--organization`` if none."""
    from api.auth.service import find_organization

    try:
        found = find_organization(session=session, ref=ref)
    finally:
        session.rollback()  # end the read transaction; --approve opens its own
    if found is None:
        raise _fail(f"--organization {ref}: no such organization", 2)
    return found.id


def _approve(session: Session, result: RestockResult, paths: dict[str, Path], *,
             organization: str, budget: float | None) -> None:
    """Record ``result`` as a succeeded restock run of ``organization`` and approve it through
    the API's approval, in one transaction: ledger movements once per plan id, and an order
    in /v1/orders for each line this approval books."""
    import getpass
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from api.problems import Problem
    from api.restock.service import approve_in, record_run
    from inventory.db.dispatch_models import DispatchOrder

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        user = "unknown"
    who, now = f"cli:{user}"[:40], datetime.now(UTC)
    try:
        with session.begin():
            run_id = record_run(session, result, paths, owner=organization, created_by=who,
                                budget=budget, now=now)
            view = approve_in(session, run_id, approver=who, actor=f"restock-cli:{user}",
                              now=now)
            opened = session.scalar(select(func.count()).select_from(DispatchOrder).where(
                DispatchOrder.restock_run_id == run_id))
    except Problem as exc:
        raise _fail(f"--approve: {exc.detail}") from None
    a = view["approval"]
    console.print(f"approved run {result.run_id} as restock run {run_id} of {organization}: "
                  f"{a['posted']} movements posted, {a['skipped']} already booked, {opened} "
                  "orders opened in /v1/orders", markup=False)


def _from_scenario(name: str) -> tuple[Scenario, Positions, str]:
    import scenarios
    from inventory.domain import DomainError
    from optimizer.restock.build import location_ids, scenario_positions

    try:
        sc = scenarios.load(name)
    except (scenarios.ScenarioFormatError, DomainError, OSError) as exc:
        raise _fail(f"--scenario {name}: {exc}") from None
    positions = scenario_positions(sc, [p.part_id for p in sc.parts], location_ids(sc))
    return sc, positions, "scenario"


def _from_database(url: str | None, q: Quarter) -> tuple[Session, Scenario, Positions, str]:
    from api.restock.service import database_positions
    from api.settings import load as load_settings
    from inventory.db.engine import make_engine, normalize_url, session_factory
    from inventory.db.load import LoadError, read_scenario_from_db

    target = normalize_url(url or load_settings().database_url)
    try:
        session = session_factory(make_engine(target))()
        sc = read_scenario_from_db(session=session)
        positions = database_positions(session, sc, q)
        session.rollback()  # end the read transaction; --approve opens its own
    except LoadError as exc:
        raise _fail(f"database {target}: {exc}") from None
    except Exception as exc:  # unreachable server, missing tables: say which database
        raise _fail(f"database {target}: {exc}") from None
    return session, sc, positions, "database"


def _overlay_source(spec: str, session: Session | None, url: str | None) -> tuple[str, str]:
    """``(overlay TOML, label)`` of ``--overlay``: a file when one exists at ``spec``, else the
    overlay of that name stored in the database (``session``'s, or ``--url``'s)."""
    path = Path(spec)
    if path.is_file():
        try:
            return path.read_text(), f"({path})"
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"--overlay {spec}: {exc}") from None
    if path.suffix == ".toml" or "/" in spec:
        raise _fail(f"--overlay {spec}: no such file")
    from api.planning.service import overlay_named

    own = session is None
    target = None
    try:
        if own:
            from api.settings import load as load_settings
            from inventory.db.engine import make_engine, normalize_url, session_factory

            target = normalize_url(url or load_settings().database_url)
            session = session_factory(make_engine(target))()
        found = overlay_named(session, spec)
    except Exception as exc:  # unreachable server, missing tables: say which database
        raise _fail(f"--overlay {spec}: no such file, and the database {target or ''} cannot "
                    f"be read: {exc}") from None
    finally:
        if own and session is not None:
            session.close()
        elif session is not None:
            session.rollback()  # end the read transaction; the run reads on
    if found is None:
        raise _fail(f"--overlay {spec}: no such file, and no stored overlay of that name")
    return found["body"], f"(stored overlay, last changed by {found['updated_by']})"


def _what_if(spec: str, sc: Scenario, positions: Positions, session: Session | None,
             url: str | None) -> tuple[Scenario, Positions, tuple[str, ...], str, str]:
    """The overlaid scenario, the positions on its locations (stock at removed locations left
    out), one note per change, the overlay's text and its name (:func:`api.planning.service.
    restock_what_if`, as API runs)."""
    from api.planning.service import restock_what_if
    from scenarios.overlay import OverlayError, parse_overlay

    text, where = _overlay_source(spec, session, url)
    try:
        name = parse_overlay(text).name or Path(spec).stem
        label = f"what-if overlay {name} {where}"
        w = restock_what_if(sc, positions, text, label)
    except OverlayError as exc:
        raise _fail(f"--overlay {spec}: {exc}") from None
    console.print(label, markup=False)
    for line in w.notes:
        console.print(f"  {line.removeprefix(label + ': ')}", markup=False)
    return w.scenario, w.positions, w.notes, text, name


def _targets(plan_dir: Path, sc: Scenario, positions: Positions) -> np.ndarray:
    from optimizer.restock.run import targets_from_plan
    from optimizer.stocking.io import PlanFormatError, read_plan

    try:
        plan = read_plan(plan_dir)
        return targets_from_plan(plan, positions.part_ids, positions.location_ids)
    except (PlanFormatError, ValueError, OSError) as exc:
        raise _fail(f"--plan {plan_dir}: {exc}") from None


def _minimums(path: Path, positions: Positions) -> tuple:
    from optimizer.restock.minimums import MinimumsFormatError, read_minimums

    try:
        return read_minimums(path, positions.part_ids, positions.location_ids)
    except MinimumsFormatError as exc:
        raise _fail(f"--minimums {path}: {exc}") from None


def _cluster(spec: str | None) -> Cluster:
    """The ``--cluster`` (or ``$SPARES_DASK_SCHEDULER``), before any long work."""
    from optimizer.stocking.cluster import ClusterError, connect

    try:
        return connect(spec)
    except ValueError as exc:
        raise _fail(f"--cluster: {exc}", 2) from None
    except ClusterError as exc:
        raise _fail(f"--cluster: {exc}") from None


def _overrides(session: Session, sc: Scenario) -> object:
    """The planners' unexpired overrides in the database (the workspace's Overrides page)."""
    from datetime import UTC, datetime

    from api.planning.service import overrides_in, select_active

    try:
        return select_active(overrides_in(session, datetime.now(UTC)), sc)
    finally:
        session.rollback()  # end the read transaction; --approve opens its own


def _planner(cluster: Cluster, limits: dict | None = None
             ) -> Callable[[StockingProblem], StockingPlan]:
    """The re-plan step: the stocking solver, its per-part work on ``cluster``; ``limits``: the
    planners' min / max per (part, location), kept as solver bounds."""
    from optimizer.stocking.analysis import plan_problem
    from optimizer.stocking.bounds import LevelBounds

    def planner(problem: StockingProblem) -> StockingPlan:
        bounds = (LevelBounds.from_limits(problem.part_ids, problem.location_ids, limits)
                  if limits else None)
        return plan_problem(problem, cluster=cluster, bounds=bounds)

    return planner


def _run(sc: Scenario, positions: Positions, q: Quarter, **kw: object) -> RestockResult:
    from optimizer.restock.run import STEPS, run_restock

    with Progress(TextColumn("restock {task.description:<10}"), BarColumn(), TimeElapsedColumn(),
                  console=errors, transient=True) as bar:
        task = bar.add_task("start", total=len(STEPS))

        def progress(step: str, done: int, total: int) -> None:
            bar.update(task, completed=done, description=step)

        return run_restock(sc, positions, q, progress=progress, **kw)


def register(root: typer.Typer) -> None:
    """Attach ``spares restock`` to the root app."""
    root.command("restock")(restock)
