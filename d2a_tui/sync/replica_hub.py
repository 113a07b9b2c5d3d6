"""A replica's sync, as a capability of the Hub: on a logged-in machine every command writes the
local replica and the outbox in one transaction and works with no network; sync runs beside it.

`Hub.open` gives the hub one (`hub.sync`) when the database is a replica; a direct-database hub
has `hub.sync is None`, and screens and commands ask that before offering sync.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

import httpx

from d2a_tui.domain.errors import NotAllowed
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.ids import uuid7
from d2a_tui.storage.context import HubContext
from d2a_tui.sync.client import (
    SyncClient,
    SyncError,
    Synchroniser,
    SyncRefused,
    SyncReport,
    SyncStatus,
    SyncWorker,
    clock_warning,
)
from d2a_tui.sync.conflict_views import ConflictView
from d2a_tui.sync.login import Login, forget_secrets, load_login, save_login, store_secrets
from d2a_tui.sync.replica import Replica
from d2a_tui.sync.replica_capacity import ReplicaCapacityStore
from d2a_tui.sync.retention import KEEP_CLOSED_DAYS, purge
from d2a_tui.sync.rules import refusal_for_role

# A token this close to its expiry is swapped for a new one at the next sync.
ROTATE_BEFORE = timedelta(days=30)
RECOVERY_SHOWN = timedelta(days=1)

if TYPE_CHECKING:
    from d2a_tui.domain.views import Change
    from d2a_tui.reports.capacity_store import CapacityStore


class CapacityHolder(Protocol):
    """The hub's capacity desk, as far as sync goes: the store its reports are written through
    (a replica swaps in one that also writes the outbox)."""

    store: CapacityStore


class SyncHost(HubContext, Protocol):
    """What a replica's sync needs of its hub: its context, the capacity desk (whose reports go
    through the outbox too) and the command runner (to re-apply a change of mine)."""

    @property
    def capacity(self) -> CapacityHolder: ...
    def _run(self, command: str, args: dict[str, Any], journey_id: str | None = None) -> Change: ...


class ReplicaSync:
    def __init__(
        self,
        hub: SyncHost,
        *,
        login: Login,
        transport: httpx.BaseTransport | None = None,
        client: SyncClient | None = None,
        keep_closed_days: int = KEEP_CLOSED_DAYS,
    ) -> None:
        """Make `hub` (opened on the replica's database, acting as the login's user) a replica;
        the hub keeps this as `hub.sync`."""
        self.hub = hub
        self.login = login
        store = hub.store
        self.replica = Replica(store.engine, store.flow, hub.actor.device_id)
        self.replica.rebuilder.calendar = hub.calendar
        store.on_applied = self.replica.record
        # Offers are checked here against the services of this device's scope, which each sync
        # brings (`Synchroniser.pull_services`), by the rules the server's ingest runs.
        store.services_known = True
        # Capacity reports go through the outbox too (and are refused here for a role that may
        # not make them, as the server would refuse them).
        hub.capacity.store = ReplicaCapacityStore(hub.capacity.store, self.replica, login.role)
        self.client = client or SyncClient(
            login.server_url,
            login.token,
            transport=transport,
            ca_file=login.ca_file,
            insecure_http=login.insecure_http,
        )
        # The device's clock is the hub's: its offset from the server's is measured against it.
        self.client.clock = lambda: self.hub.clock()
        self.synchroniser = Synchroniser(self.replica, self.client)
        self.synchroniser.before_cycle = self._before_sync
        self.keep_closed_days = keep_closed_days
        self.purged = 0  # journeys the last sync deleted here (retention)
        self.worker = SyncWorker(self.synchroniser)
        # Sync-now runs beside the worker; while one runs, the status says "syncing".
        self._manual = 0
        self._manual_lock = threading.Lock()

    def _before_sync(self) -> None:
        self.rotate_token_if_due()
        # Retention: what a lost device carries is the open work and the last few days.
        self.purged = purge(
            self.hub.store.engine, self.hub.clock(), self.keep_closed_days, self.hub.calendar
        )

    # --- the device token ------------------------------------------------------------------------

    def rotate_token_if_due(self) -> None:
        """Swap the device token for a new one once it is within ROTATE_BEFORE of expiring,
        at the start of a sync, so that a device in use never meets its expiry. The server makes
        the new token; the old one works until the new one is first used, so the new one is
        kept here before it is used, and an answer lost on either step loses nothing."""
        login = self.login
        if login.pending_token:
            self._settle_pending_token(login.pending_token)
            return
        if not login.token_expires_at:
            return
        expires = datetime.fromisoformat(login.token_expires_at)
        # Due by the server's clock: a device clock 65 days fast would otherwise swap its token
        # at every sync, and one far slow would let it expire.
        if expires - self._server_now() > ROTATE_BEFORE:
            return
        if self.client.clock_offset is None and expires - self.client.server_now() > ROTATE_BEFORE:
            return  # due only by a guess at the server's time: not due, once measured
        answer = self.client.rotate()  # lost: the old token still works, asked again next time
        self._save(replace(login, pending_token=answer.token))
        self._settle_pending_token(answer.token)

    def _server_now(self) -> datetime:
        """The server's time: this device's clock and the offset measured at the last sync."""
        offset = self.client.clock_offset
        if offset is None:
            stored = self.replica.clock_offset()
            offset = timedelta(seconds=stored) if stored is not None else timedelta(0)
        return self.hub.clock() + offset

    def _settle_pending_token(self, new_token: str) -> None:
        # Using the new token makes it the device's token on the server (and ends the old one);
        # refused, it was replaced by a later swap or never made it: the old one still works.
        self.client.use_token(new_token)
        try:
            me = self.client.me()
        except SyncRefused:
            self.client.use_token(self.login.token)
            self._save(replace(self.login, pending_token=None))
            return
        except BaseException:
            self.client.use_token(self.login.token)
            raise
        self._adopt(new_token, me.token_expires_at)

    def _adopt(self, new_token: str, expires: datetime | None) -> None:
        self.client.use_token(new_token)
        self._save(
            replace(
                self.login,
                token=new_token,
                pending_token=None,
                token_expires_at=expires.isoformat() if expires else None,
            )
        )

    def _save(self, login: Login) -> None:
        self.login = login
        saved = load_login()
        if saved is not None and saved.device_id == login.device_id:
            # The secrets into the database first (a pending token is durable before the
            # server is asked), then the file, which holds none.
            store_secrets(self.hub.store.engine, login)
            save_login(login)

    def forget_secrets(self) -> None:
        """Logged out: the token and PIN hash leave the database too."""
        forget_secrets(self.hub.store.engine)

    def pin_matches(self, secret: str) -> bool:
        """Whether `secret` is the PIN set at login (the idle lock's unlock)."""
        from d2a_tui.storage.cipher import pin_matches

        return self.login.pin_hash is not None and pin_matches(self.login.pin_hash, secret)

    def lock_out(self) -> None:
        """Too many wrong tries at the lock: this device is logged out (its token is forgotten).
        The outbox stays in the database, for a new login on it to push."""
        from d2a_tui.sync.login import forget_login

        self.worker.stop()
        current = load_login()
        if current is not None and current.device_id == self.login.device_id:
            forget_secrets(self.hub.store.engine)
            forget_login()

    def close(self) -> None:
        self.worker.stop()
        self.client.close()

    def before_command(self, command: str) -> None:
        # Refused at the keyboard with the server's own words, rather than queued to come
        # back as a conflict at the next sync.
        refusal = refusal_for_role(self.login.role, "command", command)
        if refusal is not None:
            raise NotAllowed(refusal)

    def after_command(self) -> None:
        if self.worker.running:
            self.worker.trigger()  # push soon, in the background

    def record_access(self, journey_id: str, purpose: str) -> None:
        """Recorded here and queued for the server in one transaction, like a change."""
        from d2a_tui.domain.ids import uuid7
        from d2a_tui.storage import audit

        hub = self.hub
        at = hub.clock()
        with hub.store.unit_of_work() as work:
            access_id = audit.record(
                work.connection,
                user_id=hub.actor.user,
                device_id=hub.actor.device_id,
                journey_id=journey_id,
                purpose=purpose,
                at=at,
                access_id=uuid7(),
            )
            self.replica.queue_access(
                work.connection,
                mutation_id=access_id,
                journey_id=journey_id,
                purpose=purpose,
                actor=hub.actor.user,
                occurred_at=at,
            )
        if self.worker.running:
            self.worker.trigger()

    # --- sync ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start background sync (the TUI does, when it mounts)."""
        self.worker.start()

    @overload
    def sync_now(self, wait: Literal[False] = False) -> SyncStatus: ...
    @overload
    def sync_now(self, wait: Literal[True]) -> SyncReport: ...
    @overload
    def sync_now(self, wait: bool) -> SyncStatus | SyncReport: ...

    def sync_now(self, wait: bool = False) -> SyncStatus | SyncReport:
        """Sync now: in the background (returns the status at once), or, with `wait`, here,
        returning what was done and raising SyncError if the server cannot be reached."""
        if not wait:
            self.worker.trigger()
            return self.sync_status()
        with self._manual_lock:
            self._manual += 1
        try:
            report = self.synchroniser.run_once()
        except SyncRefused as error:
            self._tell_worker("refused", str(error))
            raise
        except SyncError as error:
            self._tell_worker("offline", str(error))
            raise
        finally:
            with self._manual_lock:
                self._manual -= 1
        self._tell_worker("online", None)
        return report

    def _tell_worker(self, state: str, message: str | None) -> None:
        # The running worker's state is what the status shows; without this, a sync-now that
        # worked would still read "offline" until the worker's own backoff ran out.
        if self.worker.running:
            self.worker.state, self.worker.message = state, message

    def sync_status(self) -> SyncStatus:
        local = self.replica.state()
        pending = local.pending + local.unconfirmed
        if self._manual:
            state, message = "syncing", None
        elif self.worker.running:
            state, message = self.worker.state, self.worker.message
        elif local.last_error:
            # Every attempt writes last_error (None when it worked), so it speaks for the latest
            # one; comparing attempt and success times cannot tell two in the same clock tick.
            state, message = "offline", local.last_error
        elif local.last_success_at is None:
            state, message = "offline", "not synced yet"
        else:
            state, message = "online", None
        return SyncStatus(
            state=state,
            pending=pending,
            last_success=local.last_success_at,
            conflicts=local.conflicts,
            message=message,
            server=self.login.server_url,
            plain_http=self.client.plain_http,
            recovered=_recovery(local.recovered_at, local.recovery, self.hub.clock()),
            clock=clock_warning(local.clock_offset),
        )

    def pending_journeys(self) -> set[str]:
        return self.replica.pending_journeys()

    # --- conflicts -----------------------------------------------------------------------------

    def conflicts(self, include_resolved: bool = False) -> list[ConflictView]:
        """Grouped by journey: a month offline can bring hundreds, a journey's together."""
        return grouped(self.replica.conflicts(include_resolved))

    def describe_conflict(self, view: ConflictView, who: str | None = None) -> str:
        """The conflict in words, for screens (which do not import the sync modules)."""
        return describe(view, self.hub.flow, self.hub.clock(), who=who)

    def what_it_was(self, view: ConflictView) -> str:
        """The refused change's own values, printable whatever they hold (a rejected change may
        be there precisely because it held control characters or was too long)."""
        return what_it_was(view)

    def resolve_conflict(self, mutation_id: str, keep: str) -> Change | None:
        """`keep="mine"` re-applies my change on the journey as it is now (a new mutation);
        `keep="theirs"` leaves the journey as it is and records the decision."""
        view = self.replica.conflict(mutation_id)
        if view.resolved_at is not None:
            raise NotAllowed("that conflict is resolved already")
        if keep == "mine":
            if (
                view.outcome != "conflict"
                or view.command in ("refer", "undo")
                or not view.journey_id
            ):
                raise NotAllowed(
                    "the server refused that change outright; it cannot be re-applied, only "
                    "dismissed (keep theirs)"
                )
            self.replica.resolving = view.mutation_id
            try:
                return self.hub._run(view.command, dict(view.args), view.journey_id)
            finally:
                self.replica.resolving = None
        if keep != "theirs":
            raise NotAllowed("keep 'mine' or 'theirs'")
        refusal = refusal_for_role(self.login.role, "resolve")
        if refusal is not None:
            raise NotAllowed(refusal)
        decision = "keep_theirs" if view.outcome == "conflict" else "dismiss"
        self.replica.record_decision(
            view.mutation_id, decision, self.hub.actor.user, self.hub.clock(), uuid7()
        )
        if self.worker.running:
            self.worker.trigger()
        return None

    def to_decide(
        self, journey_id: str | None = None, kind: str | None = None
    ) -> list[ConflictView]:
        """The undecided conflicts of a journey, or of a kind (a command such as `move`, or
        `conflict` / `rejected`), or all of them, grouped by journey, oldest first."""
        views = [
            view
            for view in self.replica.conflicts()
            if view.resolved_at is None
            and (journey_id is None or view.journey_id == journey_id)
            and (kind is None or kind in (view.command, view.outcome))
        ]
        return grouped(views)

    def keep_theirs_for(self, journey_id: str | None = None, kind: str | None = None) -> int:
        """Keep theirs (dismiss a refusal) for every undecided conflict of a journey, of a kind,
        or all: how many. After a month offline there may be hundreds; each decision is its own
        short transaction and its own mutation, as one made by hand."""
        refusal = refusal_for_role(self.login.role, "resolve")
        if refusal is not None:
            raise NotAllowed(refusal)
        decided = 0
        for view in self.to_decide(journey_id, kind):
            decision = "keep_theirs" if view.outcome == "conflict" else "dismiss"
            self.replica.record_decision(
                view.mutation_id, decision, self.hub.actor.user, self.hub.clock(), uuid7()
            )
            decided += 1
        if decided and self.worker.running:
            self.worker.trigger()
        return decided


def grouped(views: list[ConflictView]) -> list[ConflictView]:
    """Conflicts grouped by journey, the journey whose change was made first at the top, each
    group in the order its changes were made (ids are UUIDv7: in order within one clock tick)."""

    def made(view: ConflictView) -> tuple[datetime, str]:
        return view.occurred_at, view.mutation_id

    first: dict[str, tuple[datetime, str]] = {}
    for view in views:
        key = view.journey_id or ""
        first[key] = min(first.get(key, made(view)), made(view))
    return sorted(views, key=lambda v: (first[v.journey_id or ""], v.journey_id or "", made(v)))


def _printable(value: Any, limit: int = 40) -> str:
    text = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in str(value))
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


def what_it_was(view: ConflictView) -> str:
    args = dict(view.args)
    patient = args.pop("patient", None)
    parts = [view.command.replace("_", " ")]
    if isinstance(patient, dict):
        parts += [f"{key} {_printable(value)}" for key, value in patient.items() if value]
    parts += [f"{key} {_printable(value)}" for key, value in args.items() if value is not None]
    return ", ".join(parts)


def describe(
    view: ConflictView, flow: Flow, now: datetime | None = None, *, who: str | None = None
) -> str:
    """One line for a person: what I did, what it ran into. `who` names the patient, as the
    screen's privacy setting allows; without it the line names no one."""

    def column(value: Any) -> str:
        try:
            return flow.column(str(value)).name
        except Exception:
            return str(value)

    of = f" of {who}" if who else ""
    mine_at = view.occurred_at.astimezone().strftime("%H:%M")
    if view.command in ("move", "close", "reopen"):
        target = view.want.get("column") or view.args.get("to") or flow.closed.id
        mine = f"your move{of} to {column(target)} at {mine_at} (offline)"
    else:
        mine = f"your {view.command.replace('_', ' ')}{of} at {mine_at} (offline)"
    if view.outcome != "conflict":
        return f"{mine} was refused: {view.message or view.reason}"
    theirs_at = view.theirs_at.astimezone().strftime("%H:%M") if view.theirs_at else "?"
    now_in = view.theirs_values.get("column")
    if view.theirs_kind in ("moved", "closed", "reopened"):
        # Their move is what put the journey where it is now.
        to = f" to {column(now_in)}" if now_in else ""
        return f"{mine} conflicted with {view.theirs_actor or 'someone'}'s move{to} at {theirs_at}"
    where = f" (now in {column(now_in)})" if now_in else ""
    return f"{mine} conflicted with {view.theirs_actor or 'someone'}'s change at {theirs_at}{where}"


def _recovery(at: datetime | None, note: str | None, now: datetime) -> str | None:
    """What the replica did by itself when the server had lost part of its log, for a day."""
    if at is None or note is None or now - at > RECOVERY_SHOWN:
        return None
    return f"{at.astimezone().strftime('%d %b %H:%M')}: {note}"
