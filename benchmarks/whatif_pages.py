"""Server time of the What-ifs and Overrides pages and of applying an overlay, on a scenario
(target: <= 300 ms per page on cn-telecom).

Loads the scenario into a SQLite database in ``--work``, stores one overlay (the example of
docs/what-if.md) and ``--overrides`` stock overrides changed twice each (so the audit trail has
three rows per override), logs in with a planner key and times each page ``--repeat`` times
in-process (ASGI, no socket); then times ``apply_overlay`` on the scenario.

    python benchmarks/whatif_pages.py --scenario cn-telecom --work /tmp/whatif-bench --repeat 20
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="cn-telecom")
    ap.add_argument("--work", type=Path, default=Path("/tmp/whatif-bench"))
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--overrides", type=int, default=200)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    from fastapi.testclient import TestClient
    from sqlalchemy import delete

    import scenarios
    from api.app import build_context, create_app
    from api.auth.service import create_key
    from api.context import ApiSettings
    from api.planning import service
    from inventory.db.load import load_scenario
    from inventory.db.migrate import upgrade
    from inventory.db.planning_models import PlanningAudit, StockOverride, WhatIfOverlay
    from scenarios.overlay import apply_overlay, parse_overlay

    sc = scenarios.load(args.scenario)
    url = f"sqlite:///{args.work / 'whatif.db'}"
    upgrade(url)
    ctx = build_context(ApiSettings(database_url=url, scenario=sc))
    with ctx.sessions() as session:
        load_scenario(sc, session=session, replace=True)
        for table in (PlanningAudit, StockOverride, WhatIfOverlay):
            session.execute(delete(table))
    with ctx.sessions() as session:
        key = create_key(session=session, name="bench", scopes="planner")[1]
    doc = (ROOT / "docs" / "what-if.md").read_text()
    text = re.search(r"```toml\n(.*?)```", doc, re.S).group(1)
    ov = service.save_overlay(ctx, actor="bench", name="docs example", body=text)
    pairs = [(p.part_id, d.depot_id) for p in sc.parts for d in sc.depots][:args.overrides]
    for part, loc in pairs:
        for lo in (1, 2):
            service.set_stock_override(ctx, actor="bench", part_id=part, location_id=loc,
                                       min_stock=lo, max_stock=None, reason="bench")
    service.delete_override(ctx, actor="bench", kind="stock",
                            override_id=service.list_overrides(ctx)["stock"][0]["id"],
                            reason="bench")

    pages = {
        "what-ifs list": "/what-ifs",
        "what-if page (docs example: describe, its plans)": f"/what-ifs/{ov['id']}",
        f"overrides ({len(pairs) - 1} stock overrides, audit 200 of {2 * len(pairs) + 2})":
            "/overrides",
        "audit.csv (every row)": "/overrides/audit.csv",
    }
    with TestClient(create_app(context=ctx), base_url="http://127.0.0.1") as client:
        token = re.search(r'name="login_token" value="([^"]+)"', client.get("/login").text).group(1)
        r = client.post("/login", data={"key": key, "login_token": token}, follow_redirects=False)
        assert r.status_code == 303, r.text
        print("| page | median ms | p95 ms |\n|---|---|---|")
        for label, path in pages.items():
            assert client.get(path).status_code == 200, path  # warm-up
            ms = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                assert client.get(path).status_code == 200
                ms.append(1000 * (time.perf_counter() - t))
            ms.sort()
            p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
            print(f"| {label} | {statistics.median(ms):,.0f} | {p95:,.0f} |")
    overlay = parse_overlay(text)
    ms = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        apply_overlay(sc, overlay)
        ms.append(1000 * (time.perf_counter() - t))
    print(f"apply_overlay (docs example) on {sc.name}: median {statistics.median(ms):,.0f} ms")
    ctx.dispose()


if __name__ == "__main__":
    main()
