"""The event log on SQLite and PostgreSQL: what the field limits accept is stored and read back
exactly; what they refuse is refused before anything is written, with a reason; undo stays on
its own journey; and a unique id used twice is a refusal, not a traceback."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from d2a_tui.domain.errors import InvalidInput, NotAllowed
from d2a_tui.domain.events import Event, EventKind
from d2a_tui.domain.limits import FieldRejected
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone


def stored(hub: Hub, journey_id: str) -> tuple[Any, ...]:
    view = hub.journey(journey_id)
    return view.card, tuple(entry.event for entry in view.timeline), hub.head_position()


SERIALS = itertools.count(100)
# Any text at all: NUL, controls, surrogates, astral planes, and lengths either side of the limits.
texts = st.text(st.characters(codec=None), max_size=80) | st.text(max_size=4100)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ward=texts, note=texts)
def test_text_is_refused_with_a_reason_or_stored_and_read_back_exactly(
    hub: Hub, ward: str, note: str
) -> None:
    journey_id = refer_someone(hub, next(SERIALS))  # the hub outlives each example
    for typed, change, read_back in (
        (
            ward,
            lambda: hub.set_ward(journey_id, ward, None),
            lambda: hub.journey(journey_id).card.ward,
        ),
        (
            note,
            lambda: hub.add_note(journey_id, note),
            lambda: hub.journey(journey_id).timeline[-1].event.payload["text"],
        ),
    ):
        before = stored(hub, journey_id)
        try:
            change()
        except FieldRejected as refused:
            assert refused.reason in ("too_long", "control_characters")
            assert stored(hub, journey_id) == before  # nothing half-saved
        except (InvalidInput, NotAllowed):
            assert stored(hub, journey_id) == before  # an empty note, an unchanged ward
        else:
            # What the database gives back is what was typed, trimmed: no byte lost or mangled.
            assert read_back() == (typed.strip() or None)


POISONS: list[tuple[str, Callable[[Hub, str], Any], str]] = [
    ("300-char ward", lambda hub, j: hub.set_ward(j, "W" * 300, None), "too_long"),
    ("NUL in a note", lambda hub, j: hub.add_note(j, "a\x00b"), "control_characters"),
    ("escape in a bed", lambda hub, j: hub.set_ward(j, "7B", "\x1b[2J"), "control_characters"),
    ("year 9999", lambda hub, j: hub.set_expected_date(j, "9999-12-31"), "date_out_of_range"),
    ("year 1", lambda hub, j: hub.set_ready_date(j, "0001-01-01"), "date_out_of_range"),
    (
        "full-width NHS",
        lambda hub, j: refer_someone(hub, 9, nhs_number="\uff19" * 10),
        "invalid_input",
    ),
]


@pytest.mark.parametrize(("label", "poison", "reason"), POISONS, ids=[p[0] for p in POISONS])
def test_a_direct_hub_refuses_each_poison_and_stores_nothing(
    hub: Hub, label: str, poison: Callable[[Hub, str], Any], reason: str
) -> None:
    from d2a_tui.sync.rules import reason_code

    journey_id = refer_someone(hub)
    before = stored(hub, journey_id)
    with pytest.raises(Exception) as caught:
        poison(hub, journey_id)
    assert reason_code(caught.value) == reason, label
    assert stored(hub, journey_id) == before


def test_undo_with_another_journeys_event_changes_neither(hub: Hub) -> None:
    first, second = refer_someone(hub, 1), refer_someone(hub, 2)
    moved = hub.move(first, "triage").event
    before = stored(hub, first), stored(hub, second)
    mistaken = Event(
        moved.event_id, second, moved.kind, moved.payload, moved.actor, moved.occurred_at, 2
    )
    with pytest.raises(FieldRejected, match="belongs to another journey"):
        hub.undo(mistaken)
    assert (stored(hub, first), stored(hub, second)) == before
    assert hub.journey(first).card.column == "triage"


def test_an_event_id_used_twice_is_a_refusal_and_nothing_is_saved(
    hub: Hub, clock: FrozenClock
) -> None:
    journey_id = refer_someone(hub)
    note = hub.add_note(journey_id, "first").event
    before = stored(hub, journey_id)
    with (
        pytest.raises(NotAllowed, match="clashed with another one"),
        hub.store.unit_of_work() as work,
    ):
        work.execute(
            "add_note", {"text": "second"}, hub.actor, clock(), journey_id=journey_id,
            event_id=note.event_id,
        )  # fmt: skip
    assert stored(hub, journey_id) == before
    assert [e.kind for e in hub.store.events(journey_id)] == [
        EventKind.REFERRED,
        EventKind.NOTE_ADDED,
    ]
