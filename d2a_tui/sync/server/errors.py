"""Every refusal in the API's one error shape (`ErrorBody`: a reason code and a detail).

The routes raise `ApiError`; `add_exception_handlers` turns it, the framework's own refusals
(no route, wrong method, a body the models refuse) and the database's faults into answers of
that shape. Moved here verbatim from the single-module server, apart from `_error` becoming the
public `error_response` (the middleware in `app.py` answers with it too) and the database's
fault reading the engine from the app's state (it was a closure over it).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from d2a_tui.domain.errors import D2AError
from d2a_tui.storage.db import SCHEMA_HEAD, DatabaseUnavailable, current_revision
from d2a_tui.sync import lifecycle
from d2a_tui.sync.protocol import MUTATION_KINDS, SUPPORTED_VERSIONS, ErrorBody

# The server's one logger, whichever of its modules writes: operators filter on the name.
log = logging.getLogger("d2a.sync.server")
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 409, 413, 415, 422, 503)
}
# The reason code for a refusal Starlette makes itself (no route, wrong method, ...).
HTTP_REASONS = {404: "not_found", 405: "method_not_allowed", 406: "not_acceptable"}


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str, **extra: Any) -> None:
        self.status, self.error, self.detail, self.extra = status, error, detail, extra
        super().__init__(detail)


def error_response(status: int, error: str, detail: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": error, "detail": detail, **{k: v for k, v in extra.items() if v is not None}}
    return JSONResponse(body, status_code=status, headers=headers)


def add_exception_handlers(app: FastAPI) -> None:
    """The handlers, registered in the order the single-module server registered them."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.error, error.detail, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return validation_response(error)

    # Every refusal has the one error shape (ErrorBody), including those the framework makes.
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code < 400:
            return Response(status_code=error.status_code, headers=error.headers)
        reason = HTTP_REASONS.get(error.status_code, f"http_{error.status_code}")
        response = error_response(error.status_code, reason, str(error.detail))
        if error.headers:
            response.headers.update(error.headers)
        return response

    @app.exception_handler(DatabaseUnavailable)
    async def _unavailable(request: Request, error: DatabaseUnavailable) -> JSONResponse:
        return await database_fault(_engine(request)) or error_response(
            503, "database_unavailable", "the database is unavailable; nothing was saved"
        )

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(request: Request, error: SQLAlchemyError) -> JSONResponse:
        answer = await database_fault(_engine(request))
        if answer is None:
            raise error  # the database is as it should be: a fault of ours, a 500
        return answer

    @app.exception_handler(D2AError)
    async def _refused(request: Request, error: D2AError) -> JSONResponse:
        # A storage refusal the ingest could not pin on one change (a clash on a unique id).
        return error_response(409, "refused", str(error))


def _engine(request: Request) -> Engine:
    # The handlers are not dependencies (FastAPI does not inject into them): read the engine
    # where `create_app` put it.
    engine: Engine = request.app.state.engine
    return engine


async def database_fault(engine: Engine) -> JSONResponse | None:
    """A database that fails a request is asked what it is now, as /v1/ready asks: gone, or
    holding no schema or another one (dropped and recreated empty, restored from another
    release), is the operator's to mend, and the device is told so with a 503 (it retries
    later, nothing lost); None when the database is as it should be (a fault of ours)."""
    try:
        found = await run_in_threadpool(current_revision, engine)
    except (DatabaseUnavailable, SQLAlchemyError):
        return lifecycle.unavailable(
            "database_unavailable", "the database is unavailable; nothing was saved"
        )
    if found != SCHEMA_HEAD:
        log.error("the database's schema is %r, this server needs %r", found, SCHEMA_HEAD)
        return lifecycle.unavailable(
            "schema_mismatch",
            f"the database schema is {found or 'empty'!r}, this server needs "
            f"{SCHEMA_HEAD!r} (dropped, or restored from another release?): nothing was "
            "saved; an administrator must restore it",
        )
    return None


def validation_response(error: RequestValidationError) -> JSONResponse:
    """Machine-readable reasons for bodies the models refuse. Pydantic's `input` is left out:
    it may hold a patient's details, and error bodies end up in logs."""
    problems = list(error.errors())
    body = error.body
    if any(p.get("type") == "json_invalid" for p in problems) or (
        isinstance(body, bytes | str) and not isinstance(body, dict)
    ):
        return error_response(400, "malformed_json", "the body is not valid JSON")
    if isinstance(body, dict) and "schema_version" in body:
        version = body.get("schema_version")
        if version not in SUPPORTED_VERSIONS:
            return error_response(
                400,
                "unknown_schema_version",
                f"schema_version {version!r} is not one of {list(SUPPORTED_VERSIONS)}",
            )
    cleaned = [
        {"loc": list(p.get("loc", ())), "type": p.get("type"), "msg": p.get("msg")}
        for p in problems
    ]
    for problem in problems:
        loc = problem.get("loc", ())
        if problem.get("type") == "union_tag_invalid" or (
            problem.get("type") == "literal_error" and loc and loc[-1] in ("command", "kind")
        ):
            return error_response(
                422,
                "unknown_mutation_kind",
                f"unknown mutation kind or command; kinds: {', '.join(MUTATION_KINDS)}",
                errors=cleaned,
            )
    if any(
        p.get("type") == "too_long" and p.get("loc", ())[-1:] == ("mutations",) for p in problems
    ):
        return error_response(
            413, "batch_too_large", "too many mutations in one push", errors=cleaned
        )
    return error_response(
        422, "invalid_payload", "the body does not match the schema", errors=cleaned
    )
