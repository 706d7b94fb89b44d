"""The OpenAPI document as a client generator reads it: security, required headers,
problem+json for every error, examples that hold for the scenario the server has loaded."""

from __future__ import annotations

from typing import Any

import pytest

import scenarios
from api.app import build_context, create_app
from api.context import ApiSettings
from api.dispatches.models import DispatchCreate, DispatchOut
from api.openapi import ID_KEYS, id_mapper, rewrite_ids
from tests.api.conftest import NOW

PROBLEM = "application/problem+json"


def _operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield path, method, op


def _id_values(node: Any):
    """(field, value) of every id field anywhere in ``node``."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ID_KEYS and isinstance(v, str):
                yield k, v
            else:
                yield from _id_values(v)
    elif isinstance(node, list):
        for v in node:
            yield from _id_values(v)


def _examples(doc: dict[str, Any]) -> list[Any]:
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("example", "examples"):
                    found.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return found


def _known(sc) -> dict[str, set[str]]:
    return {"sites": {s.site_id for s in sc.sites}, "parts": {p.part_id for p in sc.parts},
            "depots": {d.depot_id for d in sc.depots} | {"supplier"}}


@pytest.fixture
def doc(api) -> dict[str, Any]:
    r = api.client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def test_security_scheme_on_every_v1_operation(doc) -> None:
    scheme = doc["components"]["securitySchemes"]["apiKey"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    for path, method, op in _operations(doc):
        if path.startswith("/v1/"):
            assert op.get("security") == [{"apiKey": []}], (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)
        else:
            assert "security" not in op, (method, path)


def test_every_error_answer_is_problem_json(doc) -> None:
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    for path, method, op in _operations(doc):
        assert "500" in op["responses"], (method, path)
        for code, answer in op["responses"].items():
            if code[0] in "45":
                assert answer["content"] == {PROBLEM: {"schema": {
                    "$ref": "#/components/schemas/Problem"}}}, (method, path, code)


def test_idempotency_key_documented_as_required_and_enforced(api, doc) -> None:
    params = doc["paths"]["/v1/dispatches"]["post"]["parameters"]
    key = next(p for p in params if p["name"] == "Idempotency-Key")
    assert key["in"] == "header" and key["required"] is True
    r = api.client.post("/v1/dispatches", json=_create_example(doc), headers=api.h())
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert [e["field"] for e in r.json()["errors"]] == ["header.Idempotency-Key"]


def _create_example(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"]["DispatchCreate"]["examples"][0]


def test_examples_use_ids_of_the_loaded_scenario(api, doc, tiny) -> None:
    known = _known(tiny)
    for field, value in _id_values(_examples(doc)):
        assert value in known[ID_KEYS[field]], (field, value)


def test_the_create_example_is_accepted_and_answered_like_the_answer_example(api, doc) -> None:
    request = _create_example(doc)
    answer = doc["components"]["schemas"]["DispatchOut"]["examples"][0]
    DispatchCreate.model_validate(request)
    DispatchOut.model_validate(answer)
    assert (answer["site_id"], answer["part_id"]) == (request["site_id"], request["part_id"])
    r = api.client.post("/v1/dispatches", json=request, headers=api.h(**{"Idempotency-Key": "ex"}))
    assert r.status_code == 201, r.text
    got = r.json()
    # the server's clock is pinned to the example's reported_at, and the stock is the opening
    # stock, so the served decision is the documented one
    for key in ("status", "tier", "source_depot_id", "mode_id", "eta", "cost", "deadline"):
        assert got[key] == answer[key], key


@pytest.mark.slow
def test_examples_follow_a_loaded_cn_telecom(migrated_url) -> None:
    sc = scenarios.load("cn-telecom")
    ctx = build_context(ApiSettings(database_url=migrated_url, scenario=sc, clock=lambda: NOW))
    try:
        doc = create_app(context=ctx).openapi()
    finally:
        ctx.dispose()
    known = _known(sc)
    values = list(_id_values(_examples(doc)))
    assert len(values) > 20
    for field, value in values:
        assert value in known[ID_KEYS[field]], (field, value)
    answer = doc["components"]["schemas"]["DispatchOut"]["examples"][0]
    assert len(answer["alternatives"]) <= 3 <= answer["alternatives_total"]


def test_id_mapper_keeps_known_ids_and_maps_the_rest_consistently(tiny) -> None:
    sc = scenarios.load("cn-telecom")
    to_cn, to_tiny = id_mapper(sc, tiny), id_mapper(tiny, tiny)
    known = _known(sc)
    for table, ids in (("sites", [s.site_id for s in tiny.sites]),
                       ("parts", [p.part_id for p in tiny.parts]),
                       ("depots", [d.depot_id for d in tiny.depots])):
        field = {"sites": "site_id", "parts": "part_id", "depots": "depot_id"}[table]
        mapped = [to_cn(field, v) for v in ids]
        assert all(m in known[table] for m in mapped)
        assert mapped == [to_cn(field, v) for v in ids]  # the same id maps the same way
        assert [to_tiny(field, v) for v in ids] == ids  # ids the scenario has stay
    hq = next(d for d in tiny.depots if str(d.kind).endswith("hq"))
    assert str(sc.depot(to_cn("depot_id", hq.depot_id)).kind).endswith("hq")
    assert to_cn("from_id", "supplier") == "supplier"
    nested = rewrite_ids({"a": [{"site_id": "GZ-01", "note": "GZ-01"}]}, to_cn)
    assert nested["a"][0]["note"] == "GZ-01" and nested["a"][0]["site_id"] in known["sites"]
