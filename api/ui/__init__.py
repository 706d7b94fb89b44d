"""The planners' workspace: server-rendered pages (Jinja2 + htmx) at ``/``, its static files at
``/ui/static`` (htmx, Chart.js and Swagger UI vendored: nothing is loaded from another host), and
``/docs`` served from those files so it works offline (``/redoc`` leads there).

``install(app)`` adds all of it to the API app.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.ui.plans import PlanNotFound
from api.ui.session import Forbidden, LoginRequired

STATIC = Path(__file__).parent / "static"
VENDOR = "/ui/static/vendor"


def _login_redirect(request: Request, exc: Exception) -> Response:
    if request.headers.get("hx-request"):  # htmx: reload into the login form
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _forbidden(request: Request, exc: Exception) -> Response:
    from api.ui.views import page

    detail = exc.detail if isinstance(exc, Forbidden) else "forbidden"
    return page(request, "error.html", None, status_code=403, title="Not allowed", detail=detail)


def _not_found(request: Request, exc: Exception) -> Response:
    from api.ui.views import page

    return page(request, "error.html", None, status_code=404, title="No such plan",
                detail=f"There is no finished plan {str(exc)!r}.")


def _offline_docs(app: FastAPI) -> None:
    """Replace FastAPI's CDN-loading /docs and /redoc with Swagger UI on the vendored assets."""
    app.router.routes[:] = [r for r in app.router.routes
                            if getattr(r, "path", None) not in ("/docs", "/redoc")]

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json",
                                   title=f"{app.title} - Swagger UI",
                                   swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{VENDOR}/swagger-ui.css",
                                   swagger_favicon_url="/ui/static/favicon.svg")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> RedirectResponse:
        """ReDoc's bundle loads its logo from a CDN, so the offline docs are Swagger UI alone."""
        return RedirectResponse("/docs", status_code=307)


def install(app: FastAPI) -> None:
    """Mount the workspace, its static files and the offline API docs on ``app``."""
    from api.ui.restock import router as restock_router
    from api.ui.views import router

    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.include_router(router)
    app.include_router(restock_router)
    app.add_exception_handler(LoginRequired, _login_redirect)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(PlanNotFound, _not_found)
    _offline_docs(app)
