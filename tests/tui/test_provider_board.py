"""A provider user's `d2a board`: the provider board, with only its own services' offers and
capacity; keys accept (start date), decline (reason picker), ask and update vacancies, each
checked on screen and in the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from textual.widgets import DataTable

from d2a_tui.domain.flow import load_flow
from d2a_tui.screens.board import BoardScreen
from d2a_tui.screens.provider_board import ProviderBoardScreen
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from tests.conftest import FrozenClock
from tests.offers.conftest import on_p1
from tests.sync.conftest import SyncEnv
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


async def test_the_provider_board_is_live_a_new_offer_appears_and_the_clocks_move(
    nora: Hub, sqlite_hub: Hub, clock: FrozenClock
) -> None:
    """A provider works all day on this screen: an offer the hub makes appears within the
    board's live interval, with no key pressed, and the waiting clocks move on."""
    app = make_app(nora, poll=0.2, tick=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert [r[4] for r in rows(app, "#provider-offers")] == ["waiting 2h 30m", "waiting 2h 00m"]
        sqlite_hub.offers.make(on_p1(sqlite_hub, 4), "reablement-north")  # another terminal
        for _ in range(50):  # up to 5 s on a loaded machine; the interval is 0.2 s
            await pilot.pause(0.1)
            if len(rows(app, "#provider-offers")) == 3:
                break
        offers = rows(app, "#provider-offers")
        assert [(r[1], r[3], r[4]) for r in offers][-1] == (
            "Test Person 4", "Reablement North", "waiting 0m"
        )  # fmt: skip
        clock.advance(minutes=45)
        for _ in range(50):
            await pilot.pause(0.1)
            if rows(app, "#provider-offers")[-1][4] == "waiting 45m":
                break
        assert [r[4] for r in rows(app, "#provider-offers")] == [
            "waiting 3h 15m", "waiting 2h 45m", "waiting 45m"
        ]  # fmt: skip


async def test_a_provider_typed_as_its_service_was_sees_its_services_and_reports_vacancies(
    sqlite_url: str, sqlite_hub: Hub, clock: FrozenClock
) -> None:
    """`service add --org RN --org-name …` and `server add-user --org RN`: one organisation,
    so the provider's board lists the service by name and `v` reports its vacancies."""
    from d2a_tui.sync.admin import add_user

    sqlite_hub.capacity.add_service(
        "Royal North Reablement", kind="reablement", pathway="P1", unit="hours",
        service_id="rn-reablement", organisation_id="RN", organisation_name="Royal North",
    )  # fmt: skip
    add_user(sqlite_hub.store.engine, "Rae", "provider", "RN", user_id="rae")
    sqlite_hub.offers.make(on_p1(sqlite_hub, 1), "rn-reablement")
    rae = Hub(JourneyStore(make_engine(sqlite_url), load_flow()), Actor("rae", "device-r"), clock)
    app = make_app(rae)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, ProviderBoardScreen)
            assert [r[3] for r in rows(app, "#provider-offers")] == ["Royal North Reablement"]
            assert [r[0] for r in rows(app, "#provider-capacity")] == ["Royal North Reablement"]
            # Its one service (no picker) has never reported: the total first, then vacancies.
            await pilot.press("v", *"40", "enter", *"12", "enter")
            await settle(pilot)
            status = rae.capacity.statuses()[0]
            assert status.latest is not None
            assert (status.latest.total, status.latest.vacant) == (40, 12)
            assert rows(app, "#provider-capacity")[0][3] == "12"
            await pilot.press("v", *"9", "enter")  # then the quick update, the total standing
            await settle(pilot)
            status = rae.capacity.statuses()[0]
            assert status.latest is not None
            assert (status.latest.total, status.latest.vacant) == (40, 9)
    finally:
        rae.close()


async def test_a_providers_replica_shows_its_services_by_name_and_reports_vacancies(
    sync_env_factory: Callable[[str], SyncEnv], tmp_path: Path
) -> None:
    """A provider working on its laptop's replica: after a sync the board lists its own
    organisation's services by name (not Southcare's), its offers name the service, and `v`
    finds a service to report for. The replica holds no user rows: the services come from the
    server's list of the provider's scope."""
    from tests.offers.conftest import two_providers

    env = sync_env_factory(f"sqlite:///{tmp_path / 'server.db'}")
    console = env.direct()
    two_providers(console)
    offered = on_p1(console, 1)
    console.offers.make(offered, "reablement-north")
    nora = env.replica("nora", role="provider")
    nora.sync.sync_now(wait=True)
    app = make_app(nora, background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ProviderBoardScreen)
        assert [r[3] for r in rows(app, "#provider-offers")] == ["Reablement North"]
        capacity = sorted(r[0] for r in rows(app, "#provider-capacity"))
        assert capacity == ["Meadowbank", "Reablement North"]
        # `v`: a picker of its two services, then the total and the vacancies.
        await pilot.press("v", *"meadow", "enter", *"20", "enter", *"5", "enter")
        await settle(pilot)
        [status] = [s for s in nora.capacity.statuses() if s.service.id == "meadowbank"]
        assert status.latest is not None
        assert (status.latest.total, status.latest.vacant) == (20, 5)
    nora.sync.sync_now(wait=True)  # and the report reaches the server
    [status] = [s for s in console.capacity.statuses() if s.service.id == "meadowbank"]
    assert status.latest is not None and status.latest.vacant == 5
