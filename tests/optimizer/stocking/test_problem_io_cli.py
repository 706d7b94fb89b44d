import csv
import json
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

import scenarios
from api.cli.main import app
from optimizer.stocking.analysis import plan_problem
from optimizer.stocking.io import PlanFormatError, read_plan, write_plan
from optimizer.stocking.problem import build_problem


def _fake_reach(sc):
    """Primary depot (p 0.9) then the HQ (p 0.5) for every site, severity and size class."""
    keys, entries = [], []
    for site in sc.sites:
        for term in sc.contract(site.contract_id).terms:
            for size in ("small", "medium", "large"):
                keys.append((site.site_id, term.severity, size))
                entries.append(((site.primary_depot_id, 0.9), (sc.hq.depot_id, 0.5)))
    # instants: 50 % both on time, 40 % only the primary, 10 % none
    patterns = [((0.5, 0b11), (0.4, 0b01), (0.1, 0))] * len(keys)
    return SimpleNamespace(keys=keys, entries=entries, patterns=patterns, no_part_deadline=[],
                           tails=[])


def test_build_problem_conserves_demand() -> None:
    sc = scenarios.load("tiny")
    pr = build_problem(sc, _fake_reach(sc))
    total = sum(b.quantity * sc.part(b.part_id).annual_failure_rate for b in sc.installed_base)
    assert pr.stream_rate_per_year.sum() == pytest.approx(total)
    assert pr.location_ids[0] == sc.hq.depot_id and pr.parent[0] == -1
    assert set(pr.stream_pref[:, 0]) <= set(pr.stream_primary)
    # each (site, part, severity) split over its patterns: both on time (primary first), only
    # the primary on time (HQ follows as a late fall-back), none on time (both late)
    on_first = pr.stream_p_on_time[:, 0]
    assert pr.stream_rate_per_year[on_first == 1].sum() == pytest.approx(0.9 * total)
    both = (pr.stream_p_on_time[:, :2] == 1).all(axis=1)
    assert pr.stream_rate_per_year[both].sum() == pytest.approx(0.5 * total)


def test_unreachable_demand_is_kept_late() -> None:
    """A key nothing reaches keeps its demand as a stream with no on-time location (always
    late), so it counts against its class instead of vanishing."""
    sc = scenarios.load("tiny")
    fake = _fake_reach(sc)
    fake.entries[0] = ()
    fake.patterns[0] = ((1.0, 0),)
    site, sev, size = fake.keys[0]
    pr = build_problem(sc, fake)
    total = sum(b.quantity * sc.part(b.part_id).annual_failure_rate for b in sc.installed_base)
    assert pr.stream_rate_per_year.sum() == pytest.approx(total)
    assert (pr.stream_pref[:, 0] == -1).any()


def test_build_problem_carries_location_caps() -> None:
    """Depot capacities reach the problem (inf where none), and a bad cap array is refused."""
    from dataclasses import replace

    sc = scenarios.load("tiny")
    d = sc.depots[1]
    sc = replace(sc, depots=tuple(replace(x, capacity_units=7, capacity_value=1234.5)
                                  if x.depot_id == d.depot_id else x for x in sc.depots))
    pr = build_problem(sc, _fake_reach(sc))
    j = list(pr.location_ids).index(d.depot_id)
    assert pr.cap_units[j] == 7 and pr.cap_value[j] == 1234.5
    assert np.isinf(np.delete(pr.cap_units, j)).all() and pr.capped.sum() == 1
    units, value = pr.capacity_use(np.array([0, 1]), np.ones((2, pr.n_locations)))
    assert np.allclose(value[:, j], pr.unit_cost[[0, 1]]) and np.all(units == 1)
    with pytest.raises(ValueError, match="cap_units"):
        replace(pr, cap_units=np.full(pr.n_locations, -1.0))


def test_write_read_roundtrip(tmp_path) -> None:
    sc = scenarios.load("tiny")
    pr = build_problem(sc, _fake_reach(sc))
    plan = plan_problem(pr)
    write_plan(plan, tmp_path)
    back = read_plan(tmp_path)
    assert back.investment == pytest.approx(plan.investment)
    for p, j in zip(*np.nonzero(plan.levels), strict=True):
        assert back.level(pr.part_ids[p], pr.location_ids[j]) == plan.levels[p, j]
    (tmp_path / "stock_levels.csv").write_text("part_id,depot_id,base_stock,unit_cost\nA,HQ,x,1\n")
    with pytest.raises(PlanFormatError, match="stock_levels.csv:2: field 'base_stock'"):
        read_plan(tmp_path)


def test_cli_writes_files_with_columns(tmp_path) -> None:
    out = tmp_path / "plan"
    res = CliRunner().invoke(app, ["plan", "--scenario", "tiny", "--out", str(out), "--frontier"])
    assert res.exit_code == 0, res.output
    with (out / "stock_levels.csv").open() as fh:
        assert next(csv.reader(fh)) == ["part_id", "depot_id", "base_stock", "unit_cost"]
    with (out / "service.csv").open() as fh:
        assert next(csv.reader(fh)) == ["tier", "severity", "target", "predicted_on_time",
                                        "ceiling", "aimed_at", "met", "reachable"]
    with (out / "frontier.csv").open() as fh:
        assert next(csv.reader(fh)) == ["investment", "on_time", "units", "label"]
    summary = json.loads((out / "summary.json").read_text())
    for key in ("scenario", "investment", "currency", "method", "runtime_s", "bound", "gap", "baselines",
                "classes"):
        assert key in summary
    for row in summary["classes"]:
        assert {"tier", "severity", "target", "ceiling", "aimed_at", "met", "feasible"} <= set(row)
    assert {b["name"] for b in summary["baselines"]} == {"item_approach", "rule_of_thumb"}


def test_cli_rejects_unknown_scenario(tmp_path) -> None:
    res = CliRunner().invoke(app, ["plan", "--scenario", "nope", "--out", str(tmp_path)])
    assert res.exit_code == 1
