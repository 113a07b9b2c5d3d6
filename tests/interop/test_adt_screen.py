"""The board's `x` screen: the ADT exceptions queue, worked through with keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from d2a_tui.domain.flow import load_flow
from d2a_tui.hub import Hub
from d2a_tui.interop.adt import AdtFeed
from d2a_tui.interop.queue import exception_rows
from d2a_tui.screens.adt_exceptions import AdtExceptionsScreen
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from tests.conftest import FrozenClock, refer_someone
from tests.interop.hl7_samples import adt
from tests.tui.conftest import make_app

SIZE = (120, 30)


@pytest.fixture
def hub(sqlite_url: str, clock: FrozenClock) -> Iterator[Hub]:
    hub = Hub(JourneyStore(make_engine(sqlite_url), load_flow()), Actor("alice", "d"), clock)
    yield hub
    hub.close()


async def test_x_lists_the_queue_f_refers_an_admission_and_r_resolves_with_a_note(
    hub: Hub,
) -> None:
    feed = AdtFeed(hub.store, hub.calendar, "adt", hub.clock)
    feed.process(adt("A01", "9434765919", name="EXAMPLE^EDNA", ward="WARD7", bed="B3"))
    refer_someone(hub, 2, nhs_number="9434765870", date_of_birth="1941-05-06")
    feed.process(adt("A08", "9434765870", name="BUILDER^BOB", dob="19400102"))  # held: DOB differs
    app = make_app(hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AdtExceptionsScreen)
        assert "2 waiting" in str(screen.query_one("#adt-title").render())
        await pilot.press("f")  # the first entry: Edna's admission
        await pilot.pause()
        [edna] = [card for card in hub.board() if card.nhs_number == "9434765919"]
        assert (edna.ward, edna.bed, edna.admitted_on.isoformat()) == ("WARD7", "B3", "2026-11-23")
        await pilot.press("r", *"called ward", "enter")  # now the first: the held update
        await pilot.pause()
        assert exception_rows(hub.store.engine) == []
        [held] = [r for r in exception_rows(hub.store.engine, include_resolved=True)
                  if r["kind"] == "mismatch"]  # fmt: skip
        assert (held["resolution"], held["resolved_by"]) == ("called ward", "alice")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, AdtExceptionsScreen)
