"""The Hub: the one facade that the TUI and the CLI call, whatever the backend.

Screens and commands never touch SQL or HTTP; they ask the Hub and get immutable views back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from d2a_tui.config import Settings, device_id
from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.events import Event
from d2a_tui.domain.flow import Flow, load_flow
from d2a_tui.domain.stuck import Level, Stuck, assess
from d2a_tui.storage.db import DatabaseUnavailable as DatabaseUnavailable  # for the screens
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from d2a_tui.storage.journeys import VersionConflict as VersionConflict  # for the screens
from d2a_tui.views import Card, JourneyView

if TYPE_CHECKING:
    from d2a_tui.handover import Handover as HandoverReport
    from d2a_tui.storage.head_watch import HeadWatch

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Change:
    """What a command did: the event it appended and the journey as it now stands."""

    event: Event
    card: Card
    position: int


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
        from d2a_tui.capacity_desk import CapacityDesk
        from d2a_tui.reports.alerts import Alerts
        from d2a_tui.reports.service import Reports

        self.reports = Reports(self)
        self.capacity = CapacityDesk(self, self.reports)
        self.alerts = Alerts(self)

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
        if login is not None:
            from d2a_tui.sync.replica_hub import ReplicaHub

            return ReplicaHub.open_replica(settings, login, flow=flow, clock=clock)
        engine = make_engine(settings.database_url)
        ensure_schema(engine)
        store = JourneyStore(engine, flow or load_flow(settings.flow_path))
        return cls(store, Actor(settings.user, device_id()), clock, settings.calendar)

    def close(self) -> None:
        self.store.engine.dispose()

    # --- commands ------------------------------------------------------------------------------

    def _run(
        self,
        command: str,
        args: dict[str, Any],
        journey_id: str | None = None,
        base_version: int | None = None,
        undo_event_id: str | None = None,
    ) -> Change:
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
        return Change(applied.event, self.store.card(applied.state.id), applied.position)

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
        """"SQLite <file>" or "PostgreSQL <host/db>": for a status line, never with a password."""
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

    def journey(self, journey_id: str) -> JourneyView:
        return self.store.journey(journey_id)

    def resolve(self, reference: str) -> str:
        return self.store.resolve(reference)

    def handover(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> HandoverReport:
        """What changed since `since` (default: the start of the shift), per person (`d2a handover`)."""
        from d2a_tui.handover import for_hub

        return for_hub(self, since, until)

    def find(self, text: str, limit: int = 50) -> list[Card]:
        """Journeys open and closed by name, NHS number, journey id or ward (`d2a find`, `f`)."""
        from d2a_tui.storage.find import find_cards

        return find_cards(self.store, text, limit)

    def stuck(self, card: Card, now: datetime | None = None) -> Stuck:
        column = self.flow.column(card.column)
        return assess(
            column,
            self.flow.limits,
            now or self.clock(),
            card.entered_column_at,
            card.discharge_ready_date,
            card.admitted_on,
            self.calendar,
        )

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
