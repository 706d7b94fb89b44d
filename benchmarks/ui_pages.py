"""Server time of the planner workspace's pages on a scenario (target: <= 300 ms per page on
cn-telecom).

Loads the scenario into a SQLite database in ``--work``, plans it once with its cost/service
frontier (per class) and designs its network once, both through the workspace's own jobs (reused
on a second run with the same ``--work``; ``--no-design`` skips the design and its page;
``--design-from DIR`` registers a design written by ``benchmarks/design.py --out DIR`` instead of
running the job, whose page renders from the same files), logs
in with a password user and times each page ``--repeat`` times in-process (ASGI, no socket: the
server's time, not the network's).

    python benchmarks/ui_pages.py --scenario cn-telecom --work /tmp/ui-bench --repeat 20
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="cn-telecom")
    ap.add_argument("--work", type=Path, default=Path("/tmp/ui-bench"))
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--no-design", action="store_true", help="skip the network design job")
    ap.add_argument("--design-from", type=Path, default=None,
                    help="a folder written by benchmarks/design.py --out, shown as the design")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ["SPARES_PLANS_DIR"] = str(args.work / "plans")

    from fastapi.testclient import TestClient

    import scenarios
    from api.app import build_context, create_app
    from api.auth.service import create_key
    from api.context import ApiSettings
    from api.ui import designs, people, plans
    from inventory.db.load import load_scenario
    from inventory.db.migrate import upgrade
    from optimizer.stocking.methods import METHODS

    sc = scenarios.load(args.scenario)
    url = f"sqlite:///{args.work / 'ui.db'}"
    upgrade(url)
    ctx = build_context(ApiSettings(database_url=url, scenario=sc))
    with ctx.sessions() as session:
        load_scenario(sc, session=session, replace=True)
    with ctx.sessions(write=True) as session:
        create_key(session=session, name="bench", scopes="planner")
        if people.find_user(session=session, username="bench") is None:
            people.create_user(session=session, username="bench", display_name="Bench",
                               password="bench password", scope="planner")

    done = [j for j in plans.list_plans()
            if j.status == "succeeded" and j.scenario == sc.name and j.frontier]
    if done:
        plan_id = done[0].id
    else:
        t0 = time.perf_counter()
        job = plans.start_plan(sc, ctx.network, method=METHODS[0], budget=None, frontier=True,
                               started_by="bench")
        while plans.get_plan(job.id).status in ("queued", "running"):
            time.sleep(1)
        got = plans.get_plan(job.id)
        if got.status != "succeeded":
            raise SystemExit(f"plan failed: {got.error}")
        plan_id = job.id
        print(f"plan {plan_id} with its frontier: {time.perf_counter() - t0:.0f} s through the "
              "workspace job")
    design_id = None
    if not args.no_design:
        made = [j for j in designs.list_designs() if j.status == "succeeded" and j.scenario == sc.name]
        if args.design_from is not None:
            design_id = register_design(args.design_from, sc.name)
        elif made:
            design_id = made[0].id
        else:
            t0 = time.perf_counter()
            job = designs.start_design(sc, method="integrated", budget=None, max_new=None,
                                       force_open=[], force_closed=[], started_by="bench")
            while designs.get_design(job.id).status in ("queued", "running"):
                time.sleep(1)
            got = designs.get_design(job.id)
            if got.status != "succeeded":
                raise SystemExit(f"design failed: {got.error}")
            design_id = job.id
            print(f"design {design_id}: {time.perf_counter() - t0:.0f} s through the workspace job")

    pages = {
        "overview /": "/",
        "plans list": "/plans",
        "plan page (first levels page)": f"/plans/{plan_id}",
        "levels page 40, by part name": f"/plans/{plan_id}/levels?sort=part_name&order=asc&page=40",
        "levels filtered (q=OTU, one location)": f"/plans/{plan_id}/levels?q=OTU&location=HQ-SZX",
        "compare (plan with itself)": f"/compare?a={plan_id}&b={plan_id}",
        "worklist": "/worklist",
        "dispatch board": "/dispatches",
        "levels.csv (all rows)": f"/plans/{plan_id}/levels.csv",
        "levels.xlsx (all rows)": f"/plans/{plan_id}/levels.xlsx",
        "designs list": "/designs",
        "restock runs": "/restock",
        "/docs": "/docs",
        "/redoc": "/redoc",
    }
    if design_id is not None:
        pages["design page"] = f"/designs/{design_id}"
    with TestClient(create_app(context=ctx), base_url="http://127.0.0.1") as client:
        token = re.search(r'name="login_token" value="([^"]+)"', client.get("/login").text).group(1)
        r = client.post("/login", data={"username": "bench", "password": "bench password",
                                        "login_token": token}, follow_redirects=False)
        assert r.status_code == 303, r.text
        print(f"{sc.name}: {len(sc.parts)} parts, {len(sc.depots)} locations, {len(sc.sites)} sites; "
              f"plan {plan_id} with {len(plans.levels(plan_id, sc)):,} level rows")
        print("| page | median ms | p95 ms | max ms |\n|---|---|---|---|")
        for name, path in pages.items():
            hx = {"HX-Request": "true"} if "levels?" in path else {}
            times = []
            for _ in range(args.repeat + 1):
                t0 = time.perf_counter()
                r = client.get(path, headers=hx)
                times.append(1000 * (time.perf_counter() - t0))
                assert r.status_code == 200, (path, r.status_code, r.text[:300])
            times = sorted(times[1:])  # the first request warms caches
            p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
            print(f"| {name} | {statistics.median(times):.0f} | {p95:.0f} | {times[-1]:.0f} |")
    ctx.dispose()


def register_design(folder: Path, scenario: str) -> str:
    """A design folder of ``benchmarks/design.py --out`` copied in as a succeeded workspace
    design job (its job.json from the summary); returns its id."""
    import json
    import secrets
    import shutil
    from dataclasses import asdict
    from datetime import UTC, datetime

    from api.ui import designs

    summary = json.loads((folder / "summary.json").read_text())
    design_id = "d" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
    target = designs.designs_dir() / design_id
    shutil.copytree(folder, target)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    job = designs.DesignJob(design_id, scenario, "integrated", None, None, [], [], "bench", now,
                            status="succeeded", progress=1.0, finished_at=now,
                            yearly_cost=summary.get("yearly_cost"),
                            currency=summary.get("currency"),
                            opened=list(summary.get("opened", [])),
                            closed=list(summary.get("closed", [])))
    (target / "job.json").write_text(json.dumps(asdict(job), indent=2))
    return design_id


if __name__ == "__main__":
    main()
