"""API keys: 401 without or with a bad key, 403 without the scope, only hashes stored."""

from __future__ import annotations

from sqlalchemy import select

from inventory.db.dispatch_models import ApiKey
from tests.api.conftest import body


def test_missing_and_unknown_keys_are_401(api):
    r = api.client.get("/v1/dispatches")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"] == "Bearer"
    r = api.client.get("/v1/dispatches", headers={"Authorization": "Bearer spk_nope_nope"})
    assert r.status_code == 401
    assert api.client.get("/v1/dispatches", headers={"X-API-Key": api.keys["ticketing"]}
                          ).status_code == 200


def test_scopes_are_enforced(api):
    r = api.client.post("/v1/dispatches", json=body(),
                        headers=api.h("planner", **{"Idempotency-Key": "k1"}))
    assert r.status_code == 403 and "ticketing" in r.json()["detail"]
    receipt = {"depot_id": "GZ", "part_id": "FAN-T1", "quantity": 1}
    assert api.client.post("/v1/stock/receipts", json=receipt, headers=api.h()).status_code == 403
    assert api.client.post("/v1/stock/receipts", json=receipt,
                           headers=api.h("planner")).status_code == 201
    assert api.client.post("/v1/dispatches", json=body(),
                           headers=api.h("admin", **{"Idempotency-Key": "k2"})).status_code == 201


def test_only_hashes_are_stored(api):
    with api.ctx.sessions() as s:
        stored = {r.key_hash for r in s.scalars(select(ApiKey))}
    for plain in api.keys.values():
        assert plain not in stored and all(plain not in h for h in stored)
