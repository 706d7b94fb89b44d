"""Cost of the observability middleware (request id, latency histogram, JSON access log) on a
trivial GET, measured side by side in one run.

Three apps on one context, called in-process through their whole ASGI stack (no sockets, so the
middleware's share is not diluted by the server): ``bare`` without the observability
middleware, ``metrics`` with it and the access log off, ``full`` with it and a JSON access log
line per request written to /dev/null through the real formatter. Rounds alternate the apps so
load changes on the machine hit all three alike; the figure is the median over rounds of each
app's mean time per request, and the ratios to ``bare``.

    python benchmarks/observability_overhead.py --requests 2000 --rounds 15 [--path /healthz]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build(tmp: Path):
    import scenarios
    from api.app import build_context, create_app
    from api.context import ApiSettings
    from api.limits import Limits
    from api.observability.middleware import ObservabilityMiddleware
    from inventory.db.migrate import upgrade

    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    ctx = build_context(ApiSettings(database_url=url, scenario=scenarios.load("tiny")))
    limits = Limits(per_key=None, per_address=None, auth_failures=None)
    os.environ["SPARES_ACCESS_LOG"] = "false"
    bare = create_app(context=ctx, limits=limits)
    bare.user_middleware = [m for m in bare.user_middleware if m.cls is not ObservabilityMiddleware]
    metrics_only = create_app(context=ctx, limits=limits)
    os.environ["SPARES_ACCESS_LOG"] = "true"
    full = create_app(context=ctx, limits=limits)
    return ctx, {"bare": bare, "metrics": metrics_only, "full": full}


async def drive(app, path: str, n: int) -> float:
    """Mean seconds per GET ``path`` over ``n`` calls of the ASGI app."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"127.0.0.1")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    status = []

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    start = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive, send)
    took = time.perf_counter() - start
    if set(status) != {200}:
        raise SystemExit(f"unexpected answers {set(status)} from {path}")
    return took / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000, help="calls per app per round")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--path", default="/healthz")
    args = ap.parse_args()

    from api.observability.logs import configure

    with open(os.devnull, "w") as sink, tempfile.TemporaryDirectory() as tmp:
        configure(level="INFO", fmt="json", stream=sink)
        ctx, apps = build(Path(tmp))
        try:
            loop = asyncio.new_event_loop()
            for app in apps.values():  # warm up: build the middleware stacks, fill caches
                loop.run_until_complete(drive(app, args.path, 200))
            per: dict[str, list[float]] = {name: [] for name in apps}
            for r in range(args.rounds):
                order = list(apps.items())
                if r % 2:
                    order.reverse()
                for name, app in order:
                    per[name].append(loop.run_until_complete(drive(app, args.path, args.requests)))
        finally:
            ctx.dispose()
    base = statistics.median(per["bare"])
    print(f"GET {args.path}, {args.requests} calls x {args.rounds} rounds per app, "
          f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    for name, values in per.items():
        med = statistics.median(values)
        print(f"{name:8s} {med * 1e6:8.1f} us/request  x{med / base:.3f}  "
              f"(+{(med - base) * 1e6:.1f} us)")


if __name__ == "__main__":
    logging.captureWarnings(True)
    main()
