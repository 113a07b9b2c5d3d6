"""A night team's changes made offline and synced the next morning, after the day team changed
the same journey: through the real sync path (a replica, its outbox, the server's ingest), the
figures on the server count them on the day they happened. And a device whose clock runs ahead
cannot place a change after the server received it. November: GMT, so local = UTC."""

from __future__ import annotations

from datetime import datetime

from d2a_tui.services.hub import Hub
from d2a_tui.sync.server import create_app
from tests.conftest import FrozenClock
from tests.reports.conftest import daily_row, local
from tests.sync.conftest import SyncEnv, refer
from tests.sync.transports import ASGISyncTransport


class ServerClock:
    """The server's receipt time, set by the test apart from the devices' clocks."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _server_with_clock(env: SyncEnv, server: ServerClock) -> None:
    env.app = create_app(env.engine, flow=env.flow, clock=server)
    assert env.transport is not None and env.switch is not None
    env.transport.close()
    env.transport = ASGISyncTransport(env.app)
    env.switch.target = env.transport


def test_night_changes_synced_after_a_day_team_change_count_on_the_night_they_happened(
    any_sync_env: SyncEnv, clock: FrozenClock
) -> None:
    env = any_sync_env
    server = ServerClock(local("2026-11-23 10:00"))
    _server_with_clock(env, server)
    env.user("nina", "night")
    day_team: Hub = env.direct("dora")
    # Timeline (GMT):
    #   Mon 23 Nov 10:00  day team refers K (admitted Fri 20 Nov, proposed P1) and moves it to
    #                     Awaiting P1; nina's replica syncs (it now holds K)
    #   Tue 24 Nov 22:30  nina, offline: K no longer meets the criteria to reside, ready 24 Nov
    #   Wed 25 Nov 09:00  day team sets K's delay reason (P1CARE) on the server
    #   Wed 25 Nov 09:30  nina's replica syncs: the 22:30 change reaches the server
    #   Wed 25 Nov 22:30  nina, offline: K goes home on P1
    #   Thu 26 Nov 09:00  day team sets the expected date and a new delay reason (P1NEW)
    #   Thu 26 Nov 09:30  nina syncs: the discharge reaches the server
    clock.now = server.now = local("2026-11-23 10:00")
    k = refer(day_team, 1, admitted_on="2026-11-20", pathway="P1")
    day_team.move(k, "triage")
    day_team.move(k, "await_p1")
    nina = env.replica("nina")
    nina.sync.sync_now(wait=True)
    clock.now = local("2026-11-24 22:30")
    nina.set_ready_date(k, "2026-11-24")
    clock.now = server.now = local("2026-11-25 09:00")
    day_team.set_delay(k, "P1CARE")
    clock.now = server.now = local("2026-11-25 09:30")
    nina.sync.sync_now(wait=True)
    clock.now = local("2026-11-25 22:30")
    nina.move(k, "on_p1")
    clock.now = server.now = local("2026-11-26 09:00")
    day_team.set_delay(k, "P1NEW")
    clock.now = server.now = local("2026-11-26 09:30")
    nina.sync.sync_now(wait=True)
    clock.now = local("2026-11-27 12:00")
    assert day_team.store.card(k).column == "on_p1"
    #   day      P1: a b c
    #   24 Nov       1 0 1   (ready from 24 Nov, known only the next morning)
    #   25 Nov       1 1 0   (home at 22:30 on 25 Nov, known only on the 26th)
    #   26 Nov       0 0 0
    assert daily_row(day_team, "2026-11-24", "P1") == (1, 0, 1), "the night's ready date"
    assert daily_row(day_team, "2026-11-25", "P1") == (1, 1, 0), "the night's discharge"
    assert daily_row(day_team, "2026-11-26", "P1") == (0, 0, 0)
    # Length of stay 25 - 20 = 5 days (not 6); wait from ready to discharge 25 - 24 = 1 (not 2).
    row = day_team.reports.los("2026-11-20", "2026-11-27").table("los_pathways").row("P1")
    assert row[1:] == (1, 5, 5, 5, 1, 1, 1)
    # `d2a show` gives the same day for the discharge.
    discharged_at = day_team.store.card(k).discharged_at
    assert discharged_at is not None and discharged_at == local("2026-11-25 22:30")
    # As the figures stood at 09:15 on 25 Nov, before the ready date reached the server, K was
    # not yet known to be NCTR on 24 Nov; as now known, K is.
    before = daily_row(day_team, "2026-11-24", "P1", as_known_at=local("2026-11-25 09:15"))
    assert before == (0, 0, 0), "as known at 09:15 on 25 Nov, the night's change had not arrived"
    # A rebuild from the log gives the same figures.
    folded = day_team.reports.flow("2026-11-20", "2026-11-27").to_dict()
    day_team.reports.rebuild()
    assert day_team.reports.flow("2026-11-20", "2026-11-27").to_dict() == folded


def test_a_device_clock_running_ahead_is_held_to_when_the_server_received_the_change(
    any_sync_env: SyncEnv, clock: FrozenClock
) -> None:
    env = any_sync_env
    server = ServerClock(local("2026-11-23 10:00"))
    _server_with_clock(env, server)
    env.user("nina", "night")
    day_team: Hub = env.direct("dora")
    clock.now = local("2026-11-23 10:00")
    k = refer(day_team, 1, admitted_on="2026-11-20", discharge_ready_date="2026-11-23",
              pathway="P1")  # fmt: skip
    day_team.move(k, "triage")
    day_team.move(k, "await_p1")
    nina = env.replica("nina")
    nina.sync.sync_now(wait=True)
    # nina's device thinks it is 02:00 on Wed 25 Nov; the server receives the discharge at
    # 10:00 on Tue 24 Nov, 16 hours earlier (within the seven days of drift the server accepts; a
    # clock further ahead is refused as future_timestamp and shown on the device as rejected).
    # The discharge counts on 24 Nov (its receipt), not on 25 Nov.
    clock.now = local("2026-11-25 02:00")
    nina.move(k, "on_p1")
    server.now = local("2026-11-24 10:00")
    nina.sync.sync_now(wait=True)
    clock.now = local("2026-11-27 12:00")
    assert daily_row(day_team, "2026-11-24", "P1") == (1, 1, 0)
    assert daily_row(day_team, "2026-11-25", "P1") == (0, 0, 0)
    # Length of stay 24 - 20 = 4 days; ready 23 Nov, so a wait of 1 day.
    row = day_team.reports.los("2026-11-20", "2026-11-27").table("los_pathways").row("P1")
    assert row[1:] == (1, 4, 4, 4, 1, 1, 1)


def test_a_ready_date_of_today_at_half_past_midnight_in_summer_syncs_and_is_applied(
    any_sync_env: SyncEnv, clock: FrozenClock
) -> None:
    env = any_sync_env
    # 00:30 BST on Tue 16 June is 23:30 UTC on Mon 15 June: the replica's check, the server's
    # rules and its ingest all take "today" as 16 June.
    server = ServerClock(local("2026-06-16 00:31"))
    _server_with_clock(env, server)
    env.user("nina", "night")
    day_team: Hub = env.direct("dora")
    clock.now = local("2026-06-15 20:00")
    k = refer(day_team, 1, admitted_on="2026-06-14", pathway="P1")
    nina = env.replica("nina")
    nina.sync.sync_now(wait=True)
    clock.now = local("2026-06-16 00:30")
    nina.set_ready_date(k, "2026-06-16")
    nina.sync.sync_now(wait=True)
    assert nina.sync.conflicts(include_resolved=True) == []
    ready = day_team.store.card(k).discharge_ready_date
    assert ready is not None and ready.isoformat() == "2026-06-16"
