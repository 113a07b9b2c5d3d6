"""The app: `create_app` builds the server's state, wires the middleware in its order, the
exception handlers and the routers; `serve` runs it under uvicorn.

The two middleware classes below and `create_app`'s opening are the single-module server's,
moved verbatim (`_error` is `errors.error_response` now); the routes it defined as closures are
the routers in `routes/`, and what they closed over is `deps.ServerState`, on `app.state.server`.
"""

from __future__ import annotations

import logging
import zlib
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from d2a_tui import __version__
from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.flow import Flow, load_flow
from d2a_tui.storage.db import SCHEMA_HEAD, SchemaMismatch, current_revision, make_engine
from d2a_tui.sync import admin, lifecycle, server_logging
from d2a_tui.sync.ingest import Ingest
from d2a_tui.sync.limits import MAX_CONNECTIONS, PER_CLIENT, PerClientLimit
from d2a_tui.sync.protocol import MAX_BODY_BYTES
from d2a_tui.sync.server.deps import Clock, ServerState
from d2a_tui.sync.server.errors import add_exception_handlers, error_response
from d2a_tui.sync.server.routes import auth, ops, sync

log = logging.getLogger("d2a.sync.server")


class RequestBodyGuard:
    """Caps request bodies, before and after gunzip, and undoes Content-Encoding: gzip, so the
    routes see plain JSON and a zip bomb costs the server at most `max_bytes` of memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        too_big = error_response(
            413, "body_too_large", f"request bodies are limited to {self.max_bytes} bytes"
        )
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await too_big(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await too_big(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding == "gzip":
            inflater = zlib.decompressobj(wbits=31)
            try:
                plain = inflater.decompress(body, self.max_bytes + 1)
            except zlib.error:
                await error_response(400, "bad_encoding", "the body is not valid gzip")(
                    scope, receive, send
                )
                return
            if len(plain) > self.max_bytes or inflater.unconsumed_tail:
                await too_big(scope, receive, send)
                return
            body = plain
        elif encoding not in ("identity", ""):
            await error_response(
                415, "unsupported_encoding", f"Content-Encoding {encoding!r}: use gzip"
            )(scope, receive, send)
            return
        raw = [
            (k, v)
            for k, v in scope["headers"]
            if k.lower() not in (b"content-encoding", b"content-length")
        ]
        raw.append((b"content-length", str(len(body)).encode()))
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app({**scope, "headers": raw}, replay, send)


class ServerTime:
    """Every answer carries the server's clock (`X-D2A-Time`), read as the answer starts: a
    device measures its own clock's offset from it at each sync, as NTP does, from the times it
    sent the request and received the answer."""

    def __init__(self, app: ASGIApp, now: Clock) -> None:
        self.app = app
        self.now = now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                stamp = (b"x-d2a-time", self.now().isoformat(timespec="milliseconds").encode())
                message = {**message, "headers": [*message.get("headers", []), stamp]}
            await send(message)

        await self.app(scope, receive, stamped)


def create_app(
    engine_or_url: Engine | str,
    *,
    flow: Flow | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    clock: Clock | None = None,
    calendar: HubCalendar | None = None,
    token_days: int = admin.TOKEN_DAYS,
    per_client: int = PER_CLIENT,
) -> FastAPI:
    """The API on a database of this code's schema; refuses any other (SchemaMismatch)."""
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    revision = current_revision(engine)
    if revision != SCHEMA_HEAD:
        raise SchemaMismatch(
            f"database schema is {revision or 'empty'!r}, this server needs {SCHEMA_HEAD!r}: "
            "run `d2a db upgrade --db URL` (or use the d2a release that matches the database)"
        )
    flow = flow or load_flow()
    now: Clock = clock or (lambda: datetime.now(UTC))
    calendar = calendar or HubCalendar()
    ingest = Ingest(engine, flow, calendar)
    life = lifecycle.Lifecycle(engine)

    app = FastAPI(
        title="d2a central API",
        version=__version__,
        description="Sync for Discharge to Assess hubs: a server-ordered event log.",
        lifespan=life.lifespan,
        # No browsable API pages: they would load scripts from a CDN into a page on the server's
        # origin, and nobody needs them to sync. The OpenAPI document itself stays, the contract.
        docs_url=None,
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.lifecycle = life
    # What the routes' dependencies read (deps.py): what they closed over when they were closures.
    app.state.server = ServerState(
        engine=engine,
        revision=revision,
        now=now,
        calendar=calendar,
        ingest=ingest,
        lifecycle=life,
        token_days=token_days,
    )
    app.add_middleware(GZipMiddleware, minimum_size=512, compresslevel=6)
    app.add_middleware(RequestBodyGuard, max_bytes=max_body_bytes)
    app.add_middleware(life.middleware)
    app.add_middleware(ServerTime, now=now)
    # Outermost: a client over its share is answered before anything else is spent on it.
    app.add_middleware(PerClientLimit, per_client=per_client)
    add_exception_handlers(app)

    # In this order: the order of the routes is the order of the paths in the OpenAPI document.
    app.include_router(ops.router)
    app.include_router(auth.router)
    app.include_router(sync.router)
    life.add_routes(app)
    server_logging.install(app)  # last: outside every other middleware
    return app


def serve(
    url: str,
    host: str = "127.0.0.1",
    port: int = 8765,
    log_level: str = "info",
    calendar: HubCalendar | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    token_days: int = admin.TOKEN_DAYS,
    max_connections: int = MAX_CONNECTIONS,
    per_client: int = PER_CLIENT,
) -> None:
    """Run the API under uvicorn until SIGTERM (drained, see `lifecycle.py`); refuses a
    database of the wrong schema. With `certfile` and `keyfile` it speaks HTTPS only. At most
    `max_connections` connections and requests in all (503 beyond), and `per_client` requests
    in progress for one client (429 beyond: see `limits.py`)."""
    server_logging.configure_logging(log_level)
    app = create_app(url, calendar=calendar, token_days=token_days, per_client=per_client)
    scheme = "https" if certfile else "http"
    log.info("d2a %s serving schema %s on %s://%s:%d", __version__, SCHEMA_HEAD, scheme, host, port)
    lifecycle.run(
        app,
        app.state.lifecycle,
        host=host,
        port=port,
        log_level=log_level,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        limit_concurrency=max_connections,
    )
