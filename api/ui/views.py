"""The workspace's pages: login, overview, plans (start, list, levels table, downloads), compare.

Thin: each route reads the signed-in user, calls a service function and renders a template.
htmx requests (``HX-Request``) get the fragment that changed instead of the whole page.
"""

from __future__ import annotations

import hmac
import io
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.auth.service import hash_key
from api.problems import Problem
from api.ui import compare as comparing
from api.ui import format as fmt
from api.ui import people, plans, submit
from api.ui.board import board
from api.ui.netmap import network_map
from api.ui.overview import overview
from api.ui.session import (
    COOKIE,
    LOGIN_COOKIE,
    Forbidden,
    User,
    check_change,
    current_user,
    lookup,
    may_look,
    new_login_token,
    start_session,
)
from api.ui.worklist import worklist
from optimizer.stocking.methods import DEPRECATED, METHODS

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters.update(fmt.FILTERS)
templates.env.globals["submission_token"] = submit.new_token  # a fresh one per rendered form
router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
START_PLAN = "workspace POST /plans"
"""The idempotency operation of the start-plan form (:mod:`api.ui.submit`)."""
SORTABLE = ("part_id", "part_name", "depot_id", "location_name", "location_kind", "base_stock",
            "unit_cost", "value")
COLUMN_NAMES = {"part_id": "Part", "part_name": "Part name", "depot_id": "Location",
                "location_name": "Location name", "location_kind": "Kind",
                "base_stock": "Base stock", "unit_cost": "Unit cost", "value": "Value"}


def page(request: Request, name: str, user: User | None, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    ctx = request.app.state.ctx
    return templates.TemplateResponse(request, name, {"user": user, "scenario": ctx.scenario,
                                                      **context}, status_code=status_code)


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no scheme, no '//' host) is followed after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    token = new_login_token()
    resp = page(request, "login.html", None, next=_safe_next(next), login_token=token)
    resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                    secure=request.url.scheme == "https", max_age=900)
    return resp


@router.post("/login")
def login(request: Request, key: Annotated[str, Form(max_length=200)] = "",
          username: Annotated[str, Form(max_length=100)] = "",
          password: Annotated[str, Form(max_length=1000)] = "",
          login_token: Annotated[str, Form(max_length=100)] = "",
          next: Annotated[str, Form(max_length=500)] = "/") -> Response:
    """Exchange a username and password, or an API key, for the signed session cookie; a wrong
    one answers 401 (counted by the API's limit on unauthenticated answers)."""
    expected = request.cookies.get(LOGIN_COOKIE)
    error = None
    principal = None
    data = None
    if not expected or not hmac.compare_digest(login_token.encode(), expected.encode()):
        error = "The login form expired: please try again."
    elif username.strip():
        with request.app.state.ctx.sessions(write=True) as session:
            row = people.check_login(session=session, username=username, password=password)
            if row is None:
                error = "Unknown user, wrong password or a disabled user."
            else:
                data = people.SessionData(people.new_sid(), user=row.id,
                                          version=row.session_version)
                principal = row
    else:
        principal = lookup(request, key.strip()) if key.strip() else None
        if principal is None:
            error = "Unknown or revoked API key."
        elif not may_look(principal):
            error = f"API key {principal.name!r} has neither the 'planner' nor the 'viewer' scope."
        else:
            data = people.SessionData(people.new_sid(), key_hash=hash_key(key.strip()))
    if error:
        token = new_login_token()
        resp = page(request, "login.html", None, status_code=401 if principal is None else 403,
                    next=_safe_next(next), login_token=token, error=error,
                    username=username.strip())
        resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=900)
        return resp
    resp = RedirectResponse(_safe_next(next), status_code=303)
    start_session(request, resp, data)
    resp.delete_cookie(LOGIN_COOKIE)
    return resp


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    user = current_user(request)
    if not hmac.compare_digest(csrf.encode(), user.csrf.encode()):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page and try again")
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request) -> HTMLResponse:
    user = current_user(request)
    ctx = request.app.state.ctx
    data = overview(ctx, tenant=user.principal.tenant)  # a viewer: their organization's runs
    return page(request, "overview.html", user, nav="overview", **data,
                map=network_map(ctx.scenario, data["reached"]))


@router.get("/plans", response_class=HTMLResponse)
def plans_page(request: Request) -> HTMLResponse:
    user = current_user(request)
    return page(request, "plans.html", user, nav="plans", plans=plans.list_plans(), methods=METHODS)


@router.post("/plans")
def start_plan(request: Request, method: Annotated[str, Form(max_length=20)] = METHODS[0],
               budget: Annotated[str, Form(max_length=40)] = "",
               frontier: Annotated[str | None, Form(max_length=10)] = None,
               csrf: Annotated[str, Form(max_length=100)] = "",
               token: submit.SubmissionToken = "") -> Response:
    """Queue a plan; a post of the same form again (its submission token) queues no second."""
    user = current_user(request)
    check_change(request, user, csrf)
    ctx = request.app.state.ctx
    amount, error = fmt.form_amount(budget, positive=True)
    method = DEPRECATED.get(method, method)  # "greedy": the old name of column generation
    if method not in METHODS:
        error = f"Method: choose one of {', '.join(METHODS)}."
    if error:
        return page(request, "plans.html", user, status_code=422, nav="plans",
                    plans=plans.list_plans(), methods=METHODS, error=error)
    from api.planning.service import active_overrides

    overrides = active_overrides(ctx)

    def start() -> str:
        job = plans.start_plan(ctx.scenario, ctx.network, method=method, budget=amount,
                               frontier=frontier is not None, started_by=user.name,
                               overrides=overrides, clock=ctx.now)
        return f"/plans/{job.id}"

    try:
        location = submit.once(ctx, user, operation=START_PLAN, token=token, start=start,
                               request={"method": method, "budget": amount,
                                        "frontier": frontier is not None})
    except Problem as exc:  # the token came before with other values
        return page(request, "plans.html", user, status_code=exc.status, nav="plans",
                    plans=plans.list_plans(), methods=METHODS,
                    error=submit.reused(exc) or exc.detail)
    return RedirectResponse(location, status_code=303)


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(request: Request, plan_id: str) -> HTMLResponse:
    user = current_user(request)
    job = plans.get_plan(plan_id)
    context: dict[str, Any] = {"job": job}
    if job.status == "succeeded":
        context["summary"] = plans.summary(plan_id)
        context["frontier"] = plans.frontier(plan_id)
        context["class_frontier"] = plans.class_frontier(plan_id)
        context.update(_levels_context(request, plan_id, LevelQuery()))
    return page(request, "plan.html", user, nav="plans", **context)


@router.get("/plans/{plan_id}/job", response_class=HTMLResponse)
def plan_job(request: Request, plan_id: str) -> Response:
    """The progress fragment the plan page polls; a finished job reloads the page."""
    user = current_user(request)
    job = plans.get_plan(plan_id)
    resp = page(request, "_job.html", user, job=job)
    if job.status not in ("queued", "running"):
        resp.headers["HX-Refresh"] = "true"
    return resp


class LevelQuery:
    """Filter, sort and page of the levels table (validated by the route's query types)."""

    def __init__(self, q: str = "", location: str = "", sort: str = "value",
                 order: str = "desc", page: int = 1) -> None:
        self.q, self.location, self.sort, self.order, self.page = q, location, sort, order, page


def _filtered(df: pd.DataFrame, lq: LevelQuery) -> pd.DataFrame:
    if lq.q:
        mask = (df["part_id"].str.contains(lq.q, case=False, regex=False)
                | df["part_name"].str.contains(lq.q, case=False, regex=False))
        df = df[mask]
    if lq.location:
        df = df[df["depot_id"] == lq.location]
    return df.sort_values([lq.sort, "part_id", "depot_id"],
                          ascending=[lq.order == "asc", True, True], kind="stable")


def _levels_context(request: Request, plan_id: str, lq: LevelQuery) -> dict[str, Any]:
    ctx = request.app.state.ctx
    df = plans.levels(plan_id, ctx.scenario)
    locations = sorted(df["depot_id"].unique().tolist())
    shown = _filtered(df, lq)
    pages = max(1, math.ceil(len(shown) / PAGE_SIZE))
    current = min(lq.page, pages)
    rows = shown.iloc[(current - 1) * PAGE_SIZE: current * PAGE_SIZE].to_dict("records")
    return {"plan_id": plan_id, "rows": rows, "total": len(shown), "all_rows": len(df),
            "units": int(shown["base_stock"].sum()), "value": float(shown["value"].sum()),
            "lq": lq, "page_no": current, "pages": pages, "locations": locations,
            "columns": COLUMN_NAMES}


Sort = Literal["part_id", "part_name", "depot_id", "location_name", "location_kind", "base_stock",
               "unit_cost", "value"]


@router.get("/plans/{plan_id}/levels", response_class=HTMLResponse)
def levels_table(request: Request, plan_id: str,
                 q: Annotated[str, Query(max_length=100)] = "",
                 location: Annotated[str, Query(max_length=100)] = "",
                 sort: Sort = "value", order: Literal["asc", "desc"] = "desc",
                 page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1) -> HTMLResponse:
    user = current_user(request)
    context = _levels_context(request, plan_id, LevelQuery(q, location, sort, order, page_no))
    if request.headers.get("hx-request"):
        return page(request, "_levels.html", user, **context)
    return page(request, "plan.html", user, nav="plans", job=plans.get_plan(plan_id),
                summary=plans.summary(plan_id), frontier=plans.frontier(plan_id),
                class_frontier=plans.class_frontier(plan_id), **context)


@router.get("/plans/{plan_id}/levels.{fmt_}")
def levels_download(request: Request, plan_id: str, fmt_: Literal["csv", "xlsx"],
                    q: Annotated[str, Query(max_length=100)] = "",
                    location: Annotated[str, Query(max_length=100)] = "",
                    sort: Sort = "value", order: Literal["asc", "desc"] = "desc") -> Response:
    """The filtered, sorted table (every page) as CSV or Excel, with human column names."""
    current_user(request)
    df = _filtered(plans.levels(plan_id, request.app.state.ctx.scenario),
                   LevelQuery(q, location, sort, order)).rename(columns=COLUMN_NAMES)
    name = f"stock-levels-{plan_id}"
    if fmt_ == "csv":
        return Response(df.to_csv(index=False), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        df.to_excel(xl, index=False, sheet_name="Stock levels")
        sheet = xl.sheets["Stock levels"]
        sheet.freeze_panes = "A2"
        for col, width in zip("ABCDEFGH", (14, 34, 12, 34, 12, 11, 12, 14), strict=True):
            sheet.column_dimensions[col].width = width
        for cells in sheet.iter_rows(min_row=2, min_col=7, max_col=8):
            for c in cells:
                c.number_format = "#,##0.00"
    return Response(buf.getvalue(),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@router.get("/dispatches", response_class=HTMLResponse)
def board_page(request: Request, tier: Annotated[str, Query(max_length=50)] = "",
               severity: Annotated[str, Query(pattern=r"^[1-9]?$")] = "",
               depot: Annotated[str, Query(max_length=100)] = "") -> HTMLResponse:
    """Open dispatches and SLA compliance (a viewer: their organization's); ``severity``
    empty means all (a form's 'all')."""
    user = current_user(request)
    return page(request, "board.html", user, nav="dispatches",
                **board(request.app.state.ctx, tier=tier, severity=int(severity) if severity else None,
                        depot=depot, tenant=user.principal.tenant))


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(request: Request) -> HTMLResponse:
    user = current_user(request)
    return page(request, "worklist.html", user, nav="worklist",
                **worklist(request.app.state.ctx, tenant=user.principal.tenant))


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, a: Annotated[str, Query(max_length=40)] = "",
                 b: Annotated[str, Query(max_length=40)] = "") -> HTMLResponse:
    user = current_user(request)
    done = [j for j in plans.list_plans() if j.status == "succeeded"]
    result = comparing.compare(a, b, request.app.state.ctx.scenario) if a and b else None
    return page(request, "compare.html", user, nav="compare", done=done, a=a, b=b, result=result)
