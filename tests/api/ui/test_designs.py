"""Network designs from the workspace over HTTP (no browser): a design job run to the end and its
page against its files, downloads, bad input named and nothing queued, scopes and CSRF, unknown
designs; the plan page's frontier per class against the plan's files."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import pandas as pd
import pytest

from api.auth.service import create_key
from api.ui import designs
from tests.api.ui.conftest import http_login as _login

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def design_dir(tmp_path_factory, tiny):
    """One finished design of ``tiny`` (at most one new location) in a private plans folder."""
    folder = tmp_path_factory.mktemp("plans")
    mp = pytest.MonkeyPatch()
    mp.setenv("SPARES_PLANS_DIR", str(folder))
    job = designs.start_design(tiny, method="integrated", budget=None, max_new=1, force_open=[],
                               force_closed=[], started_by="fixture")
    deadline = time.monotonic() + 300
    while designs.get_design(job.id).status in ("queued", "running"):
        assert time.monotonic() < deadline, "the design did not finish"
        time.sleep(0.2)
    done = designs.get_design(job.id)
    assert done.status == "succeeded", done.error
    mp.undo()
    return folder, job.id


@pytest.fixture
def dui(api, design_dir, monkeypatch):
    monkeypatch.setenv("SPARES_PLANS_DIR", str(design_dir[0]))
    return api


def _table(html: str, table_id: str) -> list[list[str]]:
    body = html.split(f'<table id="{table_id}">')[1].split("</tbody>")[0].split("<tbody>")[1]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in body.split("</tr>") if "<td" in tr]


def test_the_design_job_is_listed_with_its_inputs_and_result(dui, design_dir, tiny):
    folder, design_id = design_dir
    job = designs.get_design(design_id)
    summary = json.loads((folder / "designs" / design_id / "summary.json").read_text())
    assert job.opened == summary["opened"] and len(job.opened) <= 1  # max_new honoured
    assert job.yearly_cost == pytest.approx(summary["yearly_cost"])
    _login(dui, dui.keys["planner"])
    page = dui.client.get("/designs")
    assert page.status_code == 200 and "Start design" in page.text
    row = _table(page.text, "designs")[0]
    assert row[0] == design_id and row[1] == "succeeded" and row[5] == "at most 1 new"
    assert row[6] == f"{summary['yearly_cost']:,.0f}" and row[9] == "fixture"
    # every candidate and closable depot is offered, nothing else
    offered = set(re.findall(r'<option value="([^"]+)"', page.text.split('id="dopen"')[1]
                             .split("</select>")[0]))
    assert offered == {c.candidate_id for c in tiny.candidates} | {
        d.depot_id for d in tiny.depots if d.closable}


def test_the_design_page_shows_its_files(dui, design_dir):
    folder, design_id = design_dir
    out = folder / "designs" / design_id
    _login(dui, dui.keys["viewer"] if "viewer" in dui.keys else dui.keys["planner"])
    r = dui.client.get(f"/designs/{design_id}")
    assert r.status_code == 200
    summary = json.loads((out / "summary.json").read_text())
    assert f"{summary['yearly_cost']:,.0f} {summary['currency']}" in r.text
    with (out / "design.csv").open(newline="") as fh:
        truth = list(csv.DictReader(fh))
    rows = _table(r.text, "design-locations")
    assert {x[0] for x in rows} == {t["location_id"] for t in truth}
    by_id = {x[0]: x for x in rows}
    for t in truth:
        shown = by_id[t["location_id"]]
        assert shown[4] == ("open" if t["open"] == "yes" else "closed")
        assert shown[6] == f"{int(t['units']):,}"
        assert shown[7] == f"{float(t['investment'] or 0):,.0f}"
    # open locations first, and their stock adds up to the plan's investment
    flags = [x[4] == "open" for x in rows]
    assert flags == sorted(flags, reverse=True)
    assert sum(float(t["investment"] or 0) for t in truth) == pytest.approx(summary["investment"])
    ba = pd.read_csv(out / "before_after.csv")
    classes = _table(r.text, "design-classes")
    assert len(classes) == len(ba)
    for shown, (_, t) in zip(classes, ba.iterrows(), strict=True):
        assert shown[:2] == [t["tier"], str(t["severity"])]
        assert shown[4] == f"{100 * t['after_predicted']:.2f} %"
        assert ('class="n miss"' in r.text) or (ba["met_after"] == "yes").all()
    # downloads: the files themselves
    got = dui.client.get(f"/designs/{design_id}/files/design.csv")
    assert got.status_code == 200 and got.content == (out / "design.csv").read_bytes()
    assert got.headers["content-disposition"].endswith(f'{design_id}-design.csv"')
    assert list(csv.reader(io.StringIO(got.text)))[0][0] == "location_id"


@pytest.mark.parametrize("path", ["/designs/d20991231-000000-abcdef", "/designs/../../etc",
                                  "/designs/{id}/files/job.json", "/designs/{id}/files/..%2Fjob.json",
                                  "/designs/x/job"])
def test_unknown_designs_and_files_are_404(dui, design_dir, path):
    _login(dui, dui.keys["planner"])
    assert dui.client.get(path.format(id=design_dir[1])).status_code == 404


@pytest.mark.parametrize("fields, why", [
    ({"method": "simplex"}, "Method must be one of"),
    ({"budget": "lots"}, "Yearly budget: &#39;lots&#39; is not a number"),
    ({"budget": "0"}, "positive"),
    ({"max_new": "-1"}, "At most new locations"),
    ({"max_new": "two"}, "At most new locations"),
    ({"open": "NOPE"}, "NOPE is neither a candidate nor a closable depot"),
    ({"open": "HQ-SZ"}, "HQ-SZ is neither a candidate"),
])
def test_a_bad_design_input_is_named_and_nothing_is_queued(dui, design_dir, fields, why):
    _login(dui, dui.keys["planner"])
    csrf = CSRF.search(dui.client.get("/designs").text).group(1)
    before = len(designs.list_designs())
    r = dui.client.post("/designs", data={"method": "integrated", "csrf": csrf, **fields})
    assert r.status_code == 422 and why in r.text, r.text[-2000:]
    assert len(designs.list_designs()) == before


def test_open_and_closed_both_naming_a_location_is_refused(dui, tiny):
    _login(dui, dui.keys["planner"])
    csrf = CSRF.search(dui.client.get("/designs").text).group(1)
    cand = tiny.candidates[0].candidate_id
    r = dui.client.post("/designs", data={"csrf": csrf, "open": cand, "close": cand})
    assert r.status_code == 422 and f"Open and close both name {cand}" in r.text


def test_a_viewer_and_a_missing_csrf_token_start_no_design(dui):
    with dui.ctx.sessions() as s:
        viewer = create_key(session=s, name="vera", scopes="viewer")[1]
    _login(dui, viewer)
    page = dui.client.get("/designs")
    assert page.status_code == 200 and "Start design" not in page.text
    csrf = CSRF.search(page.text).group(1)
    before = len(designs.list_designs())
    r = dui.client.post("/designs", data={"method": "integrated", "csrf": csrf})
    assert r.status_code == 403 and "planner" in r.text
    _login(dui, dui.keys["planner"])
    r = dui.client.post("/designs", data={"method": "integrated"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert len(designs.list_designs()) == before


def test_check_inputs_refuses_a_scenario_with_nothing_to_design(tiny):
    from dataclasses import replace

    bare = replace(tiny, candidates=(), depots=tuple(replace(d, closable=False) for d in tiny.depots))
    with pytest.raises(ValueError, match="nothing to design"):
        designs.check_inputs(bare, method="integrated", budget=None, max_new=None, force_open=[],
                             force_closed=[])


def test_the_plan_page_shows_the_frontier_per_class(ui, plan_dir):
    folder, plan_id = plan_dir
    truth = pd.read_csv(folder / plan_id / "frontier_classes.csv")
    overall = pd.read_csv(folder / plan_id / "frontier.csv")
    summary = json.loads((folder / plan_id / "summary.json").read_text())
    # one row per frontier point and class, the same points as the overall frontier
    assert len(truth) == len(overall) * len(summary["classes"])
    np_inv = truth.groupby("point")["investment"].first().to_numpy()
    assert list(np_inv) == pytest.approx(list(overall["investment"]))
    last = truth[truth["point"] == truth["point"].max()]
    assert last["on_time"].tolist() == pytest.approx(
        [c["predicted_on_time"] for c in summary["classes"]], abs=1e-9)
    _login(ui, ui.keys["planner"])
    r = ui.client.get(f"/plans/{plan_id}")
    rows = _table(r.text, "class-frontier-table")
    assert len(rows) == len(summary["classes"])
    assert rows[0][3 + len(overall) - 1] == f"{100 * last['on_time'].iloc[0]:.1f} %"
    assert r.text.count('class="class-frontier-chart"') == len({c["tier"] for c in summary["classes"]})
    assert "/ui/static/charts.js" in r.text


def test_an_unfinished_design_of_a_stopped_process_is_interrupted(tmp_path, monkeypatch):
    from dataclasses import asdict

    monkeypatch.setenv("SPARES_PLANS_DIR", str(tmp_path))
    job = designs.DesignJob("d20260101-000000-abcdef", "tiny", "integrated", None, None, [], [],
                            "t", "2026-01-01T00:00:00+00:00", status="running")
    (tmp_path / "designs" / job.id).mkdir(parents=True)
    (tmp_path / "designs" / job.id / "job.json").write_text(json.dumps(asdict(job)))
    assert designs.get_design(job.id).status == "interrupted"
    assert [d.id for d in designs.list_designs()] == [job.id]
    for bad in ("../x", "d20260101-000000-ABCDEF", "20260101-000000-abcdef"):
        with pytest.raises(designs.DesignNotFound):
            designs.get_design(bad)
    with pytest.raises(designs.DesignNotFound):
        designs.result(job.id)  # not finished: no design files
