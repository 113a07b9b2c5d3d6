"""`o` on the board: the services of the card's pathway with their vacancies; choosing one makes
the offer, which the card then shows with its clock."""

from __future__ import annotations

from d2a_tui.screens.pickers import ChoiceScreen
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock
from tests.offers.conftest import on_p1, two_providers
from tests.tui.conftest import column_text, make_app

SIZE = (200, 30)


def with_vacancies(hub: Hub) -> None:
    two_providers(hub)
    hub.capacity.report("reablement-north", total=40, occupied=30)  # 10 hours free
    hub.capacity.report("home-care-south", total=10, occupied=8)  # 2 packages free
    hub.capacity.report("meadowbank", total=20, occupied=5)  # P2: not for a P1 person


async def test_o_lists_the_pathways_services_with_vacancies_and_makes_the_offer(
    sqlite_hub: Hub, clock: FrozenClock
) -> None:
    with_vacancies(sqlite_hub)
    journey_id = on_p1(sqlite_hub)
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, ChoiceScreen)
        labels = [c.label for c in picker.choices]
        assert labels == [
            "Reablement North · 10 hours free",  # most room first
            "Home Care South · 2 packages free",
        ]
        await pilot.press(*"south", "enter")
        await pilot.pause()
        (view,) = sqlite_hub.offers.list()
        assert (view.offer.journey_id, view.offer.service_id) == (journey_id, "home-care-south")
        # A 22-cell column: the service's name gives way, the offer's clock stays.
        shown = column_text(app, "await_p1")
        assert "→ Ho" in shown and "… ?0m" in shown  # the service, cut to fit, and its clock
        # Offered again: the picker says it is waiting, and a second offer is refused.
        clock.advance(minutes=150)
        await pilot.press("o")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, ChoiceScreen)
        assert "Home Care South · 2 packages free · offered, waiting" in [
            c.label for c in picker.choices
        ]
        await pilot.press("escape")
        await pilot.pause()
        assert len(sqlite_hub.offers.list()) == 1


async def test_o_on_a_person_with_no_pathway_says_why_and_offers_nothing(
    sqlite_hub: Hub,
) -> None:
    from tests.conftest import refer_someone

    two_providers(sqlite_hub)
    refer_someone(sqlite_hub, 1)
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceScreen)
        assert sqlite_hub.offers.list() == []
