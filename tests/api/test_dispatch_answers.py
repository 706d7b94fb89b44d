"""Dispatch answers sized for the caller: the decision and the first alternatives, all of them
with ``?expand=alternatives``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from api.dispatches.models import DispatchOut
from api.dispatches.views import TOP_ALTERNATIVES, sized
from tests.api.conftest import body


@given(st.lists(st.integers(), max_size=40), st.booleans())
def test_sized_keeps_the_first_alternatives_and_counts_all(alternatives, expand) -> None:
    answer = {"id": "d", "alternatives": alternatives}
    out = sized(answer, "alternatives" if expand else None)
    assert out["alternatives_total"] == len(alternatives)
    kept = alternatives if expand else alternatives[:TOP_ALTERNATIVES]
    assert out["alternatives"] == kept
    assert answer == {"id": "d", "alternatives": alternatives}  # the stored answer untouched


def test_every_dispatch_answer_takes_expand(api) -> None:
    h = api.h(**{"Idempotency-Key": "k-1"})
    created = api.client.post("/v1/dispatches", json=body(), headers=h)
    assert created.status_code == 201, created.text
    d = created.json()
    DispatchOut.model_validate(d)
    assert d["alternatives_total"] >= len(d["alternatives"])
    assert len(d["alternatives"]) == min(d["alternatives_total"], TOP_ALTERNATIVES)
    full = api.client.get(f"/v1/dispatches/{d['id']}", params={"expand": "alternatives"},
                          headers=api.h())
    assert full.status_code == 200
    assert len(full.json()["alternatives"]) == d["alternatives_total"]
    assert full.json()["alternatives"][:TOP_ALTERNATIVES] == d["alternatives"]
    replay = api.client.post("/v1/dispatches", json=body(), headers=h,
                             params={"expand": "alternatives"})
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json()["alternatives"] == full.json()["alternatives"]
    listed = api.client.get("/v1/dispatches", params={"expand": "alternatives"},
                            headers=api.h()).json()
    assert listed["items"][0]["alternatives"] == full.json()["alternatives"]
    picked = api.client.post(f"/v1/dispatches/{d['id']}/events", params={"expand": "alternatives"},
                             json={"kind": "picked", "at": "2025-06-04T10:01:00+08:00"},
                             headers=api.h())
    assert picked.status_code == 200, picked.text
    assert picked.json()["alternatives_total"] == d["alternatives_total"]


def test_an_unknown_expand_is_a_422_naming_it(api) -> None:
    r = api.client.get("/v1/dispatches", params={"expand": "everything"}, headers=api.h())
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["query.expand"]
