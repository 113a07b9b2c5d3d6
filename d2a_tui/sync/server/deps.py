"""What a route needs, as FastAPI dependencies: the database, the clock, the ingest, the
long-poll waiters, the server's settings, and the device that is calling (auth).

`create_app` builds a `ServerState` once and keeps it on `app.state.server`; every dependency
here reads it from there, so a route names what it uses in its signature (`engine: DatabaseDep`)
and its body is the one the single-module server had as a closure over the same names. A test
may replace any of them with `app.dependency_overrides`.

The request limits (body size, a client's share, connections) are not dependencies: they must
refuse a request before it reaches a route, so they are middleware (`app.py`, `limits.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.sync import admin, server_logging
from d2a_tui.sync.admin import DeviceContext
from d2a_tui.sync.ingest import Ingest
from d2a_tui.sync.lifecycle import Lifecycle
from d2a_tui.sync.server.errors import ApiError
from d2a_tui.sync.wakeup import Waiters

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class ServerState:
    """What `create_app` builds once and every request reads (the settings it was given among
    it): kept on `app.state.server`."""

    engine: Engine
    # The schema the database held when the server started (/v1/health reports it): this
    # code's, or `create_app` refused to start.
    revision: str
    now: Clock
    calendar: HubCalendar
    ingest: Ingest
    lifecycle: Lifecycle
    # How long a device token lasts from its enrolment or rotation.
    token_days: int


# `async def` for the ones that only read the state: a plain `def` dependency is run in the
# thread pool, a hop per request for an attribute read.
async def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


ServerDep = Annotated[ServerState, Depends(server_state)]


async def database(server: ServerDep) -> Engine:
    return server.engine


async def clock(server: ServerDep) -> Clock:
    return server.now


async def calendar(server: ServerDep) -> HubCalendar:
    return server.calendar


async def ingest(server: ServerDep) -> Ingest:
    return server.ingest


async def waiters(server: ServerDep) -> Waiters:
    return server.lifecycle.waiters


async def token_days(server: ServerDep) -> int:
    return server.token_days


DatabaseDep = Annotated[Engine, Depends(database)]
ClockDep = Annotated[Clock, Depends(clock)]
CalendarDep = Annotated[HubCalendar, Depends(calendar)]
IngestDep = Annotated[Ingest, Depends(ingest)]
WaitersDep = Annotated[Waiters, Depends(waiters)]
TokenDaysDep = Annotated[int, Depends(token_days)]


# A plain `def`, as it was: it reads the database, so it runs in the thread pool. Its body is the
# single-module server's `caller`, verbatim.
def caller(
    request: Request, engine: DatabaseDep, now: ClockDep, token_days: TokenDaysDep
) -> DeviceContext:
    header = request.headers.get("authorization")
    if not header:
        raise ApiError(401, "no_token", "send Authorization: Bearer <device token>")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "bad_token", "the Authorization header must be Bearer <token>")
    found = admin.authenticate(engine, token.strip(), now=now(), token_days=token_days)
    if found == "revoked":
        raise ApiError(401, "revoked", "this device was revoked; ask an administrator")
    if found == "expired":
        raise ApiError(
            401,
            "expired",
            "this device's token has expired; ask an administrator to enrol it again",
        )
    if isinstance(found, str):
        raise ApiError(401, "bad_token", "the device token is not valid")
    server_logging.tag(device=found.device_id[-12:], user=found.user_id)
    return found


CallerDep = Annotated[DeviceContext, Depends(caller)]
