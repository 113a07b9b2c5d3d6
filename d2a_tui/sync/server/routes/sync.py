"""The sync protocol: push (a device's changes), pull (others' events by server_seq, paged, with
ETag/304 and long-poll), services (the directory a device may offer to) and snapshot (what a new
replica needs).

The routes and their helpers are the single-module server's, moved verbatim; what they used from
`create_app`'s scope (the engine, the clock, the calendar, the ingest, the long-poll waiters, the
caller) comes in as dependencies of the same names (`deps.py`), and the helpers that were
closures over it take it as arguments.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import Connection, Engine, or_, select
from starlette.concurrency import run_in_threadpool

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.storage import audit
from d2a_tui.storage.journeys import counter_table, event_table, journey_table
from d2a_tui.storage.models import EVENTS_COUNTER
from d2a_tui.sync import outbound, scope, server_logging
from d2a_tui.sync.admin import DeviceContext
from d2a_tui.sync.compact import compact, event_digests
from d2a_tui.sync.ingest import device_table
from d2a_tui.sync.marks import mark_at
from d2a_tui.sync.protocol import (
    MAX_PULL_LIMIT,
    MAX_WAIT_SECONDS,
    SUPPORTED_VERSIONS,
    UUID_PATTERN,
    CompactReceipts,
    ErrorBody,
    PullResponse,
    PushBody,
    PushResponse,
    ServicesResponse,
    SnapshotResponse,
)
from d2a_tui.sync.receipts import PushRefused
from d2a_tui.sync.server.deps import (
    CalendarDep,
    CallerDep,
    Clock,
    ClockDep,
    DatabaseDep,
    IngestDep,
    WaitersDep,
)
from d2a_tui.sync.server.errors import ERRORS, ApiError
from d2a_tui.sync.snapshot_stream import snapshot_chunks

JOURNEY_ID = re.compile(UUID_PATTERN)
router = APIRouter()


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


def head(engine: Engine) -> int:
    with engine.connect() as connection:
        value: int = connection.execute(
            select(counter_table.c.value).where(counter_table.c.name == EVENTS_COUNTER)
        ).scalar_one()
    return value


def digests(engine: Engine, receipts: list[Any]) -> dict[str, str]:
    with engine.connect() as connection:
        applied = (r.mutation_id for r in receipts if r.outcome == "applied")
        return event_digests(connection, applied)


@router.post(
    "/v1/sync/push",
    response_model=PushResponse | CompactReceipts,
    responses=ERRORS,
    tags=["sync"],
)
async def push(
    body: PushBody,
    device: CallerDep,
    engine: DatabaseDep,
    now: ClockDep,
    ingest: IngestDep,
    waiters: WaitersDep,
) -> Response:
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
        marks = await run_in_threadpool(digests, engine, answered)
        return _json(compact(answered, marks, result.next_seq, result.head))
    return _json(
        {
            "receipts": [r.model_dump(mode="json", exclude_none=True) for r in answered],
            "next_seq": result.next_seq,
            "head": result.head,
        }
    )


def answer(
    engine: Engine,
    now: Clock,
    calendar: HubCalendar,
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
            rows = connection.execute(query.order_by(event_table.c.position).limit(limit + 1)).all()
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
        next_mark = mark if cursor == since and mark is not None else mark_at(connection, cursor)
    return {
        "events": events,
        "next": cursor,
        "has_more": has_more,
        "head": top,
        "forget": forget,
        "fetch": fetch,
        "mark": next_mark,
    }


@router.get(
    "/v1/sync/pull",
    response_model=PullResponse,
    responses={**ERRORS, 304: {"description": "nothing new since `since`"}},
    tags=["sync"],
)
async def pull(
    request: Request,
    # The dependencies come first (no defaults): FastAPI solves them before it reads the query
    # wherever they stand, so a request without a token is a 401 whatever its query, as before.
    device: CallerDep,
    engine: DatabaseDep,
    now: ClockDep,
    calendar: CalendarDep,
    waiters: WaitersDep,
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
) -> Response:
    deadline = time.monotonic() + wait
    while True:
        ticket = waiters.ticket()  # before the read: a push landing after it still wakes us
        top = waiters.head if waiters.head > since else await run_in_threadpool(head, engine)
        left = deadline - time.monotonic()
        if top > since or left <= 0 or waiters.closed:
            break
        await waiters.wait(ticket, min(waiters.poll_seconds, left))
    # Asked even with nothing new: a scope that shrank with time has things to forget.
    body = await run_in_threadpool(
        answer, engine, now, calendar, device, since, limit, mine == "skip", mark
    )
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


@router.get(
    "/v1/sync/services",
    response_model=ServicesResponse,
    responses={**ERRORS, 304: {"description": "the list is unchanged since its ETag"}},
    tags=["sync"],
)
def services(request: Request, device: CallerDep, engine: DatabaseDep) -> Response:
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
    connection: Connection,
    now: Clock,
    device: DeviceContext,
    journey_id: str | None,
    reason: str,
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


@router.get(
    "/v1/sync/snapshot",
    response_model=SnapshotResponse,
    responses={**ERRORS, 404: {"model": ErrorBody}},
    tags=["sync"],
)
def snapshot(
    request: Request,
    device: CallerDep,
    engine: DatabaseDep,
    now: ClockDep,
    calendar: CalendarDep,
    closed_days: int = Query(30, ge=0, le=3660, description="also journeys closed this recently"),
    journey_id: str | None = Query(
        None, description="just this journey (its id, a UUID; anything else is 400)"
    ),
) -> Response:
    if journey_id is not None and not JOURNEY_ID.fullmatch(journey_id):
        # Checked here rather than by the query's schema, so that a malformed id (a NUL,
        # a path, 10,000 characters) is refused with a reason and is in the audit too.
        with engine.begin() as connection:
            snapshot_refused(connection, now, device, None, "bad_journey_id")
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
                snapshot_refused(connection, now, device, journey_id, "not_in_scope")
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


def one_request_at_a_time(connection: Connection, device_id: str) -> None:
    """A device's pulls and snapshots also write (what it holds, its scope): two of them at once
    (a retry beside the first attempt, the board's sync beside `d2a sync`) take turns on the
    device's row, so neither meets the other's half-written rows. A push takes the event
    counter's lock before the device's row, and a pull never waits for the counter: no cycle."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            select(device_table.c.id).where(device_table.c.id == device_id).with_for_update()
        )
