"""Errors as RFC 9457 problem documents (`application/problem+json`) that name the failing field."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from sladesk.errors import PolicyError, SladeskError
from sladesk.services import (
    ConflictError,
    ForbiddenError,
    InvalidFieldError,
    NotFoundError,
    StaleVersionError,
)
from sladesk.store.engine import DatabaseUnavailableError

PROBLEM = "application/problem+json"
RETRY_AFTER_SECONDS = 5  # how long a client is asked to wait before retrying when the database is down
UNAVAILABLE = "the desk's database cannot be reached; try again later"
log = logging.getLogger("sladesk.api")
_STATUS_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    428: "Precondition required",
    500: "Internal server error",
    503: "Service unavailable",
}


class ProblemResponse(JSONResponse):
    """A problem document; a lone surrogate quoted from the request (in a detail or field) is written as its
    JSON escape instead of failing the answer."""

    media_type = PROBLEM

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")


def problem(status: int, detail: str, field: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": _STATUS_TITLES.get(status, "Error"), "status": status}
    body["detail"] = detail
    if field is not None:
        body["field"] = field
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return ProblemResponse(body, status_code=status, headers=headers)


def unavailable(error: Exception) -> JSONResponse:
    """503 for a database that cannot be reached: the detail (its URL, the driver's reason) goes to the log only."""
    log.warning("answering 503: %s", error)
    return problem(503, UNAVAILABLE)


def _field(loc: Sequence[Any]) -> str:
    """A validation error's location as the caller named it: `intake.k`, not `body.intake.k`."""
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    return ".".join(str(part) for part in parts)


def _sent_media_type(request: Request) -> str | None:
    """The media type of the request's `Content-Type` header, lower case, without parameters; None without one."""
    value = request.headers.get("content-type")
    return None if value is None else value.split(";")[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def install(app: FastAPI) -> None:
    """Turn every error the API can raise into a problem document."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        media_type = _sent_media_type(request)
        if tuple(first["loc"]) == ("body",) and media_type is not None and not _is_json(media_type):
            # the framework parses a body as JSON only when it says it is JSON: say so, not "not an object"
            return problem(415, f"send the body as application/json, not {media_type}", "Content-Type")
        field = _field(first["loc"]) or None
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        elif first["type"] == "missing":
            message = "required"
        errors = [
            {
                "field": _field(e["loc"]),
                "message": str(e["msg"]).removeprefix("Value error, "),
            }
            for e in error.errors()
        ]
        return problem(422, f"{field}: {message}" if field else message, field, errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return problem(error.status_code, str(error.detail))

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> JSONResponse:
        # A connection lost in the middle of a request (the database went away): retry later, like no connection.
        if error.connection_invalidated:
            return unavailable(error)
        raise error  # anything else is the desk's own error: a bare 500, the traceback in the log

    @app.exception_handler(SladeskError)
    async def domain_error(request: Request, error: SladeskError) -> JSONResponse:
        if isinstance(error, DatabaseUnavailableError):
            return unavailable(error)
        if isinstance(error, InvalidFieldError):
            return problem(422, str(error), error.field)
        if isinstance(error, NotFoundError):
            return problem(404, str(error))
        if isinstance(error, ForbiddenError):
            return problem(403, str(error))
        if isinstance(error, StaleVersionError):
            return problem(412, str(error), "If-Match", current_version=error.current)
        if isinstance(error, ConflictError):
            return problem(409, str(error), **error.details)
        if isinstance(error, PolicyError):
            errors = [{"file": p.file, "line": p.line, "field": p.field, "message": p.message} for p in error.problems]
            return problem(422, str(error), error.problems[0].field or None, errors=errors)
        return problem(422, str(error))
