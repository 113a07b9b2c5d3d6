"""A poisoned change never blocks a device: the replica refuses at the keyboard what the server
would refuse (the same checks), and what still reaches the server (an older client queued it) is
rejected on its own, shown as rejected, while the rest of the night's work arrives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from d2a_tui.domain.errors import InvalidInput, NotAllowed
from d2a_tui.domain.ids import new_journey_id, uuid7
from d2a_tui.services.hub import Hub
from d2a_tui.storage.journeys import journey_table
from d2a_tui.sync.rebuild import outbox_table
from tests.sync.conftest import SyncEnv, event_count, nhs, refer

FULL_WIDTH = "".join(chr(ord(digit) + 0xFEE0) for digit in nhs(40))
# Each poison as (command, args, the time it claims), as an older client would have queued it.
POISONS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "300-char ward": ("set_ward", {"ward": "W" * 300}, None),
    "NUL in a note": ("add_note", {"text": "rings\x00after 6pm"}, None),
    "escape codes in a ward": ("set_ward", {"ward": "\x1b[31m7B"}, None),
    "a 5,000-character note": ("add_note", {"text": "n" * 5000}, None),
    "year 9999": ("add_note", {"text": "from the future"}, "9999-12-31T23:00:00+00:00"),
    "a referral in 2099": ("refer", {}, "2099-01-01T09:00:00+00:00"),
    "full-width NHS digits": ("refer", {"nhs_number": FULL_WIDTH}, None),
    "an unknown argument": ("assign", {"to": "nina", "priority": "high"}, None),
    "retracting an object": ("retract_note", {"note_event_id": {"id": 1}}, None),
}


def queue_raw(hub: Hub, command: str, journey_id: str, args: dict[str, Any], at: str) -> str:
    """Put a change straight into the outbox, past every local check, as an older client would."""
    mutation_id = uuid7()
    with hub.sync.replica._locked() as connection:
        seq = hub.sync.replica._next_seq(connection)
        body = {
            "kind": "command",
            "mutation_id": mutation_id,
            "client_seq": seq,
            "actor": hub.actor.user,
            "occurred_at": at,
            "command": command,
            "journey_id": journey_id,
            "args": args,
        }
        connection.execute(
            outbox_table.insert().values(
                mutation_id=mutation_id,
                client_seq=seq,
                kind="command",
                journey_id=journey_id,
                body=body,
                created_at=datetime.fromisoformat(at),
                status="pending",
                confirmed=False,
            )
        )
    return mutation_id


def referral_args(serial: int, **patient: Any) -> dict[str, Any]:
    return {
        "patient": {
            "nhs_number": nhs(serial),
            "name": f"Test Person {serial}",
            "date_of_birth": "1941-05-06",
            **patient,
        },
        "ward": "Ward 7",
    }


def test_each_poison_is_rejected_alone_and_the_rest_of_the_night_arrives(
    any_sync_env: SyncEnv,
) -> None:
    any_sync_env.user("nina")
    night = any_sync_env.replica("nina")
    now = night.clock().isoformat()
    first = refer(night, 1)
    night.add_note(first, "first round done")
    poisoned: dict[str, str] = {}
    good: list[str] = [first]
    for serial, (label, (command, args, at)) in enumerate(POISONS.items(), start=10):
        if command == "refer":
            journey_id = new_journey_id()
            args = referral_args(serial, **args)
        else:
            journey_id = first
        poisoned[label] = queue_raw(night, command, journey_id, args, at or now)
        # A good change after each poison: none of them may be held back by the one before.
        good.append(refer(night, serial + 100))
    night.move(first, "triage")

    report = night.sync.sync_now(wait=True)
    assert report is not None

    views = {view.mutation_id: view for view in night.sync.conflicts()}
    for label, mutation_id in poisoned.items():
        assert mutation_id in views, f"{label} was not listed as rejected"
        assert views[mutation_id].outcome == "rejected", label
        assert views[mutation_id].reason, label
    status = night.sync.sync_status()
    assert status.pending == 0 and status.conflicts == len(POISONS)
    with any_sync_env.engine.connect() as connection:
        rows = connection.execute(select(journey_table.c.id, journey_table.c.column_id)).all()
    columns = {row.id: row.column_id for row in rows}
    assert set(columns) == set(good)  # every good referral arrived, no poisoned one
    assert columns[first] == "triage"  # and the move made after all the poisons
    # The first referral and one after each poison, the note, and the move.
    assert event_count(any_sync_env.engine) == (1 + len(POISONS)) + 1 + 1
    night.sync.sync_now(wait=True)  # and the next sync has nothing left to fail on
    assert night.sync.sync_status().conflicts == len(POISONS)


KEYBOARD_POISONS = [
    pytest.param(lambda hub, j: hub.set_ward(j, "W" * 300, None), id="300-char-ward"),
    pytest.param(lambda hub, j: hub.add_note(j, "keys\x00mat"), id="nul-in-note"),
    pytest.param(lambda hub, j: hub.add_note(j, "bell\x07"), id="control-char"),
    pytest.param(lambda hub, j: hub.set_ready_date(j, "9999-01-01"), id="year-9999"),
    pytest.param(lambda hub, j: refer(hub, 77, nhs_number=FULL_WIDTH), id="full-width-nhs"),
    pytest.param(lambda hub, j: refer(hub, 78, name="N" * 300), id="300-char-name"),
]


@pytest.mark.parametrize("poison", KEYBOARD_POISONS)
def test_the_replica_refuses_at_the_keyboard_what_the_server_would_refuse(
    sync_env: SyncEnv, poison: Any
) -> None:
    sync_env.user("nina")
    night = sync_env.replica("nina")
    journey = refer(night, 1)
    queued = night.sync.sync_status().pending
    with pytest.raises(InvalidInput):
        poison(night, journey)
    assert night.sync.sync_status().pending == queued  # nothing queued to fail later


def test_a_viewer_is_refused_at_the_keyboard_not_at_the_next_sync(sync_env: SyncEnv) -> None:
    sync_env.user("nina")
    sync_env.user("vic", "viewer")
    night = sync_env.replica("nina")
    journey = refer(night, 1)
    night.sync.sync_now(wait=True)
    viewer = sync_env.replica("vic", role="viewer")
    viewer.sync.sync_now(wait=True)
    assert viewer.store.card(journey).column == "referred"
    with pytest.raises(NotAllowed, match="a viewer cannot change journeys"):
        viewer.move(journey, "triage")
    with pytest.raises(NotAllowed, match="a viewer cannot change journeys"):
        refer(viewer, 2)
    assert viewer.sync.sync_status().pending == 0
    assert viewer.store.card(journey).column == "referred"
    viewer.sync.sync_now(wait=True)
    assert viewer.sync.conflicts() == []
