"""One locality's board in a database several localities share: the filter is the patient's
locality, applied in the query (indexed by migration 0014), so no other locality's card is read."""

from __future__ import annotations

from d2a_tui.hub import Hub
from tests.conftest import refer_someone


def test_a_locality_board_holds_that_localitys_open_journeys_only(hub: Hub) -> None:
    oldham = {refer_someone(hub, 1, locality="Oldham"), refer_someone(hub, 2, locality="Oldham")}
    stockport = refer_someone(hub, 3, locality="Stockport")
    refer_someone(hub, 4)  # no locality recorded: on no locality's board

    assert {card.journey_id for card in hub.store.open_cards(locality="Oldham")} == oldham
    assert [card.journey_id for card in hub.store.open_cards(locality="Stockport")] == [stockport]
    assert hub.store.open_cards(locality="Bury") == []
    assert len(hub.store.open_cards()) == 4
