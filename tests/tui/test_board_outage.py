"""The database goes away under a running board: a banner, the last board kept, edits refused
with a message and nothing lost, and the board live again when the database is back.

The outage is real: PostgreSQL stops accepting connections to the test database and drops the
board's open ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import Static

from d2a_tui.domain.flow import load_flow
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from tests.conftest import FrozenClock, _empty_postgres, refer_someone
from tests.tui.conftest import board_of, make_app, shown_ids, wait_for
from tests.tui.outage import PostgresOutage


@pytest.fixture
def outage_hub(postgres_url: str) -> Iterator[tuple[Hub, PostgresOutage]]:
    _empty_postgres(postgres_url)
    outage = PostgresOutage(postgres_url)
    hub = Hub(
        JourneyStore(make_engine(postgres_url), load_flow()), Actor("alice", "a"), FrozenClock()
    )
    try:
        yield hub, outage
    finally:
        outage.end()
        hub.close()


def banner(app: object) -> Static:
    return board_of(app).query_one("#banner", Static)  # type: ignore[arg-type]


async def test_database_lost_keeps_the_board_refuses_edits_and_recovers(
    outage_hub: tuple[Hub, PostgresOutage],
) -> None:
    hub, outage = outage_hub
    journeys = [refer_someone(hub, serial) for serial in (1, 2)]
    app = make_app(hub, poll=0.1)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        assert sorted(shown_ids(app, "referred")) == sorted(journeys)
        assert not banner(app).display

        outage.start()
        assert await wait_for(pilot, lambda: bool(banner(app).display), seconds=6)
        assert "Database unavailable" in str(banner(app).render())
        assert sorted(shown_ids(app, "referred")) == sorted(journeys)  # the last board stays

        await pilot.press("shift+right")  # try to move the selected card to Triage
        await pilot.pause()
        assert sorted(shown_ids(app, "referred")) == sorted(journeys)
        assert any(
            "unavailable" in n.message.lower() or "database" in n.message.lower()
            for n in app._notifications
        ), "the refused edit must say why"

        outage.end()
        assert await wait_for(pilot, lambda: not banner(app).display, seconds=8)
        # Nothing half-done: the refused move left no trace, and the board is live again.
        assert all(hub.journey(j).card.column == "referred" for j in journeys)
        await pilot.press("shift+right")
        assert await wait_for(pilot, lambda: len(shown_ids(app, "triage")) == 1)
        moved = shown_ids(app, "triage")[0]
        assert hub.journey(moved).card.column == "triage"
