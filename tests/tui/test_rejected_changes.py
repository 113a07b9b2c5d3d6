"""A change the server rejected outright is listed on the conflicts screen as rejected, with what
it was and why, and dismissing it leaves the rest of the outbox synced."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Static

from d2a_tui.services.hub import Hub
from tests.sync.conftest import SyncEnv, refer
from tests.sync.test_poison import queue_raw
from tests.tui.conftest import make_app, wait_for
from tests.tui.test_sync_screens import drawn, listed, sync_text, toasts


@pytest.fixture
def env(sync_env_factory: Callable[[str], SyncEnv], tmp_path: Path) -> SyncEnv:
    return sync_env_factory(f"sqlite:///{tmp_path / 'server.db'}")


def night_with_a_poisoned_ward(env: SyncEnv) -> tuple[Hub, str]:
    env.user("nina")
    nina = env.replica("nina", "nina")
    nina.sync.synchroniser.clock = env.clock
    journey_id = refer(nina, 1)
    queue_raw(
        nina, "set_ward", journey_id, {"ward": "\x1b[2J" + "W" * 300}, nina.clock().isoformat()
    )
    refer(nina, 2)  # after the poison: must arrive anyway
    nina.sync.sync_now(wait=True)
    return nina, journey_id


async def test_a_rejected_change_shows_what_it_was_and_why_and_t_dismisses_it(
    env: SyncEnv,
) -> None:
    nina, _ = night_with_a_poisoned_ward(env)
    assert nina.sync.sync_status().pending == 0  # the referral after the poison went through
    app = make_app(nina, background_sync=False)
    async with app.run_test(size=(140, 30)) as pilot:
        assert await wait_for(pilot, lambda: "1 conflict" in sync_text(app)), sync_text(app)
        await pilot.press("C")
        await pilot.pause()
        [line] = listed(app)
        assert line.startswith("✗ rejected your set ward of Test Person 1 at 09:30 (offline)")
        assert "was refused: ward is at most 64 characters" in line
        detail = drawn(app.screen.query_one("#conflict-detail", Static))
        assert "Rejected by the server (too_long)" in detail
        assert "The change was: set ward, ward �[2JWWW" in detail and "(304 characters)" in detail
        assert "\x1b" not in detail
        await pilot.press("t")
        await pilot.pause()
        assert listed(app) == []
    nina.sync.sync_now(wait=True)
    assert nina.sync.sync_status().conflicts == 0


async def test_a_viewer_moving_a_card_is_refused_at_the_keyboard(env: SyncEnv) -> None:
    env.user("nina")
    env.user("vic", "viewer")
    nina = env.replica("nina", "nina")
    journey_id = refer(nina, 1)
    nina.sync.sync_now(wait=True)
    viewer = env.replica("vic", "vic", role="viewer")
    viewer.sync.synchroniser.clock = env.clock
    viewer.sync.sync_now(wait=True)
    app = make_app(viewer, background_sync=False)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        await pilot.press("shift+right")
        await pilot.pause()
        assert await wait_for(pilot, lambda: "a viewer cannot change journeys" in toasts(app))
    assert viewer.store.card(journey_id).column == "referred"
    assert viewer.sync.sync_status().pending == 0  # nothing queued to come back as a conflict
