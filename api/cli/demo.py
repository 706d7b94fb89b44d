"""`spares demo`: the main job end to end on the embedded default (SQLite, bundled scenario).

Creates or refreshes the database (schema by Alembic, the scenario reloaded with its opening
stock, dispatch-side rows of an earlier demo cleared), prints a summary of the network, plans the
stock levels with the stocking optimizer (with candidate locations: the network design, opened
forward locations loaded and stocked to plan), writes the plan next to the database (the folder the
API reads its rationing critical levels from, ``spares serve --plan``), creates API keys and serves
the API with a ready-to-paste curl example. ``--no-serve`` stops before serving.
"""

from __future__ import annotations

import shlex
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from inventory.domain import Scenario, SeverityTerm
    from optimizer.design.plan import DesignPlan
    from optimizer.dispatch.rationing import CriticalLevels
    from optimizer.stocking.result import StockingPlan

console = Console()
errors = Console(stderr=True)

KEEP_TABLES = frozenset({"organizations", "api_keys", "webhook_subscriptions"})
"""Service tables a refresh keeps (the organizations with their keys); the others (dispatches,
their events, orders, outbox, restock runs) refer to stock of the previous load and are cleared
with it."""
EXAMPLE_TRIES = 200
"""(site, part) pairs tried for a curl example the service answers on time."""


def _fail(message: str) -> typer.Exit:
    errors.print(f"error: {message}", markup=False)
    return typer.Exit(1)


def demo(db: Path = typer.Option(Path("spares.db"), "--db", help="SQLite database file "
                                 "(created, or refreshed if it exists)", dir_okay=False),
         scenario: str = typer.Option("cn-telecom", "--scenario",
                                      help="bundled scenario name or scenario folder"),
         serve: bool = typer.Option(True, "--serve/--no-serve",
                                    help="serve the API at the end (--no-serve: stop after "
                                         "printing)"),
         host: str = typer.Option("127.0.0.1", "--host", help="interface to bind"),
         port: int = typer.Option(8000, "--port", min=1, max=65535)) -> None:
    """Load a scenario into SQLite, summarise the network, plan stock levels, serve the API."""
    import scenarios
    from api.cli.serve import ServeError, bind
    from inventory.db.engine import make_engine, session_factory
    from inventory.db.migrate import upgrade
    from inventory.domain import DomainError

    db = db.expanduser().resolve()
    url = f"sqlite:///{db}"
    plan_dir = db.with_name(f"{db.stem}-plan")
    try:  # the port is taken now, not after minutes of planning
        sock = bind(host, port) if serve else None
    except ServeError as exc:
        raise _fail(str(exc)) from None
    try:
        sc = scenarios.load(scenario)
    except (scenarios.ScenarioFormatError, DomainError, OSError) as exc:
        raise _fail(f"--scenario {scenario}: {exc}") from None
    existed = db.exists()
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        with console.status(f"migrating {url} ..."):
            upgrade(url)
    except Exception as exc:  # unwritable folder, not a database file, ...
        raise _fail(f"--db {db}: cannot create or migrate the database: {exc}") from None
    engine = make_engine(url)
    try:
        sessions = session_factory(engine)
        with console.status(f"loading {sc.name} into {db.name} ..."), sessions() as session, \
                session.begin():
            cleared = _refresh(session, sc)
        verb = "refreshed" if existed else "created"
        console.print(f"{verb} {db} with scenario {sc.name!r}"
                      + (f" ({cleared} dispatch-side rows of the previous load cleared)"
                         if cleared else ""), markup=False, soft_wrap=True)
        with sessions() as session:
            stock_value = _stock_value(session, sc)
        _summary(sc, stock_value)
        opened: list[str] = []
        if sc.candidates:
            design = _design(sc)
            _print_design(design, stock_value)
            plan, opened = design.plan, design.opened
            sc = stocked_design(design)
            with console.status(f"loading the designed network into {db.name} ..."), \
                    sessions() as session, session.begin():
                _refresh(session, sc)
            console.print(f"loaded the designed network: {len(opened)} forward location(s) "
                          "opened and stocked to plan", markup=False)
        else:
            plan = _plan(sc)
            _print_plan(plan, stock_value)
        from optimizer.stocking.io import write_plan

        write_plan(plan, plan_dir)
        console.print(f"plan written to {plan_dir}: the API rations stock by these levels "
                      f"(spares serve --plan {plan_dir})", markup=False, soft_wrap=True)
        with sessions() as session, session.begin():
            keys = _keys(session)
    finally:
        engine.dispose()
    _curl(sc, keys, host, port, plan_dir, prefer=set(opened))
    if sock is None:
        return
    from api.cli.serve import run

    try:
        run(url, host, port, plan=plan_dir, sock=sock)
    except ServeError as exc:
        raise _fail(str(exc)) from None


def _refresh(session: Session, sc: Scenario) -> int:
    """Load ``sc`` (replacing a loaded scenario) after clearing dispatch-side rows; returns how
    many rows were cleared."""
    from sqlalchemy import delete

    from inventory.db import models
    from inventory.db.base import all_metadata
    from inventory.db.load import load_scenario

    scenario_tables = {m.__table__.name for m in vars(models).values()
                       if isinstance(m, type) and hasattr(m, "__table__")}
    cleared = 0
    for table in reversed(all_metadata().sorted_tables):
        if table.name not in scenario_tables and table.name not in KEEP_TABLES:
            cleared += session.execute(delete(table)).rowcount or 0
    load_scenario(sc, session=session, replace=True)
    return cleared


def _stock_value(session: Session, sc: Scenario) -> float:
    """Value of the stock on hand in the ledger, in the scenario currency."""
    from inventory import ledger

    return float(sum(b.on_hand * sc.part(b.part_id).unit_cost
                     for b in ledger.balances(session=session)))


def _window(t: SeverityTerm) -> str:
    if t.window_kind.value == "hours":
        return f"{t.window_value:g} h"
    n = int(t.window_value) if float(t.window_value).is_integer() else t.window_value
    return "next business day" if n == 1 else f"{n} business days"


def _summary(sc: Scenario, stock_value: float) -> None:
    hq = sc.hq
    net = Table("", "", title=f"Network of {sc.name!r}", show_header=False)
    net.add_row("HQ spare-parts center", f"{hq.name} ({hq.depot_id}, {hq.timezone})")
    for kind in ("regional", "partner"):
        names = [d.depot_id for d in sc.depots if d.kind.value == kind]
        net.add_row(f"{kind} depots", f"{len(names)}" + (f": {', '.join(names[:8])}" if names
                                                        else "")
                    + (", ..." if len(names) > 8 else ""))
    customers = {s.customer for s in sc.sites}
    zones = {s.timezone for s in sc.sites}
    net.add_row("customer sites", f"{len(sc.sites)} of {len(customers)} customers in "
                f"{len(zones)} time zone(s)")
    costs = [p.unit_cost for p in sc.parts]
    repairable = sum(p.repairable for p in sc.parts)
    net.add_row("parts", f"{len(sc.parts)} ({repairable} repairable), unit cost "
                f"{min(costs):,.0f}-{max(costs):,.0f} {sc.currency}")
    net.add_row("installed base", f"{sum(b.quantity for b in sc.installed_base):,} units")
    net.add_row("transport modes", ", ".join(f"{m.mode_id} ({m.kind.value})"
                                             for m in sc.transport_modes))
    net.add_row("stock on hand", f"{stock_value:,.0f} {sc.currency}")
    console.print(net)
    sites = Counter(s.contract_id for s in sc.sites)
    ct = Table(title="Contracts and their window dialects (milestone, clock start, coverage, "
                     "cut-off)")
    for name in ("contract", "sev", "window", "target"):
        ct.add_column(name, max_width=10)
    ct.add_column("dialect", min_width=24)
    for c in sc.contracts:
        head = [c.contract_id, c.tier, f"{sites.get(c.contract_id, 0)} sites"]
        for n, t in enumerate(sorted(c.terms, key=lambda t: t.severity)):
            dialect = (f"{t.milestone.value.replace('_', ' ')}, from "
                       f"{t.clock_start.value.replace('_', ' ')}, {t.coverage.format()}"
                       + (f", cut-off {t.cutoff:%H:%M}" if t.cutoff else ""))
            ct.add_row(head[n] if n < len(head) else "", str(t.severity), _window(t),
                       f"{t.target:.0%}", dialect, end_section=n == len(c.terms) - 1)
    console.print(ct)
    dialects = {(t.milestone, t.clock_start, t.coverage.always, t.window_kind)
                for c in sc.contracts for t in c.terms}
    console.print(f"{len(dialects)} window dialects in use (milestone, clock start, coverage, "
                  "window kind)", markup=False)


def _plan(sc: Scenario) -> StockingPlan:
    from optimizer.stocking.analysis import plan_scenario

    with Progress(TextColumn("planning stock levels {task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(sc.name, total=1.0)
        try:
            return plan_scenario(sc, with_baselines=False,
                                 progress=lambda f: bar.update(task, completed=f))
        except ValueError as exc:
            raise _fail(f"planning {sc.name} failed: {exc}") from None


def _design(sc: Scenario) -> DesignPlan:
    from optimizer.design.plan import plan_design

    with Progress(TextColumn("designing the network and stock levels {task.description}"),
                  BarColumn(), TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(sc.name, total=1.0)
        try:
            return plan_design(sc, with_before=False,
                               progress=lambda f: bar.update(task, completed=f))
        except ValueError as exc:
            raise _fail(f"designing {sc.name} failed: {exc}") from None


def stocked_design(design: DesignPlan) -> Scenario:
    """The designed scenario with its opened locations stocked to the plan's levels (they have
    no opening stock of their own)."""
    from dataclasses import replace

    from inventory.domain import StockRecord

    plan, opened = design.plan, set(design.opened)
    extra = tuple(StockRecord(str(plan.location_ids[j]), str(plan.part_ids[p]),
                              int(plan.levels[p, j]))
                  for p, j in zip(*plan.levels.nonzero(), strict=True)
                  if str(plan.location_ids[j]) in opened)
    return replace(design.designed, stock=design.designed.stock + extra)


def _print_design(design: DesignPlan, stock_value: float) -> None:
    plan, chosen = design.plan, design.chosen
    if design.before is None:  # what no stock on the existing network can exceed
        from optimizer.stocking.targets import class_ceiling

        before = class_ceiling(design.problem.stocking, ~design.problem.is_candidate)
        label = "existing network at best"
    else:
        before, label = design.before.plan.class_on_time, "existing network"
    t = Table("tier", "severity", "target", label, "with the design", "",
              title=f"Network design and stock levels ({design.runtime_s:.0f} s)")
    for c in range(len(plan.class_tier)):
        target, got = float(plan.class_target[c]), float(plan.class_on_time[c])
        was = float(before[c])
        met = "-" if target != target or got != got else ("met" if got >= target - 1e-9
                                                          else "[red]below[/]")
        t.add_row(str(plan.class_tier[c]), str(plan.class_severity[c]),
                  "-" if target != target else f"{target:.1%}", "-" if was != was else f"{was:.2%}",
                  "-" if got != got else f"{got:.2%}", met)
    console.print(t)
    kinds = Counter(str(design.problem.kind[j]) for j, x in enumerate(design.problem.location_ids)
                    if str(x) in set(design.opened))
    console.print(f"opened {len(design.opened)} forward location(s) ("
                  + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + "); yearly cost "
                  f"{chosen.yearly_cost:,.0f} {plan.currency} = fixed {chosen.fixed_cost:,.0f} + "
                  f"{design.problem.carrying_rate:.0%} of {plan.investment:,.0f} stock "
                  f"(stock on hand today {stock_value:,.0f})", markup=False)
    for note in plan.notes:
        console.print(f"  note: {note}", markup=False)


def _print_plan(plan: StockingPlan, stock_value: float) -> None:
    t = Table("tier", "severity", "target", "predicted on time", "", title=(
        f"Stock-level plan ({plan.method}, {plan.runtime_s:.1f} s)"))
    for c in range(len(plan.class_tier)):
        target, got = float(plan.class_target[c]), float(plan.class_on_time[c])
        met = "-" if target != target or got != got else ("met" if got >= target - 1e-9
                                                          else "[red]below[/]")
        t.add_row(str(plan.class_tier[c]), str(plan.class_severity[c]),
                  "-" if target != target else f"{target:.1%}", "-" if got != got else f"{got:.2%}",
                  met)
    console.print(t)
    console.print(f"investment {plan.investment:,.0f} {plan.currency} in {plan.units:,} units "
                  f"(stock on hand today {stock_value:,.0f} {plan.currency}); overall on time "
                  f"{plan.overall_on_time:.2%}", markup=False)
    for note in plan.notes:
        console.print(f"  note: {note}", markup=False)


def _keys(session: Session) -> dict[str, str]:
    from api.auth.service import create_key

    return {scope: create_key(session=session, name=f"demo-{scope}", scopes=scope)[1]
            for scope in ("ticketing", "planner")}


def _example_request(sc: Scenario, now: datetime, levels: CriticalLevels | None = None,
                     prefer: set[str] | None = None) -> tuple[str, str, str]:
    """A platinum (else best-tier) site and installed part whose severity-1 request, made now,
    the decision rule (rationed by ``levels``) serves on time from the opening stock, from a
    location of ``prefer`` (the opened forward locations) when one does; returns (site_id,
    part_id, expected outcome). Falls back to the first platinum pair when none is on time."""
    from optimizer.dispatch.decide import decide
    from optimizer.dispatch.result import DispatchRequest, Outcome
    from optimizer.travel import TravelNetwork

    installed = sorted({(b.site_id, b.part_id) for b in sc.installed_base})
    rank = {s.site_id: sc.contract(s.contract_id).tier != "platinum" for s in sc.sites}
    pairs = sorted(installed, key=lambda sp: (rank[sp[0]], sp))
    if not pairs:
        return sc.sites[0].site_id, sc.parts[0].part_id, "no installed base to ask for"
    free = {(r.depot_id, r.part_id): r.on_hand for r in sc.stock if r.on_hand > 0}
    network = TravelNetwork(sc)
    prefer = prefer or set()
    if prefer:  # first the platinum sites a forward location serves
        served = {s.site_id for s in sc.sites for d in prefer if sc.depot(d).serves(s)
                  and network.road_km[network.depot_index[d], network.site_index[s.site_id]] < 150}
        pairs = sorted(pairs, key=lambda sp: (rank[sp[0]], sp[0] not in served, sp))
    first = None
    for site_id, part_id in pairs[:EXAMPLE_TRIES]:
        decision = decide(DispatchRequest(site_id, part_id, 1, now), scenario=sc,
                          network=network, free_stock=free, levels=levels)
        if decision.outcome == Outcome.ON_TIME:
            found = (site_id, part_id, f"expected: on time from {decision.chosen.depot_id} by "
                                       f"{decision.chosen.mode_id}")
            if not prefer or decision.chosen.depot_id in prefer:
                return found
            first = first or found
    if first is not None:
        return first
    site_id, part_id = pairs[0]
    return site_id, part_id, "expected: at risk (no pair tried could be served on time now)"


def _curl(sc: Scenario, keys: dict[str, str], host: str, port: int, plan_dir: Path,
          prefer: set[str] | None = None) -> None:
    from zoneinfo import ZoneInfo

    from api.context import plan_levels

    utc_now = datetime.now(UTC).replace(microsecond=0)
    site_id, part, expected = _example_request(sc, utc_now, plan_levels(sc, plan_dir), prefer)
    site = sc.site(site_id)
    now = utc_now.astimezone(ZoneInfo(site.timezone))
    body = (f'{{"ticket_id": "INC-1001", "site_id": "{site.site_id}", "part_id": "{part}", '
            f'"severity": 1, "reported_at": "{now.isoformat()}"}}')
    base = f"http://{host}:{port}"
    console.print("API keys created (stored hashed, shown once):", markup=False)
    for scope, key in keys.items():
        typer.echo(f"  {scope:<9} {key}")
    console.print(f"Ask for a replacement {part} at {site.name} ({site.site_id}), severity 1 "
                  f"({expected}):", markup=False)
    typer.echo(f"curl -s -X POST {base}/v1/dispatches \\\n"
               f"  -H 'Authorization: Bearer {keys['ticketing']}' \\\n"
               f"  -H 'Idempotency-Key: demo-1001' -H 'Content-Type: application/json' \\\n"
               f"  -d {shlex.quote(body)}")
    console.print(f"OpenAPI docs: {base}/docs", markup=False)


def register(root: typer.Typer) -> None:
    """Attach ``spares demo`` to the root app."""
    root.command("demo")(demo)
