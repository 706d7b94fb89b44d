"""Plan jobs: ids, listing, interrupted jobs, the per-site reach, comparing two plans."""

from __future__ import annotations

import json
import os
import time

import pytest

from api.ui import compare, plans
from optimizer.reach import Reach


def _finished(tiny, **kw):
    from optimizer.travel import TravelNetwork

    job = plans.start_plan(tiny, TravelNetwork(tiny), started_by="t", **kw)
    deadline = time.monotonic() + 120
    while plans.get_plan(job.id).status in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return plans.get_plan(job.id)


@pytest.fixture(scope="module")
def two_plans(tmp_path_factory, tiny):
    mp = pytest.MonkeyPatch()
    mp.setenv("SPARES_PLANS_DIR", str(tmp_path_factory.mktemp("plans")))
    full = _finished(tiny, method="greedy", budget=None, frontier=False)
    lean = _finished(tiny, method="greedy", budget=full.investment * 0.5, frontier=False)
    yield full, lean
    mp.undo()


def test_jobs_finish_and_are_listed_newest_first(two_plans, tiny):
    full, lean = two_plans
    assert full.status == lean.status == "succeeded"
    assert full.classes == len({(c.tier, t.severity) for c in tiny.contracts for t in c.terms})
    assert lean.investment <= full.investment * 0.5 + 1e-6
    assert [j.id for j in plans.list_plans()] == [lean.id, full.id]
    assert plans.latest_plan().id == lean.id


def test_compare_deltas_add_up(two_plans, tiny):
    full, lean = two_plans
    out = compare.compare(full.id, lean.id, tiny)
    assert out["investment_delta"] == pytest.approx(lean.investment - full.investment)
    # the value changes per location add up to the investment change
    assert sum(r["delta_value"] for r in out["locations"]) == pytest.approx(out["investment_delta"])
    for c in out["classes"]:
        if c["a"] is not None and c["b"] is not None:
            assert c["delta"] == pytest.approx(c["b"] - c["a"])
    same = compare.compare(full.id, full.id, tiny)
    assert same["changed_count"] == 0 and same["investment_delta"] == 0


def test_unfinished_job_of_a_stopped_process_is_interrupted(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARES_PLANS_DIR", str(tmp_path))
    job = plans.PlanJob("20260101-000000-abcdef", "tiny", "greedy", None, False, "t",
                        "2026-01-01T00:00:00+00:00", status="running")
    (tmp_path / job.id).mkdir()
    (tmp_path / job.id / "job.json").write_text(json.dumps(job.__dict__))
    assert plans.get_plan(job.id).status == "interrupted"
    assert plans.latest_plan() is None
    for bad in ("../x", "20260101-000000-ABCDEF", "20260101-000000-abcdef/.."):
        with pytest.raises(plans.PlanNotFound):
            plans.get_plan(bad)
    with pytest.raises(plans.PlanNotFound):
        plans.summary(job.id)  # not finished: no plan files


def test_start_refuses_bad_inputs(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARES_PLANS_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="method"):
        plans.start_plan(tiny, None, method="magic", budget=None, frontier=False, started_by="t")
    with pytest.raises(ValueError, match="budget"):
        plans.start_plan(tiny, None, method="greedy", budget=0.0, frontier=False, started_by="t")
    assert list(tmp_path.iterdir()) == []


def test_site_reach_is_the_most_demanding_severity_met(tiny):
    site = tiny.sites[0]
    terms = sorted(tiny.contract(site.contract_id).terms, key=lambda t: t.severity)
    keys, entries = [], []
    # severity 1: the best location is just short of the target; severity 2: it makes it
    for term, share in ((terms[0], terms[0].target - 0.01), (terms[1], terms[1].target)):
        keys.append((site.site_id, term.severity, "small"))
        entries.append((("HQ-SZ", 0.1), ("GZ", share)))
    reach = Reach(keys, entries, [((1.0, 1),)] * len(keys), [], tiny_year(), 52, 60)
    rows = {r["site_id"]: r["reached_severity"] for r in plans.site_reach_rows(tiny, reach)}
    assert rows[site.site_id] == terms[1].severity
    assert all(rows[s.site_id] is None for s in tiny.sites[1:])  # nothing reaches them


def tiny_year():
    from datetime import date

    return date(2025, 1, 6)


def test_plans_dir_follows_the_variable(monkeypatch, tmp_path):
    """Remembered per value of SPARES_PLANS_DIR (any case), never stale when it changes."""
    for k in [k for k in os.environ if k.upper() == "SPARES_PLANS_DIR"]:
        monkeypatch.delenv(k)
    assert plans.plans_dir() == plans.load_settings().plans_dir
    monkeypatch.setenv("SPARES_PLANS_DIR", str(tmp_path / "a"))
    assert plans.plans_dir() == tmp_path / "a"
    monkeypatch.setenv("SPARES_PLANS_DIR", str(tmp_path / "b"))
    assert plans.plans_dir() == tmp_path / "b"
    monkeypatch.delenv("SPARES_PLANS_DIR")
    monkeypatch.setenv("spares_plans_dir", str(tmp_path / "c"))
    assert plans.plans_dir() == tmp_path / "c"


def test_site_reach_is_read_again_when_its_file_changes(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARES_PLANS_DIR", str(tmp_path))
    folder = tmp_path / "20270101-000000-abcdef"
    folder.mkdir()
    (folder / "job.json").write_text("{}")
    (folder / "summary.json").write_text("{}")
    path = folder / "site_reach.csv"
    path.write_text("site_id,reached_severity\nS1,1\nS2,\n")
    assert plans.site_reach(folder.name) == {"S1": 1, "S2": None}
    assert plans.site_reach(folder.name) is plans.site_reach(folder.name)  # read once
    path.write_text("site_id,reached_severity\nS1,2\nS2,3\nS3,\n")
    assert plans.site_reach(folder.name) == {"S1": 2, "S2": 3, "S3": None}
