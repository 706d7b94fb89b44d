"""What-if and override pages: named overlays edited in the browser, planned as background jobs
and compared with the base plan; min / max and forecast overrides with their audit trail (listed
and downloadable as CSV). Thin: over :mod:`api.planning.service` and :mod:`api.ui.plans`. A
viewer sees only their organization's overlays, overrides and audit rows, as ``/v1/overlays``
shows a viewer key of it; planners see and change all."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.inputs import identifier
from api.planning import service
from api.planning.models import OverlayOut
from api.problems import Problem
from api.ui import plans, submit
from api.ui.session import User, check_change, current_user
from api.ui.views import page
from optimizer.stocking.methods import METHODS
from scenarios.overlay import describe, parse_overlay

router = APIRouter(include_in_schema=False)
PLAN_OVERLAY = "workspace POST /what-ifs/{id}/plan"
"""The idempotency operation of a what-if's plan form (:mod:`api.ui.submit`)."""
OverlayId = Annotated[identifier(40), Path()]
BODY_MAX = 64_000
EXAMPLE = '''# Scale demand, add or remove locations, change contract terms (docs/what-if.md).
[[demand]]
factor = 1.2            # +20 % failures
# families = ["PSU"]    # part families: the id before the first '-'
# regions = ["GZ"]      # sites whose primary depot is GZ

# [depots]
# remove = ["CD"]

# [[terms]]
# tier = "gold"
# severity = 1
# target = 0.97
'''


def _problem_text(exc: Problem) -> str:
    if exc.errors:
        return "; ".join(f"{e['field'].removeprefix('body.')}: {e['message']}" for e in exc.errors)
    return exc.detail


def _base_plan(exclude_overlay: bool = True) -> plans.PlanJob | None:
    """The newest finished plan of the base network (no overlay)."""
    return next((j for j in plans.list_plans()
                 if j.status == "succeeded" and not (exclude_overlay and j.overlay)), None)


def _overlay_page(request: Request, user: User, ov: dict[str, Any], *, status_code: int = 200,
                  error: str | None = None, body: str | None = None,
                  plan_error: str | None = None) -> HTMLResponse:
    text = ov["body"] if body is None else body
    try:
        lines = describe(parse_overlay(ov["body"]))
    except ValueError:
        lines = []
    runs = [j for j in plans.list_plans() if j.overlay == ov["name"]]
    return page(request, "whatif.html", user, status_code=status_code, nav="whatifs", ov=ov,
                body=text, lines=lines, runs=runs, base=_base_plan(), methods=METHODS,
                error=error, plan_error=plan_error)


@router.get("/what-ifs", response_class=HTMLResponse)
def overlays_page(request: Request) -> HTMLResponse:
    user = current_user(request)
    return page(request, "whatifs.html", user, nav="whatifs",
                overlays=service.list_overlays(request.app.state.ctx, tenant=user.principal.tenant),
                example=EXAMPLE, ov_name="")


def _answer(view: dict[str, Any]) -> dict[str, Any]:
    """The stored first answer of a create: what ``POST /v1/overlays`` answers (they share the
    idempotency operation)."""
    return jsonable_encoder(OverlayOut.model_validate(
        {**view, "changes": describe(parse_overlay(view["body"]))}))


@router.post("/what-ifs")
def create_overlay(request: Request, name: Annotated[str, Form(max_length=200)] = "",
                   body: Annotated[str, Form(max_length=BODY_MAX)] = "",
                   csrf: Annotated[str, Form(max_length=100)] = "",
                   token: submit.SubmissionToken = "") -> Response:
    """Create an overlay; the same form posted again (its submission token, as the
    Idempotency-Key of ``POST /v1/overlays``) answers the first overlay, creating none."""
    user = current_user(request)
    check_change(request, user, csrf)
    ctx = request.app.state.ctx
    try:
        ov, _ = service.create_overlay_once(ctx, actor=user.name, name=name, body=body,
                                            owner=user.org, created_by=user.principal.key_id,
                                            idempotency_key=token or None, render=_answer)
    except Problem as exc:
        return page(request, "whatifs.html", user, status_code=exc.status, nav="whatifs",
                    overlays=service.list_overlays(ctx, tenant=user.principal.tenant),
                    example=body, ov_name=name, error=submit.reused(exc) or _problem_text(exc))
    return RedirectResponse(f"/what-ifs/{ov['id']}", status_code=303)


@router.get("/what-ifs/{overlay_id}", response_class=HTMLResponse)
def overlay_page(request: Request, overlay_id: OverlayId) -> HTMLResponse:
    user = current_user(request)
    try:
        ov = service.get_overlay(request.app.state.ctx, overlay_id, tenant=user.principal.tenant)
    except Problem as exc:
        return page(request, "error.html", user, status_code=404, title=exc.title,
                    detail=exc.detail)
    return _overlay_page(request, user, ov)


@router.post("/what-ifs/{overlay_id}")
def update_overlay(request: Request, overlay_id: OverlayId,
                   name: Annotated[str, Form(max_length=200)] = "",
                   body: Annotated[str, Form(max_length=BODY_MAX)] = "",
                   csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    user = current_user(request)
    check_change(request, user, csrf)
    ctx = request.app.state.ctx
    try:
        service.save_overlay(ctx, actor=user.name, owner=user.org, name=name, body=body,
                             overlay_id=overlay_id)
    except Problem as exc:
        if exc.status == 404:
            return page(request, "error.html", user, status_code=404, title=exc.title,
                        detail=exc.detail)
        ov = {**service.get_overlay(ctx, overlay_id), "name": name}
        return _overlay_page(request, user, ov, status_code=exc.status,
                             error=_problem_text(exc), body=body)
    return RedirectResponse(f"/what-ifs/{overlay_id}", status_code=303)


@router.post("/what-ifs/{overlay_id}/plan")
def plan_overlay(request: Request, overlay_id: OverlayId,
                 method: Annotated[str, Form(max_length=20)] = METHODS[0],
                 csrf: Annotated[str, Form(max_length=100)] = "",
                 token: submit.SubmissionToken = "") -> Response:
    """Plan the overlaid network as a background job, with the active overrides; the same form
    posted again (its submission token) answers the first job, starting none."""
    user = current_user(request)
    check_change(request, user, csrf)
    ctx = request.app.state.ctx
    asked = {"overlay_id": overlay_id, "method": method}
    try:
        done = submit.replayed(ctx, user, operation=PLAN_OVERLAY, token=token, request=asked)
    except Problem as exc:
        return _plan_refused(request, user, overlay_id, exc)
    if done is not None:  # answered before the checks: the overlay may be gone since
        return RedirectResponse(done, status_code=303)
    try:
        ov = service.get_overlay(ctx, overlay_id)
        overlay, scenario = service.check_overlay(ctx.scenario, ov["body"])
    except Problem as exc:
        return page(request, "error.html", user, status_code=exc.status, title=exc.title,
                    detail=_problem_text(exc))
    if method not in METHODS:
        method = METHODS[0]
    from optimizer.travel import TravelNetwork

    network = ctx.network if scenario.depots == ctx.scenario.depots else TravelNetwork(scenario)
    overrides = service.active_overrides(ctx, scenario)

    def start() -> str:
        job = plans.start_plan(scenario, network, method=method, budget=None, frontier=False,
                               started_by=user.name, overlay=ov["name"],
                               overlay_lines=describe(overlay), overrides=overrides,
                               clock=ctx.now)
        return f"/plans/{job.id}"

    try:
        location = submit.once(ctx, user, operation=PLAN_OVERLAY, token=token, request=asked,
                               start=start)
    except Problem as exc:  # a concurrent post of the token with other values
        return _plan_refused(request, user, overlay_id, exc)
    return RedirectResponse(location, status_code=303)


def _plan_refused(request: Request, user: User, overlay_id: str, exc: Problem) -> HTMLResponse:
    """The what-if's page again with the plan form's error (its token sent before with other
    values), or the error page when the what-if is gone."""
    try:
        ov = service.get_overlay(request.app.state.ctx, overlay_id)
    except Problem as gone:
        return page(request, "error.html", user, status_code=gone.status, title=gone.title,
                    detail=gone.detail)
    return _overlay_page(request, user, ov, status_code=exc.status,
                         plan_error=submit.reused(exc) or _problem_text(exc))


@router.post("/what-ifs/{overlay_id}/delete")
def delete_overlay(request: Request, overlay_id: OverlayId,
                   csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Delete the overlay (the plans made from it stay, with its name)."""
    user = current_user(request)
    check_change(request, user, csrf)
    try:
        service.delete_overlay(request.app.state.ctx, actor=user.name, owner=user.org,
                               overlay_id=overlay_id)
    except Problem as exc:
        return page(request, "error.html", user, status_code=exc.status, title=exc.title,
                    detail=exc.detail)
    return RedirectResponse("/what-ifs", status_code=303)


# --- overrides -----------------------------------------------------------------------------------

def _overrides_page(request: Request, user: User, *, status_code: int = 200,
                    error: str | None = None, form: dict[str, str] | None = None) -> HTMLResponse:
    ctx = request.app.state.ctx
    sc = ctx.scenario
    locations = [d.depot_id for d in sc.depots] + [c.candidate_id for c in sc.candidates]
    return page(request, "overrides.html", user, status_code=status_code, nav="overrides",
                overrides=service.list_overrides(ctx, tenant=user.principal.tenant),
                audit=service.audit_rows(ctx, limit=200, tenant=user.principal.tenant),
                parts=[p.part_id for p in sc.parts], locations=locations, error=error,
                form=form or {})


@router.get("/overrides", response_class=HTMLResponse)
def overrides_page(request: Request) -> HTMLResponse:
    return _overrides_page(request, current_user(request))


@router.post("/overrides/stock")
def set_stock(request: Request, part_id: Annotated[str, Form(max_length=100)] = "",
              location_id: Annotated[str, Form(max_length=100)] = "",
              min_stock: Annotated[str, Form(max_length=20)] = "",
              max_stock: Annotated[str, Form(max_length=20)] = "",
              expires_at: Annotated[str, Form(max_length=40)] = "",
              reason: Annotated[str, Form(max_length=service.REASON_MAX)] = "",
              csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    user = current_user(request)
    check_change(request, user, csrf)
    try:
        service.set_stock_override(request.app.state.ctx, actor=user.name, owner=user.org,
                                   part_id=part_id, location_id=location_id, min_stock=min_stock,
                                   max_stock=max_stock, reason=reason, expires_at=expires_at)
    except Problem as exc:
        return _overrides_page(request, user, status_code=exc.status, error=_problem_text(exc),
                               form={"part_id": part_id, "location_id": location_id,
                                     "min_stock": min_stock, "max_stock": max_stock,
                                     "expires_at": expires_at, "reason": reason})
    return RedirectResponse("/overrides", status_code=303)


@router.post("/overrides/forecast")
def set_forecast(request: Request, part_id: Annotated[str, Form(max_length=100)] = "",
                 units_per_month: Annotated[str, Form(max_length=40)] = "",
                 expires_at: Annotated[str, Form(max_length=40)] = "",
                 reason: Annotated[str, Form(max_length=service.REASON_MAX)] = "",
                 csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    user = current_user(request)
    check_change(request, user, csrf)
    try:
        service.set_forecast_override(request.app.state.ctx, actor=user.name, owner=user.org,
                                      part_id=part_id, units_per_month=units_per_month, reason=reason,
                                      expires_at=expires_at)
    except Problem as exc:
        return _overrides_page(request, user, status_code=exc.status, error=_problem_text(exc),
                               form={"f_part_id": part_id, "units_per_month": units_per_month,
                                     "f_expires_at": expires_at, "f_reason": reason})
    return RedirectResponse("/overrides", status_code=303)


@router.post("/overrides/{kind}/{override_id}/delete")
def delete(request: Request, kind: Annotated[str, Path(pattern="^(stock|forecast)$")],
           override_id: Annotated[int, Path(ge=1, le=2**62)],
           reason: Annotated[str, Form(max_length=service.REASON_MAX)] = "",
           csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    user = current_user(request)
    check_change(request, user, csrf)
    try:
        service.delete_override(request.app.state.ctx, actor=user.name, owner=user.org, kind=kind,
                                override_id=override_id, reason=reason)
    except Problem as exc:
        return _overrides_page(request, user, status_code=exc.status, error=_problem_text(exc))
    return RedirectResponse("/overrides", status_code=303)


@router.get("/overrides/audit.csv")
def audit_download(request: Request) -> Response:
    """Every change to overrides and overlays (who, when, old, new, why) as CSV."""
    user = current_user(request)
    return Response(service.audit_csv(request.app.state.ctx, tenant=user.principal.tenant),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="planning-audit.csv"'})
