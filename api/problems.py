"""RFC 9457 problem details for every error the API returns.

Every error body is ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``
and, for input errors, ``errors``: a list of ``{"field": "body.severity", "message": ...}`` so the
caller sees which field is wrong.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def response(problem: Problem, instance: str) -> JSONResponse:
    """The problem document as an ``application/problem+json`` response."""
    return JSONResponse(problem.body(instance), status_code=problem.status,
                        media_type=PROBLEM_MEDIA_TYPE, headers=problem.headers)


def _respond(request: Request, problem: Problem) -> JSONResponse:
    return response(problem, request.url.path)


_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 409: "Conflict", 413: "Content too large",
           415: "Unsupported media type", 422: "Unprocessable content",
           429: "Too many requests", 500: "Internal server error"}

_log = logging.getLogger("api.problems")

SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}}}
"""JSON schema of a problem document (RFC 9457 with ``errors``)."""


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries: problem+json with :data:`SCHEMA` for ``statuses``."""
    return {s: {"description": _TITLES.get(s, "Error"),
                "content": {PROBLEM_MEDIA_TYPE: {"schema": SCHEMA}}} for s in statuses}


class ProblemOnError:
    """ASGI middleware: an unexpected exception becomes a 500 problem *answered by the app*.

    Starlette's own last-resort handler answers and then re-raises, so the server closes the
    keep-alive connection and the client's next request on it fails; answering here keeps the
    connection usable. The traceback goes to the log. Once a response has started it cannot be
    replaced: the exception is re-raised then.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:
                raise
            _log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            problem = Problem(500, "internal-error", "Internal server error",
                              f"{type(exc).__name__}: the server could not complete the request")
            await response(problem, scope.get("path", ""))(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register handlers so that validation, HTTP and unexpected errors all answer problems
    (add other middleware before this: :class:`ProblemOnError` must be the outermost)."""

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

    app.add_middleware(ProblemOnError)
