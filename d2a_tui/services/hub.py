"""The Hub: the one facade that the TUI and the CLI call, whatever the backend.

Screens and commands never touch SQL or HTTP; they ask the Hub and get immutable views back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from d2a_tui.config import Settings, device_id
from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import NotAllowed
from d2a_tui.domain.events import Event
from d2a_tui.domain.flow import Flow, load_flow
from d2a_tui.domain.offers import offer_stuck
from d2a_tui.domain.stuck import Level, Stuck, assess
from d2a_tui.domain.views import Card, JourneyView
from d2a_tui.domain.views import Change as Change  # for the screens and the CLI
from d2a_tui.storage.context import Clock as Clock  # for the CLI and the sync package
from d2a_tui.storage.context import utc_now
from d2a_tui.storage.db import DatabaseUnavailable as DatabaseUnavailable  # for the screens
from d2a_tui.storage.db import DiskFull as DiskFull
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from d2a_tui.storage.journeys import VersionConflict as VersionConflict  # for the screens

if TYPE_CHECKING:
    from d2a_tui.reports.service import Reports
    from d2a_tui.services.handover import Handover as HandoverReport
    from d2a_tui.storage.head_watch import HeadWatch
    from d2a_tui.sync.replica_hub import ReplicaSync


class Hub:
    def __init__(
        self,
        store: JourneyStore,
        actor: Actor,
        clock: Clock = utc_now,
        calendar: HubCalendar | None = None,
    ) -> None:
        self.store = store
        self.flow: Flow = store.flow
        self.actor = actor
        self.clock = clock
        self.calendar = calendar or HubCalendar()
        store.calendar = self.calendar  # command checks count "today" in the hub's days too
        # Capacity, reports and alerts (issue 4): facades over the same engine and clock.
        from d2a_tui.reports.alerts import Alerts
        from d2a_tui.services.capacity import CapacityDesk

        self.capacity = CapacityDesk(self)
        self.alerts = Alerts(self)
        # Hand-offs to providers (issue 12): offers and their answers, journey commands too.
        from d2a_tui.services.offers import OfferDesk

        self.offers = OfferDesk(self)
        # A replica's sync (issue 5): set by `open` on a logged-in machine's database.
        self.sync: ReplicaSync | None = None

    def replica_sync(self) -> ReplicaSync:
        """This replica's sync, for what only a replica has (its conflicts, sync now); on a
        hub opened straight on a database, NotAllowed saying so."""
        if self.sync is None:
            raise NotAllowed("this hub works on the database directly: it has no sync")
        return self.sync

    @cached_property
    def reports(self) -> Reports:
        # Made when first asked for: the board's first paint needs none of it (bench/startup.py).
        from d2a_tui.reports.service import Reports

        return Reports(self)

    @classmethod
    def open(
        cls,
        database_url: str | None = None,
        *,
        user: str | None = None,
        flow: Flow | None = None,
        clock: Clock = utc_now,
        settings: Settings | None = None,
    ) -> Hub:
        settings = settings or Settings.load(database_url=database_url, user=user)
        # Sync (issue 5): the database `d2a login` turned into a replica opens as one.
        from d2a_tui.sync.login import replica_login

        login = replica_login(settings.database_url)
        engine = make_engine(settings.database_url)
        # A new SQLite file is this user's own, made here; a shared PostgreSQL database found
        # empty was dropped and recreated, most likely: giving it an empty schema would hide
        # that from every terminal (and its backup is what should come back).
        ensure_schema(engine, create=engine.dialect.name != "postgresql")
        store = JourneyStore(engine, flow or load_flow(settings.flow_path))
        if login is None:
            # The user's localities, where the database's users name some: the board (in a
            # terminal or a browser) shows their journeys only, as the server would send.
            from d2a_tui.storage.journeys import localities_of

            with engine.connect() as connection:
                store.localities = localities_of(connection, settings.user)
            return cls(store, Actor(settings.user, device_id()), clock, settings.calendar)
        from d2a_tui.sync.login import with_secrets
        from d2a_tui.sync.replica_hub import ReplicaSync

        # The token and the PIN hash are inside the database, read now it is open (unlocked).
        login = with_secrets(engine, login)
        # The server checks every mutation's actor against the device's user: act as them.
        hub = cls(store, Actor(login.user_id, login.device_id), clock, settings.calendar)
        hub.sync = ReplicaSync(hub, login=login, keep_closed_days=settings.keep_closed_days)
        return hub

    def close(self) -> None:
        if self.sync is not None:
            self.sync.close()
        self.store.engine.dispose()

    # --- the idle lock -------------------------------------------------------------------------

    def lock_guarded(self) -> bool:
        """Whether a secret unlocks the board: the encrypted database's passphrase, or a
        replica's PIN set at login; if neither, the lock is a curtain only."""
        url = self.store.engine.url
        encrypted = "pysqlcipher" in url.drivername and bool(url.database)
        return encrypted or (self.sync is not None and self.sync.login.pin_hash is not None)

    def check_unlock(self, secret: str) -> bool:
        """Whether `secret` is the replica's PIN or the encrypted database's passphrase (a
        deliberate fraction of a second: the key derivation is the same as opening it)."""
        from pathlib import Path

        from d2a_tui.storage.cipher import matches

        if self.sync is not None and self.sync.pin_matches(secret):
            return True
        url = self.store.engine.url
        encrypted = "pysqlcipher" in url.drivername and bool(url.database)
        return encrypted and matches(Path(str(url.database)), secret)

    def lock_out(self) -> None:
        """Too many wrong tries at the lock: a replica's device is logged out (its outbox
        stays for the next login). A direct database has no login to end."""
        if self.sync is not None:
            self.sync.lock_out()

    # --- commands ------------------------------------------------------------------------------

    def _run(
        self,
        command: str,
        args: dict[str, Any],
        journey_id: str | None = None,
        base_version: int | None = None,
        undo_event_id: str | None = None,
    ) -> Change:
        if self.sync is not None:
            self.sync.before_command(command)
        with self.store.unit_of_work() as work:
            applied = work.execute(
                command,
                args,
                self.actor,
                self.clock(),
                journey_id=journey_id,
                base_version=base_version,
                undo_event_id=undo_event_id,
            )
            # Read in the command's transaction: the version this change made, never a later
            # one another user committed in between (what a re-read after the commit showed).
            card = self.store.card(applied.state.id, work.connection)
        change = Change(applied.event, card, applied.position)
        if self.sync is not None:
            self.sync.after_command()
        return change

    def refer(
        self,
        nhs_number: str,
        name: str,
        date_of_birth: date | str,
        *,
        ward: str | None = None,
        bed: str | None = None,
        pathway: str | None = None,
        admitted_on: date | str | None = None,
        discharge_ready_date: date | str | None = None,
        expected_discharge_date: date | str | None = None,
        locality: str | None = None,
    ) -> Change:
        return self._run(
            "refer",
            {
                "patient": {
                    "nhs_number": nhs_number,
                    "name": name,
                    "date_of_birth": _iso(date_of_birth),
                    "locality": locality,
                },
                "ward": ward,
                "bed": bed,
                "pathway": pathway,
                "admitted_on": _iso(admitted_on),
                "discharge_ready_date": _iso(discharge_ready_date),
                "expected_discharge_date": _iso(expected_discharge_date),
            },
        )

    def move(
        self,
        journey_id: str,
        to: str,
        *,
        base_version: int | None = None,
        outcome: str | None = None,
        destination: str | None = None,
    ) -> Change:
        args = {"to": to, "outcome": outcome, "destination": destination}
        return self._run("move", args, journey_id, base_version)

    def close_journey(
        self,
        journey_id: str,
        outcome: str,
        *,
        destination: str | None = None,
        base_version: int | None = None,
    ) -> Change:
        return self._run(
            "close", {"outcome": outcome, "destination": destination}, journey_id, base_version
        )

    def reopen(
        self, journey_id: str, to: str | None = None, *, base_version: int | None = None
    ) -> Change:
        return self._run("reopen", {"to": to}, journey_id, base_version)

    def set_delay(
        self, journey_id: str, code: str | None, *, base_version: int | None = None
    ) -> Change:
        if code is None:
            return self._run("clear_delay", {}, journey_id, base_version)
        return self._run("set_delay", {"code": code}, journey_id, base_version)

    def set_ready_date(
        self, journey_id: str, ready: date | str | None, *, base_version: int | None = None
    ) -> Change:
        return self._run("set_ready_date", {"date": _iso(ready)}, journey_id, base_version)

    def set_expected_date(
        self, journey_id: str, expected: date | str | None, *, base_version: int | None = None
    ) -> Change:
        return self._run("set_expected_date", {"date": _iso(expected)}, journey_id, base_version)

    def set_ward(
        self,
        journey_id: str,
        ward: str | None,
        bed: str | None = None,
        *,
        base_version: int | None = None,
    ) -> Change:
        return self._run("set_ward", {"ward": ward, "bed": bed}, journey_id, base_version)

    def add_note(self, journey_id: str, text: str) -> Change:
        # Notes never conflict: they add to the journey and change nothing anyone else saw.
        return self._run("add_note", {"text": text}, journey_id)

    def assign(
        self, journey_id: str, to: str | None = "", *, base_version: int | None = None
    ) -> Change:
        """Assign to `to`; the default (empty string) means "to me", None means unassign."""
        return self._run(
            "assign", {"to": self.actor.user if to == "" else to}, journey_id, base_version
        )

    def acknowledge(self, journey_id: str, reason: str, until: datetime | None = None) -> Change:
        args = {"reason": reason, "until": until.isoformat() if until else None}
        return self._run("acknowledge", args, journey_id)

    def undo(self, event: Event) -> Change:
        """Append the inverse of `event`; refused if the journey has changed since."""
        return self._run("undo", {}, event.journey_id, undo_event_id=event.event_id)

    # --- queries -------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def backend(self) -> str:
        """ "SQLite <file>" or "PostgreSQL <host/db>": for a status line, never with a password."""
        url = self.store.engine.url
        if url.get_backend_name() == "sqlite":
            return f"SQLite {(url.database or ':memory:').rsplit('/', 1)[-1]}"
        return f"PostgreSQL {url.host or 'localhost'}/{url.database}"

    def board(self) -> list[Card]:
        return self.store.open_cards()

    def head_position(self) -> int:
        return self.store.head_position()

    def changes_since(self, position: int) -> list[Card]:
        return self.store.cards_changed_since(position)

    def watch_head(self, heard: Callable[[int], None]) -> HeadWatch | None:
        """On PostgreSQL, call `heard(head)` (from another thread) whenever any writer, in any
        process, moves the event log's head; None on SQLite. `stop()` the returned watch."""
        from d2a_tui.storage.head_watch import watch_head

        return watch_head(self.store.engine, heard)

    def journey(self, journey_id: str, *, purpose: str | None = None) -> JourneyView:
        """One journey with its timeline. With `purpose` (the screen or command opening it:
        journey_screen, show, export), the look is recorded in the audit first."""
        if purpose is not None:
            self.record_access(journey_id, purpose)
        return self.store.journey(journey_id)

    def record_access(self, journey_id: str, purpose: str) -> None:
        """An access record: this user, this device, now, this journey, and why. Not an event
        of the journey: looking changes no version."""
        if self.sync is not None:
            self.sync.record_access(journey_id, purpose)  # queued for the server too
            return
        from d2a_tui.storage import audit

        with self.store.unit_of_work() as work:
            audit.record(
                work.connection,
                user_id=self.actor.user,
                device_id=self.actor.device_id,
                journey_id=journey_id,
                purpose=purpose,
                at=self.now(),
            )

    def card(self, journey_id: str) -> Card:
        """The journey's card alone, without reading its timeline."""
        return self.store.card(journey_id)

    def resolve(self, reference: str) -> str:
        return self.store.resolve(reference)

    def handover(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> HandoverReport:
        """What changed since `since` (default: the start of the shift), per person (`d2a handover`)."""
        from d2a_tui.services.handover import for_hub

        return for_hub(self, since, until)

    def find(self, text: str, limit: int = 50) -> list[Card]:
        """Journeys open and closed by name, NHS number, journey id or ward (`d2a find`, `f`)."""
        from d2a_tui.storage.find import find_cards

        return find_cards(self.store, text, limit)

    def stuck(self, card: Card, now: datetime | None = None) -> Stuck:
        column = self.flow.column(card.column)
        stuck = assess(
            column,
            self.flow.limits,
            now or self.clock(),
            card.entered_column_at,
            card.discharge_ready_date,
            card.admitted_on,
            self.calendar,
        )
        if card.offer is None or not card.offer.is_open or column.is_closed:
            return stuck
        # An offer waiting for its answer is stuck like a card (the flow file's [offers] clock).
        waiting = offer_stuck(
            card.offer, card.offer_service or "", now or self.clock(), self.flow.offers
        )
        return Stuck(max(stuck.level, waiting.level), stuck.reasons + waiting.reasons)

    def list_cards(
        self,
        *,
        column: str | None = None,
        pathway: str | None = None,
        ward: str | None = None,
        delay_reason: str | None = None,
        stuck_only: bool = False,
    ) -> list[tuple[Card, Stuck]]:
        if column:
            self.flow.column(column)
        cards = self.store.open_cards(
            column=column, pathway=pathway, ward=ward, delay_reason=delay_reason
        )
        now = self.clock()
        rows = [(card, self.stuck(card, now)) for card in cards]
        if stuck_only:
            rows = [(card, stuck) for card, stuck in rows if stuck.level is not Level.OK]
            rows.sort(key=lambda row: (-row[1].level, row[0].entered_column_at))
        return rows


def _iso(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value
