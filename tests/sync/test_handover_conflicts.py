"""A replica's handover lists the changes the server did not apply (conflicts), with the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from d2a_tui.services import handover
from d2a_tui.sync.server import create_app
from tests.conftest import FrozenClock
from tests.sync.conftest import SyncEnv, refer
from tests.sync.transports import ASGISyncTransport


def test_a_replicas_handover_shows_its_conflict_beside_the_moves(sync_env: SyncEnv) -> None:
    env = sync_env
    clocked_server(env)
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


def test_the_handover_holds_what_the_hub_recorded_in_the_shift_whatever_a_devices_clock(
    sync_env: SyncEnv, clock: FrozenClock
) -> None:
    """A laptop 5 h fast and one 30 h slow each move someone at 06:00 and sync at once: the
    08:00 huddle's handover (20:00 to 08:00) shows both moves, at the time each device gave."""
    env = sync_env
    clocked_server(env)  # the server's clock is the true one
    desk = env.direct("day.coordinator")
    fast_journey, slow_journey = refer(desk, 1), refer(desk, 2)
    env.user("nina")
    env.user("omar")
    fast, slow = env.replica("nina", "fast"), env.replica("omar", "slow")
    for laptop in (fast, slow):
        laptop.sync.sync_now(wait=True)
    london = ZoneInfo("Europe/London")
    clock.now = datetime(2026, 11, 24, 6, 0, tzinfo=london).astimezone(UTC)
    fast.clock = lambda: clock.now + timedelta(hours=5)
    slow.clock = lambda: clock.now - timedelta(hours=30)
    fast.move(fast_journey, "triage")
    slow.move(slow_journey, "triage")
    for laptop in (fast, slow):
        laptop.sync.sync_now(wait=True)

    clock.now = datetime(2026, 11, 24, 8, 5, tzinfo=london).astimezone(UTC)
    report = desk.handover()
    assert report.since == datetime(2026, 11, 23, 20, 0, tzinfo=london)
    moved = {
        person.card.journey_id: item.at
        for person in report.people
        for item in person.items
        if item.kind == "moved"
    }
    assert moved == {
        fast_journey: datetime(2026, 11, 24, 11, 0, tzinfo=london),  # when it said it happened
        slow_journey: datetime(2026, 11, 23, 0, 0, tzinfo=london),
    }


def clocked_server(env: SyncEnv) -> None:
    """The server on the test's clock: it records changes at the test's time."""
    assert env.switch is not None
    env.app = create_app(env.engine, flow=env.flow, clock=env.clock)
    env.transport = ASGISyncTransport(env.app)
    env.switch.target = env.transport
