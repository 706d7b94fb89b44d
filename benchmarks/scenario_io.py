"""Load, validate, write and generate times of scenarios.

Usage: ``python benchmarks/scenario_io.py [--repeat 5]``. Reports the median of ``--repeat`` runs
for loading the bundled scenarios, and single runs of the generator at benchmark sizes with a
write + read round trip of each generated scenario.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scenarios  # noqa: E402
from scenarios.generator import generate  # noqa: E402


def _median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print("| measure | figure | target |\n|---|---|---|")
    for name in scenarios.bundled_names():
        path = scenarios.bundled_path(name)
        mb = sum(f.stat().st_size for f in path.iterdir()) / 1e6
        s = _median_s(lambda n=name: scenarios.load(n), args.repeat)
        print(f"| `scenarios.load({name!r})` ({mb:.2f} MB of CSV) | {s:.3f} s | "
              f"{'< 2 s' if name == 'cn-telecom' else ''} |")
        s = _median_s(lambda p=path: scenarios.validate_folder(p), args.repeat)
        print(f"| `validate_folder` {name} | {s:.3f} s | |")
    for parts, depots, sites in ((5_000, 30, 3_000), (20_000, 50, 8_000)):
        t0 = time.perf_counter()
        sc = generate(parts=parts, depots=depots, sites=sites, seed=1)
        gen = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            scenarios.write_scenario(sc, tmp)
            wr = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = scenarios.read_scenario(tmp)
            rd = time.perf_counter() - t0
        assert again == sc
        label = f"{parts:,} parts x {depots} depots x {sites:,} sites ({len(sc.installed_base):,} IB rows)"
        print(f"| `generate` {label} | {gen:.2f} s | |")
        print(f"| write / read back {label} | {wr:.2f} s / {rd:.2f} s | |")


if __name__ == "__main__":
    main()
