"""Cost of the request limits (api/limits.py) per request, in-process.

Wraps a trivial ASGI app (answers 200 at once) in :class:`api.limits.LimitsMiddleware` and calls
it directly, with every limit on (per key, per address, auth failures, body size) and with all
of them off, and reports the extra microseconds per request the limits cost. The rates are set
high enough that nothing is refused, so every request takes the full path (two hits and one
test). Counted in memory, and with ``--database URL`` (repeatable; migrated first) also in that
database's shared counters (:mod:`api.ratecount`), one request after the other.

    python benchmarks/request_limits.py --requests 50000
    python benchmarks/request_limits.py --requests 2000 --database sqlite:////tmp/rl.db \
        --database postgresql+psycopg://postgres@127.0.0.1:5432/rl
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from api.context import ApiSettings, AppContext
from api.limits import Limits, LimitsMiddleware
from inventory.db.engine import make_engine, session_factory
from inventory.db.migrate import upgrade


async def _ok(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _scope(i: int) -> dict:
    key = f"spk_bench_{i % 50}".encode()  # 50 keys from 10 addresses
    return {"type": "http", "method": "GET", "path": "/v1/stock", "query_string": b"",
            "headers": [(b"authorization", b"Bearer " + key), (b"host", b"bench")],
            "client": (f"10.0.0.{i % 10}", 40000)}


async def _run(app, n: int) -> float:
    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        pass

    start = time.perf_counter()
    for i in range(n):
        await app(_scope(i), receive, send)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--database", action="append", default=[],
                    help="also count in this database (SQLAlchemy URL; migrated first)")
    args = ap.parse_args()
    rates = dict(per_key="1000000/second", per_address="1000000/second",
                 auth_failures="1000000/minute")
    runs_of = [("limits off", Limits(per_key=None, per_address=None, auth_failures=None), None),
               ("limits on, memory", Limits(**rates, storage="memory"), None)]
    contexts = []
    for url in args.database:
        ctx = _context(url)
        contexts.append(ctx)
        runs_of.append((f"limits on, {ctx.engine.dialect.name}", Limits(**rates), ctx))
    figures = {}
    for name, limits, ctx in runs_of:
        app = LimitsMiddleware(_ok, limits, ctx)
        runs = [asyncio.run(_run(app, args.requests)) for _ in range(args.repeats)]
        figures[name] = statistics.median(runs)
        print(f"{name}: {figures[name]:.1f} us per request (median of {args.repeats} x "
              f"{args.requests})")
    for name in list(figures)[1:]:
        where = name.split(", ")[1]
        print(f"rate limits ({where}) cost {figures[name] - figures['limits off']:.1f} us "
              "per request")
    for ctx in contexts:
        ctx.dispose()


def _context(url: str) -> AppContext:
    """An app context with just a database (what the counters use: its write transactions)."""
    upgrade(url)
    engine = make_engine(url)
    return AppContext(ApiSettings(database_url=url), engine, session_factory(engine),
                      None, None, None)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
