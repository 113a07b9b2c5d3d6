"""Wrong clocks on devices (issue 24 §4): each sync measures the device's clock against the
server's, as NTP does; a device more than a few minutes out is told so, a date that would land
in the future by the server's clock is refused, and a device far ahead does not swap its token
at every sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from d2a_tui.services.hub import Hub
from d2a_tui.sync.ingest import device_table
from tests.conftest import FrozenClock
from tests.sync.conftest import SyncEnv, refer
from tests.sync.test_device_tokens import logged_in, on_the_servers_clock

LONDON = ZoneInfo("Europe/London")


def skewed(hub: Hub, clock: FrozenClock, by: timedelta) -> None:
    """The device's clock runs `by` ahead of the true one (the server's)."""
    hub.clock = lambda: clock.now + by


def test_a_device_five_hours_fast_is_told_and_its_today_is_refused_as_tomorrow(
    sync_env: SyncEnv, clock: FrozenClock
) -> None:
    on_the_servers_clock(sync_env, clock)
    clock.now = datetime(2026, 11, 23, 21, 0, tzinfo=LONDON).astimezone(UTC)
    desk = sync_env.direct("day.coordinator")
    fast_one, right_one = refer(desk, 1), refer(desk, 2)
    sync_env.user("nina")
    sync_env.user("omar")
    fast, right = sync_env.replica("nina", "fast"), sync_env.replica("omar", "right")
    skewed(fast, clock, timedelta(hours=5))
    skewed(right, clock, timedelta(seconds=40))
    for laptop in (fast, right):
        laptop.sync.sync_now(wait=True)

    warning = fast.sync.sync_status().clock
    assert warning is not None and "5 h fast" in warning
    assert right.sync.sync_status().clock is None  # seconds out: nothing to say

    # "Today" on each laptop: 24 November on the fast one (02:00 there), the 23rd on the other.
    fast.set_ready_date(fast_one, fast.calendar.day(fast.clock()))
    right.set_ready_date(right_one, right.calendar.day(right.clock()))
    for laptop in (fast, right):
        laptop.sync.sync_now(wait=True)
    (refused,) = fast.sync.conflicts()
    assert refused.outcome == "rejected" and "in the future" in (refused.message or "")
    assert desk.journey(fast_one).card.discharge_ready_date is None
    assert desk.journey(right_one).card.discharge_ready_date == datetime(2026, 11, 23).date()


def test_a_device_65_days_ahead_does_not_swap_its_token_at_every_sync(
    sync_env: SyncEnv, clock: FrozenClock
) -> None:
    on_the_servers_clock(sync_env, clock)
    hub = logged_in(sync_env, "nina")
    skewed(hub, clock, timedelta(days=65))  # 25 days left by its clock, 90 by the server's
    first = hub.sync.login.token

    def server_hash() -> str:
        with sync_env.engine.connect() as connection:
            return str(
                connection.execute(
                    select(device_table.c.token_hash).where(
                        device_table.c.id == hub.sync.login.device_id
                    )
                ).scalar_one()
            )

    before = server_hash()
    for _ in range(3):
        hub.sync.sync_now(wait=True)
        clock.advance(hours=1)
    assert hub.sync.login.token == first
    assert server_hash() == before
    warning = hub.sync.sync_status().clock
    assert warning is not None and "65 d fast" in warning

    # Due by the server's clock, it is swapped once, and then not again.
    clock.advance(days=61)
    hub.sync.sync_now(wait=True)
    swapped = hub.sync.login.token
    assert swapped != first
    hub.sync.sync_now(wait=True)
    assert hub.sync.login.token == swapped
