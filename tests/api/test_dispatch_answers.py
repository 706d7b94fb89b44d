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


def _decisions(n: int):
    """(request body, decision, ready time) for ``n`` random cn-telecom requests on the opening
    stock, each with more alternatives than an answer shows by default."""
    import random
    from datetime import UTC, datetime, timedelta

    import scenarios
    from optimizer.dispatch import DispatchRequest, critical_levels, decide
    from optimizer.travel import TravelNetwork

    sc = scenarios.load("cn-telecom")
    net, levels = TravelNetwork(sc), critical_levels(sc)
    free = {(s.depot_id, s.part_id): s.on_hand for s in sc.stock}
    pairs = sorted({(b.site_id, b.part_id) for b in sc.installed_base})
    rng = random.Random(7)
    out = []
    while len(out) < n:
        site, part = pairs[rng.randrange(len(pairs))]
        at = datetime(2025, 6, 4, 2, 0, 17, 123456, tzinfo=UTC) + timedelta(minutes=rng.randrange(20000))
        req = DispatchRequest(site, part, rng.choice((1, 2, 3, 4)), at)
        ready = at + timedelta(minutes=rng.randrange(90), microseconds=rng.randrange(10**6))
        dec = decide(req, scenario=sc, network=net, free_stock=free, levels=levels, ready_at=ready)
        if len(dec.alternatives) > TOP_ALTERNATIVES:
            out.append((body(site_id=site, part_id=part, severity=req.severity,
                             reported_at=at.isoformat()), dec, ready))
    return net, out


def test_stored_answers_keep_every_alternative_and_expand_renders_them_as_decided() -> None:
    """The compact alternatives of a stored answer expand to exactly what rendering every option
    in full gives (instants to the microsecond, route texts rebuilt from the network); the
    stored answer itself carries only the first ones in full and never shows the compact key."""
    from datetime import UTC, datetime

    import orjson

    from api.dispatches import render
    from api.dispatches.models import DispatchCreate

    net, cases = _decisions(25)
    now = datetime(2025, 6, 4, 3, 0, tzinfo=UTC)
    for raw, dec, ready in cases:
        stored = render.create_answer("dsp_t", DispatchCreate(**raw), dec, ready, now)
        stored = orjson.loads(orjson.dumps(stored))  # as the JSON column gives it back
        assert len(stored["alternatives"]) == TOP_ALTERNATIVES
        full = [render.option_out(o) for o in dec.alternatives]
        expanded = sized(stored, "alternatives", net)
        assert expanded["alternatives"] == full
        assert expanded["alternatives_total"] == len(full)
        assert render.MORE not in expanded
        short = sized(stored, None, net)
        assert short["alternatives"] == full[:TOP_ALTERNATIVES] and render.MORE not in short
        DispatchOut.model_validate(expanded)
