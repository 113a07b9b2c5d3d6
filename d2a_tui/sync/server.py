"""The central API: FastAPI over the same storage layer as a direct hub.

Endpoints: push (apply a device's mutations), pull (others' events by server_seq, paged, with
ETag/304 and long-poll), snapshot (what a new replica needs), health, ready, enrol, me. The
process's start, readiness and graceful stop are `lifecycle.py`'s; long-poll wake-ups across
processes are `wakeup.py`'s. The OpenAPI
document at /openapi.json is generated from `protocol.py` and is the contract.

Logs go to stderr and name devices and counts, never a patient, a journey or a payload.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import Connection, Engine, or_, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from d2a_tui import __version__
from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.flow import Flow, load_flow
from d2a_tui.storage import audit
from d2a_tui.storage.db import (
    SCHEMA_HEAD,
    DatabaseUnavailable,
    SchemaMismatch,
    current_revision,
    make_engine,
)
from d2a_tui.storage.journeys import counter_table, event_table, journey_table
from d2a_tui.storage.models import EVENTS_COUNTER
from d2a_tui.sync import admin, lifecycle, outbound, scope, server_logging
from d2a_tui.sync.admin import DeviceContext
from d2a_tui.sync.compact import compact, event_digests
from d2a_tui.sync.ingest import Ingest, PushRefused, device_table
from d2a_tui.sync.limits import MAX_CONNECTIONS, PER_CLIENT, PerClientLimit
from d2a_tui.sync.marks import mark_at
from d2a_tui.sync.protocol import (
    MAX_BODY_BYTES,
    MAX_PULL_LIMIT,
    MAX_WAIT_SECONDS,
    MUTATION_KINDS,
    SUPPORTED_VERSIONS,
    UUID_PATTERN,
    CompactReceipts,
    EnrolRequest,
    EnrolResponse,
    ErrorBody,
    Health,
    Me,
    PullResponse,
    PushBody,
    PushResponse,
    RotateRequest,
    RotateResponse,
    ServicesResponse,
    SnapshotResponse,
)
from d2a_tui.sync.snapshot_stream import snapshot_chunks

log = logging.getLogger("d2a.sync.server")
Clock = Callable[[], datetime]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 409, 413, 415, 422, 503)
}
# The reason code for a refusal Starlette makes itself (no route, wrong method, ...).
JOURNEY_ID = re.compile(UUID_PATTERN)
HTTP_REASONS = {404: "not_found", 405: "method_not_allowed", 406: "not_acceptable"}


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str, **extra: Any) -> None:
        self.status, self.error, self.detail, self.extra = status, error, detail, extra
        super().__init__(detail)


def _error(status: int, error: str, detail: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": error, "detail": detail, **{k: v for k, v in extra.items() if v is not None}}
    return JSONResponse(body, status_code=status, headers=headers)


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
        too_big = _error(
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
                await _error(400, "bad_encoding", "the body is not valid gzip")(
                    scope, receive, send
                )
                return
            if len(plain) > self.max_bytes or inflater.unconsumed_tail:
                await too_big(scope, receive, send)
                return
            body = plain
        elif encoding not in ("identity", ""):
            await _error(415, "unsupported_encoding", f"Content-Encoding {encoding!r}: use gzip")(
                scope, receive, send
            )
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


def _event_json(row: Any) -> dict[str, Any]:
    return {
        "position": row.position,
        "event_id": row.event_id,
        "journey_id": row.journey_id,
        "seq": row.seq,
        "kind": row.kind,
        "payload": row.payload,
        "actor": row.actor,
        "device_id": row.device_id,
        "occurred_at": row.occurred_at.isoformat(),
        "recorded_at": row.recorded_at.isoformat(),
    }


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # Built by hand rather than through response_model: a page of 1,000 events is validated
    # once, by the models, in the tests; not again on every request.
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content, status_code=status, media_type="application/json", headers=headers)


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
    waiters = life.waiters

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
    app.add_middleware(GZipMiddleware, minimum_size=512, compresslevel=6)
    app.add_middleware(RequestBodyGuard, max_bytes=max_body_bytes)
    app.add_middleware(life.middleware)
    app.add_middleware(ServerTime, now=now)
    # Outermost: a client over its share is answered before anything else is spent on it.
    app.add_middleware(PerClientLimit, per_client=per_client)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return _error(error.status, error.error, error.detail, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return _validation_response(error)

    # Every refusal has the one error shape (ErrorBody), including those the framework makes.
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code < 400:
            return Response(status_code=error.status_code, headers=error.headers)
        reason = HTTP_REASONS.get(error.status_code, f"http_{error.status_code}")
        response = _error(error.status_code, reason, str(error.detail))
        if error.headers:
            response.headers.update(error.headers)
        return response

    async def database_fault() -> JSONResponse | None:
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

    @app.exception_handler(DatabaseUnavailable)
    async def _unavailable(request: Request, error: DatabaseUnavailable) -> JSONResponse:
        return await database_fault() or _error(
            503, "database_unavailable", "the database is unavailable; nothing was saved"
        )

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(request: Request, error: SQLAlchemyError) -> JSONResponse:
        answer = await database_fault()
        if answer is None:
            raise error  # the database is as it should be: a fault of ours, a 500
        return answer

    @app.exception_handler(D2AError)
    async def _refused(request: Request, error: D2AError) -> JSONResponse:
        # A storage refusal the ingest could not pin on one change (a clash on a unique id).
        return _error(409, "refused", str(error))

    def caller(request: Request) -> DeviceContext:
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

    def head() -> int:
        with engine.connect() as connection:
            return connection.execute(
                select(counter_table.c.value).where(counter_table.c.name == EVENTS_COUNTER)
            ).scalar_one()

    @app.get("/v1/health", response_model=Health, tags=["ops"])
    def health() -> Health:
        # Alive, without asking the database: whether it answers is /v1/ready's question.
        return Health(
            status="ok",
            schema_revision=revision,
            protocol_versions=list(SUPPORTED_VERSIONS),
            time=now(),
        )

    @app.post("/v1/devices/enrol", response_model=EnrolResponse, responses=ERRORS, tags=["auth"])
    def enrol(body: EnrolRequest) -> EnrolResponse:
        try:
            enrolled = admin.redeem(
                engine,
                body.token,
                body.label,
                first_seq=body.first_seq,
                token_days=token_days,
                now=now(),
            )
        except D2AError as error:
            raise ApiError(401, "bad_enrolment_token", str(error)) from None
        log.info("device %s enrolled", enrolled.device_id[-12:])
        return enrolled

    @app.get("/v1/me", response_model=Me, responses=ERRORS, tags=["auth"])
    def me(device: DeviceContext = Depends(caller)) -> Me:  # noqa: B008
        return Me(
            user_id=device.user_id,
            name=device.name,
            role=device.role,
            organisation_id=device.organisation_id,
            device_id=device.device_id,
            token_expires_at=device.token_expires_at,
        )

    @app.post("/v1/devices/rotate", response_model=RotateResponse, responses=ERRORS, tags=["auth"])
    def rotate(body: RotateRequest, device: DeviceContext = Depends(caller)) -> RotateResponse:  # noqa: B008
        # The server makes the token: a device that could choose one could choose a known one.
        try:
            token, expires = admin.rotate_token(
                engine, device.device_id, token_days=token_days, now=now()
            )
        except D2AError as error:
            raise ApiError(401, "revoked", str(error)) from None
        log.info("device %s rotated its token", device.device_id[-12:])
        return RotateResponse(token=token, token_expires_at=expires)

    def digests(receipts: list[Any]) -> dict[str, str]:
        with engine.connect() as connection:
            applied = (r.mutation_id for r in receipts if r.outcome == "applied")
            return event_digests(connection, applied)

    @app.post(
        "/v1/sync/push",
        response_model=PushResponse | CompactReceipts,
        responses=ERRORS,
        tags=["sync"],
    )
    async def push(body: PushBody, device: DeviceContext = Depends(caller)) -> Response:  # noqa: B008
        if body.schema_version not in SUPPORTED_VERSIONS:
            raise ApiError(
                400,
                "unknown_schema_version",
                f"schema_version {body.schema_version} is not one of {list(SUPPORTED_VERSIONS)}",
            )
        if body.device_id != device.device_id:
            raise ApiError(403, "device_mismatch", "the body names another device than the token")
        strangers = {m.actor for m in body.mutations} - {device.user_id}
        if strangers:
            raise ApiError(403, "actor_mismatch", "a device pushes only its own user's changes")
        try:
            result = await run_in_threadpool(ingest.push, device.device_id, body.mutations, now())
        except PushRefused as refused:
            raise ApiError(
                refused.status, refused.error, refused.detail, expected_seq=refused.expected_seq
            ) from None
        if result.applied:
            waiters.notify(result.head)
        answered = outbound.receipts(result.receipts, device.role)
        server_logging.tag(
            count=len(body.mutations), applied=result.applied, outcomes=dict(result.outcomes)
        )
        if body.schema_version >= 2:
            marks = await run_in_threadpool(digests, answered)
            return _json(compact(answered, marks, result.next_seq, result.head))
        return _json(
            {
                "receipts": [r.model_dump(mode="json", exclude_none=True) for r in answered],
                "next_seq": result.next_seq,
                "head": result.head,
            }
        )

    def answer(
        device: DeviceContext,
        since: int,
        limit: int,
        skip_own: bool = False,
        mark: str | None = None,
    ) -> dict[str, Any]:
        """A page of the events the caller may see after `since`, cut to their view, with what
        their device must forget or fetch (sync/scope.py). With `skip_own`, the device's own events
        are left out of the page (it holds them); they still count as held and as covered.
        A `since` this log never reached, or whose event is not the one `mark` names, is a
        device that followed another log (this one restored from an older backup): 409."""
        with engine.begin() as connection:
            one_request_at_a_time(connection, device.device_id)
            top = connection.execute(
                select(counter_table.c.value).where(counter_table.c.name == EVENTS_COUNTER)
            ).scalar_one()
            if since > top or (mark is not None and mark_at(connection, since) != mark):
                raise ApiError(
                    409,
                    "log_changed",
                    "this server's log is not the one your device last synced with (restored "
                    "from a backup?): read your scope again with a snapshot, and send again "
                    "the changes this server no longer holds",
                    head=top,
                )
            who = scope.reader(connection, device.user_id, device.role, device.organisation_id)
            seen = scope.resolve(connection, who, now(), calendar)
            events: list[dict[str, Any]] = []
            has_more, cursor = False, since
            if top > since:
                query = select(event_table).where(
                    event_table.c.position > since, event_table.c.position <= top
                )
                if not seen.everything:
                    query = query.where(
                        event_table.c.journey_id.in_(
                            seen.query if seen.query is not None else sorted(seen.journeys)
                        )
                    )
                rows = connection.execute(
                    query.order_by(event_table.c.position).limit(limit + 1)
                ).all()
                has_more = len(rows) > limit
                rows = rows[:limit]
                # A page that reached the head covers every position up to it, even those of
                # journeys out of scope: the device need never ask for them again.
                cursor = rows[-1].position if has_more else top
                sent = [row for row in rows if not (skip_own and row.device_id == device.device_id)]
                events = outbound.events([_event_json(row) for row in sent], who, seen)
                scope.hold(connection, device.device_id, {row.journey_id for row in rows})
                audit.record_reads(
                    connection,
                    user_id=device.user_id,
                    device_id=device.device_id,
                    journeys=(row.journey_id for row in sent),
                    purpose="pull",
                    at=now(),
                )
            # A `since` beyond the head is no device's (the query's bound keeps it a valid int).
            pulled = min(since, top)
            forget, fetch = scope.reconcile(
                connection, device.device_id, seen, pulled, min(cursor, top), now()
            )
            # The mark of where the answer leaves the device (the one it sent, if it stays).
            next_mark = (
                mark if cursor == since and mark is not None else mark_at(connection, cursor)
            )
        return {
            "events": events,
            "next": cursor,
            "has_more": has_more,
            "head": top,
            "forget": forget,
            "fetch": fetch,
            "mark": next_mark,
        }

    @app.get(
        "/v1/sync/pull",
        response_model=PullResponse,
        responses={**ERRORS, 304: {"description": "nothing new since `since`"}},
        tags=["sync"],
    )
    async def pull(
        request: Request,
        since: int = Query(0, ge=0, description="the last server_seq this replica has"),
        limit: int = Query(500, ge=1, le=MAX_PULL_LIMIT),
        wait: float = Query(0, ge=0, le=MAX_WAIT_SECONDS, description="long-poll seconds"),
        mine: Literal["all", "skip"] = Query(
            "all", description="version 2: `skip` leaves out this device's own events"
        ),
        mark: str | None = Query(
            None,
            pattern="^[0-9a-f]{1,64}$",
            description="the `mark` the answer that gave `since` carried: a log that holds "
            "another event at `since` (restored from an older backup) answers 409 log_changed",
        ),
        device: DeviceContext = Depends(caller),  # noqa: B008
    ) -> Response:
        deadline = time.monotonic() + wait
        while True:
            ticket = waiters.ticket()  # before the read: a push landing after it still wakes us
            top = waiters.head if waiters.head > since else await run_in_threadpool(head)
            left = deadline - time.monotonic()
            if top > since or left <= 0 or waiters.closed:
                break
            await waiters.wait(ticket, min(waiters.poll_seconds, left))
        # Asked even with nothing new: a scope that shrank with time has things to forget.
        body = await run_in_threadpool(answer, device, since, limit, mine == "skip", mark)
        server_logging.tag(
            count=len(body["events"]), journeys=len({e["journey_id"] for e in body["events"]})
        )
        idle = not body["events"] and not body["forget"] and not body["fetch"]
        if idle and body["next"] == since:
            etag = f'"{since}"'
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers={"ETag": etag})
            return _json(body, headers={"ETag": etag})
        return _json(body, headers={"ETag": f'"{body["next"]}"'})

    @app.get(
        "/v1/sync/services",
        response_model=ServicesResponse,
        responses={**ERRORS, 304: {"description": "the list is unchanged since its ETag"}},
        tags=["sync"],
    )
    def services(request: Request, device: DeviceContext = Depends(caller)) -> Response:  # noqa: B008
        with engine.connect() as connection:
            who = scope.reader(connection, device.user_id, device.role, device.organisation_id)
            body = scope.services_seen(connection, who)
        server_logging.tag(count=len(body["services"]))
        # The list's own digest: it changes with a service, an organisation or the scope.
        encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        etag = f'"{hashlib.sha256(encoded).hexdigest()[:32]}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return _json(body, headers={"ETag": etag})

    def snapshot_refused(
        connection: Connection, device: DeviceContext, journey_id: str | None, reason: str
    ) -> None:
        """A snapshot refused is in the audit, like every refusal."""
        audit.record(
            connection,
            user_id=device.user_id,
            device_id=device.device_id,
            journey_id=journey_id,
            purpose="snapshot",
            at=now(),
            outcome="refused",
            reason=reason,
        )

    @app.get(
        "/v1/sync/snapshot",
        response_model=SnapshotResponse,
        responses={**ERRORS, 404: {"model": ErrorBody}},
        tags=["sync"],
    )
    def snapshot(
        request: Request,
        closed_days: int = Query(
            30, ge=0, le=3660, description="also journeys closed this recently"
        ),
        journey_id: str | None = Query(
            None, description="just this journey (its id, a UUID; anything else is 400)"
        ),
        device: DeviceContext = Depends(caller),  # noqa: B008
    ) -> Response:
        if journey_id is not None and not JOURNEY_ID.fullmatch(journey_id):
            # Checked here rather than by the query's schema, so that a malformed id (a NUL,
            # a path, 10,000 characters) is refused with a reason and is in the audit too.
            with engine.begin() as connection:
                snapshot_refused(connection, device, None, "bad_journey_id")
            raise ApiError(400, "bad_journey_id", "journey_id must be a journey's id (a UUID)")
        with engine.begin() as connection:
            one_request_at_a_time(connection, device.device_id)
            top = connection.execute(
                select(counter_table.c.value).where(counter_table.c.name == EVENTS_COUNTER)
            ).scalar_one()
            who = scope.reader(connection, device.user_id, device.role, device.organisation_id)
            seen = scope.resolve(connection, who, now(), calendar)
            if journey_id is not None:
                if not seen.covers(connection, journey_id):
                    # The same answer whether or not the journey exists: guessing ids tells
                    # nothing. The attempt is in the audit.
                    snapshot_refused(connection, device, journey_id, "not_in_scope")
                    refusal = "not_in_scope", "no journey with this id is in your scope"
                else:
                    refusal = None
                wanted = select(journey_table.c.id).where(journey_table.c.id == journey_id)
            else:
                refusal = None
                wanted = seen.narrow(
                    select(journey_table.c.id).where(
                        or_(
                            journey_table.c.closed_at.is_(None),
                            journey_table.c.closed_at >= now() - timedelta(days=closed_days),
                        )
                    )
                )
            if refusal is None:
                # Read before the answer starts, so a database that is down is still a 503.
                journey_ids = list(connection.execute(wanted).scalars())
                scope.hold(connection, device.device_id, set(journey_ids))
                audit.record_reads(
                    connection,
                    user_id=device.user_id,
                    device_id=device.device_id,
                    journeys=journey_ids,
                    purpose="snapshot",
                    at=now(),
                )
                top_mark = mark_at(connection, top)
        if refusal is not None:
            raise ApiError(404, *refusal)
        server_logging.tag(journeys=len(journey_ids))

        def seen_as_reader(row: Any) -> dict[str, Any]:
            return outbound.events([_event_json(row)], who, seen)[0]

        return StreamingResponse(
            snapshot_chunks(engine, journey_ids, top, seen_as_reader, top_mark),
            media_type="application/json",
        )

    life.add_routes(app)
    server_logging.install(app)  # last: outside every other middleware
    return app


def one_request_at_a_time(connection: Connection, device_id: str) -> None:
    """A device's pulls and snapshots also write (what it holds, its scope): two of them at once
    (a retry beside the first attempt, the board's sync beside `d2a sync`) take turns on the
    device's row, so neither meets the other's half-written rows. A push takes the event
    counter's lock before the device's row, and a pull never waits for the counter: no cycle."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            select(device_table.c.id).where(device_table.c.id == device_id).with_for_update()
        )


def _validation_response(error: RequestValidationError) -> JSONResponse:
    """Machine-readable reasons for bodies the models refuse. Pydantic's `input` is left out:
    it may hold a patient's details, and error bodies end up in logs."""
    problems = list(error.errors())
    body = error.body
    if any(p.get("type") == "json_invalid" for p in problems) or (
        isinstance(body, bytes | str) and not isinstance(body, dict)
    ):
        return _error(400, "malformed_json", "the body is not valid JSON")
    if isinstance(body, dict) and "schema_version" in body:
        version = body.get("schema_version")
        if version not in SUPPORTED_VERSIONS:
            return _error(
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
            return _error(
                422,
                "unknown_mutation_kind",
                f"unknown mutation kind or command; kinds: {', '.join(MUTATION_KINDS)}",
                errors=cleaned,
            )
    if any(
        p.get("type") == "too_long" and p.get("loc", ())[-1:] == ("mutations",) for p in problems
    ):
        return _error(413, "batch_too_large", "too many mutations in one push", errors=cleaned)
    return _error(422, "invalid_payload", "the body does not match the schema", errors=cleaned)


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
