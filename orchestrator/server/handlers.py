"""Pomar's errors as HTTP answers: one ``{"detail": …, "field": …}`` body, the status code by
branch of the error tree. Validation errors (malformed JSON, a bad field) are 422 naming the
field; nothing Pomar raises on purpose is a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from orchestrator.server.errors import DigestMismatch, IdempotencyConflict, NotFound, UploadTooLarge
from orchestrator.server.schemas import Problem
from pomar_core.errors import (
    InfrastructureError,
    InputsError,
    ModelError,
    PomarError,
    UsageError,
)

log = logging.getLogger(__name__)


def status_of(exc: PomarError) -> tuple[int, str | None]:
    """The HTTP status of a Pomar error, and the request field it is about."""
    if isinstance(exc, NotFound):
        return 404, None
    if isinstance(exc, UploadTooLarge):
        return 413, None
    if isinstance(exc, IdempotencyConflict):
        return 409, "Idempotency-Key"
    if isinstance(exc, DigestMismatch):
        return 422, "sha256"
    if isinstance(exc, ModelError):
        return 422, "model"
    if isinstance(exc, InputsError):
        return 422, "inputs"
    if isinstance(exc, UsageError):
        return 422, None
    if isinstance(exc, InfrastructureError):
        return 503, None
    return 502, None


def _problem(status: int, detail: str, field: str | None = None, **headers: str) -> JSONResponse:
    body = Problem(detail=detail, field=field).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers or None)


def _field(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(PomarError)
    async def pomar_error(_: Request, exc: PomarError) -> JSONResponse:
        status, field = status_of(exc)
        if status >= 500:
            log.warning("request failed: %s", exc.one_line())
        return _problem(status, exc.one_line(), field)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid"}
        field = _field(tuple(first.get("loc", ())))
        if first.get("type") == "json_invalid":
            field = "body"
            message = "the body is not valid JSON"
        else:
            message = str(first.get("msg", "invalid"))
        return _problem(422, f"{field}: {message}", field)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return _problem(exc.status_code, str(exc.detail), **(exc.headers or {}))
