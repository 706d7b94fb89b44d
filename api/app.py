"""The FastAPI application of the dispatch service: ``create_app(settings)``.

Routers are sliced by domain concept (``api/dispatches``, ``api/stock``, ``api/sla``,
``api/webhooks``, ``api/pipeline``, ``api/orders``, ...), each with models (schemas), service
(plain functions) and views (routes).
Errors are RFC 9457 problem details (:mod:`api.problems`); OpenAPI with examples is at /docs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import Depends, FastAPI, Request
from sqlalchemy import text

from api import fastjson, observability, openapi, problems
from api.auth.views import router as keys_router
from api.context import ApiSettings, AppContext, TtlCache, plan_levels
from api.dispatches.views import router as dispatches_router
from api.inputs import known_query_only
from api.limits import Limits, LimitsMiddleware
from api.orders.views import router as orders_router
from api.pipeline.views import router as pipeline_router
from api.planning.views import router as planning_router
from api.restock.service import interrupt_runs, recover_runs, runs_dir
from api.restock.views import router as restock_router
from api.routes.views import router as route_plans_router
from api.settings import load as load_settings
from api.sla.views import router as sla_router
from api.stock.views import router as stock_router
from api.ui import install as install_ui
from api.webhooks.views import router as webhooks_router
from api.webhooks.worker import WebhookWorker
from api.webhooks.worker import wall_clock as webhook_clock
from inventory.db.engine import make_engine, session_factory, snapshot_engine
from optimizer.travel import TravelNetwork


def build_context(settings: ApiSettings) -> AppContext:
    """Engine, sessions, the scenario (given or read from the database) and its models."""
    engine = make_engine(settings.database_url or load_settings().database_url,
                         json_serializer=fastjson.dumps_text, json_deserializer=fastjson.loads)
    sessions = session_factory(engine)
    scenario = settings.scenario
    if scenario is None:
        from inventory.db.load import read_scenario_from_db

        with sessions() as session:
            scenario = read_scenario_from_db(session=session)
    return AppContext(settings, engine, sessions, scenario, TravelNetwork(scenario),
                      plan_levels(scenario, settings.plan_dir),
                      snapshot_engine(engine, json_deserializer=fastjson.loads),
                      TtlCache(settings.key_cache_seconds))


def create_app(settings: ApiSettings | None = None, *, context: AppContext | None = None,
               limits: Limits | None = None) -> FastAPI:
    """The app; pass ``context`` to share one (engine, scenario) between apps in tests.
    ``limits``: body size and rate limits (default :meth:`api.limits.Limits.from_env`)."""
    settings = settings or ApiSettings()
    ctx = context or build_context(settings)
    env = load_settings()  # access log and /metrics access (SPARES_ACCESS_LOG, SPARES_METRICS)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # few request threads: each one more contends for the interpreter lock with the event
        # loop that answers /healthz and reads every request, and the database pool serves
        # only so many at once anyway
        to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        worker = WebhookWorker(ctx) if settings.webhook_worker else None
        if worker:
            worker.start()
        # restock runs a previous process left queued run now; ones it left running are failed
        recover_runs(ctx, runs_dir(getattr(app.state, "restock_dir", None)))
        try:
            yield
        finally:
            if worker:
                worker.stop()
            interrupt_runs(ctx)  # a graceful stop leaves no run marked running

    app = FastAPI(
        title="spares dispatch API",
        version="1.0",
        description=("Advance Hardware Replacement decisions for ticket systems: contract "
                     "deadlines, source and transport choice with rationing, atomic reservations, "
                     "lifecycle events, SLA compliance, stock and signed webhooks. Authenticate "
                     "with `Authorization: Bearer <key>` (`spares keys create`)."),
        lifespan=lifespan,
        dependencies=[Depends(known_query_only)],
        responses=problems.responses(400, 401, 413, 422, 429),
    )
    app.state.ctx = ctx
    app.add_middleware(LimitsMiddleware, limits=limits or Limits.from_env(), ctx=ctx)
    problems.install(app)  # after the other middleware: its error guard is outside them
    # outside the error guard: 500s it answers, and refusals of the limits, get a request id,
    # an access log line and a latency sample
    observability.install(app, ctx, access_log=env.access_log, metrics_access=env.metrics,
                          outbox_clock=webhook_clock)
    for router in (dispatches_router, stock_router, sla_router, webhooks_router, restock_router,
                   route_plans_router, pipeline_router, orders_router, keys_router,
                   planning_router):
        app.include_router(router)
    install_ui(app)  # the planners' workspace at /, offline /docs and /redoc

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up: answered on the event loop, with no database call and no wait
        for a worker thread (`/readyz` checks the database)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz(request: Request) -> Any:
        """The database answers and the scenario is loaded."""
        c: AppContext = request.app.state.ctx
        try:
            with c.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            raise problems.Problem(503, "not-ready", "Not ready",
                                   f"database unreachable: {type(exc).__name__}") from exc
        return {"status": "ready", "scenario": c.scenario.name, "depots": len(c.scenario.depots),
                "sites": len(c.scenario.sites)}

    openapi.install(app)
    return app
