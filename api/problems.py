"""RFC 9457 problem details for every error the API returns.

Every error body is ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``
and, for input errors, ``errors``: a list of ``{"field": "body.severity", "message": ...}`` so the
caller sees which field is wrong.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://spares.dev/problems/"


class Problem(Exception):
    """An error to answer as a problem document; ``slug`` becomes the ``type`` URI."""

    def __init__(self, status: int, slug: str, title: str, detail: str,
                 errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.errors, self.headers, self.extra = errors, headers, extra

    def body(self, instance: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": TYPE_BASE + self.slug, "title": self.title,
                               "status": self.status, "detail": self.detail, "instance": instance}
        if self.errors:
            out["errors"] = self.errors
        out.update(self.extra)
        return out


def field_problem(status: int, field: str, message: str, slug: str = "invalid-field") -> Problem:
    """A problem about one named input field."""
    return Problem(status, slug, "Invalid request field", f"{field}: {message}",
                   errors=[{"field": field, "message": message}])


def _respond(request: Request, problem: Problem) -> JSONResponse:
    return JSONResponse(problem.body(request.url.path), status_code=problem.status,
                        media_type=PROBLEM_MEDIA_TYPE, headers=problem.headers)


_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 409: "Conflict", 422: "Unprocessable content",
           500: "Internal server error"}


def install(app: FastAPI) -> None:
    """Register handlers so that validation, HTTP and unexpected errors all answer problems."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return _respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                  for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return _respond(request, Problem(422, "validation-error", "Request validation failed",
                                         detail, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = _TITLES.get(exc.status_code, "Error")
        return _respond(request, Problem(exc.status_code, title.lower().replace(" ", "-"), title,
                                         str(exc.detail), headers=getattr(exc, "headers", None)))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _respond(request, Problem(500, "internal-error", "Internal server error",
                                         f"{type(exc).__name__}: the server could not complete the "
                                         "request"))
