"""Network design pages: start a design (``spares plan --design`` from the browser) as a
background job, list designs with their inputs, watch one run, read its result (locations opened
and kept with their stock and cost, service before and after per class, the sites that hold back
unreachable classes) and download its files. Over :mod:`api.ui.designs`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.problems import Problem
from api.ui import designs, submit
from api.ui import format as fmt
from api.ui.session import check_change, current_user
from api.ui.views import page

router = APIRouter(include_in_schema=False)
START_DESIGN = "workspace POST /designs"
"""The idempotency operation of the start-design form (:mod:`api.ui.submit`)."""


def _form(request: Request, user, *, status_code: int = 200, error: str | None = None,
          values: dict | None = None) -> HTMLResponse:
    cands, closable = designs.switchable(request.app.state.ctx.scenario)
    return page(request, "designs.html", user, status_code=status_code, nav="designs",
                designs=designs.list_designs(), methods=designs.METHODS, candidates=cands,
                closable=closable, error=error, values=values or {})


@router.get("/designs", response_class=HTMLResponse)
def designs_page(request: Request) -> HTMLResponse:
    return _form(request, current_user(request))


@router.post("/designs")
def start_design(request: Request, method: Annotated[str, Form(max_length=20)] = "integrated",
                 budget: Annotated[str, Form(max_length=40)] = "",
                 max_new: Annotated[str, Form(max_length=6)] = "",
                 open_ids: Annotated[list[str], Form(alias="open", max_length=200)] = [],  # noqa: B006
                 close_ids: Annotated[list[str], Form(alias="close", max_length=200)] = [],  # noqa: B006
                 csrf: Annotated[str, Form(max_length=100)] = "",
                 token: submit.SubmissionToken = "") -> Response:
    """Queue a design; a bad field answers the form again (422) naming it, nothing queued. The
    same form posted again (its submission token) answers the first design, queuing none."""
    user = current_user(request)
    check_change(request, user, csrf)
    scenario = request.app.state.ctx.scenario
    values = {"method": method, "budget": budget, "max_new": max_new, "open": open_ids,
              "close": close_ids}
    amount, error = fmt.form_amount(budget, positive=True)
    if error:
        error = error.replace("Budget:", "Yearly budget:")
    limit = None
    if not error and max_new.strip():
        if not max_new.strip().isdigit():
            error = f"At most new locations: {max_new!r} is not a whole number of 0 or more."
        else:
            limit = int(max_new.strip())
    location = ""
    if not error:
        def start() -> str:
            job = designs.start_design(scenario, method=method, budget=amount, max_new=limit,
                                       force_open=open_ids, force_closed=close_ids,
                                       started_by=user.name)
            return f"/designs/{job.id}"

        try:
            location = submit.once(request.app.state.ctx, user, operation=START_DESIGN,
                                   token=token, request=values, start=start)
        except ValueError as exc:
            error = str(exc)[:1].upper() + str(exc)[1:]
        except Problem as exc:  # the token came before with other values
            error = submit.reused(exc) or exc.detail
    if error:
        return _form(request, user, status_code=422, error=error, values=values)
    return RedirectResponse(location, status_code=303)


@router.get("/designs/{design_id}", response_class=HTMLResponse)
def design_page(request: Request, design_id: str) -> HTMLResponse:
    user = current_user(request)
    job = designs.get_design(design_id)
    context = designs.result(design_id) if job.status == "succeeded" else {}
    return page(request, "design.html", user, nav="designs", job=job, files=designs.FILES,
                **context)


@router.get("/designs/{design_id}/job", response_class=HTMLResponse)
def design_job(request: Request, design_id: str) -> Response:
    """The progress fragment the design page polls; a finished job reloads the page."""
    user = current_user(request)
    job = designs.get_design(design_id)
    resp = page(request, "_job.html", user, job=job, poll=f"/designs/{job.id}/job")
    if job.status not in ("queued", "running"):
        resp.headers["HX-Refresh"] = "true"
    return resp


@router.get("/designs/{design_id}/files/{name}")
def design_file(request: Request, design_id: str, name: str) -> FileResponse:
    """One of the design's files (design.csv, before_after.csv, ...) as a download."""
    current_user(request)
    path = designs.file_path(design_id, name)
    media = "application/json" if name.endswith(".json") else "text/csv; charset=utf-8"
    return FileResponse(path, media_type=media, filename=f"{design_id}-{name}")
