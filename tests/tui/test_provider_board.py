"""A provider user's `d2a board`: the provider board, with only its own services' offers and
capacity; keys accept (start date), decline (reason picker), ask and update vacancies, each
checked on screen and in the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from textual.widgets import DataTable

from d2a_tui.domain.flow import load_flow
from d2a_tui.hub import Hub
from d2a_tui.screens.board import BoardScreen
from d2a_tui.screens.provider_board import ProviderBoardScreen
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from tests.conftest import FrozenClock
from tests.offers.conftest import on_p1
from tests.tui.conftest import make_app, settle
from tests.tui.test_offer_picker import with_vacancies

SIZE = (120, 30)


@pytest.fixture
def nora(sqlite_url: str, sqlite_hub: Hub, clock: FrozenClock) -> Iterator[Hub]:
    """Northcare's provider user on the hub's database; the hub has offered three people:
    two to Northcare's Reablement North, one to Southcare's Home Care South."""
    with_vacancies(sqlite_hub)
    offered = [on_p1(sqlite_hub, serial) for serial in (1, 2, 3)]
    sqlite_hub.offers.make(offered[0], "reablement-north")
    clock.advance(minutes=30)
    sqlite_hub.offers.make(offered[1], "reablement-north")
    sqlite_hub.offers.make(offered[2], "home-care-south")
    clock.advance(hours=2)
    hub = Hub(JourneyStore(make_engine(sqlite_url), load_flow()), Actor("nora", "device-n"), clock)
    yield hub
    hub.close()


def rows(app: object, table_id: str) -> list[list[str]]:
    table = app.screen.query_one(table_id, DataTable)  # type: ignore[attr-defined]
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_a_provider_sees_its_own_offers_and_capacity_and_answers_them(
    nora: Hub, sqlite_hub: Hub
) -> None:
    app = make_app(nora)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ProviderBoardScreen)
        offers = rows(app, "#provider-offers")
        # Northcare's two, oldest first; Southcare's offer is not here.
        assert [(r[1], r[3], r[4]) for r in offers] == [
            ("Test Person 1", "Reablement North", "waiting 2h 30m"),
            ("Test Person 2", "Reablement North", "waiting 2h 00m"),
        ]
        capacity = sorted(r[0] for r in rows(app, "#provider-capacity"))
        assert capacity == ["Meadowbank", "Reablement North"]  # not Southcare's service

        await pilot.press("a", *"25/11/2026", "enter")
        await settle(pilot)
        answered = {v.offer.service_id + v.card.name: v.offer for v in sqlite_hub.offers.list()}
        first = answered["reablement-northTest Person 1"]
        assert (first.status, first.start, first.answered_by) == (
            "accepted",
            date(2026, 11, 25),
            "nora",
        )
        # The waiting one comes first now; decline it with a reason from the picker.
        assert rows(app, "#provider-offers")[0][1] == "Test Person 2"
        await pilot.press("d", *"capacity", "enter")
        await settle(pilot)
        second = next(v.offer for v in sqlite_hub.offers.list() if v.card.name == "Test Person 2")
        assert (second.status, second.reason) == ("declined", "no_capacity")
        assert [r[4] for r in rows(app, "#provider-offers")] == ["starting soon"]

        await pilot.press("v", *"north", "enter", "7", "enter")
        await settle(pilot)
        status = next(s for s in nora.capacity.statuses() if s.service.id == "reablement-north")
        assert status.latest is not None and status.latest.vacant == 7
        assert status.latest.reported_by == "nora"


async def test_a_provider_asks_the_hub_and_a_hub_user_gets_the_usual_board(
    nora: Hub, sqlite_hub: Hub
) -> None:
    app = make_app(nora)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n", *"Is there a key safe?", "enter")
        await settle(pilot)
        first = next(v.offer for v in sqlite_hub.offers.list() if v.card.name == "Test Person 1")
        assert [q.text for q in first.questions] == ["Is there a key safe?"]
        assert "1 asked" in rows(app, "#provider-offers")[0][4]
    hub_app = make_app(sqlite_hub)
    async with hub_app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(hub_app.screen, BoardScreen)
