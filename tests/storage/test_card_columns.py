"""A card is built from its row by position (storage/journeys.py, for the board's first read):
the query's columns must be Card's fields in Card's order, or a name would land in a ward."""

from __future__ import annotations

from dataclasses import fields

from d2a_tui.domain.views import Card
from d2a_tui.storage.journeys import _CARD_COLUMNS, _CARD_POSITIONAL


def test_the_card_query_names_cards_fields_in_their_order() -> None:
    names = [column.name for column in _CARD_COLUMNS]
    card_fields = [field.name for field in fields(Card)]
    assert names[:_CARD_POSITIONAL] == card_fields[:_CARD_POSITIONAL]
    assert names[_CARD_POSITIONAL:] == ["left_hospital_at"]
    # Every other field of Card has a default: the offer, filled in from the offers' query.
    rest = [f for f in fields(Card)[_CARD_POSITIONAL:] if f.name != "left_hospital_at"]
    assert [f.name for f in rest] == ["offer", "offer_service"]
