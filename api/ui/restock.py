"""Restock pages: runs with their status, start one, review its order tables, approve it as the
signed-in person, download its reports. Over :mod:`api.restock.service`, the API's own
functions; the approval records the key's name (the person) as the approver.

Runs belong to organizations as in ``/v1/restock-runs``: a run started here belongs to the
signed-in person's organization (a key's organization; a password user's, the one it was
created with), and who sees which runs follows the API's rule (:func:`tenant`)."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from api.inputs import identifier
from api.problems import Problem
from api.restock import service
from api.restock.views import MAX_QUEUED_RUNS
from api.ui import format as fmt
from api.ui import submit
from api.ui.session import check_change, current_user
from api.ui.views import page

router = APIRouter(include_in_schema=False)
RunId = Annotated[identifier(40), Path()]
SHOWN_ROWS = 200
TABLES = {"transfers": "Transfers", "repairs": "Repairs", "buys": "Buys",
          "contractual": "Contractual minimums",
          "cut": "Cut by the budget", "excess": "Excess and obsolete"}
APPROVER_MAX = 40
OVERLAY_CHOICES = 500
"""Stored what-ifs offered in the start form's select (by name)."""


def tenant(user: Any) -> str | None:
    """The organization whose runs alone ``user`` sees, or None for all: planners (and admins)
    see every organization's runs, viewers their own organization's (the ``/v1`` rule)."""
    return user.principal.tenant


def human(column: str) -> str:
    """``unit_cost`` -> 'Unit cost'."""
    return column.replace("_", " ").strip().capitalize()


def cell(column: str, value: Any) -> tuple[str, bool]:
    """A table cell as text and whether it is numeric (right-aligned): shares as percentages,
    amounts with thousands separators."""
    from api.ui.format import num, pct

    if isinstance(value, bool) or value is None:
        return ("–" if value is None else "yes" if value else "no"), False
    if isinstance(value, int):
        return num(value), True
    if isinstance(value, float):
        if math.isnan(value):
            return "–", True
        if any(w in column for w in ("share", "on_time", "fill", "service", "rate")):
            return pct(value, 2), True
        return num(value, 0 if abs(value) >= 1000 else 2), True
    return str(value), False


def order_tables(orders: dict[str, list[dict[str, Any]]] | None) -> list[dict[str, Any]]:
    out = []
    for key, title in TABLES.items():
        rows = (orders or {}).get(key) or []
        cols = list(rows[0]) if rows else []
        out.append({"key": key, "title": title, "count": len(rows),
                    "columns": [human(c) for c in cols],
                    "rows": [[cell(c, r.get(c)) for c in cols] for r in rows[:SHOWN_ROWS]]})
    return out


def _runs_page(request: Request, user: Any, *, status_code: int = 200,
               error: str | None = None, form: dict[str, str] | None = None) -> HTMLResponse:
    """The run list with the start form; its overlay choice: the stored what-ifs the person
    may read (:func:`api.planning.service.list_overlays`, the ``/v1/overlays`` rule)."""
    from api.planning.service import list_overlays

    ctx = request.app.state.ctx
    overlays = (list_overlays(ctx, tenant=tenant(user), limit=OVERLAY_CHOICES)
                if user.can_change else [])
    return page(request, "restock.html", user, status_code=status_code, nav="restock",
                error=error, form=form or {}, overlays=overlays,
                runs=service.list_runs(ctx, limit=100, tenant=tenant(user)))


@router.get("/restock", response_class=HTMLResponse)
def runs_page(request: Request) -> HTMLResponse:
    return _runs_page(request, current_user(request))


@router.post("/restock")
def start_run(request: Request, quarter: Annotated[str, Form(max_length=10)] = "",
              budget: Annotated[str, Form(max_length=40)] = "",
              overlay: Annotated[str, Form(max_length=100)] = "",
              csrf: Annotated[str, Form(max_length=100)] = "",
              token: submit.SubmissionToken = "") -> Response:
    """Queue a run; with ``overlay`` (a stored what-if's id) on the changed network, checked
    as ``POST /v1/restock-runs`` checks it (:func:`api.restock.service.what_if_for`). The
    form's submission token is the start's Idempotency-Key (as in the API): the same form
    posted again answers the first run, queuing none."""
    user = current_user(request)
    check_change(request, user, csrf)
    ctx = request.app.state.ctx
    error = None
    try:
        parsed = str(service.parse_quarter(quarter.strip().upper()))
    except (ValueError, Problem):
        error = f"Quarter: {quarter!r} is not a quarter like 2027Q1."
    amount, bad = fmt.form_amount(budget, positive=False)
    error = bad or error  # a bad budget is reported over a bad quarter
    if error is None and token:  # answered before the checks (a full queue, a gone overlay)
        asked = SimpleNamespace(quarter=parsed, budget=amount, overlay=overlay.strip() or None)
        try:
            found = service.started_with(ctx, owner=user.org, key=token, body=asked)
        except Problem as exc:
            error = submit.reused(exc) or exc.detail
        else:
            if found is not None:
                return RedirectResponse(f"/restock/{found.response['id']}", status_code=303)
    what_if = None
    if error is None and overlay.strip():
        try:
            what_if = service.what_if_for(ctx, overlay.strip(), tenant=tenant(user),
                                          field="overlay")
        except Problem as exc:
            error = "What-if overlay: " + (exc.errors[0]["message"] if exc.errors
                                            else exc.detail)
    if error is None and service.queued_runs(ctx) >= MAX_QUEUED_RUNS:
        error = f"{MAX_QUEUED_RUNS} runs are already waiting: start this one when one has begun."
    if error:
        return _runs_page(request, user, status_code=422, error=error,
                          form={"quarter": quarter, "budget": budget, "overlay": overlay})
    view, _ = service.start_run(ctx, owner=user.principal.organization_id,
                                created_by=user.principal.key_id,
                                quarter=quarter.strip().upper(), budget=amount,
                                out_root=service.runs_dir(getattr(request.app.state,
                                                                  "restock_dir", None)),
                                idempotency_key=token or None,
                                what_if=what_if, overlay_ref=overlay.strip() or None)
    if isinstance(view, JSONResponse):  # a concurrent post of the form queued it first
        view = json.loads(view.body)
    return RedirectResponse(f"/restock/{view['id']}", status_code=303)


def problem_page(request: Request, user: Any, exc: Problem) -> HTMLResponse:
    """A refusal of the restock service (unknown run, not approvable) as a page."""
    return page(request, "error.html", user, status_code=exc.status, title=exc.title,
                detail=exc.detail)


@router.get("/restock/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: RunId) -> HTMLResponse:
    user = current_user(request)
    try:
        run = service.get_run(request.app.state.ctx, run_id, tenant=tenant(user))
    except Problem as exc:
        return problem_page(request, user, exc)
    summary = [(human(k), *cell(k, v)) for k, v in (run.get("summary") or {}).items()
               if isinstance(v, int | float | str | None)]
    return page(request, "restock_run.html", user, nav="restock", run=run, summary=summary,
                tables=order_tables(run.get("orders")))


@router.get("/restock/{run_id}/status", response_class=HTMLResponse)
def run_status(request: Request, run_id: RunId) -> Response:
    """The status fragment the run page polls; a finished run reloads the page."""
    user = current_user(request)
    try:
        run = service.get_run(request.app.state.ctx, run_id, tenant=tenant(user))
    except Problem as exc:
        return problem_page(request, user, exc)
    resp = page(request, "_restock_status.html", user, run=run)
    if run["status"] not in ("queued", "running"):
        resp.headers["HX-Refresh"] = "true"
    return resp


def approver_name(name: str) -> str:
    """The approver as stored (at most :data:`APPROVER_MAX` characters): the person's name, or
    for a user whose "Name (username)" is longer, the username, which still names them alone."""
    if len(name) > APPROVER_MAX and name.endswith(")") and " (" in name:
        name = name[name.rindex(" (") + 2:-1]
    return name[:APPROVER_MAX]


@router.post("/restock/{run_id}/approve")
def approve(request: Request, run_id: RunId,
            csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Approve as the signed-in person: the user's (or key's) name is recorded as the approver."""
    user = current_user(request)
    check_change(request, user, csrf)
    try:
        service.approve_run(request.app.state.ctx, run_id, approver=approver_name(user.name),
                            tenant=tenant(user))
    except Problem as exc:
        return problem_page(request, user, exc)
    return RedirectResponse(f"/restock/{run_id}", status_code=303)


@router.get("/restock/{run_id}/outputs/{name}")
def output(request: Request, run_id: RunId,
           name: Annotated[identifier(40), Path()]) -> Response:
    user = current_user(request)
    try:
        path, media = service.output_file(request.app.state.ctx, run_id, name,
                                          tenant=tenant(user))
    except Problem as exc:
        return problem_page(request, user, exc)
    return FileResponse(path, media_type=media, filename=f"{run_id}-{path.name}")
