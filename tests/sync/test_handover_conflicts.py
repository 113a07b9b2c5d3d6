"""A replica's handover lists the changes the server did not apply (conflicts), with the rest."""

from __future__ import annotations

from datetime import timedelta

from d2a_tui import handover
from tests.sync.conftest import SyncEnv, refer


def test_a_replicas_handover_shows_its_conflict_beside_the_moves(sync_env: SyncEnv) -> None:
    env = sync_env
    start = env.clock.now
    desk = env.direct("day.coordinator")
    journey_id = refer(desk, 1, name="Jean Smith")
    desk.move(journey_id, "triage")
    env.user("nina")
    env.user("omar")
    nina, omar = env.replica("nina", "nina"), env.replica("omar", "omar")
    nina.sync.synchroniser.clock = env.clock  # the conflict is recorded at the test's time
    nina.sync.sync_now(wait=True)
    omar.sync.sync_now(wait=True)
    env.clock.advance(minutes=30)
    omar.move(journey_id, "await_p3")  # omar syncs first
    omar.sync.sync_now(wait=True)
    env.clock.advance(minutes=10)
    nina.move(journey_id, "await_p2")  # nina, offline, saw Triage: a conflict at her sync
    nina.sync.sync_now(wait=True)
    assert len(nina.sync.conflicts()) == 1

    report = nina.handover(start - timedelta(minutes=1))
    (person,) = report.people
    assert person.card.name == "Jean Smith" and person.card.column == "await_p3"
    kinds = [(item.kind, item.actor) for item in person.items]
    # Referred and moved to Triage at the start by the desk; omar's move 30 minutes later; then
    # nina's move, 10 minutes after that, which the server refused: her replica took the
    # server's order, so her move is not in the log, only the conflict that says it was refused.
    assert kinds == [
        ("referred", "day.coordinator"), ("moved", "day.coordinator"), ("moved", "omar"),
        ("conflict", "nina"),
    ]  # fmt: skip
    conflict = next(item for item in person.items if item.kind == "conflict")
    assert conflict.text.startswith("conflict: your move was not applied")
    lines = handover.to_lines(report, nina.flow, nina.calendar)
    assert any("conflict: your move was not applied" in line for line in lines)
