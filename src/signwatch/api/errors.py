"""One error shape for every refusal: `{"error": {"code", "message", "field"?}}` (DESIGN.md §9)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from signwatch.api.responses import ORJSONResponse

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """A refusal with its status, machine code, one-line reason and, when it is about one, the field."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.details = details
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.field = field
        self.headers = headers


def error_body(
    code: str, message: str, field: str | None = None, details: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """The error envelope; `details` lists every (field, message) when there is more than one problem."""
    err: dict[str, Any] = {"code": code, "message": message}
    if field:
        err["field"] = field
    if details:
        err["details"] = details
    return {"error": err}


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    details: list[dict[str, str]] | None = None,
) -> Response:
    return ORJSONResponse(error_body(code, message, field, details), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Route every refusal the app can produce through the one error shape."""

    async def on_api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers, exc.details)

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error_response(
            exc.status_code,
            _CODES.get(exc.status_code, "error"),
            detail,
            None,
            dict(exc.headers) if exc.headers else None,
        )

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "body", "path", "header")]
        return error_response(400, "bad_request", str(first.get("msg", "invalid request")), ".".join(loc) or None)

    async def on_unexpected(_: Request, exc: Exception) -> Response:
        return error_response(500, "internal", "internal error")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_unexpected)
