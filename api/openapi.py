"""The OpenAPI document as a client generator needs it.

On top of what FastAPI derives from the routes: the bearer-key security scheme on every
``/v1`` operation, every 4xx/5xx answer documented as ``application/problem+json`` with one
shared ``Problem`` schema (FastAPI's own 422 says ``application/json``), a 500 on every
operation, and the examples rewritten to ids of the scenario the server has loaded (the
examples in the code are written for the bundled ``tiny`` scenario), with a real decision on
that scenario as the dispatch example.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.problems import PROBLEM_MEDIA_TYPE, SCHEMA

SECURITY_SCHEME = "apiKey"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
SECURED_PREFIX = "/v1/"
ID_KEYS = {"site_id": "sites", "part_id": "parts", "shipped_part_id": "parts",
           "substitute_part_id": "parts", "depot_id": "depots", "source_depot_id": "depots",
           "from_id": "depots", "to_depot_id": "depots"}
"""Example fields that name a site, part or depot of the scenario."""
EXAMPLE_REPORTED_AT = datetime(2025, 6, 4, 2, 0, tzinfo=UTC)
"""When the generated dispatch example's ticket was opened (a Wednesday, 10:00 in China)."""


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method in {"get", "put", "post", "delete", "patch"}:
                yield path, op


def problem_answers(doc: dict[str, Any]) -> None:
    """Every 4xx/5xx response of every operation as problem+json (``Problem``), a 500 on each,
    and 401/403 on the secured ones; FastAPI's unused validation-error schemas dropped."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = {**SCHEMA, "title": "Problem",
                          "description": "RFC 9457 problem details; `errors` names the fields"}
    for path, op in _operations(doc):
        responses = op.setdefault("responses", {})
        extra = ["500"] + (["401", "403"] if path.startswith(SECURED_PREFIX) else [])
        for code in extra:
            responses.setdefault(code, {"description": HTTPStatus(int(code)).phrase})
        for code, answer in responses.items():
            if code[0] in "45":
                answer["content"] = {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def security(doc: dict[str, Any]) -> None:
    """The bearer API key: declared once, required by every ``/v1`` operation."""
    doc.setdefault("components", {})["securitySchemes"] = {SECURITY_SCHEME: {
        "type": "http", "scheme": "bearer",
        "description": "an API key (`spares keys create`): `Authorization: Bearer <key>`; its "
                       "scopes (ticketing, planner, admin) decide what it may call"}}
    for path, op in _operations(doc):
        if path.startswith(SECURED_PREFIX):
            op["security"] = [{SECURITY_SCHEME: []}]


def id_mapper(scenario: Any, reference: Any) -> Callable[[str, str], str]:
    """(field, id) -> an id of ``scenario`` for an id of ``reference`` (the scenario the
    examples were written for): ids the loaded scenario has stay; a reference depot maps to a
    loaded depot of the same kind, a site or part to one in the same position, consistently."""
    known = {"sites": [s.site_id for s in scenario.sites],
             "parts": [p.part_id for p in scenario.parts],
             "depots": [d.depot_id for d in scenario.depots]}
    ref_order = {"sites": [s.site_id for s in reference.sites],
                 "parts": [p.part_id for p in reference.parts]}
    by_kind: dict[str, list[str]] = {}
    for d in scenario.depots:
        by_kind.setdefault(str(d.kind), []).append(d.depot_id)
    ref_depots: dict[str, str] = {}
    taken: dict[str, int] = {}
    for d in reference.depots:
        pool = by_kind.get(str(d.kind)) or known["depots"]
        i = taken.get(str(d.kind), 0)
        taken[str(d.kind)] = i + 1
        ref_depots[d.depot_id] = pool[i % len(pool)]
    sets = {k: set(v) for k, v in known.items()}

    def mapped(field: str, value: str) -> str:
        table = ID_KEYS[field]
        if value in sets[table] or value == "supplier":
            return value
        if table == "depots":
            return ref_depots.get(value, known["depots"][0])
        order = ref_order[table]
        i = order.index(value) if value in order else 0
        return known[table][i % len(known[table])]

    return mapped


def rewrite_ids(node: Any, mapped: Callable[[str, str], str]) -> Any:
    """``node`` with every id field (:data:`ID_KEYS`) mapped; other values unchanged."""
    if isinstance(node, dict):
        return {k: (mapped(k, v) if k in ID_KEYS and isinstance(v, str)
                    else rewrite_ids(v, mapped)) for k, v in node.items()}
    if isinstance(node, list):
        return [rewrite_ids(v, mapped) for v in node]
    return node


def scenario_examples(doc: dict[str, Any], ctx: Any) -> None:
    """Examples with the loaded scenario's ids, and a real decision on it for the dispatch."""
    import scenarios

    mapped = id_mapper(ctx.scenario, scenarios.load("tiny"))
    for key in ("paths", "components"):
        doc[key] = rewrite_ids(doc.get(key, {}), mapped)
    request, answer = dispatch_example(ctx)
    schemas = doc["components"]["schemas"]
    for name, example in (("DispatchCreate", request), ("DispatchOut", answer)):
        if name in schemas and example is not None:
            schemas[name]["examples"] = [example]


def dispatch_example(ctx: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A create request on an installed (site, part) of the loaded scenario, severity 1 if its
    contract has it, and the answer the decision on the opening stock gives (3 alternatives)."""
    from api.dispatches.models import DispatchCreate
    from api.dispatches.render import create_answer, sized
    from optimizer.dispatch import DispatchRequest, decide

    sc = ctx.scenario
    if not sc.installed_base:
        return None, None
    base = sc.installed_base[0]
    contract = sc.contract(sc.site(base.site_id).contract_id)
    severity = min(t.severity for t in contract.terms)
    body = DispatchCreate.model_validate({
        "ticket_id": "INC0012345", "site_id": base.site_id, "part_id": base.part_id,
        "severity": severity, "reported_at": EXAMPLE_REPORTED_AT.isoformat()})
    free = {(s.depot_id, s.part_id): s.on_hand for s in sc.stock}
    req = DispatchRequest(body.site_id, body.part_id, body.severity, body.reported_at)
    dec = decide(req, scenario=sc, network=ctx.network, free_stock=free, levels=ctx.levels,
                 ready_at=EXAMPLE_REPORTED_AT)
    answer = create_answer("dsp_5f2c9a0e1b7d4c38", body, dec, EXAMPLE_REPORTED_AT,
                           EXAMPLE_REPORTED_AT)
    return body.model_dump(mode="json", exclude_none=True), sized(answer, None)


def install(app: FastAPI) -> None:
    """Serve the document above at /openapi.json (built once, on the first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description,
                              routes=app.routes, tags=app.openapi_tags)
            problem_answers(doc)
            security(doc)
            scenario_examples(doc, app.state.ctx)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
