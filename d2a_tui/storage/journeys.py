"""The one command path (`UnitOfWork.execute`) and the queries for journeys.

Every writer runs its commands through `execute`: the board and the CLI (the Hub), the import, the
ADT feed, a replica's local changes and the sync server's ingest. A command runs in one
transaction: take the event counter's row lock (so writers queue and every event gets a gap-free,
commit-ordered position), read what the rules need (`prepare`), let the domain make the events
(`domain/handler.handle`), and append them and the projection through the event log
(`event_log.py`, the one writer of events), both or neither. The optimistic `version` check is
made after the lock, against what is really stored, so a stale screen can never overwrite a newer
change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select

from d2a_tui.domain.calendar import LONDON, HubCalendar
from d2a_tui.domain.errors import InvalidInput, NotAllowed, NotFound
from d2a_tui.domain.events import Event, JourneyState, apply
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.handler import Command, handle, judged_day
from d2a_tui.domain.ids import new_journey_id, uuid7
from d2a_tui.domain.limits import FieldRejected
from d2a_tui.domain.nhs_number import format_nhs_number
from d2a_tui.domain.offers import OFFER_COMMANDS, OfferContext
from d2a_tui.domain.views import Card, JourneyView, TimelineEntry

# Re-exported (`X as X`) for the modules that take the tables and mappings from here.
from d2a_tui.storage.event_log import EventLog as EventLog
from d2a_tui.storage.event_log import VersionConflict as VersionConflict
from d2a_tui.storage.event_log import WriteBehind
from d2a_tui.storage.event_log import counter_table as counter_table
from d2a_tui.storage.event_log import event_from_row as event_from_row
from d2a_tui.storage.event_log import event_table as event_table
from d2a_tui.storage.event_log import journey_table as journey_table
from d2a_tui.storage.event_log import patient_table as patient_table
from d2a_tui.storage.event_log import row_from_event as row_from_event
from d2a_tui.storage.event_log import row_from_state as row_from_state
from d2a_tui.storage.event_log import state_from_row as state_from_row
from d2a_tui.storage.event_log import translated_errors as translated_errors
from d2a_tui.storage.models import EVENTS_COUNTER, UserLocality, table_of
from d2a_tui.storage.offers import offer_context, shown_offers

_CARD_COLUMNS = [
    journey_table.c.id.label("journey_id"),
    journey_table.c.column_id.label("column"),
    journey_table.c.pathway,
    patient_table.c.nhs_number,
    patient_table.c.name,
    patient_table.c.date_of_birth,
    journey_table.c.ward,
    journey_table.c.bed,
    journey_table.c.admitted_on,
    journey_table.c.referred_at,
    journey_table.c.entered_column_at,
    journey_table.c.discharge_ready_date,
    journey_table.c.expected_discharge_date,
    journey_table.c.delay_reason,
    journey_table.c.assigned_to,
    journey_table.c.outcome,
    journey_table.c.discharged_at,
    journey_table.c.closed_at,
    journey_table.c.acknowledged_until,
    journey_table.c.notes,
    journey_table.c.version,
    journey_table.c.updated_at,
    journey_table.c.updated_by,
    journey_table.c.change_position,
    # Last, as in Card: it came after the offer fields, which have defaults (migration 0015).
    journey_table.c.left_hospital_at,
]
# The columns before it are Card's first fields in order, so a card is built positionally: a
# quarter of the cost of Card(**row._mapping), which was ~0.1 s of the region board's first
# read (5,300 cards; bench/startup.py). tests/storage/test_card_columns.py holds the order.
_CARD_POSITIONAL = len(_CARD_COLUMNS) - 1


@dataclass(frozen=True, slots=True)
class Actor:
    user: str
    device_id: str


def card_from_row(row: Any) -> Card:
    # offer and offer_service as Card's defaults give them: the offers' query fills them in.
    values: tuple[Any, ...] = (*row[:_CARD_POSITIONAL], None, None, row[_CARD_POSITIONAL])
    return Card(*values)


@dataclass(frozen=True, slots=True)
class Applied:
    event: Event
    state: JourneyState
    position: int


# Called as (work, command, args as given, state before, applied, undo_event_id).
AppliedHook = Callable[
    ["UnitOfWork", str, dict[str, Any], JourneyState | None, Applied, str | None], None
]
# A caller's own check of what `prepare` read (the journey, or None and a referral's arguments
# with the person as on record): it raises to refuse the command before the rules are asked.
StateCheck = Callable[[JourneyState | None, dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the rules judge a command against, read in the command's transaction."""

    state: JourneyState | None
    command: Command
    offers: OfferContext | None
    requested_args: dict[str, Any]  # as the caller gave them (a new offer's id filled in)


_LOAD_JOURNEY = select(journey_table).where(journey_table.c.id == bindparam("journey_id"))


class UnitOfWork:
    """One transaction's worth of commands; see the module docstring for the locking order."""

    def __init__(
        self,
        connection: Connection,
        flow: Flow,
        on_applied: AppliedHook | None = None,
        calendar: HubCalendar = LONDON,
    ) -> None:
        self.connection = connection
        self.flow = flow
        self.log = EventLog(connection)
        self.calendar = calendar
        # Sync: a replica queues each change in its outbox here, inside the same transaction.
        self.on_applied = on_applied
        # False: offers name services this database does not hold, and the server judges them
        # (a replica holds its scope's services, so it judges as the server does).
        self.services_known = True

    def next_position(self) -> int:
        return self.log.reserve()

    def load(self, journey_id: str) -> JourneyState:
        row = self.connection.execute(_LOAD_JOURNEY, {"journey_id": journey_id}).first()
        if row is None:
            raise NotFound(f"no journey {journey_id[:8]}")
        return state_from_row(row)

    def event(self, event_id: str) -> Event:
        row = self.connection.execute(
            select(event_table).where(event_table.c.event_id == event_id)
        ).first()
        if row is None:
            raise NotFound(f"no event {event_id}")
        return event_from_row(row)

    def execute(
        self,
        command: str,
        args: dict[str, Any],
        actor: Actor,
        occurred_at: datetime,
        *,
        journey_id: str | None = None,
        base_version: int | None = None,
        event_id: str | None = None,
        undo_event_id: str | None = None,
        recorded_at: datetime | None = None,
        current: JourneyState | None = None,
        now: datetime | None = None,
        sink: WriteBehind | None = None,
        role: str | None = None,
        organisation: str | None = None,
        check: StateCheck | None = None,
    ) -> Applied:
        """The one command path: prepare (read what the rules need) -> handle (the domain makes
        the events) -> append (each at the next position, with its projection).

        `recorded_at` defaults to `occurred_at`; an import or a feed that back-dates events
        passes the real moment, so "as known at" reports stay honest. `current` is the journey
        as the caller has just read it in this transaction (a round trip saved; the version
        check at the write still guards it).

        The sync server's ingest runs a push through here with what it adds around it: `now`,
        its clock (a device's dates are judged by `judged_day`); `sink`, the push's write-behind
        batch; `role` and `organisation`, the device's user's, whom offers are judged as; and
        `check`, its own refusals of what was read, raised before the rules are asked (a person
        outside the user's scope, a journey that changed since the device saw it)."""
        # Where the position is taken. A change checked against the version its caller saw (the
        # board's, `--expect-version`) reads and decides first and takes the position with its
        # write, last (`EventLog.append_next`, PostgreSQL): a concurrent change fails the row's
        # version check, which is the conflict the caller asked to be told of, so the counter's
        # lock is held for one statement and the commit (issue 25 §2). Anything else takes it
        # first, alone: reserving it takes the counter's row lock, so writers queue here and
        # everything `prepare` reads is the truth at commit. A referral's checks read beyond one
        # journey's row, and a caller that gave no version expects to apply to whatever is
        # stored. (A `sink` is a batch that holds the lock already: its positions are handed out
        # as its events are appended.)
        last = (
            sink is None
            and base_version is not None
            and command != "refer"
            # A subclass (a replica's outbox) hands out positions of its own, under its lock.
            and type(self).next_position is UnitOfWork.next_position
            and self.log.takes_position_last
        )
        reserved = None if sink is not None or last else self.next_position()
        prepared = self.prepare(
            command,
            args,
            actor,
            occurred_at,
            journey_id=journey_id,
            base_version=base_version,
            event_id=event_id,
            undo_event_id=undo_event_id,
            current=current,
            sink=sink,
            role=role,
            organisation=organisation,
            check=check,
        )
        events = handle(
            self.flow,
            prepared.state,
            prepared.command,
            judged_day(self.calendar, occurred_at, now),
            prepared.offers,
        )
        recorded = recorded_at or occurred_at
        return self._append(prepared, events, actor.device_id, recorded, sink, reserved, last)

    def prepare(
        self,
        command: str,
        args: dict[str, Any],
        actor: Actor,
        occurred_at: datetime,
        *,
        journey_id: str | None = None,
        base_version: int | None = None,
        event_id: str | None = None,
        undo_event_id: str | None = None,
        current: JourneyState | None = None,
        sink: WriteBehind | None = None,
        role: str | None = None,
        organisation: str | None = None,
        check: StateCheck | None = None,
    ) -> Prepared:
        """What the rules judge a command against, read in this transaction: the journey (or,
        for a referral, the person as on record), the journey's offers, the event an undo names.
        A `sink`'s pending writes go first where these reads need them; a referral's lookup
        reads the tables as they stand, so a caller that may hold the same person's rows
        pending flushes first (the ingest before every referral, the import before a second
        referral of one person)."""
        requested_args = args
        if command == "refer":
            state = None
            journey_id = journey_id or new_journey_id()
            args = {
                **args,
                "patient": self._patient_for_referral(
                    args["patient"], self.calendar.day(occurred_at)
                ),
            }
        else:
            if journey_id is None:
                raise InvalidInput(f"{command} needs a journey")
            state = current if current is not None and current.id == journey_id else None
            if state is None and sink is not None:
                state = sink.states.get(journey_id)  # written behind, not in its row yet
            state = state or self.load(journey_id)
            if base_version is not None and base_version != state.version:
                raise VersionConflict(
                    journey_id,
                    base_version,
                    state.version,
                    state.updated_by or "?",
                    state.updated_at or occurred_at,
                )
        if check is not None:
            check(state, args)
        event_id = event_id or uuid7()
        offers = None
        if command in OFFER_COMMANDS:
            if command == "offer" and not args.get("offer_id"):
                # A new offer is known by its event's id; the outbox sends it so the server's
                # event is the same offer.
                args = requested_args = {**args, "offer_id": event_id}
            if sink is not None:
                sink.flush()  # the journey's offer events so far are read from the table
            offers = offer_context(
                self.connection,
                journey_id,
                event_id,
                actor.user,
                role=role,
                organisation=organisation,
                services_known=self.services_known,
            )
        undoes = None
        if undo_event_id is not None:
            if sink is not None:
                sink.flush()
            undoes = self.event(undo_event_id)
        return Prepared(
            state,
            Command(command, args, journey_id, event_id, actor.user, occurred_at, undoes),
            offers,
            requested_args,
        )

    def _append(
        self,
        prepared: Prepared,
        events: list[Event],
        device_id: str,
        recorded_at: datetime,
        sink: WriteBehind | None,
        reserved: int | None,
        last: bool = False,
    ) -> Applied:
        """Each event at the next position (the first one `reserved` by `execute`, or taken
        with its write when `last`), with the projection it makes."""
        state = prepared.state
        applied: Applied | None = None
        for event in events:
            new_state = apply(state, event)
            if last and state is not None:
                # The counter's lock is taken here; any further event takes the next position.
                position = self.log.append_next(event, state, new_state, device_id, recorded_at)
                last = False
            elif sink is None:
                position = reserved if reserved is not None else self.next_position()
                reserved = None
                self.log.append(event, state, new_state, position, device_id, recorded_at)
            else:
                position = sink.append(event, state, new_state, device_id, recorded_at)
            applied = Applied(event, new_state, position)
            if self.on_applied is not None:
                undone = prepared.command.undoes
                self.on_applied(
                    self,
                    prepared.command.name,
                    prepared.requested_args,
                    state,
                    applied,
                    undone.event_id if undone is not None else None,
                )
            state = new_state
        assert applied is not None  # `handle` makes at least one event, or refuses
        return applied

    def _patient_for_referral(self, patient: dict[str, Any], today: date) -> dict[str, Any]:
        from d2a_tui.domain.nhs_number import normalise

        digits = normalise(str(patient.get("nhs_number", "")))
        existing = self.connection.execute(
            select(patient_table).where(patient_table.c.nhs_number == digits)
        ).first()
        claimed = patient.get("existing")
        if claimed is not None and bool(claimed) != (existing is not None):
            # Only this lookup says whether a person is on record; a client that believes
            # otherwise holds a different record, and its referral must not guess which.
            raise FieldRejected(
                "patient_mismatch",
                "the referral says the person is "
                + ("" if claimed else "not ")
                + "on record, but the records say otherwise",
            )
        if existing is None:
            fresh = {key: value for key, value in patient.items() if key != "existing"}
            return {**fresh, "nhs_number": digits, "id": patient.get("id") or new_journey_id()}
        open_journey = self.connection.execute(
            select(journey_table.c.id, journey_table.c.column_id).where(
                journey_table.c.patient_id == existing.id, journey_table.c.closed_at.is_(None)
            )
        ).first()
        if open_journey is not None:
            raise NotAllowed(
                f"NHS number {format_nhs_number(digits)} already has an open journey "
                f"{open_journey.id[:8]} in {self.flow.column(open_journey.column_id).name}"
            )
        dob = patient.get("date_of_birth")
        if dob and str(dob) != existing.date_of_birth.isoformat():
            raise InvalidInput(
                f"NHS number {format_nhs_number(digits)} is on record with a different date of birth"
            )
        return {
            "id": existing.id,
            "nhs_number": digits,
            "name": existing.name,
            **({"family_name": existing.family_name} if existing.family_name else {}),
            "date_of_birth": existing.date_of_birth.isoformat(),
            "locality": existing.locality,
            "existing": True,
        }


user_locality_table = table_of(UserLocality)


def localities_of(connection: Connection, user_id: str) -> frozenset[str] | None:
    """The localities a user serves (the server's `user_locality`), or None for every one."""
    found = frozenset(
        connection.execute(
            select(user_locality_table.c.locality).where(user_locality_table.c.user_id == user_id)
        ).scalars()
    )
    return found or None


class JourneyStore:
    def __init__(self, engine: Engine, flow: Flow, calendar: HubCalendar = LONDON) -> None:
        self.engine = engine
        self.flow = flow
        self.calendar = calendar
        self.on_applied: AppliedHook | None = None  # set by a sync replica
        self.services_known = True  # see UnitOfWork.services_known
        # The localities the acting user serves, where the server's users table names some
        # (`d2a server set-user --locality`): every read of journeys is cut to them, as the
        # server cuts a device's (the board in a browser runs here). None: every journey.
        self.localities: frozenset[str] | None = None

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        with translated_errors(self.engine), self.engine.begin() as connection:
            work = UnitOfWork(connection, self.flow, self.on_applied, self.calendar)
            work.services_known = self.services_known
            yield work

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with translated_errors(self.engine), self.engine.connect() as connection:
            yield connection

    # --- queries -------------------------------------------------------------------------------

    def head_position(self) -> int:
        with self._read() as connection:
            head: int = connection.execute(
                select(counter_table.c.value).where(counter_table.c.name == EVENTS_COUNTER)
            ).scalar_one()
        return head

    def in_scope(self) -> list[Any]:
        """The condition that keeps a query of journeys to the user's localities (none: all)."""
        if self.localities is None:
            return []
        return [journey_table.c.locality.in_(sorted(self.localities))]

    def _cards(
        self,
        where: Sequence[Any],
        order: Sequence[Any] = (),
        connection: Connection | None = None,
    ) -> list[Card]:
        query = select(*_CARD_COLUMNS).join(
            patient_table, patient_table.c.id == journey_table.c.patient_id
        )
        query = query.where(*where, *self.in_scope())
        if order:
            query = query.order_by(*order)
        with nullcontext(connection) if connection is not None else self._read() as reading:
            cards = [card_from_row(row) for row in reading.execute(query)]
            since = min((card.referred_at for card in cards), default=None)
            offers = shown_offers(reading, where, since) if cards else {}
        if offers:
            cards = [
                replace(
                    card, offer=offers[card.journey_id][0], offer_service=offers[card.journey_id][1]
                )
                if card.journey_id in offers
                else card
                for card in cards
            ]
        return cards

    def open_cards(
        self,
        *,
        column: str | None = None,
        pathway: str | None = None,
        ward: str | None = None,
        delay_reason: str | None = None,
        locality: str | None = None,
    ) -> list[Card]:
        where: list[Any] = [journey_table.c.closed_at.is_(None)]
        if locality:
            # One locality's board in a database many share: one range of a partial index of
            # the open journeys (ix_journey_open_locality, migration 0016).
            where.append(journey_table.c.locality == locality)
        if column:
            where.append(journey_table.c.column_id == column)
        if pathway:
            where.append(journey_table.c.pathway == pathway)
        if ward:
            where.append(func.lower(journey_table.c.ward) == ward.lower())
        if delay_reason:
            where.append(journey_table.c.delay_reason == delay_reason)
        return self._cards(where, order=[journey_table.c.entered_column_at])

    def cards_changed_since(self, position: int) -> list[Card]:
        """Open or just-closed journeys whose latest event is after `position`."""
        return self._cards([journey_table.c.change_position > position])

    def card(self, journey_id: str, connection: Connection | None = None) -> Card:
        """The journey's card; read in `connection` (a command's own transaction), it is the
        card as that command left it, whoever commits after."""
        cards = self._cards([journey_table.c.id == journey_id], connection=connection)
        if not cards:
            raise NotFound(f"no journey {journey_id[:8]}")
        return cards[0]

    def journey(self, journey_id: str) -> JourneyView:
        card = self.card(journey_id)
        with self._read() as connection:
            locality = connection.execute(
                select(patient_table.c.locality)
                .join(journey_table, journey_table.c.patient_id == patient_table.c.id)
                .where(journey_table.c.id == journey_id)
            ).scalar()
            rows = connection.execute(
                select(event_table)
                .where(event_table.c.journey_id == journey_id)
                .order_by(event_table.c.seq)
            ).all()
        timeline = tuple(
            TimelineEntry(row.position, event_from_row(row), row.recorded_at, row.device_id)
            for row in rows
        )
        return JourneyView(card, locality, timeline)

    def events(self, journey_id: str) -> list[Event]:
        return [entry.event for entry in self.journey(journey_id).timeline]

    def state(self, journey_id: str) -> JourneyState:
        with self._read() as connection:
            return UnitOfWork(connection, self.flow).load(journey_id)

    def resolve(self, reference: str) -> str:
        """A journey id from its full id or an unambiguous prefix (at least 4 characters)."""
        prefix = reference.strip().lower()
        if len(prefix) < 4 or any(ch not in "0123456789abcdef-" for ch in prefix):
            raise InvalidInput(
                f"{reference!r} is not a journey id: give at least its first 4 characters"
            )
        with self._read() as connection:
            ids = (
                connection.execute(
                    select(journey_table.c.id)
                    .where(journey_table.c.id.like(f"{prefix}%"), *self.in_scope())
                    .limit(6)
                )
                .scalars()
                .all()
            )
        if not ids:
            raise NotFound(f"no journey {reference}")
        if len(ids) > 1:
            shown = ", ".join(i[: len(prefix) + 4] for i in ids[:5])
            raise InvalidInput(
                f"journey prefix {reference!r} is ambiguous: {shown}…; type more of it"
            )
        found: str = ids[0]
        return found
