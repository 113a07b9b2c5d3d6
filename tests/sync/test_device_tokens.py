"""Device tokens expire (90 days unless the server says otherwise) and a replica swaps its token
for a new one at a sync within 30 days of the end, without anyone noticing — even when the
server's answer to the swap is lost. A revoked or expired device is told so in one line, and
what it had not sent stays in its outbox."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from d2a_tui.services.hub import Hub
from d2a_tui.sync import admin
from d2a_tui.sync.client import SyncClient, SyncRefused
from d2a_tui.sync.ingest import device_table
from d2a_tui.sync.server import create_app
from tests.conftest import FrozenClock
from tests.sync.conftest import BASE_URL, SyncEnv, refer
from tests.sync.transports import ASGISyncTransport


def on_the_servers_clock(env: SyncEnv, clock: FrozenClock) -> None:
    """The server's idea of now is the test's clock, so that 90 days can pass."""
    env.app = create_app(env.engine, flow=env.flow, clock=clock)
    assert env.transport is not None and env.switch is not None
    env.transport.close()
    env.transport = ASGISyncTransport(env.app)
    env.switch.target = env.transport


def logged_in(env: SyncEnv, user: str) -> Hub:
    env.user(user)
    hub = env.replica(user, user)
    with env.engine.connect() as connection:
        expires = connection.execute(
            select(device_table.c.token_expires_at).where(
                device_table.c.id == hub.sync.login.device_id
            )
        ).scalar_one()
    hub.sync.login = replace(hub.sync.login, token_expires_at=expires.isoformat())
    return hub


def works_with(token: str, env: SyncEnv) -> bool:
    client = SyncClient(BASE_URL, token, transport=env.switch, retries=0)
    try:
        client.me()
        return True
    except SyncRefused:
        return False
    finally:
        client.close()


@pytest.fixture
def env(sync_env: SyncEnv, clock: FrozenClock) -> SyncEnv:
    on_the_servers_clock(sync_env, clock)
    return sync_env


def test_enrolment_gives_a_token_good_for_ninety_days(env: SyncEnv, clock: FrozenClock) -> None:
    hub = logged_in(env, "nina")
    assert hub.sync.login.token_expires_at == (clock() + timedelta(days=90)).isoformat()


def test_an_expired_token_is_refused_in_one_line_and_the_outbox_stays(
    env: SyncEnv, clock: FrozenClock
) -> None:
    hub = logged_in(env, "nina")
    hub.sync.login = replace(hub.sync.login, token_expires_at=None)  # an old login: it cannot swap
    refer(hub, 1)
    refer(hub, 2)
    clock.advance(days=90)
    with pytest.raises(SyncRefused) as refused:
        hub.sync.sync_now(wait=True)
    message = str(refused.value)
    assert refused.value.reason == "expired"
    assert "\n" not in message
    assert "expired" in message and "2 changes not yet sent stay on this machine" in message
    assert hub.sync.sync_status().pending == 2


def test_a_revoked_device_is_told_so_and_keeps_its_changes(env: SyncEnv) -> None:
    hub = logged_in(env, "nina")
    refer(hub, 1)
    admin.revoke_device(env.engine, hub.sync.login.device_id)
    with pytest.raises(SyncRefused, match=r"revoked.*1 changes not yet sent stay") as refused:
        hub.sync.sync_now(wait=True)
    assert refused.value.reason == "revoked"
    assert hub.sync.sync_status().pending == 1


def test_the_token_is_swapped_before_it_expires_and_the_old_one_stops_working(
    env: SyncEnv, clock: FrozenClock
) -> None:
    hub = logged_in(env, "nina")
    old = hub.sync.login.token
    clock.advance(days=59)  # 31 days left: not yet
    hub.sync.sync_now(wait=True)
    assert hub.sync.login.token == old
    clock.advance(days=2)  # 29 days left: swapped at this sync
    refer(hub, 1)
    report = hub.sync.sync_now(wait=True)
    assert report.outcomes == {"applied": 1}
    assert hub.sync.login.token != old and hub.sync.login.pending_token is None
    assert hub.sync.login.token_expires_at == (clock() + timedelta(days=90)).isoformat()
    assert works_with(hub.sync.login.token, env) and not works_with(old, env)
    clock.advance(days=60)  # past the first token's expiry: still syncing
    refer(hub, 2)
    assert hub.sync.sync_now(wait=True).outcomes == {"applied": 1}


class LoseTheSwapsAnswer(httpx.BaseTransport):
    """The server swaps the token, and the answer never arrives (once)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path == "/v1/devices/rotate" and not self.lost:
            self.lost += 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_a_lost_answer_to_the_swap_loses_nothing(env: SyncEnv, clock: FrozenClock) -> None:
    env.user("nina")
    assert env.switch is not None
    lossy = LoseTheSwapsAnswer(env.switch)
    hub = env.replica("nina", "nina", transport=lossy)
    with env.engine.connect() as connection:
        expires = connection.execute(select(device_table.c.token_expires_at)).scalar_one()
    hub.sync.login = replace(hub.sync.login, token_expires_at=expires.isoformat())
    old = hub.sync.login.token
    refer(hub, 1)
    clock.advance(days=80)
    report = hub.sync.sync_now(wait=True)
    assert lossy.lost == 1
    assert report.outcomes == {"applied": 1}
    assert hub.sync.login.token != old and hub.sync.login.pending_token is None
    assert works_with(hub.sync.login.token, env) and not works_with(old, env)


def test_devices_lists_last_seen_expiry_and_revoked(env: SyncEnv, clock: FrozenClock) -> None:
    kept = logged_in(env, "nina")
    gone = logged_in(env, "cole")
    refer(kept, 1)
    kept.sync.sync_now(wait=True)
    admin.revoke_device(env.engine, gone.sync.login.device_id)
    listed = {row["id"]: row for row in admin.list_devices(env.engine)}
    assert listed[kept.sync.login.device_id]["token_expires_at"] == clock() + timedelta(days=90)
    assert listed[kept.sync.login.device_id]["last_seen_at"] is not None
    assert listed[gone.sync.login.device_id]["revoked_at"] is not None


def test_last_seen_is_every_authenticated_request_not_only_a_push(
    env: SyncEnv, clock: FrozenClock
) -> None:
    """A device that only pulls (a night laptop with nothing to send) is seen at each pull: an
    hour of pulls after its last push reads "last seen" an hour later, not at the push."""
    hub = logged_in(env, "nina")
    refer(hub, 1)
    hub.sync.sync_now(wait=True)
    device = hub.sync.login.device_id

    def last_seen() -> object:
        return {row["id"]: row for row in admin.list_devices(env.engine)}[device]["last_seen_at"]

    pushed_at = last_seen()
    assert pushed_at == clock()
    for _ in range(12):  # every 5 minutes for an hour, nothing to push
        clock.advance(minutes=5)
        assert hub.sync.sync_now(wait=True).pushed == 0
    assert last_seen() == clock()
    clock.advance(seconds=5)  # within the write interval: no write for every request
    hub.sync.sync_now(wait=True)
    assert last_seen() == clock() - timedelta(seconds=5)
