"""Cost of the request limits (api/limits.py) per request, in-process.

Wraps a trivial ASGI app (answers 200 at once) in :class:`api.limits.LimitsMiddleware` and calls
it directly, with every limit on (per key, per address, auth failures, body size) and with all
of them off, and reports the extra microseconds per request the limits cost. The rates are set
high enough that nothing is refused, so every request takes the full path (two moving-window
hits and one test). No network, no database.

    python benchmarks/request_limits.py --requests 50000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from api.limits import Limits, LimitsMiddleware


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
    args = ap.parse_args()
    on = Limits(per_key="1000000/second", per_address="1000000/second",
                auth_failures="1000000/minute")
    off = Limits(per_key=None, per_address=None, auth_failures=None)
    figures = {}
    for name, limits in (("limits off", off), ("limits on", on)):
        app = LimitsMiddleware(_ok, limits)
        runs = [asyncio.run(_run(app, args.requests)) for _ in range(args.repeats)]
        figures[name] = statistics.median(runs)
        print(f"{name}: {figures[name]:.1f} us per request (median of {args.repeats} x "
              f"{args.requests})")
    print(f"rate limits cost {figures['limits on'] - figures['limits off']:.1f} us per request")


if __name__ == "__main__":
    main()
