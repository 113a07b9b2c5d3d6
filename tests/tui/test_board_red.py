"""A journey turning red as the clock moves on is announced (and rings the bell if enabled);
one acknowledged from the alerts screen is not."""

from __future__ import annotations

import pytest

from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.tui.conftest import make_app, wait_for


@pytest.fixture
def bells(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    rung: list[int] = []
    from d2a_tui.app import D2AApp

    monkeypatch.setattr(D2AApp, "bell", lambda self: rung.append(1))
    return rung


async def test_turning_red_is_announced_unless_acknowledged(
    sqlite_hub: Hub, clock: FrozenClock, bells: list[int]
) -> None:
    quiet = refer_someone(sqlite_hub, 1, name="Quiet Person")
    loud = refer_someone(sqlite_hub, 2, name="Loud Person")
    sqlite_hub.alerts.acknowledge(quiet, reason="bed found for tomorrow", snooze="1d")
    app = make_app(sqlite_hub, tick=0.05, bell=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        assert not [n for n in app._notifications if n.title == "Stuck"]

        clock.advance(hours=13)  # Referred turns red after 12 hours
        assert await wait_for(pilot, lambda: any(n.title == "Stuck" for n in app._notifications))
        await pilot.pause(0.2)  # more ticks: each journey is announced once
        stuck = [n.message for n in app._notifications if n.title == "Stuck"]
        assert stuck == [
            f"Loud Person turned red: {sqlite_hub.stuck(sqlite_hub.journey(loud).card).reasons[0]}"
        ]
        assert "Referred" in stuck[0]
        assert bells == [1]


async def test_no_bell_unless_enabled(
    sqlite_hub: Hub, clock: FrozenClock, bells: list[int]
) -> None:
    refer_someone(sqlite_hub, 1)
    app = make_app(sqlite_hub, tick=0.05)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        clock.advance(hours=13)
        assert await wait_for(pilot, lambda: any(n.title == "Stuck" for n in app._notifications))
        assert bells == []
