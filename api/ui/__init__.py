"""The planners' workspace: server-rendered pages (Jinja2 + htmx) at ``/``, its static files at
``/ui/static`` (htmx, Chart.js, Swagger UI and ReDoc vendored: nothing is loaded from another
host), and ``/docs`` and ``/redoc`` served from those files so they work offline.

``install(app)`` adds all of it to the API app.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
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


def _no_design(request: Request, exc: Exception) -> Response:
    from api.ui.views import page

    return page(request, "error.html", None, status_code=404, title="No such design",
                detail=f"There is no network design (or no such file of one) {str(exc)!r}.")


def _offline_docs(app: FastAPI) -> None:
    """Replace FastAPI's CDN-loading /docs and /redoc with Swagger UI and ReDoc on the vendored
    assets."""
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
    def redoc() -> HTMLResponse:
        """ReDoc on the vendored standalone bundle, without web fonts. The bundle's footer shows
        Redocly's logo from their CDN (the image hides itself when it fails): the page's content
        security policy allows images of this server only, so the browser never asks for it."""
        resp = get_redoc_html(openapi_url=app.openapi_url or "/openapi.json",
                              title=f"{app.title} - ReDoc", redoc_js_url=f"{VENDOR}/redoc.standalone.js",
                              redoc_favicon_url="/ui/static/favicon.svg", with_google_fonts=False)
        resp.headers["Content-Security-Policy"] = "img-src 'self' data:; font-src 'self' data:"
        return resp


def install(app: FastAPI) -> None:
    """Mount the workspace, its static files and the offline API docs on ``app``."""
    from api.ui.design_pages import router as design_router
    from api.ui.designs import DesignNotFound
    from api.ui.restock import router as restock_router
    from api.ui.views import router
    from api.ui.whatif import router as whatif_router

    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.include_router(router)
    app.include_router(restock_router)
    app.include_router(design_router)
    app.include_router(whatif_router)
    app.add_exception_handler(LoginRequired, _login_redirect)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(PlanNotFound, _not_found)
    app.add_exception_handler(DesignNotFound, _no_design)
    _offline_docs(app)
