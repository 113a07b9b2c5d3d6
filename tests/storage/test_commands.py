"""Commands append one event and update the projection together, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import event

from d2a_tui.domain.errors import InvalidInput, NotAllowed, NotFound
from d2a_tui.domain.events import EventKind, replay
from d2a_tui.services.hub import Hub
from d2a_tui.storage.journeys import VersionConflict
from tests.conftest import FrozenClock, refer_someone


def snapshot(hub: Hub, journey_id: str) -> tuple:
    view = hub.journey(journey_id)
    return view.card, tuple(entry.event for entry in view.timeline), hub.head_position()


def test_refer_creates_patient_journey_and_first_event(hub: Hub) -> None:
    journey_id = refer_someone(hub, pathway="p1")
    view = hub.journey(journey_id)
    assert view.card.column == "referred"
    assert view.card.pathway == "P1"
    assert view.card.version == 1
    assert [entry.event.kind for entry in view.timeline] == [EventKind.REFERRED]
    assert view.timeline[0].event.actor == "alice"
    assert hub.head_position() == 1


def test_move_appends_event_and_updates_projection(hub: Hub, clock: FrozenClock) -> None:
    journey_id = refer_someone(hub)
    clock.advance(hours=2)
    change = hub.move(journey_id, "triage", base_version=1)
    clock.advance(hours=3)
    hub.move(journey_id, "await_p2", base_version=2)
    card = hub.journey(journey_id).card
    assert (card.column, card.pathway, card.version) == ("await_p2", "P2", 3)
    assert card.entered_column_at == clock.now
    assert change.event.payload == {
        "from": "referred",
        "to": "triage",
        "pathway": None,
        "previous_pathway": None,
        "discharged": False,
        "previous_entered_at": "2026-11-23T09:30:00+00:00",  # referred at FROZEN_NOW
    }
    events = hub.store.events(journey_id)
    assert [e.seq for e in events] == [1, 2, 3]
    assert replay(events) == hub.store.state(journey_id)


def test_leaving_hospital_marks_the_discharge_and_closing_needs_an_outcome(
    hub: Hub, clock: FrozenClock
) -> None:
    journey_id = refer_someone(hub)
    for column in ("triage", "await_p1"):
        hub.move(journey_id, column)
    clock.advance(days=1)
    hub.move(journey_id, "on_p1")
    assert hub.journey(journey_id).card.discharged_at == clock.now
    before = snapshot(hub, journey_id)
    with pytest.raises(InvalidInput, match="needs an outcome"):
        hub.move(journey_id, "closed")
    assert snapshot(hub, journey_id) == before
    hub.close_journey(journey_id, "home_independent", destination="p1_home")
    card = hub.journey(journey_id).card
    assert (card.column, card.outcome, card.closed_at) == ("closed", "home_independent", clock.now)
    assert all(c.journey_id != journey_id for c in hub.board())


def test_two_sessions_with_the_same_base_version_one_wins_the_other_is_told_who(
    make_hub: Callable[..., Hub], clock: FrozenClock
) -> None:
    alice, bob = make_hub("alice", "dev-a"), make_hub("bob", "dev-b")
    journey_id = refer_someone(alice)
    seen_by_both = alice.journey(journey_id).card.version
    bob.move(journey_id, "triage", base_version=seen_by_both)
    with pytest.raises(
        VersionConflict, match=r"changed by bob .*now version 2, you saw 1.*nothing was saved"
    ) as caught:
        alice.move(journey_id, "closed", base_version=seen_by_both, outcome="died")
    assert caught.value.changed_by == "bob"
    events = alice.store.events(journey_id)
    assert [(e.kind, e.actor) for e in events] == [
        (EventKind.REFERRED, "alice"),
        (EventKind.MOVED, "bob"),
    ]
    assert alice.journey(journey_id).card.column == "triage"


def test_racing_writers_on_real_connections_exactly_one_move_lands(
    make_hub: Callable[..., Hub],
) -> None:
    hubs = [make_hub(f"user{i}", f"dev-{i}") for i in range(4)]
    journey_id = refer_someone(hubs[0])
    barrier = threading.Barrier(len(hubs))
    results: list[str] = []

    def attempt(hub: Hub) -> None:
        barrier.wait()
        try:
            hub.move(journey_id, "triage", base_version=1)
            results.append("ok")
        except VersionConflict:
            results.append("conflict")

    threads = [threading.Thread(target=attempt, args=(hub,)) for hub in hubs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["conflict"] * 3 + ["ok"]
    assert [e.seq for e in hubs[0].store.events(journey_id)] == [1, 2]
    assert hubs[0].head_position() == 2  # positions are gap-free: refused attempts took none


def test_a_move_checked_against_a_version_takes_the_counter_with_its_write_on_postgresql(
    hub: Hub,
) -> None:
    """Writers queue on the event counter's row lock until they commit. On PostgreSQL a change
    checked against a version reads and decides first and takes the counter in the statement
    that writes its event, so nothing it reads waits there; on SQLite (one writer at a time)
    the counter is taken before the journey is read, as every writer does."""
    journey_id = refer_someone(hub)
    engine = hub.store.engine
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(" ".join(statement.lower().split()))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        hub.move(journey_id, "triage", base_version=1)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    on_counter = [n for n, sql in enumerate(statements) if "update counter" in sql]
    reads_journey = next(n for n, sql in enumerate(statements) if "from journey " in sql)
    assert len(on_counter) == 1
    if engine.dialect.name == "postgresql":
        assert "insert into journey_event" in statements[on_counter[0]]
        assert on_counter[0] > reads_journey
    else:
        assert on_counter[0] < reads_journey
    assert hub.journey(journey_id).card.column == "triage"


def test_notes_never_conflict(make_hub: Callable[..., Hub]) -> None:
    alice, bob = make_hub("alice"), make_hub("bob")
    journey_id = refer_someone(alice)
    bob.move(journey_id, "triage")
    alice.add_note(journey_id, "Daughter has keys.")
    assert alice.journey(journey_id).card.notes == 1


@pytest.mark.parametrize(
    ("action", "error", "message"),
    [
        (
            lambda hub, j: hub.move(j, "on_p1"),
            NotAllowed,
            "Referred → On P1 at home is not an allowed move",
        ),
        (lambda hub, j: hub.move(j, "limbo"), NotFound, "unknown column 'limbo'"),
        (lambda hub, j: hub.set_delay(j, "BORED"), NotFound, "unknown delay reason 'BORED'"),
        (lambda hub, j: hub.set_delay(j, None), NotAllowed, "no delay reason to clear"),
        (lambda hub, j: hub.set_ready_date(j, "2027-01-01"), InvalidInput, "in the future"),
        (lambda hub, j: hub.set_ready_date(j, "2026-11-01"), InvalidInput, "before the admission"),
        (lambda hub, j: hub.set_ready_date(j, "23/11/2026"), InvalidInput, "must be a date like"),
        (lambda hub, j: hub.add_note(j, "   "), InvalidInput, "cannot be empty"),
        (lambda hub, j: hub.close_journey(j, "teleported"), NotFound, "unknown outcome"),
        (lambda hub, j: hub.reopen(j), NotAllowed, "open already"),
        (lambda hub, j: hub.move(j, "triage", base_version=7), VersionConflict, "you saw 7"),
        (
            lambda hub, j: hub.move("00000000-0000-4000-8000-000000000000", "triage"),
            NotFound,
            "no journey 00000000",
        ),
    ],
)
def test_bad_commands_are_refused_and_change_nothing(hub: Hub, action, error, message: str) -> None:
    journey_id = refer_someone(hub)
    before = snapshot(hub, journey_id)
    with pytest.raises(error, match=message):
        action(hub, journey_id)
    assert snapshot(hub, journey_id) == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nhs_number": "943 476 5918"}, "check digit"),
        ({"nhs_number": "94347659"}, "10 digits"),
        ({"nhs_number": "abcdefghij"}, "digits only"),
        ({"date_of_birth": "2030-01-01"}, "date of birth 2030-01-01 is in the future"),
        ({"admitted_on": "2027-01-01"}, "admitted date 2027-01-01 is in the future"),
        ({"name": " "}, "name is required"),
        ({"pathway": "P7"}, "pathway must be one of"),
    ],
)
def test_bad_referrals_are_refused_and_nothing_is_half_saved(
    hub: Hub, overrides: dict, message: str
) -> None:
    with pytest.raises((InvalidInput, NotAllowed), match=message):
        refer_someone(hub, **overrides)
    assert hub.board() == []
    assert hub.head_position() == 0


def test_one_open_journey_per_patient_and_date_of_birth_must_match(hub: Hub) -> None:
    journey_id = refer_someone(hub, serial=5)
    with pytest.raises(
        NotAllowed, match=f"already has an open journey {journey_id[:8]} in Referred"
    ):
        refer_someone(hub, serial=5)
    hub.close_journey(journey_id, "other")
    with pytest.raises(InvalidInput, match="different date of birth"):
        refer_someone(hub, serial=5, date_of_birth="1950-01-01")
    again = refer_someone(hub, serial=5)
    assert hub.journey(again).card.nhs_number == hub.journey(journey_id).card.nhs_number


def test_undo_appends_the_inverse_and_undoing_the_undo_redoes(hub: Hub, clock: FrozenClock) -> None:
    journey_id = refer_someone(hub)
    hub.move(journey_id, "triage")
    moved = hub.move(journey_id, "await_p1")
    undone = hub.undo(moved.event)
    assert (undone.card.column, undone.card.pathway) == ("triage", None)
    redone = hub.undo(undone.event)
    assert (redone.card.column, redone.card.pathway) == ("await_p1", "P1")
    kinds = [e.kind for e in hub.store.events(journey_id)]
    assert kinds == [EventKind.REFERRED] + [EventKind.MOVED] * 4
    assert replay(hub.store.events(journey_id)) == hub.store.state(journey_id)


def test_undoing_a_move_or_a_close_gives_back_the_clock_the_journey_had(
    hub: Hub, clock: FrozenClock
) -> None:
    journey_id = refer_someone(hub)
    hub.move(journey_id, "triage")
    entered_triage = clock.now
    clock.advance(hours=30)  # Triage turns red after a day
    moved = hub.move(journey_id, "await_p1")
    moved_at = clock.now
    clock.advance(minutes=5)
    undone = hub.undo(moved.event)
    assert undone.card.column == "triage"
    assert undone.card.entered_column_at == entered_triage  # 30h in Triage, not 0m
    clock.advance(minutes=5)
    redone = hub.undo(undone.event)  # redo: back in Awaiting P1 since the original move
    assert redone.card.entered_column_at == moved_at
    closed = hub.close_journey(journey_id, "died")
    reopened = hub.undo(closed.event)
    assert (reopened.card.column, reopened.card.entered_column_at) == ("await_p1", moved_at)
    assert replay(hub.store.events(journey_id)) == hub.store.state(journey_id)


def test_undo_goes_back_step_by_step_on_one_journey(make_hub: Callable[..., Hub]) -> None:
    alice, bob = make_hub("alice"), make_hub("bob")
    journey_id = refer_someone(alice)
    first = alice.move(journey_id, "triage")
    second = alice.move(journey_id, "await_p2")
    alice.undo(second.event)
    # The first move is no longer the latest event (the undo is), but what it did still stands.
    back = alice.undo(first.event)
    assert (back.card.column, back.card.pathway) == ("referred", None)
    with pytest.raises(NotAllowed):  # undone already: Triage is not where it stands
        alice.undo(first.event)
    again = alice.move(journey_id, "triage")
    bob.set_delay(journey_id, "MED")
    with pytest.raises(NotAllowed, match=r"changed since \(by bob\)"):
        alice.undo(again.event)
    assert replay(alice.store.events(journey_id)) == alice.store.state(journey_id)


def test_undo_is_refused_once_someone_else_changed_the_journey(
    make_hub: Callable[..., Hub],
) -> None:
    alice, bob = make_hub("alice"), make_hub("bob")
    journey_id = refer_someone(alice)
    mine = alice.set_delay(journey_id, "MED")
    bob.move(journey_id, "triage")
    with pytest.raises(NotAllowed, match=r"changed since \(by bob\)"):
        alice.undo(mine.event)
    assert alice.journey(journey_id).card.delay_reason == "MED"


def test_board_query_returns_every_open_journey_with_card_fields(hub: Hub) -> None:
    ids = [refer_someone(hub, serial=n, ward=f"Ward {n}") for n in range(1, 6)]
    hub.close_journey(ids[0], "died")
    hub.set_delay(ids[1], "P1CARE")
    board = {card.journey_id: card for card in hub.board()}
    assert set(board) == set(ids[1:])
    assert board[ids[1]].delay_reason == "P1CARE"
    assert board[ids[2]].ward == "Ward 3"
    assert board[ids[2]].name == "Test Person 3"


def test_changes_since_returns_only_journeys_touched_after_the_position(hub: Hub) -> None:
    first, second = refer_someone(hub, serial=1), refer_someone(hub, serial=2)
    mark = hub.head_position()
    hub.move(second, "triage")
    hub.close_journey(first, "other")
    changed = {card.journey_id: card for card in hub.changes_since(mark)}
    assert set(changed) == {first, second}
    assert changed[first].closed_at is not None
    assert hub.changes_since(hub.head_position()) == []


def test_resolve_by_prefix(hub: Hub) -> None:
    journey_id = refer_someone(hub)
    assert hub.resolve(journey_id[:6].upper()) == journey_id
    with pytest.raises(NotFound):
        hub.resolve("ffffffff-ffff")
    with pytest.raises(InvalidInput, match="at least its first 4"):
        hub.resolve("ab")


def test_the_confirmation_of_a_change_is_the_version_it_made_whoever_writes_next(
    make_hub: Callable[..., Hub],
) -> None:
    """`d2a note J ...` prints the version its change made: with another terminal writing to the
    same journey all the while, a re-read after the commit would print theirs."""
    mine, theirs = make_hub("alice", "device-a"), make_hub("bob", "device-b")
    journey = refer_someone(mine)
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            theirs.add_note(journey, "bob was here")

    other = threading.Thread(target=keep_writing)
    other.start()
    try:
        changes = [mine.add_note(journey, f"note {n}") for n in range(60)]
    finally:
        stop.set()
        other.join()
    assert mine.journey(journey).card.version > 61  # the other terminal did write in between
    shown = [(change.card.version, change.card.updated_by) for change in changes]
    assert shown == [(change.event.seq, "alice") for change in changes]
