"""Routes of /v1/overlays, /v1/overrides and /v1/planning-audit: what the workspace's What-ifs
and Overrides pages edit, for programs. Planner keys read and change everything; viewer keys
read their own organization's (another organization's is a 404, like an unknown one). Every
change is audited with the key's name as who; the checks are the workspace's
(:mod:`api.planning.service`), so both refuse the same input naming the same field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api import pagination
from api.auth.deps import require, require_any
from api.auth.models import Principal, Scope
from api.idempotency import REPLAYED, IdempotencyKey
from api.inputs import WholeNumberText, free_text, identifier
from api.planning import models, service
from scenarios.overlay import OverlayError, describe, parse_overlay

router = APIRouter(tags=["planning"])
PROBLEM = {"content": {"application/problem+json": {}}, "description": "problem details"}
READER = Depends(require_any(Scope.PLANNER, Scope.VIEWER))
PLANNER = Depends(require(Scope.PLANNER))
OverlayId = Annotated[identifier(40), Path(description="the overlay's id (`ov_...`)")]
OverrideId = Annotated[int, WholeNumberText, Path(ge=1, le=2**62)]
Kind = Literal["stock", "forecast"]
Reason = Annotated[free_text(models.REASON_MAX, 1), Query(description="why (kept in the audit "
                                                                       "trail)")]
OUT = {"stock": models.StockOverrideOut, "forecast": models.ForecastOverrideOut}


def _overlay(view: dict[str, Any]) -> dict[str, Any]:
    try:
        changes = describe(parse_overlay(view["body"]))
    except OverlayError:  # stored before a rule changed: shown, not described
        changes = []
    return {**view, "changes": changes}


# --- overlays ------------------------------------------------------------------------------------

@router.get("/v1/overlays", response_model=models.OverlayPage,
            responses={401: PROBLEM, 403: PROBLEM, 422: PROBLEM})
def list_overlays(request: Request, limit: pagination.Limit = pagination.DEFAULT_PAGE,
                  cursor: pagination.Cursor = None, who: Principal = READER) -> Any:
    """Named what-if overlays by name, each with its changes in words. A page holds at most
    `limit`; `has_more` says more follow, fetched with `cursor=<next_cursor>`."""
    after = pagination.decode("overlays", cursor, (str,))
    rows = service.list_overlays(request.app.state.ctx, tenant=who.tenant,
                                 after=after[0] if after else None, limit=limit + 1)
    return pagination.page("overlays", rows, limit, lambda r: (r["name"],),
                           lambda rs: [_overlay(r) for r in rs])


@router.post("/v1/overlays", status_code=201, response_model=models.OverlayOut,
             responses={401: PROBLEM, 403: PROBLEM, 409: PROBLEM, 422: PROBLEM})
def create_overlay(request: Request, body: models.OverlayIn,
                   idempotency_key: IdempotencyKey = None, who: Principal = PLANNER) -> Any:
    """Store a named overlay (plan it from the workspace, restock on it with
    `spares restock --overlay NAME`). It must apply to the served scenario: a wrong field is a
    422 naming it (`body.overlay.demand[0].factor`); a taken name is a 409. With an
    `Idempotency-Key` (optional, unique per request and organization) a retry with the same
    body answers the first answer with `Idempotent-Replayed: true` and creates nothing (no
    409 for its own name); the key with another body is a 422 naming the header; a refusal is
    not kept."""
    answer, replayed = service.create_overlay_once(
        request.app.state.ctx, actor=who.name, name=body.name, body=body.body,
        owner=who.organization_id, created_by=who.key_id, idempotency_key=idempotency_key,
        render=lambda view: jsonable_encoder(models.OverlayOut.model_validate(_overlay(view))))
    headers = {"Location": f"/v1/overlays/{answer['id']}"}
    return JSONResponse(answer, status_code=201, headers={**REPLAYED, **headers} if replayed
                        else headers)


@router.get("/v1/overlays/{overlay_id}", response_model=models.OverlayOut,
            responses={401: PROBLEM, 403: PROBLEM, 404: PROBLEM})
def get_overlay(request: Request, overlay_id: OverlayId, who: Principal = READER) -> Any:
    return _overlay(service.get_overlay(request.app.state.ctx, overlay_id, tenant=who.tenant))


@router.put("/v1/overlays/{overlay_id}", response_model=models.OverlayOut,
            responses={401: PROBLEM, 403: PROBLEM, 404: PROBLEM, 409: PROBLEM, 422: PROBLEM})
def replace_overlay(request: Request, overlay_id: OverlayId, body: models.OverlayIn,
                    who: Principal = PLANNER) -> Any:
    """Rename and/or rewrite an overlay (checked as on create); the audit keeps the old text."""
    return _overlay(service.save_overlay(request.app.state.ctx, actor=who.name, name=body.name,
                                         body=body.body, overlay_id=overlay_id,
                                         owner=who.organization_id))


@router.delete("/v1/overlays/{overlay_id}", status_code=204,
               responses={401: PROBLEM, 403: PROBLEM, 404: PROBLEM})
def delete_overlay(request: Request, overlay_id: OverlayId, who: Principal = PLANNER) -> Response:
    """Delete an overlay; plans made from it keep its name. The audit keeps its last text."""
    service.delete_overlay(request.app.state.ctx, actor=who.name, overlay_id=overlay_id,
                           owner=who.organization_id)
    return Response(status_code=204)


# --- overrides -----------------------------------------------------------------------------------

def _override_page(request: Request, kind: Kind, who: Principal, limit: int,
                   cursor: str | None) -> dict[str, Any]:
    tag = f"overrides-{kind}"
    after = pagination.decode(tag, cursor, (str, str))
    rows = service.list_overrides(request.app.state.ctx, tenant=who.tenant)[kind]

    def key(r: dict[str, Any]) -> tuple[str, str]:
        return r["part_id"], r.get("location_id", "")

    if after is not None:
        rows = [r for r in rows if key(r) > after]
    return pagination.page(tag, rows[:limit + 1], limit, key)


def _created(view: dict[str, Any], kind: Kind) -> JSONResponse:
    out = jsonable_encoder(OUT[kind].model_validate(view))
    return JSONResponse(out, status_code=201 if view["created"] else 200,
                        headers={"Location": f"/v1/overrides/{kind}/{view['id']}"})


@router.get("/v1/overrides/stock", response_model=models.StockOverridePage,
            responses={401: PROBLEM, 403: PROBLEM, 422: PROBLEM})
def list_stock_overrides(request: Request, limit: pagination.Limit = pagination.DEFAULT_PAGE,
                         cursor: pagination.Cursor = None, who: Principal = READER) -> Any:
    """Minimum / maximum stock overrides by part and location, expired ones included
    (`active` false: no longer applied)."""
    return _override_page(request, "stock", who, limit, cursor)


@router.post("/v1/overrides/stock", response_model=models.StockOverrideOut,
             responses={201: {"model": models.StockOverrideOut, "description": "created"},
                        401: PROBLEM, 403: PROBLEM, 422: PROBLEM})
def set_stock_override(request: Request, body: models.StockOverrideIn,
                       who: Principal = PLANNER) -> Any:
    """Set the minimum and/or maximum base stock of a part at a location: 201 when new, 200
    when it replaces the one set before. Plans keep their levels within it, restock runs stock
    up to the minimum; both name it in their outputs."""
    view = service.set_stock_override(
        request.app.state.ctx, actor=who.name, owner=who.organization_id, part_id=body.part_id,
        location_id=body.location_id, min_stock=body.min_stock, max_stock=body.max_stock,
        reason=body.reason, expires_at=body.expires_at)
    return _created(view, "stock")


@router.get("/v1/overrides/forecast", response_model=models.ForecastOverridePage,
            responses={401: PROBLEM, 403: PROBLEM, 422: PROBLEM})
def list_forecast_overrides(request: Request,
                            limit: pagination.Limit = pagination.DEFAULT_PAGE,
                            cursor: pagination.Cursor = None, who: Principal = READER) -> Any:
    """Forecast overrides by part, expired ones included (`active` false: no longer applied)."""
    return _override_page(request, "forecast", who, limit, cursor)


@router.post("/v1/overrides/forecast", response_model=models.ForecastOverrideOut,
             responses={201: {"model": models.ForecastOverrideOut, "description": "created"},
                        401: PROBLEM, 403: PROBLEM, 422: PROBLEM})
def set_forecast_override(request: Request, body: models.ForecastOverrideIn,
                          who: Principal = PLANNER) -> Any:
    """Set a part's forecast (units a month) until `expires_at`: 201 when new, 200 when it
    replaces the one set before. Plans and restock runs use it instead of the computed one."""
    view = service.set_forecast_override(
        request.app.state.ctx, actor=who.name, owner=who.organization_id, part_id=body.part_id,
        units_per_month=body.units_per_month, reason=body.reason, expires_at=body.expires_at)
    return _created(view, "forecast")


@router.get("/v1/overrides/{kind}/{override_id}",
            response_model=models.StockOverrideOut | models.ForecastOverrideOut,
            responses={401: PROBLEM, 403: PROBLEM, 404: PROBLEM, 422: PROBLEM})
def get_override(request: Request, kind: Kind, override_id: OverrideId,
                 who: Principal = READER) -> Any:
    """One stock or forecast override."""
    return service.get_override(request.app.state.ctx, kind, override_id, tenant=who.tenant)


@router.delete("/v1/overrides/{kind}/{override_id}", status_code=204,
               responses={401: PROBLEM, 403: PROBLEM, 404: PROBLEM, 422: PROBLEM})
def delete_override(request: Request, kind: Kind, override_id: OverrideId, reason: Reason,
                    who: Principal = PLANNER) -> Response:
    """Remove an override, saying why (`reason`, kept in the audit trail)."""
    service.delete_override(request.app.state.ctx, actor=who.name, kind=kind,
                            override_id=override_id, reason=reason, owner=who.organization_id,
                            reason_field="query.reason")
    return Response(status_code=204)


# --- the audit trail -----------------------------------------------------------------------------

@router.get("/v1/planning-audit", response_model=models.AuditPage,
            responses={401: PROBLEM, 403: PROBLEM, 422: PROBLEM})
def audit(request: Request, limit: pagination.Limit = pagination.DEFAULT_PAGE,
          cursor: pagination.Cursor = None, who: Principal = READER) -> Any:
    """Every change to overlays and overrides, newest first: who, when, the values before and
    after, why (`GET /overrides/audit.csv` in the workspace has the same as CSV)."""
    after = pagination.decode("planning-audit", cursor, (int,))
    rows = service.audit_rows(request.app.state.ctx, limit=limit + 1, tenant=who.tenant,
                              before_id=after[0] if after else None)
    return pagination.page("planning-audit", rows, limit, lambda r: (r["id"],))
