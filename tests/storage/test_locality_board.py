"""One locality's board in a database several localities share: the filter is the patient's
locality, applied in the query (indexed by migration 0014), so no other locality's card is read."""

from __future__ import annotations

from d2a_tui.services.hub import Hub
from tests.conftest import refer_someone


def test_a_locality_board_holds_that_localitys_open_journeys_only(hub: Hub) -> None:
    oldham = {refer_someone(hub, 1, locality="Oldham"), refer_someone(hub, 2, locality="Oldham")}
    stockport = refer_someone(hub, 3, locality="Stockport")
    refer_someone(hub, 4)  # no locality recorded: on no locality's board

    assert {card.journey_id for card in hub.store.open_cards(locality="Oldham")} == oldham
    assert [card.journey_id for card in hub.store.open_cards(locality="Stockport")] == [stockport]
    assert hub.store.open_cards(locality="Bury") == []
    assert len(hub.store.open_cards()) == 4


def test_a_locality_boards_offers_are_read_for_that_localitys_journeys_only(hub: Hub) -> None:
    """The offers beside the cards are read with the cards' own filter. Before the patient was
    joined, the locality filter made a cross product: every offer event in the database once for
    each patient of the locality (thousands of rows per event on a national database)."""
    from d2a_tui.storage.journeys import journey_table, patient_table
    from d2a_tui.storage.offers import shown_offers
    from tests.offers.conftest import on_p1, two_providers

    two_providers(hub)
    hub.capacity.report("reablement-north", total=40, occupied=30)
    oldham = [on_p1(hub, serial, locality="Oldham") for serial in (1, 2)]
    stockport = on_p1(hub, 3, locality="Stockport")
    for journey_id in (*oldham, stockport):
        hub.offers.make(journey_id, "reablement-north")

    where = [journey_table.c.closed_at.is_(None), patient_table.c.locality == "Oldham"]
    with hub.store.engine.connect() as connection:
        assert set(shown_offers(connection, where)) == set(oldham)
    assert {
        card.journey_id for card in hub.store.open_cards(locality="Oldham") if card.offer
    } == set(oldham)


def test_journeys_from_before_migration_0016_take_their_patients_locality(hub: Hub) -> None:
    from alembic import command

    from d2a_tui.storage.migrations import alembic_config

    oldham = refer_someone(hub, 1, locality="Oldham")
    refer_someone(hub, 2, locality="Stockport")
    engine = hub.store.engine
    command.downgrade(alembic_config(engine), "0015")  # the column and its index go
    engine.dispose()
    command.upgrade(alembic_config(engine), "head")
    engine.dispose()
    assert [card.journey_id for card in hub.store.open_cards(locality="Oldham")] == [oldham]
    assert hub.store.state(oldham).locality == "Oldham"
