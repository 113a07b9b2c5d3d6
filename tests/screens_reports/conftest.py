"""A tiny app that shows one of the capacity/dashboard/alerts screens over a Hub on fixed data:
the hand-built scenario of tests/reports, two services with reports, a frozen clock, UTC."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from textual.app import App
from textual.screen import Screen

from d2a_tui.domain.flow import load_flow
from d2a_tui.hub import Hub
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from tests.conftest import FrozenClock
from tests.reports.conftest import build


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class ScreenApp(App[None]):
    """Pushes one screen made from the Hub, as the board does with `c`, `D` and `!`."""

    def __init__(self, hub: Hub, make: Callable[[Hub], Screen[Any]]) -> None:
        super().__init__()
        self.hub = hub
        self.make = make

    def on_mount(self) -> None:
        self.push_screen(self.make(self.hub))


@pytest.fixture
def screen_hub(sqlite_url: str, clock: FrozenClock) -> Iterator[Hub]:
    hub = Hub(JourneyStore(make_engine(sqlite_url), load_flow()), Actor("alice", "dev-a"), clock)
    build(hub, clock)
    now = clock.now
    hub.capacity.add_service(
        "Meadowbank Intermediate Care Unit", kind="intermediate_care", pathway="P2",
        unit="beds", service_id="meadowbank",
    )  # fmt: skip
    hub.capacity.add_service(
        "Reablement Service", kind="reablement", pathway="P1", unit="hours",
        service_id="reablement",
    )  # fmt: skip
    clock.now = now - timedelta(days=2)  # a stale report: two days old
    hub.capacity.report("reablement", total=400, occupied=370)
    clock.now = now - timedelta(hours=2)
    hub.capacity.report("meadowbank", total=40, occupied=38, closed=1)
    clock.now = now
    yield hub
    hub.close()
