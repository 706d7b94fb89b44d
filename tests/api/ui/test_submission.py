"""The workspace's create forms carry a one-time submission token, used as the Idempotency-Key of
the person's organization (:mod:`api.ui.submit`): the same form posted twice (a double click, a
browser retry) creates one what-if, plan, design or restock run and both answers lead to it; a
new rendering of the form (a new token) creates again; a form without the token creates every
time, as before."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, func, select

from api.restock import service as restock
from api.ui import designs, plans
from api.ui.submit import REUSED
from inventory.db.planning_models import PlanningAudit, WhatIfOverlay
from inventory.db.restock_models import RestockRun
from tests.api.ui.conftest import http_login

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOKEN = re.compile(r'name="submission_token" value="([^"]+)"')
SURGE = '[[demand]]\nfactor = 1.5\nregions = ["GZ"]\n'


@pytest.fixture
def forms(api, tmp_path, monkeypatch):
    """A planner key's session; no overlays or restock runs; plans and designs go to an empty
    folder and are only queued (their computation is not run); restock runs fail at once."""
    with api.ctx.sessions(write=True) as s:
        for table in (PlanningAudit, WhatIfOverlay, RestockRun):
            s.execute(delete(table))
    monkeypatch.setenv("SPARES_PLANS_DIR", str(tmp_path / "plans"))
    monkeypatch.setattr(plans, "_run", lambda *a, **k: None)
    monkeypatch.setattr(designs, "_run", lambda *a, **k: None)
    monkeypatch.setattr(restock, "compute", lambda *a: (_ for _ in ()).throw(
        RuntimeError("not computed in this test")))
    api.client.app.state.restock_dir = tmp_path / "runs"
    assert http_login(api, api.keys["planner"]).status_code == 303
    return api


def _form(api, path: str) -> dict[str, str]:
    """The CSRF token and a fresh submission token of the form on ``path``."""
    page = api.client.get(path)
    assert page.status_code == 200, page.text[-500:]
    return {"csrf": CSRF.search(page.text).group(1),
            "submission_token": TOKEN.search(page.text).group(1)}


def _post(api, path: str, data: dict) -> str:
    r = api.client.post(path, data=data, follow_redirects=False)
    assert r.status_code == 303, r.text[-1500:]
    return r.headers["location"]


def _overlays(api) -> int:
    with api.ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(WhatIfOverlay))


def test_every_rendering_of_a_form_has_a_new_token(forms):
    for path in ("/what-ifs", "/plans", "/designs", "/restock"):
        assert _form(forms, path)["submission_token"] != _form(forms, path)["submission_token"]


def test_a_what_if_form_posted_twice_creates_one_overlay(forms):
    form = _form(forms, "/what-ifs")
    data = {**form, "name": "GZ surge", "body": SURGE}
    first = _post(forms, "/what-ifs", data)
    assert _post(forms, "/what-ifs", data) == first  # not a 409 on its own name
    assert _overlays(forms) == 1
    # the key is the API's: POST /v1/overlays with it answers the same overlay, as a replay
    r = forms.client.post("/v1/overlays", json={"name": "GZ surge", "body": SURGE},
                          headers=forms.h("planner", **{
                              "Idempotency-Key": form["submission_token"]}))
    assert r.status_code == 201 and r.headers["Idempotent-Replayed"] == "true"
    assert first == f"/what-ifs/{r.json()['id']}" and r.json()["changes"]
    # a new rendering of the form creates another
    second = _post(forms, "/what-ifs", {**_form(forms, "/what-ifs"), "name": "GZ surge 2",
                                        "body": SURGE})
    assert second != first and _overlays(forms) == 2


def test_a_what_if_token_sent_with_other_values_shows_the_form_again(forms):
    form = _form(forms, "/what-ifs")
    _post(forms, "/what-ifs", {**form, "name": "GZ surge", "body": SURGE})
    r = forms.client.post("/what-ifs", data={**form, "name": "edited", "body": SURGE})
    assert r.status_code == 422 and REUSED.replace("'", "&#39;") in r.text
    assert 'value="edited"' in r.text
    assert TOKEN.search(r.text).group(1) != form["submission_token"]
    assert _overlays(forms) == 1


def test_a_what_if_form_without_a_token_creates_as_before(forms):
    csrf = _form(forms, "/what-ifs")["csrf"]
    one = _post(forms, "/what-ifs", {"csrf": csrf, "name": "one", "body": SURGE})
    two = _post(forms, "/what-ifs", {"csrf": csrf, "name": "two", "body": SURGE})
    assert one != two and _overlays(forms) == 2


def test_a_refused_what_if_keeps_nothing_so_the_corrected_form_creates(forms):
    form = _form(forms, "/what-ifs")
    r = forms.client.post("/what-ifs", data={**form, "name": "", "body": SURGE})
    assert r.status_code == 422 and _overlays(forms) == 0
    _post(forms, "/what-ifs", {**form, "name": "named now", "body": SURGE})
    assert _overlays(forms) == 1


@pytest.mark.parametrize("path, data, listed", [
    ("/plans", {"method": "greedy", "budget": ""}, plans.list_plans),
    ("/designs", {"method": "integrated", "max_new": "1"}, designs.list_designs),
])
def test_a_job_form_posted_twice_starts_one_job(forms, path, data, listed):
    form = _form(forms, path)
    first = _post(forms, path, {**form, **data})
    assert _post(forms, path, {**form, **data}) == first
    assert [f"{path}/{j.id}" for j in listed()] == [first]
    second = _post(forms, path, {**_form(forms, path), **data})  # a new rendering
    assert second != first and len(listed()) == 2
    csrf = form["csrf"]  # without a token: a job every time, as before
    _post(forms, path, {"csrf": csrf, **data})
    _post(forms, path, {"csrf": csrf, **data})
    assert len(listed()) == 4


def test_a_job_token_sent_with_other_values_starts_nothing(forms):
    form = _form(forms, "/plans")
    _post(forms, "/plans", {**form, "method": "greedy"})
    r = forms.client.post("/plans", data={**form, "method": "greedy", "budget": "5000"})
    assert r.status_code == 422 and "sent before with other values" in r.text
    assert len(plans.list_plans()) == 1


def test_a_what_ifs_plan_form_posted_twice_starts_one_plan(forms):
    overlay = _post(forms, "/what-ifs", {**_form(forms, "/what-ifs"), "name": "GZ surge",
                                         "body": SURGE})
    form = _form(forms, overlay)
    first = _post(forms, f"{overlay}/plan", form)
    assert first.startswith("/plans/")
    assert _post(forms, f"{overlay}/plan", form) == first
    assert [j.overlay for j in plans.list_plans()] == ["GZ surge"]
    # answered as the first even after the overlay is gone (the retry of a post that worked)
    assert _post(forms, f"{overlay}/delete", {"csrf": form["csrf"]}) == "/what-ifs"
    assert _post(forms, f"{overlay}/plan", form) == first
    assert len(plans.list_plans()) == 1


def _runs(api) -> list[str]:
    with api.ctx.sessions() as s:
        return list(s.scalars(select(RestockRun.id)))


def test_a_restock_form_posted_twice_queues_one_run(forms):
    form = _form(forms, "/restock")
    data = {**form, "quarter": "2027q1", "budget": "1000"}
    first = _post(forms, "/restock", data)
    assert _post(forms, "/restock", data) == first
    assert [f"/restock/{r}" for r in _runs(forms)] == [first]
    # the key is the API's start: a retry there with the same request answers the same run
    r = forms.client.post("/v1/restock-runs", json={"quarter": "2027Q1", "budget": 1000},
                          headers=forms.h("planner", **{
                              "Idempotency-Key": form["submission_token"]}))
    assert r.status_code == 202 and r.headers["Idempotent-Replayed"] == "true"
    assert first == f"/restock/{r.json()['id']}"
    r = forms.client.post("/restock", data={**data, "quarter": "2027Q2"})
    assert r.status_code == 422 and "sent before with other values" in r.text
    second = _post(forms, "/restock", {**_form(forms, "/restock"), "quarter": "2027Q1"})
    assert second != first and len(_runs(forms)) == 2


@pytest.mark.parametrize("path", ["/what-ifs", "/plans"])
def test_a_double_click_sends_two_posts_at_once_and_creates_one(forms, path):
    """Both posts of a double click run at the same time: the second waits for the first's
    stored answer and redirects to what it created."""
    data = {**_form(forms, path), "name": "GZ surge", "body": SURGE, "method": "greedy"}
    start = threading.Barrier(2)

    def post() -> str:
        start.wait()
        return _post(forms, path, data)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: post(), range(2)))
    assert answers[0] == answers[1]
    assert (_overlays(forms) if path == "/what-ifs" else len(plans.list_plans())) == 1


def test_a_what_ifs_plan_token_sent_with_another_method_shows_the_page_again(forms):
    overlay = _post(forms, "/what-ifs", {**_form(forms, "/what-ifs"), "name": "GZ surge",
                                         "body": SURGE})
    form = _form(forms, overlay)
    _post(forms, f"{overlay}/plan", {**form, "method": "greedy"})
    r = forms.client.post(f"{overlay}/plan", data={**form, "method": "exact"})
    assert r.status_code == 422 and 'id="plan-error"' in r.text
    assert "sent before with other values" in r.text
    assert TOKEN.search(r.text).group(1) != form["submission_token"]
    assert len(plans.list_plans()) == 1
