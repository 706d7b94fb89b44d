"""`spares routes plan`: a depot's van runs for one day over the pending run-mode dispatches."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True)
console = Console()
errors = Console(stderr=True)

URL_HELP = "database URL (default: SPARES_DATABASE_URL or sqlite:///spares.db)"
OPTION = {"depot_id": "--depot", "date": "--date", "vans": "--vans", "capacity": "--capacity",
          "seconds": "--seconds"}


def _fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"error: {message}", markup=False)
    return typer.Exit(code)


def _clock(text: str) -> str:
    return datetime.fromisoformat(text).strftime("%H:%M")


@app.command("plan")
def plan(depot: str = typer.Option(..., "--depot", help="depot id, e.g. GZ"),
         day: str = typer.Option(..., "--date", help="local day of the runs, YYYY-MM-DD"),
         vans: int = typer.Option(3, "--vans", help="vans available that day"),
         capacity: int = typer.Option(30, "--capacity",
                                      help="load units per van (small 1, medium 3, large 10)"),
         seconds: float = typer.Option(2.0, "--seconds", help="solver time limit (s)"),
         out: Path | None = typer.Option(None, "--out", help="also write the plan as JSON here"),
         url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Plan the day's van runs (PyVRP, checked independently); flag deliveries for direct trips."""
    from api.routes.service import RoutePlanError, plan_day, plan_view
    from api.settings import load as load_settings
    from inventory.db.engine import make_engine, normalize_url, session_factory
    from inventory.db.load import read_scenario_from_db
    from optimizer.travel import TravelNetwork

    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise _fail(f"--date: {day!r} is not a date YYYY-MM-DD", 2) from None
    target = normalize_url(url or load_settings().database_url)
    engine = make_engine(target)
    try:
        with session_factory(engine)() as session:
            try:
                scenario = read_scenario_from_db(session=session)
            except Exception as exc:  # no schema, no scenario, unreachable server: say which
                raise _fail(f"database {target}: {exc}") from None
            with console.status(f"planning van runs from {depot} on {when} ..."):
                try:
                    result = plan_day(session=session, network=TravelNetwork(scenario),
                                      depot_id=depot, day=when, vans=vans, capacity=capacity,
                                      seconds=seconds)
                except RoutePlanError as exc:
                    raise _fail(f"{OPTION.get(exc.field, exc.field)}: {exc.message}", 2) from None
    finally:
        engine.dispose()
    view = plan_view(result)
    _print(view)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(view, indent=2) + "\n", encoding="utf-8")
        console.print(f"written to {out}", markup=False)


def _print(v: dict[str, Any]) -> None:
    console.print(f"van runs from {v['depot_id']} on {v['date']} ({v['timezone']}), shift "
                  f"{_clock(v['shift_start'])}-{_clock(v['shift_end'])}, {v['vans']} vans x "
                  f"{v['capacity']} load units: {v['pending']} pending deliveries", markup=False)
    for r in v["runs"]:
        t = Table("#", "dispatch", "ticket", "site", "part", "arrive", "start", "deadline",
                  "slack min", title=f"van {r['van']}: leaves {_clock(r['depart'])}, back "
                  f"{_clock(r['back'])}, {r['km']:.1f} km, load {r['load']}")
        for s in r["stops"]:
            t.add_row(str(s["seq"]), s["dispatch_id"], s["ticket_id"], s["site_id"],
                      f"{s['part_id']} x{s['quantity']}", _clock(s["arrival"]),
                      _clock(s["start"]), datetime.fromisoformat(s["deadline"])
                      .strftime("%m-%d %H:%M"), f"{s['slack_minutes']:.0f}")
        console.print(t)
    for name, rows, style in (("direct trips needed", v["direct"], "bold red"),
                              ("deferred to a later day", v["deferred"], "yellow")):
        if not rows:
            continue
        t = Table("dispatch", "ticket", "site", "part", "due", "reason", title=name,
                  title_style=style)
        for u in rows:
            t.add_row(u["dispatch_id"], u["ticket_id"], u["site_id"], u["part_id"],
                      u["due_at"] or "-", u["reason"])
        console.print(t)
    c = v["check"]
    console.print(f"{len(v['runs'])} runs, {v['total_km']:.1f} km; {len(v['direct'])} direct "
                  f"trips flagged, {len(v['deferred'])} deferred; checker: "
                  f"{'feasible' if c['feasible'] else 'INFEASIBLE'}", markup=False)
