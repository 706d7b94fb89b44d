"""The create's lean route: a well-formed create is parsed once and answered without FastAPI's
parameter machinery, on the event loop while the SQLite writer is free; everything else is
answered by FastAPI's handler of the same declaration, and the OpenAPI operation is the
declaration's."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.app import create_app
from api.dispatches import views
from api.dispatches.models import DispatchCreate, DispatchOut
from api.limits import Limits
from inventory.db.engine import SQLITE_BUSY_TIMEOUT_MS, WriterBusy, sqlite_file
from tests.api.conftest import body

PATH = "/v1/dispatches"


def _declared_only(monkeypatch) -> None:
    async def decline(request: Any) -> None:
        return None

    monkeypatch.setattr(views, "lean_create", decline)


def test_the_operation_is_the_one_fastapi_derives_from_the_declaration() -> None:
    """The same endpoint on a plain APIRoute gives the same OpenAPI operation and schemas."""
    lean = next(r for r in views.router.routes if getattr(r, "path", "") == PATH
                and "POST" in r.methods)
    assert isinstance(lean, views.LeanCreateRoute)
    plain = APIRouter(prefix=PATH, tags=["dispatches"])
    plain.add_api_route("", lean.endpoint, methods=["POST"], status_code=201,
                        response_model=DispatchOut, responses=lean.responses,
                        summary=lean.summary)
    docs = []
    for router in (plain, views.router):
        app = FastAPI()
        app.include_router(router)
        docs.append(app.openapi())
    assert docs[0]["paths"][PATH]["post"] == docs[1]["paths"][PATH]["post"]
    schemas = docs[0]["components"]["schemas"]
    assert {"DispatchCreate", "DispatchOut"} <= set(schemas)
    assert all(docs[1]["components"]["schemas"][name] == schema
               for name, schema in schemas.items())


def test_the_served_document_describes_body_parameters_and_answers(api) -> None:
    op = api.client.get("/openapi.json").json()["paths"][PATH]["post"]
    assert op["requestBody"]["required"] is True
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DispatchCreate"}
    params = {p["name"]: p for p in op["parameters"]}
    assert params["Idempotency-Key"]["in"] == "header" and params["Idempotency-Key"]["required"]
    assert params["Idempotency-Key"]["schema"]["maxLength"] == 255
    assert params["expand"]["in"] == "query" and not params["expand"].get("required")
    assert op["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DispatchOut"}
    assert {"401", "403", "409", "422"} <= set(op["responses"])


def _refusals(api) -> list[tuple[str, dict[str, str], bytes]]:
    """(query, headers, body) of requests the create refuses, each for another reason."""
    good = json.dumps(body()).encode()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    js = {"content-type": "application/json"}
    auth = {**api.h(), **js, **key}
    return [
        ("", auth, b"{"),                                                  # not JSON
        ("", auth, b""),                                                   # no body
        ("", auth, json.dumps(body(severity="1")).encode()),              # a string severity
        ("", auth, json.dumps({**body(), "extra": 1}).encode()),          # unknown field
        ("", auth, json.dumps(body(reported_at=1749000000)).encode()),    # epoch instant
        ("", auth, json.dumps(body(site_id="nowhere")).encode()),         # unknown site
        ("", auth, json.dumps(body(reported_at="2099-01-01T00:00:00Z")).encode()),  # future
        ("", auth, json.dumps(body(ticket_id=" padded")).encode()),       # padded id
        ("", auth, b'{"severity": 1, "severity": "x"}'),                  # duplicate keys
        ("foo=1", auth, good),                                             # unknown query
        ("expand=everything", auth, good),                                 # bad expand
        ("expand=alternatives&expand=alternatives", auth, good),           # repeated
        ("", {**api.h(), **js}, good),                                     # no key
        ("", {**api.h(), **js, "Idempotency-Key": "has space"}, good),     # bad key
        ("", {**api.h(), **js, "Idempotency-Key": "k" * 256}, good),       # long key
        ("", {**api.h(), "content-type": "text/plain", **key}, good),      # not JSON type
        ("", {**api.h(), **key}, good),                                    # no content type
        ("", {**js, **key}, good),                                         # no API key
        ("", {**js, **key}, b"{"),                                         # no API key, bad JSON
        ("", {**api.h("planner"), **js, **key}, good),                     # lacks the scope
        ("", {"Authorization": "Bearer spk_nope_nope", **js, **key}, good),  # unknown key
    ]


def _answers(api, requests) -> list[tuple[int, str, Any]]:
    out = []
    for query, headers, content in requests:
        r = api.client.post(f"{PATH}?{query}" if query else PATH, content=content,
                            headers=headers)
        out.append((r.status_code, r.headers["content-type"], r.json()))
    return out


def test_every_refusal_is_the_declared_handlers(api, monkeypatch) -> None:
    requests = _refusals(api)
    lean = _answers(api, requests)
    _declared_only(monkeypatch)
    declared = _answers(api, requests)
    assert lean == declared
    assert all(status >= 400 for status, _, _ in lean)
    fields = [a[2].get("errors", [{}])[0].get("field") for a in lean if a[0] == 422]
    assert "header.Idempotency-Key" in fields and "body.severity" in fields
    assert "query.foo" in fields and "body.site_id" in fields


def test_a_well_formed_create_takes_the_lean_path_and_answers_as_declared(api,
                                                                          monkeypatch) -> None:
    taken: list[bool] = []
    real = views.lean_create

    async def spy(request: Any) -> Any:
        answer = await real(request)
        taken.append(answer is not None)
        return answer

    monkeypatch.setattr(views, "lean_create", spy)
    key = uuid.uuid4().hex
    first = api.client.post(PATH, json=body(ticket_id="LEAN-1"),
                            headers=api.h(**{"Idempotency-Key": key}))
    again = api.client.post(PATH, json=body(ticket_id="LEAN-1"),
                            headers=api.h(**{"Idempotency-Key": key}))
    expanded = api.client.post(f"{PATH}?expand=alternatives", json=body(ticket_id="LEAN-1"),
                               headers=api.h(**{"Idempotency-Key": key}))
    assert taken == [True, True, True]
    assert first.status_code == again.status_code == expanded.status_code == 201
    assert first.headers["location"] == f"{PATH}/{first.json()['id']}"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert len(expanded.json()["alternatives"]) == expanded.json()["alternatives_total"]
    DispatchOut.model_validate(first.json())
    _declared_only(monkeypatch)
    declared = api.client.post(PATH, json=body(ticket_id="LEAN-2"),
                               headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex}))
    assert declared.status_code == 201
    assert set(declared.json()) == set(first.json())
    replay = api.client.post(PATH, json=body(ticket_id="LEAN-1"),
                             headers=api.h(**{"Idempotency-Key": key}))
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"


_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 2000), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(
                        ["2025-06-04T10:00:00+08:00", "2025-06-04T10:00:00Z",
                         "2025-06-04T10:00:00", "2025-06-04", "GZ-01", " GZ-01", "1"]))
_fields = ["ticket_id", "site_id", "part_id", "severity", "reported_at", "quantity",
           "confirmed_at", "approved_at", "allow_duplicate_ticket", "other"]


@settings(max_examples=400, deadline=None)
@given(over=st.dictionaries(st.sampled_from(_fields), _values, max_size=5),
       drop=st.sets(st.sampled_from(_fields[:5]), max_size=2))
def test_parsing_the_json_once_accepts_and_gives_what_fastapi_validation_does(over, drop) -> None:
    """``model_validate_json`` (lean route) against ``json.loads`` + ``model_validate`` (what
    FastAPI does): the same requests pass, with the same values; any other is left to FastAPI."""
    doc = {k: v for k, v in {**body(), **over}.items() if k not in drop}
    raw = json.dumps(doc)
    try:
        python = DispatchCreate.model_validate(json.loads(raw))
    except ValidationError:
        python = None
    try:
        parsed = DispatchCreate.model_validate_json(raw)
    except ValidationError:
        parsed = None
    assert (parsed is None) == (python is None)
    if parsed is not None:
        assert parsed.model_dump() == python.model_dump()


def test_a_duplicate_key_is_read_as_json_loads_reads_it() -> None:
    raw = json.dumps(body())[:-1] + ', "severity": 2}'
    assert DispatchCreate.model_validate_json(raw).severity == 2
    assert DispatchCreate.model_validate(json.loads(raw)).severity == 2


def _sqlite_path(api) -> str:
    path = sqlite_file(api.ctx.engine.url.render_as_string(hide_password=False))
    if path is None:
        pytest.skip("creates run on the event loop on SQLite only")
    return str(path)


def test_a_write_transaction_that_must_not_wait_refuses_at_once(api) -> None:
    holder = sqlite3.connect(_sqlite_path(api), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program writes
    try:
        t = time.monotonic()
        for _ in range(3):
            with pytest.raises(WriterBusy), api.ctx.transaction(wait=False):
                pass
        assert time.monotonic() - t < 1.0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with api.ctx.engine.connect() as conn:  # the pooled connections wait again as configured
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
    with api.ctx.transaction(wait=False) as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    # this process's writer lock taken (by another thread, say)
    with api.ctx._writer(), pytest.raises(WriterBusy), api.ctx.transaction(wait=False):
        pass


def test_a_create_waits_for_another_programs_writer_on_a_worker_thread(api) -> None:
    """SQLite's write lock held outside the server's own locks: the create's transaction
    cannot start on the loop, so it waits on a worker thread and /healthz still answers."""
    holder = sqlite3.connect(_sqlite_path(api), isolation_level=None)
    app = create_app(context=api.ctx,
                     limits=Limits(per_key=None, per_address=None, auth_failures=None))

    async def scenario() -> tuple[float, int, str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            holder.execute("BEGIN IMMEDIATE")
            try:
                create = asyncio.create_task(client.post(
                    PATH, json=body(ticket_id="HELD"),
                    headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex})))
                await asyncio.sleep(0.3)
                t = time.monotonic()
                health = await client.get("/healthz")
                answered = time.monotonic() - t
                assert health.status_code == 200 and not create.done()
            finally:
                holder.execute("ROLLBACK")
            done = await create
            return answered, done.status_code, done.json()["status"]

    try:
        answered, status, outcome = asyncio.run(scenario())
    finally:
        holder.close()
    assert answered < 5.0 and status == 201 and outcome == "reserved"
