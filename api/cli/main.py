"""The ``spares`` command: one typer app with a sub-app per command group.

Each group lives in its own module (``api/cli/<group>.py``) and exposes ``app``; commands that
are single verbs (``plan``, ``simulate``, ``restock``, ``serve``, ``demo``) register themselves on
the root app through ``register(root)``.
"""

from __future__ import annotations

import typer

from api.cli import bench, db, demo, keys, plan, restock, routes, scenario, serve, simulate, users

app = typer.Typer(
    name="spares",
    help="Service-parts planning and dispatch: stock levels, dispatch API, routing, restocking.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(scenario.app, name="scenario", help="Validate, export and generate scenarios.")
app.add_typer(db.app, name="db", help="Create the database and load scenarios into it.")
app.add_typer(keys.app, name="keys", help="Manage API keys.")
app.add_typer(keys.orgs_app, name="orgs", help="Manage organizations (the tenants owning keys).")
app.add_typer(users.app, name="users", help="Manage the planner workspace's users (passwords).")
app.add_typer(routes.app, name="routes", help="Plan multi-stop delivery runs.")
app.add_typer(bench.app, name="bench", help="Reproducible benchmarks.")
for module in (plan, simulate, restock, serve, demo):
    module.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
