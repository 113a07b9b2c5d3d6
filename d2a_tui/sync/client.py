"""The replica's side of the wire: an httpx client, the push/pull cycle, and a background worker.

Retries: network errors, 5xx and 429 are retried with exponential backoff and full jitter
(honouring Retry-After), because a hub's night shift restarts routers and servers, and a fleet of
thin clients retrying in step would knock the server over again. Anything else (401, 403, 409,
4xx) is not retried: retrying cannot change the answer.

Nothing is lost on failure: the outbox is only marked when a receipt says what happened, and the
cursor only moves with the events it covers.
"""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import json
import logging
import random
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from sqlalchemy.exc import SQLAlchemyError

from d2a_tui import __version__
from d2a_tui.domain.errors import D2AError
from d2a_tui.storage.db import DatabaseUnavailable, DiskFull
from d2a_tui.storage.event_log import translated_errors
from d2a_tui.sync.compact import expand
from d2a_tui.sync.protocol import (
    PROTOCOL_VERSION,
    EnrolResponse,
    Me,
    PullResponse,
    PushResponse,
    RotateResponse,
    ServicesResponse,
    SnapshotResponse,
    encode_push,
)
from d2a_tui.sync.replica import LostChanges, Replica

log = logging.getLogger("d2a.sync.client")
# The status a cycle writes before it starts, replaced when it ends, whichever way.
UNFINISHED = "a sync is under way, or the last one did not finish"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A round trip longer than this measures the clock's offset too loosely to be used.
MEASURE_WITHIN = timedelta(seconds=2)
# A replica stores a snapshot this many journeys per local transaction: a change made here
# during a long sync waits for one such transaction, never for the whole sync.
JOURNEYS_PER_TRANSACTION = 100
WRITER_BREATH = 0.11  # seconds
# A device clock further than this from the server's is pointed out to the user.
CLOCK_SHOWN = timedelta(minutes=5)
# The server no longer knows this device: it must log in again (its outbox is kept).
LOGGED_OUT = frozenset({"revoked", "expired", "bad_token"})


class SyncError(D2AError):
    """Sync could not finish; nothing local was lost. `reason` is machine-readable."""

    def __init__(self, message: str, reason: str = "error", status: int | None = None) -> None:
        self.reason = reason
        self.status = status
        super().__init__(message)


class ServerUnreachable(SyncError):
    pass


class SyncRefused(SyncError):
    """The server answered, and said no (401, 403, 409, 4xx)."""

    body: dict[str, Any] | None = None  # the server's answer, when it sent one


class UntrustedServer(SyncRefused):
    """The server's certificate did not verify: nothing was sent, and retrying cannot help."""


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_server_url(url: str, *, insecure_http: bool = False) -> str:
    """The server URL, if patients' details may be sent to it; a one-line refusal if not.

    Plain http:// is allowed to this machine only (a server on the same box, or the far end of
    an SSH tunnel), or when the user says `--insecure-http` and so accepts the warnings."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise D2AError(f"not a server URL: {url!r} (want https://host[:port])")
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not insecure_http:
        raise D2AError(
            f"refusing plain http:// to {parts.hostname}: patients' details would cross the "
            "network unencrypted; use https:// (or --insecure-http on a network you trust)"
        )
    return url


def plain_http_warning(url: str) -> str | None:
    """The warning shown on every sync over plain http:// to another machine, else None."""
    parts = urlsplit(url)
    if parts.scheme == "http" and parts.hostname and not is_loopback(parts.hostname):
        return (
            f"syncing over plain http:// to {parts.hostname}: patients' details cross the "
            "network unencrypted"
        )
    return None


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Certificates verified against the system's store, or against `ca_file` (a local CA)."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as error:
        raise D2AError(
            f"cannot use the CA file {ca_file}: {getattr(error, 'strerror', None) or error}"
        ) from None


def _certificate_problem(error: BaseException) -> str | None:
    """The certificate check that failed, if that is why the connection did not open."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or current.reason or "certificate did not verify"
        if isinstance(current, ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(current):
            return "the server does not speak TLS at this address"
        current = current.__cause__ or current.__context__
    return None


@dataclass
class Traffic:
    """Bytes on the wire (compressed), for the bench and the status line."""

    requests: int = 0
    sent: int = 0
    received: int = 0


class SyncClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        ca_file: str | None = None,
        insecure_http: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        # This device's clock, and how far the server's is from it (None until measured).
        self.clock = clock
        self.clock_offset: timedelta | None = None
        # An in-process transport (tests, the bench) never leaves this machine.
        self.plain_http_refusal: str | None = None
        # Sending over the network in the clear: the status line says so while it lasts.
        self.plain_http = transport is None and plain_http_warning(base_url) is not None
        if transport is None:
            try:
                check_server_url(base_url, insecure_http=insecure_http)
            except D2AError as error:
                self.plain_http_refusal = str(error)
        headers = {"User-Agent": f"d2a/{__version__}", "Accept-Encoding": "gzip"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            transport=transport,
            timeout=timeout,
            verify=tls_context(ca_file) if self.base_url.startswith("https:") else True,
        )
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.traffic = Traffic()
        # The push's version: lowered once if the server is older than this client.
        self.push_version = PROTOCOL_VERSION

    def close(self) -> None:
        self.http.close()

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = response.headers.get("retry-after", "")
            if after.isdigit():
                return min(float(after), self.max_backoff)
        return self.rng.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        if self.plain_http_refusal is not None:
            raise SyncRefused(self.plain_http_refusal, reason="plain_http")
        content = None
        sent_headers = dict(headers or {})
        if body is not None:
            raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            # Level 9: a night's push is ~2 bytes a change smaller than at 6 (issue 25), for a
            # millisecond or two of this machine's time per batch.
            content = gzip.compress(raw, compresslevel=9, mtime=0)
            sent_headers |= {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        last: str = ""
        for attempt in range(self.retries + 1):
            response: httpx.Response | None = None
            sent_at = self.clock()
            try:
                response = self.http.request(
                    method,
                    path,
                    content=content,
                    params=params,
                    headers=sent_headers,
                    timeout=timeout or self.timeout,
                )
                self.traffic.requests += 1
                self.traffic.sent += len(content or b"")
                self.traffic.received += response.num_bytes_downloaded
            except httpx.TransportError as error:
                problem = _certificate_problem(error)
                if problem is not None:
                    raise UntrustedServer(
                        f"the server at {self.base_url} is not trusted ({problem}); nothing "
                        "was sent: check the address, or give its CA with --ca-file",
                        reason="untrusted_certificate",
                    ) from None
                last = f"cannot reach the server at {self.base_url} ({type(error).__name__})"
            else:
                self._measure(response, sent_at)
                if response.status_code not in RETRY_STATUSES:
                    return response
                last = f"the server at {self.base_url} answered {response.status_code}"
                request_id = response.headers.get("x-request-id")
                if request_id and response.status_code >= 500:
                    last += f" (request {request_id})"
            if attempt < self.retries:
                self.sleep(self._delay(attempt, response))
        raise ServerUnreachable(
            f"{last}; nothing was lost: your changes stay queued on this machine",
            reason="unreachable",
        )

    def _measure(self, response: httpx.Response, sent_at: datetime) -> None:
        """The server's clock minus ours, as NTP reckons it: the server stamped its answer
        about half-way between our send and our receipt. A slow round trip (a long-poll, a
        congested link) says too little and is not used."""
        received_at = self.clock()
        stamp = response.headers.get("x-d2a-time")
        if not stamp or received_at - sent_at > MEASURE_WITHIN:
            return
        try:
            server = datetime.fromisoformat(stamp)
        except ValueError:
            return
        if server.tzinfo is None:
            return
        self.clock_offset = server - (sent_at + (received_at - sent_at) / 2)

    def server_now(self) -> datetime:
        """The server's time by this device's clock and the last measured offset; measured
        first (one /v1/health) if this client has not yet heard the server."""
        if self.clock_offset is None:
            self.health()
        return self.clock() + (self.clock_offset or timedelta(0))

    @staticmethod
    def _refused(response: httpx.Response) -> SyncRefused:
        try:
            body = response.json()
        except ValueError:
            body = {}
        reason = body.get("error", f"http_{response.status_code}")
        detail = body.get("detail", response.reason_phrase)
        error = SyncRefused(
            f"the server refused: {detail} ({reason})", reason, response.status_code
        )
        error.body = body
        return error

    def _ok(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            raise self._refused(response)
        return response

    # --- endpoints -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = self._ok(self.request("GET", "/v1/health")).json()
        return body

    def enrol(
        self, token: str, label: str | None = None, first_seq: int | None = None
    ) -> EnrolResponse:
        body: dict[str, Any] = {"token": token, "label": label}
        if first_seq is not None:
            body["first_seq"] = first_seq
        response = self.request("POST", "/v1/devices/enrol", body=body)
        return EnrolResponse.model_validate(self._ok(response).json())

    def use_token(self, token: str) -> None:
        self.http.headers["Authorization"] = f"Bearer {token}"

    def rotate(self) -> RotateResponse:
        """A new token, made by the server; the old one works until the new one is used."""
        response = self.request("POST", "/v1/devices/rotate", body={})
        return RotateResponse.model_validate(self._ok(response).json())

    def me(self) -> Me:
        return Me.model_validate(self._ok(self.request("GET", "/v1/me")).json())

    def services(self, etag: str | None = None) -> tuple[ServicesResponse, str | None] | None:
        """The services this device may hold and the list's ETag, or None when the list is
        unchanged since `etag` (a 304)."""
        headers = {"If-None-Match": etag} if etag else None
        response = self.request("GET", "/v1/sync/services", headers=headers)
        if response.status_code == 304:
            return None
        body = ServicesResponse.model_validate(self._ok(response).json())
        return body, response.headers.get("ETag")

    def _streamed_snapshot(self, progress: SnapshotProgress) -> bytes:
        """The whole snapshot, read as it arrives (one try: a failure is said, and the next
        sync fetches it again)."""
        if self.plain_http_refusal is not None:
            raise SyncRefused(self.plain_http_refusal, reason="plain_http")
        try:
            with self.http.stream("GET", "/v1/sync/snapshot", timeout=self.timeout) as response:
                if response.status_code != 200:
                    response.read()
                    self._ok(response)
                    raise ServerUnreachable(
                        f"the server at {self.base_url} answered {response.status_code}",
                        reason="unreachable",
                    )
                body = _read_snapshot(response, progress)
                self.traffic.requests += 1
                self.traffic.received += response.num_bytes_downloaded
                return body
        except httpx.TransportError as error:
            raise ServerUnreachable(
                f"cannot reach the server at {self.base_url} ({type(error).__name__}); "
                "nothing was lost: the snapshot is fetched again next time",
                reason="unreachable",
            ) from None

    def push(self, device_id: str, mutations: list[dict[str, Any]]) -> PushResponse:
        """Sent as version 3 (fewer bytes) when the batch and the server allow, else version 2:
        a server from before version 3 refuses it with nothing stored, and is sent version 2
        from then on."""
        body = encode_push(device_id, mutations) if self.push_version >= 3 else None
        if body is None:
            body = {"schema_version": 2, "device_id": device_id, "mutations": mutations}
        try:
            response = self._ok(self.request("POST", "/v1/sync/push", body=body))
        except SyncRefused as refused:
            if refused.reason != "unknown_schema_version" or body["schema_version"] < 3:
                raise
            self.push_version = 2
            return self.push(device_id, mutations)
        return expand(response.json(), mutations)

    def pull(
        self, since: int, limit: int = 1000, wait: float = 0, mark: str | None = None
    ) -> PullResponse | None:
        """The next page after `since`, or None when nothing is new (a 304). With `mark` (the
        one the answer that gave `since` carried), a server whose log went back in time answers
        409 log_changed (sync/marks.py)."""
        # Our own events come back only when we could not confirm them from the push's answer
        # (see sync/compact.py); a version-1 server ignores the parameter and sends them all.
        params: dict[str, Any] = {"since": since, "limit": limit, "mine": "skip"}
        if mark:
            params["mark"] = mark
        if wait:
            params["wait"] = wait
        response = self.request(
            "GET",
            "/v1/sync/pull",
            params=params,
            headers={"If-None-Match": f'"{since}"'},
            timeout=self.timeout + wait,
        )
        if response.status_code == 304:
            return None
        return PullResponse.model_validate(self._ok(response).json())

    def snapshot(
        self, journey_id: str | None = None, progress: SnapshotProgress | None = None
    ) -> SnapshotResponse:
        params = {"journey_id": journey_id} if journey_id else None
        try:
            if progress is None:
                body = self._ok(self.request("GET", "/v1/sync/snapshot", params=params)).json()
            else:
                body = json.loads(self._streamed_snapshot(progress))
        except ValueError:
            # The snapshot is streamed: a server or link failing part-way cuts it short.
            raise ServerUnreachable(
                "the snapshot was cut off; nothing was lost: it is fetched again next time",
                reason="unreachable",
            ) from None
        return SnapshotResponse.model_validate(body)


class SnapshotProgress(Protocol):
    """Told how a new replica's first snapshot goes (`d2a login` draws it as a bar)."""

    def receiving(self, received: int, journeys: int, of_journeys: int | None) -> None: ...
    def storing(self, stored: int, of_journeys: int) -> None: ...


_SNAPSHOT_HEAD = re.compile(rb'"journeys":\s*(\d+)\D')  # the whole number
_JOURNEY_ID = re.compile(rb'"journey_id":\s*"([^"]{1,64})"')


def _read_snapshot(response: httpx.Response, progress: SnapshotProgress) -> bytes:
    """The snapshot's body, read piece by piece with `progress` told the bytes received (as
    sent: gzipped) and the journeys so far: the events come journey by journey
    (snapshot_stream.py), so a new journey id is a journey more, and the body's head says how
    many there are in all."""
    pieces: list[bytes] = []
    journeys = decoded = 0
    total: int | None = None
    tail = b""
    last: bytes | None = None
    for piece in response.iter_bytes():
        pieces.append(piece)
        decoded += len(piece)
        window = tail + piece
        if total is None and decoded - len(piece) < 256:  # the head opens the body
            head = _SNAPSHOT_HEAD.search(b"".join(pieces)[:256])
            total = int(head.group(1)) if head else None
        for match in _JOURNEY_ID.finditer(window):
            if match.end() <= len(tail):
                continue  # seen whole in the last window
            if match.group(1) != last:
                journeys, last = journeys + 1, match.group(1)
        tail = window[-120:]
        # (A body handed over whole, as an in-process transport does, counts as decoded.)
        progress.receiving(response.num_bytes_downloaded or decoded, journeys, total)
    return b"".join(pieces)


def by_journeys(events: list[Any], per: int) -> list[list[Any]]:
    """The events in runs of `per` whole journeys (a snapshot sends a journey's events together)."""
    chunks: list[list[Any]] = []
    journeys: set[str] = set()
    for event in events:
        if event.journey_id not in journeys and len(journeys) == per:
            chunks.append([])
            journeys = set()
        if not chunks:
            chunks.append([])
        journeys.add(event.journey_id)
        chunks[-1].append(event)
    return chunks


@dataclass
class SyncReport:
    pushed: int = 0
    pulled: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    # What this cycle did on finding a server that lost part of its log (restored from a backup).
    recovered: str | None = None


class Synchroniser:
    """One replica talking to one server: push the outbox, then pull until up to date."""

    def __init__(
        self,
        replica: Replica,
        client: SyncClient,
        *,
        batch: int = 250,
        page: int = 1000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.replica = replica
        self.client = client
        self.batch = batch
        self.page = page
        self.clock = clock
        # One cycle at a time per replica: a sync-now and the background worker queue here.
        self.lock = threading.Lock()
        # Run first in each cycle (the replica's hub swaps its token here before it expires).
        self.before_cycle: Callable[[], None] | None = None
        # Told how a first snapshot goes (`d2a login` shows it); None: nothing is drawn.
        self.snapshot_progress: SnapshotProgress | None = None
        # The services list last stored here (its ETag): asked again only if it changed.
        self.services_etag: str | None = None

    def push_all(self, report: SyncReport) -> None:
        reopened = False
        while True:
            batch = self.replica.pending_batch(self.batch)
            if not batch:
                return
            try:
                answer = self.client.push(self.replica.device_id, batch)
            except SyncRefused as refused:
                expected = (refused.body or {}).get("expected_seq")
                if refused.reason == "seq_gap" and isinstance(expected, int) and not reopened:
                    # The server lost changes it had applied (restored from an older backup):
                    # they are sent again, as they were, from the one it expects.
                    reopened = True
                    self._reopen(expected, report)
                    continue
                if refused.reason == "seq_gap":
                    raise SyncRefused(
                        f"the server has lost changes this machine sent before (it expects "
                        f"change {expected}); nothing here was deleted: ask an administrator",
                        "seq_gap",
                        409,
                    ) from None
                raise
            self.replica.settle(answer.receipts, self.clock())
            report.pushed += len(answer.receipts)
            for receipt in answer.receipts:
                report.outcomes[receipt.outcome] = report.outcomes.get(receipt.outcome, 0) + 1
            if len(answer.receipts) < len(batch):
                return  # should not happen; do not spin

    def _reopen(self, expected: int, report: SyncReport) -> int:
        try:
            again = self.replica.reopen(expected, self.clock())
        except LostChanges as lost:
            raise SyncRefused(str(lost), "seq_gap", 409) from None
        if again:
            report.recovered = f"the server had lost {again} of this machine's changes: sent again"
        return again

    def recover(self, report: SyncReport) -> None:
        """The server's log is not the one this replica followed (its database was restored
        from an older backup, say): send again every change of ours it no longer holds, then
        read the whole scope again from a snapshot. Nothing local is lost on the way: each step
        is a transaction, and a failure part-way is taken up again by the next cycle (the mark
        still differs)."""
        expected = self.client.push(self.replica.device_id, []).next_seq
        again = self._reopen(expected, report)
        self.push_all(report)
        snapshot = self.client.snapshot()
        note = (
            "the server's log was not the one this machine last synced with (restored from a "
            f"backup?): read {snapshot.journeys} journeys again"
            + (f" and sent {again} changes again" if again else "")
        )
        self.replica.rebase(snapshot.events, snapshot.head, snapshot.mark, self.clock(), note)
        report.pulled += len(snapshot.events)
        report.recovered = note
        log.warning("the server's log changed under this replica: read again and re-sent")

    def bootstrap(self, report: SyncReport) -> None:
        """A replica that has never pulled starts from a snapshot, not from event 1. Stored a
        few hundred journeys per transaction, so a change made here meanwhile waits for one
        of them, not for the whole scope; the cursor moves last, so a sync cut off part-way
        starts again and skips what it has (each journey's events are stored once)."""
        progress = self.snapshot_progress
        snapshot = self.client.snapshot(progress=progress)
        stored = 0
        for index, chunk in enumerate(by_journeys(snapshot.events, JOURNEYS_PER_TRANSACTION)):
            if index:
                # A breath between transactions: a writer waiting on SQLite's lock looks again
                # every 100 ms at most, and would never find it free if the next took it at once.
                time.sleep(WRITER_BREATH)
            self.replica.absorb_journey(chunk)
            if progress is not None:
                stored += len({event.journey_id for event in chunk})
                progress.storing(stored, snapshot.journeys)
        self.replica.absorb([], snapshot.head, mark=snapshot.mark)
        report.pulled += len(snapshot.events)

    def pull_all(self, report: SyncReport, wait: float = 0) -> None:
        recovered = False
        while True:
            since, mark = self.replica.position()
            if since == 0 and wait == 0 and report.pulled == 0:
                self.bootstrap(report)
                since, mark = self.replica.position()
                if since == 0:
                    return
            try:
                page = self.client.pull(since, self.page, wait, mark)
            except SyncRefused as refused:
                if refused.reason != "log_changed" or recovered:
                    raise
                recovered = True
                self.recover(report)
                wait = 0
                continue
            if page is None:
                break
            missing = self.replica.absorb(page.events, page.next, page.forget, mark=page.mark)
            for journey_id in sorted(missing | set(page.fetch)):
                self.replica.absorb_journey(self.client.snapshot(journey_id).events)
            report.pulled += len(page.events)
            if not page.has_more:
                break
            wait = 0
        # Changes of ours the server applied differently from here (another device changed the
        # journey in between): the pull left them out, so fetch those journeys whole.
        for journey_id in self.replica.unconfirmed_journeys():
            self.replica.absorb_journey(self.client.snapshot(journey_id).events)

    def pull_services(self) -> None:
        """The services of this device's scope, when the list changed: what an offer made here
        is checked against, and what a provider's board names. Asked each cycle with the last
        list's ETag (a 304 when unchanged); a server from before the list (404) is left to
        judge offers itself at the push, as it always did."""
        try:
            answer = self.client.services(self.services_etag)
        except SyncRefused as refused:
            if refused.status == 404:
                return
            raise
        if answer is None:
            return
        listed, etag = answer
        self.replica.hold_services(
            [o.model_dump() for o in listed.organisations],
            [s.model_dump() for s in listed.services],
        )
        self.services_etag = etag

    def _logged_out(self, error: SyncRefused) -> SyncRefused:
        waiting = self.replica.state()
        queued = waiting.pending + waiting.unconfirmed
        kept = (
            f"the {queued} changes not yet sent stay on this machine: "
            "`d2a login --token NEW` on this database sends them"
            if queued
            else "nothing is waiting to be sent"
        )
        return SyncRefused(f"{error}; {kept}", error.reason, error.status)

    def run_once(self, wait: float = 0) -> SyncReport:
        report = SyncReport()
        with self.lock:
            try:
                with translated_errors(self.replica.engine):
                    # Said first: a cycle that cannot finish (a full disk, a killed process)
                    # leaves a status that says so, not the last success's "online".
                    self.replica.note_attempt(self.clock(), UNFINISHED, success=False)
                    if self.before_cycle is not None:
                        self.before_cycle()
                    self.push_all(report)
                    self.pull_all(report, wait)
                    self.pull_services()
                    offset = self.client.clock_offset
                    self.replica.note_attempt(
                        self.clock(),
                        None,
                        success=True,
                        clock_offset=offset.total_seconds() if offset is not None else None,
                    )
            except SyncRefused as error:
                if error.reason in LOGGED_OUT:
                    error = self._logged_out(error)
                self._note_failure(str(error))
                raise error from None
            except SyncError as error:
                self._note_failure(str(error))
                raise
            except DatabaseUnavailable as error:
                # This machine's own database failed, not the link: say which, never "not a
                # d2a database". Nothing was lost: every step is a transaction of its own.
                full = isinstance(error, DiskFull)
                message = (
                    "this machine's disk is full: the sync stopped and nothing was lost; free "
                    "some space and sync again"
                    if full
                    else f"this machine's database failed during the sync ({error})"
                )
                self._note_failure(message)
                raise SyncError(message, "disk_full" if full else "local_database") from None
        return report

    def _note_failure(self, message: str) -> None:
        # A disk too full for one more row: the status still says UNFINISHED.
        with contextlib.suppress(SQLAlchemyError):
            self.replica.note_attempt(self.clock(), message, success=False)


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the board's status line shows."""

    state: str  # online | offline | syncing | refused
    pending: int
    last_success: datetime | None
    conflicts: int
    message: str | None = None
    server: str | None = None
    plain_http: bool = False  # syncing unencrypted to another machine (--insecure-http)
    # The last time this replica found the server had lost part of its log, and what it did
    # by itself (read its scope again, sent changes again): said for a day afterwards.
    recovered: str | None = None
    # This device's clock is more than a few minutes from the server's: what to do about it.
    clock: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class SyncWorker:
    """Background sync for the TUI: sync soon after each local change, long-poll in between,
    back off while offline. Never blocks the caller."""

    def __init__(self, synchroniser: Synchroniser, *, poll: float = 5.0) -> None:
        self.synchroniser = synchroniser
        self.poll = poll
        self.state = "offline"
        self.message: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="d2a-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def trigger(self) -> None:
        self._wake.set()
        self.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.state = "syncing"
            try:
                self.synchroniser.run_once()
            except SyncRefused as error:
                self.state, self.message = "refused", str(error)
                self._failures += 1
            except SyncError as error:
                self.state, self.message = "offline", str(error)
                self._failures += 1
            except Exception as error:  # keep the board alive whatever happens here
                # The type only: an exception's text can quote a patient's details.
                log.error("sync worker failed: %s", type(error).__name__)
                self.state, self.message = "offline", f"sync failed: {type(error).__name__}"
                self._failures += 1
            else:
                self.state, self.message = "online", None
                self._failures = 0
            if self._failures:
                delay = random.uniform(0, min(60.0, 2.0 * 2 ** min(self._failures, 5)))
                self._wake.wait(delay)
                continue
            # Up to date: wait for a local change (trigger) or poll again; an idle poll is a
            # single 304 of a few hundred bytes.
            self._wake.wait(self.poll)


def clock_warning(offset_seconds: float | None) -> str | None:
    """What to tell the user about their device's clock, if it is more than a few minutes out
    by the server's (`offset_seconds` is the server's clock minus the device's)."""
    if offset_seconds is None or abs(offset_seconds) <= CLOCK_SHOWN.total_seconds():
        return None
    minutes = round(abs(offset_seconds) / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    amount = " ".join(
        f"{value} {unit}" for value, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if value
    )
    way = "fast" if offset_seconds < 0 else "slow"
    return (
        f"this device's clock is {amount} {way} by the server's: set it right (the times and "
        "dates of changes made here follow it)"
    )
