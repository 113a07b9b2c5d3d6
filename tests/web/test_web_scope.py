"""The board `d2a web` starts for a signed-in person (`d2a board --user U` on the database)
shows only the journeys of U's localities, as the server would send U's device (issue 22: a
Stockport coordinator saw Tameside's patients in the browser). On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from d2a_tui.domain.errors import NotFound
from d2a_tui.domain.flow import load_flow
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from d2a_tui.sync import admin
from d2a_tui.web.server import BoardServer, WebOptions, _acting_user
from tests.conftest import FrozenClock
from tests.sync.conftest import refer
from tests.tui.conftest import board_of, make_app


def test_the_browser_starts_each_board_as_the_person_signed_in() -> None:
    server = BoardServer(
        WebOptions("sqlite:///x.db", "desk.user", "127.0.0.1", 0, "http://127.0.0.1", None, True)
    )
    _acting_user.set("cora")
    assert "--user cora" in server.command


async def test_a_coordinators_board_holds_only_their_localities(database_url: str) -> None:
    engine = make_engine(database_url)
    ensure_schema(engine)
    clock = FrozenClock()
    desk = Hub(JourneyStore(engine, load_flow()), Actor("hub.desk", "desk"), clock)
    north = refer(desk, 1, locality="Stockport", name="Alice Ames")
    south = refer(desk, 2, locality="Tameside", name="Cara Cole")
    desk.close()
    for name in ("Stockport", "Tameside"):
        admin.add_locality(engine, name)
    admin.add_user(engine, "Cora", "coordinator", None, "cora", localities=["Stockport"])
    admin.add_user(engine, "Hub Lead", "coordinator", None, "lead")  # no locality: every one
    engine.dispose()

    hub = Hub.open(database_url, user="cora", clock=clock)
    try:
        app = make_app(hub)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause()
            board = board_of(app)
            assert board.model is not None
            shown = {j for ids in board.model.order.values() for j in ids}
            assert shown == {north}
        assert [card.journey_id for card in hub.find("Cara")] == []
        assert [card.journey_id for card in hub.find("Alice")] == [north]
        with pytest.raises(NotFound):
            hub.resolve(south[:8])
        with pytest.raises(NotFound):
            hub.journey(south)
        assert south not in {card.journey_id for card in hub.changes_since(0)}
    finally:
        hub.close()
    lead = Hub.open(database_url, user="lead", clock=clock)
    try:
        assert {card.journey_id for card in lead.board()} == {north, south}
    finally:
        lead.close()
