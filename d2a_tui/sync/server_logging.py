"""The server's logs hold no patient identifier, at any level, tracebacks included.

An unexpected exception is logged as its type, the endpoint and a request id, and answered with a
500 that carries the same request id (also in the `X-Request-ID` header), so an administrator can
find the line without the log ever holding a body. Tracebacks are never written: a database
driver's message quotes the statement's parameters (NHS numbers, names, dates of birth, notes),
and a traceback with locals shows the request body itself. The filter below reduces any record
that carries an exception (uvicorn's, FastAPI's, a library's) to its message and exception type.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("d2a.sync.server")
REQUEST_ID_HEADER = "x-request-id"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers the server's libraries write to; they all pass through the same filtered handler.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "fastapi", "starlette")


def new_request_id() -> str:
    return secrets.token_hex(8)


def _endpoint(scope: Scope, known: frozenset[str]) -> str:
    """The route's template (e.g. /v1/sync/push); a path no route knows is not repeated, as a
    client could put anything in it."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str):
        return template
    path = scope.get("path", "")
    return path if path in known else "<unrouted path>"


class InternalErrorGuard:
    """Outermost middleware: every response gets a request id; an exception nobody handled
    becomes one log line and a 500 in the API's error shape, never a traceback."""

    def __init__(self, app: ASGIApp, known_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.known_paths = known_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            log.error(
                "internal error %s on %s %s request=%s",
                type(error).__name__,
                scope.get("method", "?"),
                _endpoint(scope, self.known_paths),
                request_id,
            )
            if started:
                return  # the response is already on its way: nothing more can be said
            body = json.dumps(
                {
                    "error": "internal_error",
                    "detail": f"the server failed; quote request {request_id} to its administrator",
                    "request_id": request_id,
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (REQUEST_ID_HEADER.encode(), request_id.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


class NoPatientData(logging.Filter):
    """Keeps a record's message but drops its traceback and stack: exception text and frames
    are where a patient's details hide. The exception's type stays, so the line still says what."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info or record.exc_text or record.stack_info:
            kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
            record.msg = f"{record.getMessage()}" + (f" ({kind}; details withheld)" if kind else "")
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


REQUEST_STATE = "d2a_request"  # where a route leaves what the request log says of it


def _noted(request: Any) -> dict[str, Any]:
    state = request.scope.setdefault("state", {})
    return state.setdefault(REQUEST_STATE, {})  # type: ignore[no-any-return]


def note_caller(request: Any, device_id: str, user_id: str) -> None:
    _noted(request).update(device=device_id[-12:], user=user_id)


def note_journeys(request: Any, journeys: set[str]) -> None:
    _noted(request)["journeys"] = len(journeys)


class RequestLog:
    """One line per request: the device, the user, the endpoint, the status and how many
    journeys it returned. Never a name, an NHS number or a journey's id."""

    def __init__(self, app: ASGIApp, known_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.known_paths = known_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Made here, so that copies of the scope further in (the body guard's) share it.
        noted: dict[str, Any] = scope.setdefault("state", {}).setdefault(REQUEST_STATE, {})
        status = 0

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            log.info(
                "request device=%s user=%s endpoint=%s %s status=%s journeys=%s",
                noted.get("device", "-"),
                noted.get("user", "-"),
                scope.get("method", "?"),
                _endpoint(scope, self.known_paths),
                status or 500,
                noted.get("journeys", 0),
            )


def install(app: Any) -> None:
    """Wire the request log and the guard into a FastAPI app, outside every other middleware
    (call it last)."""
    known = frozenset(getattr(route, "path", "") for route in app.routes)
    app.add_middleware(RequestLog, known_paths=known)
    app.add_middleware(InternalErrorGuard, known_paths=known)


def configure_logging(level: str) -> None:
    """One stderr handler for d2a and its server libraries, with the filter on it."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(NoPatientData())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
