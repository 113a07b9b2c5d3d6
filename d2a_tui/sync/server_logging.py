"""The server's logs hold no patient identifier, at any level, tracebacks included.

An unexpected exception is logged as its type, the endpoint and a request id, and answered with a
500 that carries the same request id (also in the `X-Request-ID` header), so an administrator can
find the line without the log ever holding a body. Tracebacks are never written: a database
driver's message quotes the statement's parameters (NHS numbers, names, dates of birth, notes),
and a traceback with locals shows the request body itself. The filter below reduces any record
that carries an exception (uvicorn's, FastAPI's, a library's) to its message and exception type.

Each line is one JSON object (`JsonLines`): timestamp, level, logger and event, and for a request
its endpoint (the route's template), method, status, duration, device, user and count. Only
those named fields are ever written, so nothing reaches the log by riding along on a record.
"""

from __future__ import annotations

import contextvars
import json
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("d2a.sync.server")
REQUEST_ID_HEADER = "x-request-id"
# The fields a line may carry beyond timestamp, level, logger and event; nothing else is written.
FIELDS = (
    "endpoint",
    "method",
    "status",
    "duration_ms",
    "device",
    "user",
    "count",
    "journeys",
    "applied",
    "outcomes",
    "request_id",
)
_request_fields: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "d2a_request_fields", default=None
)
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


def tag(**fields: Any) -> None:
    """Add fields to the current request's log line (the device, the user, a count). The
    handlers run in the request's context, worker threads included, so the dict is shared."""
    current = _request_fields.get()
    if current is not None:
        current.update(fields)


class InternalErrorGuard:
    """Outermost middleware: every request is one log line (endpoint, status, duration and
    what the handlers tagged) and every response gets a request id; an exception nobody handled
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
        clock = time.perf_counter()
        fields: dict[str, Any] = {}
        _request_fields.set(fields)

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                fields["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            fields["status"] = 500
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
        finally:
            fields["endpoint"] = _endpoint(scope, self.known_paths)
            fields["method"] = scope.get("method", "?")
            fields["duration_ms"] = round((time.perf_counter() - clock) * 1000, 1)
            log.info("request", extra={"fields": fields})


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


def install(app: Any) -> None:
    """Wire the guard, which also writes the request log, into a FastAPI app, outside every other middleware
    (call it last)."""
    app.add_middleware(InternalErrorGuard, known_paths=route_paths(app))


def route_paths(app: Any) -> frozenset[str]:
    """Every route's path, those of the included routers too. The guard needs them for a request
    whose scope lost its route (a POST: `RequestBodyGuard` passes a copy of the scope on)."""
    try:
        # FastAPI 0.137.2 and later keep an included router as one node in `app.routes`, with
        # no path: this walks its routes.
        from fastapi.routing import iter_route_contexts
    except ImportError:  # earlier FastAPI copied each included route into `app.routes`
        return frozenset(getattr(route, "path", "") for route in app.routes)
    return frozenset(context.path or "" for context in iter_route_contexts(app.routes))


class JsonLines(logging.Formatter):
    """One JSON object per line. A record's message is its `event`; a request line's fields
    come from `extra={"fields": {...}}`, kept to FIELDS. Tracebacks are never formatted (the
    filter has removed them already; this does not rely on it)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            line.update((name, extra[name]) for name in FIELDS if name in extra)
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str)


def configure_logging(level: str, stream: IO[str] | None = None) -> None:
    """One handler (stderr unless `stream`) for d2a and its server libraries, writing JSON
    lines, with the filter on it."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
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
