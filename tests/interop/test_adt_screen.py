"""The board's `x` screen: the ADT exceptions queue, worked through with keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import Static

from d2a_tui.app import D2AApp
from d2a_tui.domain.flow import load_flow
from d2a_tui.interop.adt import AdtFeed
from d2a_tui.interop.queue import exception_rows
from d2a_tui.screens.adt_exceptions import AdtExceptionsScreen
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from tests.conftest import FrozenClock, refer_someone
from tests.interop.hl7_samples import adt
from tests.tui.conftest import board_of, column_text, make_app, wait_for

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
        title = str(screen.query_one("#adt-title").render())
        assert "1 waiting · 1 admission(s) not referred" in title
        await pilot.press("down", "f")  # below the held update: Edna's admission
        await pilot.pause()
        [edna] = [card for card in hub.board() if card.nhs_number == "9434765919"]
        assert (edna.ward, edna.bed, edna.admitted_on.isoformat()) == ("WARD7", "B3", "2026-11-23")
        await pilot.press("up", "r", *"called ward", "enter")  # the held update
        await pilot.pause()
        assert exception_rows(hub.store.engine) == []
        [held] = [r for r in exception_rows(hub.store.engine, include_resolved=True)
                  if r["kind"] == "mismatch"]  # fmt: skip
        assert (held["resolution"], held["resolved_by"]) == ("called ward", "alice")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, AdtExceptionsScreen)


async def test_a_hospital_discharge_from_the_feed_flags_the_card_on_the_live_board(
    hub: Hub, clock: FrozenClock
) -> None:
    """The feed informs, the hub decides: the card stays where it is, flagged, and the item
    waits on the `x` screen until someone moves or closes the journey."""
    edna = refer_someone(hub, 1, nhs_number="9434765919", date_of_birth="1938-03-04")
    refer_someone(hub, 2, nhs_number="9434765870", date_of_birth="1941-05-06")
    feed = AdtFeed(hub.store, hub.calendar, "adt", hub.clock)
    app = make_app(hub, poll=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "⇥ left" not in column_text(app, "referred")
        # 08:00 local; the clock says 09:30 (November: London is on UTC).
        feed.process(adt("A03", "9434765919", when="20261123080000", discharged="20261123080000"))
        assert await wait_for(pilot, lambda: "⇥ left" in column_text(app, "referred"), 3.0)
        text = column_text(app, "referred")
        assert "⇥ left 1h 30m" in text
        # Only Edna's card: the other person's card still shows their ward.
        assert text.count("⇥ left") == 1 and text.count("Ward 7") == 1
        [held] = exception_rows(hub.store.engine)
        assert (held["kind"], held["journey_id"]) == ("discharged", edna)
        # The hospital takes its discharge back (A13): the flag goes.
        feed.process(adt("A13", "9434765919", msg_id="CANCEL01"))
        assert await wait_for(pilot, lambda: "⇥ left" not in column_text(app, "referred"), 3.0)
        # Discharged again and the hub acts: out of the hospital's columns, no flag is needed.
        feed.process(adt("A03", "9434765919", msg_id="AGAIN01", discharged="20261123090000"))
        assert await wait_for(pilot, lambda: "⇥ left 30m" in column_text(app, "referred"), 3.0)
        for column in ("triage", "await_p1", "on_p1"):
            hub.move(edna, column)
        # Edna (Test Person 1) is there by name: in a narrow column the name has the width.
        assert await wait_for(pilot, lambda: "Test Person 1" in column_text(app, "on_p1"), 3.0)
        assert "⇥ left" not in column_text(app, "on_p1")


async def test_the_status_line_counts_what_waits_for_a_person_until_it_is_resolved(
    hub: Hub,
) -> None:
    feed = AdtFeed(hub.store, hub.calendar, "adt", hub.clock)
    app = make_app(hub, poll=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "ADT" not in status_text(app)
        # An admission of someone not referred is on the admissions list, not work waiting.
        feed.process(adt("A01", "9434765919", name="EXAMPLE^EDNA", ward="WARD7", bed="B3"))
        # A date of birth that differs from the hub's record waits for a person.
        refer_someone(hub, 2, nhs_number="9434765870", date_of_birth="1941-05-06")
        feed.process(adt("A08", "9434765870", name="BUILDER^BOB", dob="19400102"))
        assert await wait_for(pilot, lambda: "ADT: 1 waiting (x)" in status_text(app), 10.0)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("r", *"not ours", "enter", "escape")
        assert await wait_for(pilot, lambda: "ADT" not in status_text(app), 3.0)


def status_text(app: D2AApp) -> str:
    return str(board_of(app).query_one("#status", Static).render())
