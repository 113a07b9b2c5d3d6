"""A server process's life: start (the head listener), readiness, and a graceful stop.

Several `d2a serve` processes may stand behind one load balancer on one PostgreSQL database.
`/v1/health` says the process is alive; `/v1/ready` says it should be sent work: the database
answers and holds this server's schema, and the process is not stopping. On SIGTERM the process
drains: `/v1/ready` and any new request get 503 `shutting_down` (clients retry elsewhere or
later), waiting pulls answer at once, and pushes already inside finish and commit — a push's
batch is one transaction, so a push cut off anyway leaves nothing behind. Uvicorn then closes
the listening socket and waits for the open requests (at most `GRACE_SECONDS`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from d2a_tui.storage.db import SCHEMA_HEAD, DatabaseUnavailable, current_revision
from d2a_tui.storage.head_watch import listen_conninfo
from d2a_tui.sync.protocol import ErrorBody, Ready
from d2a_tui.sync.wakeup import HeadListener, Waiters

# Longer than a push takes under load, shorter than an orchestrator's own kill timeout (30 s).
GRACE_SECONDS = 25
# Longer than a load balancer's idle timeout (60 s is common): the balancer, not the server,
# closes an idle connection, so it never reuses one the server has just closed.
KEEP_ALIVE_SECONDS = 75
# Liveness answers while draining: the process is alive, only not taking work.
ALWAYS_ANSWERED = frozenset({"/v1/health"})


class Lifecycle:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.waiters = Waiters()
        self.draining = False
        self.listener: HeadListener | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        conninfo = listen_conninfo(self.engine)
        if conninfo is not None:
            self.listener = HeadListener(conninfo, self.waiters)
            self.listener.start()
        try:
            yield
        finally:
            if self.listener is not None:
                await self.listener.stop()

    def drain(self) -> None:
        self.draining = True
        self.waiters.close()

    def drain_from_signal(self) -> None:
        """Called from a signal handler: the work is handed to the event loop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.drain)
        else:
            self.drain()

    def middleware(self, app: ASGIApp) -> ASGIApp:
        return RefuseWhileDraining(app, self)

    def add_routes(self, app: FastAPI) -> None:
        errors: dict[int | str, dict[str, Any]] = {503: {"model": ErrorBody}}

        @app.get("/v1/ready", response_model=Ready, responses=errors, tags=["ops"])
        async def ready() -> Any:
            try:
                revision = await run_in_threadpool(current_revision, self.engine)
            except (DatabaseUnavailable, SQLAlchemyError):
                return unavailable("database_unavailable", "the database does not answer")
            if revision != SCHEMA_HEAD:
                return unavailable(
                    "schema_mismatch",
                    f"the database schema is {revision or 'empty'!r}, this server needs "
                    f"{SCHEMA_HEAD!r}",
                )
            return Ready(status="ready", schema_revision=revision)


def unavailable(error: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "detail": detail}, status_code=503, headers={"Retry-After": "1"}
    )


class RefuseWhileDraining:
    """Once the process drains, a request that was not already inside is refused before it
    touches anything, and its connection is closed so the client reconnects elsewhere."""

    def __init__(self, app: ASGIApp, lifecycle: Lifecycle) -> None:
        self.app = app
        self.lifecycle = lifecycle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.lifecycle.draining
            or scope.get("path") in ALWAYS_ANSWERED
        ):
            await self.app(scope, receive, send)
            return
        refusal = unavailable("shutting_down", "this server is stopping; try again")
        refusal.headers["connection"] = "close"
        await refusal(scope, receive, send)


def run(app: FastAPI, lifecycle: Lifecycle, **options: Any) -> None:
    """Uvicorn with a drain on SIGTERM/SIGINT before its own graceful shutdown."""
    import uvicorn

    class DrainingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            lifecycle.drain_from_signal()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=GRACE_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        **options,
    )
    DrainingServer(config).run()
