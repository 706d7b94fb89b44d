"""Idempotency-Key on ``POST /v1/overlays`` (issue 11), as on the other booking POSTs: a retry
with the key and the same body answers the first answer (``Idempotent-Replayed: true``, no 409
for its own name) and creates nothing; the key with another body is a 422 naming the header;
keys belong to the organization; a refusal is not stored (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import uuid

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from api.app import create_app
from api.planning.service import CREATE_OVERLAY_OPERATION
from inventory.db.planning_models import PlanningAudit, WhatIfOverlay
from tests.api.conftest import idempotency_owners
from tests.api.tenant_keys import org_key

SURGE = '[[demand]]\nfactor = 1.5\nregions = ["GZ"]\n'


@pytest.fixture
def api(api):
    with api.ctx.sessions() as session:
        for table in (PlanningAudit, WhatIfOverlay):
            session.execute(delete(table))
    return api


def create(api, body: dict, key: str | None, who: str = "planner"):
    extra = {"Idempotency-Key": key} if key else {}
    return api.client.post("/v1/overlays", json=body, headers=api.h(who, **extra))


def overlays(api) -> list[tuple[str, str]]:
    with api.ctx.sessions() as s:
        return sorted(s.execute(select(WhatIfOverlay.name, WhatIfOverlay.owner)).all())


def audit_rows(api) -> int:
    with api.ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(PlanningAudit))


def kept(api, key: str) -> list[str]:
    return idempotency_owners(api, CREATE_OVERLAY_OPERATION, key)


def test_a_retry_answers_the_first_answer_and_creates_nothing(api):
    first = create(api, {"name": "GZ surge", "body": SURGE}, "ov-1")
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    made = first.json()
    for _ in range(2):
        again = create(api, {"name": "GZ surge", "body": SURGE}, "ov-1")
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == made
        assert again.headers["location"] == first.headers["location"] == f"/v1/overlays/{made['id']}"
    assert overlays(api) == [("GZ surge", "org_default")] and audit_rows(api) == 1
    # without the key the same body is a new request: the name is taken
    assert create(api, {"name": "GZ surge", "body": SURGE}, None).status_code == 409
    # a retry after the overlay was renamed still answers the first answer
    r = api.client.put(f"/v1/overlays/{made['id']}", headers=api.h("planner"),
                       json={"name": "GZ surge renamed", "body": SURGE})
    assert r.status_code == 200
    late = create(api, {"name": "GZ surge", "body": SURGE}, "ov-1")
    assert late.status_code == 201 and late.json() == made
    assert overlays(api) == [("GZ surge renamed", "org_default")]


def test_the_key_with_another_body_is_refused_naming_the_header(api):
    assert create(api, {"name": "GZ surge", "body": SURGE}, "ov-2").status_code == 201
    for other in ({"name": "GZ surge 2", "body": SURGE},
                  {"name": "GZ surge", "body": SURGE.replace("1.5", "2")}):
        r = create(api, other, "ov-2")
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert overlays(api) == [("GZ surge", "org_default")] and audit_rows(api) == 1


def test_refusals_are_not_kept(api):
    bad = create(api, {"name": "broken", "body": '[[demand]]\nfactor = -1\nregions = ["GZ"]\n'},
                 "ov-bad")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("body.overlay")
    assert create(api, {"name": "taken", "body": SURGE}, None).status_code == 201
    assert create(api, {"name": "taken", "body": SURGE}, "ov-taken").status_code == 409
    assert kept(api, "ov-bad") == kept(api, "ov-taken") == []
    # the same keys with a good request now create (a refusal is decided again)
    assert create(api, {"name": "fixed", "body": SURGE}, "ov-bad").status_code == 201
    assert overlays(api) == [("fixed", "org_default"), ("taken", "org_default")]


def test_keys_belong_to_the_organization(api):
    org_b = org_key(api, "partner-b", "planner", as_name="b")
    mine = create(api, {"name": "A surge", "body": SURGE}, "ov-org")
    assert mine.status_code == 201
    # B's same key with A's body is B's own request: decided (the name is taken), not A's answer
    clash = create(api, {"name": "A surge", "body": SURGE}, "ov-org", who="b")
    assert clash.status_code == 409 and "idempotent-replayed" not in clash.headers
    theirs = create(api, {"name": "B surge", "body": SURGE}, "ov-org", who="b")
    assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
    assert theirs.json()["organization_id"] == org_b and theirs.json()["id"] != mine.json()["id"]
    assert sorted(kept(api, "ov-org")) == sorted(["org_default", org_b])
    # each organization's retry answers its own first answer
    assert create(api, {"name": "B surge", "body": SURGE}, "ov-org", who="b").json() == \
        theirs.json()
    assert create(api, {"name": "A surge", "body": SURGE}, "ov-org").json() == mine.json()
    assert overlays(api) == [("A surge", "org_default"), ("B surge", org_b)]


def test_concurrent_retries_create_once(api):
    app = create_app(context=api.ctx)
    start = threading.Barrier(6)
    answers = []

    def client() -> None:
        with TestClient(app) as c:
            start.wait()
            answers.append(c.post("/v1/overlays", json={"name": "race", "body": SURGE},
                                  headers=api.h("planner", **{"Idempotency-Key": "ov-race"})))

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [201] * 6  # no 409 for the retries' own name
    assert sum("idempotent-replayed" in r.headers for r in answers) == 5
    assert len({r.text for r in answers}) == 1
    assert overlays(api) == [("race", "org_default")] and audit_rows(api) == 1


REQUESTS = st.lists(st.tuples(st.sampled_from(("planner", "b")), st.sampled_from("xy"),
                              st.sampled_from((1, 2, 3))), min_size=1, max_size=8)


@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=REQUESTS)
def test_any_sequence_of_keyed_creates_answers_as_the_model_says(api, requests):
    """Per (organization, key) the first request that is not refused creates once and every
    retry of it replays its answer, the key with another body is a 422, and a refused request
    (the name taken) keeps nothing, in any order and across two organizations."""
    run = uuid.uuid4().hex[:8]  # names and keys of this example only (the database outlives it)
    if "b" not in api.keys:
        org_key(api, "partner-b", "planner", as_name="b")
    first: dict[tuple[str, str], tuple[dict, dict]] = {}
    names: set[str] = set()
    for who, key, n in requests:
        payload = {"name": f"{run} surge {n}", "body": SURGE.replace("1.5", str(n))}
        r = create(api, payload, f"{run}-{key}", who=who)
        seen = first.get((who, key))
        if seen is not None and seen[0] == payload:
            assert r.status_code == 201 and r.headers["idempotent-replayed"] == "true"
            assert r.json() == seen[1]
        elif seen is not None:
            assert r.status_code == 422
            assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"
        elif payload["name"] in names:
            assert r.status_code == 409 and "idempotent-replayed" not in r.headers
        else:
            assert r.status_code == 201 and "idempotent-replayed" not in r.headers
            first[who, key] = (payload, r.json())
            names.add(payload["name"])
    mine = sorted(name for name, _ in overlays(api) if name.startswith(run))
    assert mine == sorted(names)
