"""Size of the dispatch answer on cn-telecom: the default (decision + first alternatives) against
``?expand=alternatives`` (every alternative, the answer's size before it was slimmed).

Loads the bundled ``cn-telecom`` scenario into a temporary SQLite database, creates ``--n``
dispatches for random installed (site, part) pairs through the app in process (no network),
and reads each one back with ``?expand=alternatives``.

    python benchmarks/answer_size.py --n 300
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dispatch_load import prepare  # noqa: E402


def describe(label: str, sizes: list[int]) -> str:
    q = statistics.quantiles(sizes, n=100, method="inclusive")
    return (f"{label}: mean {statistics.fmean(sizes) / 1000:.1f} kB, p50 {q[49] / 1000:.1f} kB, "
            f"p99 {q[98] / 1000:.1f} kB, max {max(sizes) / 1000:.1f} kB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300, help="dispatches to create")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    from fastapi.testclient import TestClient

    from api.cli.serve import build_app

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/size.db"
        key, pairs, mix = prepare(url, "cn-telecom")
        app = build_app(url, webhook_worker=False)
        rng = random.Random(args.seed)
        slim, full, counts = [], [], []
        auth = {"Authorization": f"Bearer {key}"}
        with TestClient(app) as client:
            for i in range(args.n):
                site, part = pairs[rng.randrange(len(pairs))]
                r = client.post("/v1/dispatches", json={
                    "ticket_id": f"SIZE-{i}", "site_id": site, "part_id": part,
                    "severity": rng.choices((1, 2, 3, 4), weights=mix)[0],
                    "reported_at": datetime.now(UTC).isoformat()},
                    headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
                assert r.status_code == 201, r.text
                slim.append(len(r.content))
                counts.append(r.json()["alternatives_total"])
                got = client.get(f"/v1/dispatches/{r.json()['id']}",
                                 params={"expand": "alternatives"}, headers=auth)
                full.append(len(got.content))
        app.state.ctx.dispose()
    print(f"cn-telecom, {args.n} dispatches; alternatives weighed: mean "
          f"{statistics.fmean(counts):.0f}, max {max(counts)}")
    print(describe("default answer (3 alternatives)", slim))
    print(describe("?expand=alternatives (all, as before)", full))


if __name__ == "__main__":
    main()
