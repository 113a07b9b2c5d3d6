"""Deciding many conflicts at once after a long time offline (issue 24 §4): keep theirs for
every conflict of a kind (a command, or an outcome), of a journey, or all, each decision its own
mutation the server records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from d2a_tui.domain.errors import NotAllowed
from tests.conftest import FrozenClock
from tests.sync.conftest import SyncEnv, refer
from tests.sync.test_device_tokens import on_the_servers_clock


def test_keep_theirs_by_kind_then_for_all(sync_env: SyncEnv, clock: FrozenClock) -> None:
    on_the_servers_clock(sync_env, clock)
    clock.now = datetime(2026, 11, 23, 21, 0, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)
    desk = sync_env.direct("day.coordinator")
    journeys = [refer(desk, serial) for serial in (1, 2, 3)]
    for journey in journeys:
        desk.move(journey, "triage")
    sync_env.user("nina")
    sync_env.user("omar")
    nina, omar = sync_env.replica("nina", "nina"), sync_env.replica("omar", "omar")
    for laptop in (nina, omar):
        laptop.sync.sync_now(wait=True)
    for journey in journeys:
        omar.move(journey, "await_p3")
    omar.sync.sync_now(wait=True)
    for journey in journeys:
        nina.move(journey, "await_p2")  # three move conflicts
    nina.clock = lambda: clock.now + timedelta(hours=5)  # tomorrow there: a refused date
    nina.set_ready_date(journeys[0], nina.calendar.day(nina.clock()))
    nina.sync.sync_now(wait=True)
    assert sorted((v.command, v.outcome) for v in nina.sync.conflicts()) == [
        ("move", "conflict"),
        ("move", "conflict"),
        ("move", "conflict"),
        ("set_ready_date", "rejected"),
    ]

    assert nina.sync.keep_theirs_for(kind="move") == 3
    [left] = nina.sync.conflicts()
    assert left.outcome == "rejected"
    assert nina.sync.keep_theirs_for(journey_id=journeys[1]) == 0
    assert nina.sync.keep_theirs_for() == 1
    assert nina.sync.conflicts() == []
    nina.sync.sync_now(wait=True)
    decided = [v.resolution for v in nina.sync.conflicts(include_resolved=True)]
    assert sorted(decided) == ["dismissed", "theirs", "theirs", "theirs"]
    assert nina.sync.sync_status().pending == 0


def test_a_viewer_cannot_decide_in_bulk(sync_env: SyncEnv) -> None:
    sync_env.user("vera", role="viewer")
    hub = sync_env.replica("vera", "vera", role="viewer")
    with pytest.raises(NotAllowed):
        hub.sync.keep_theirs_for()
