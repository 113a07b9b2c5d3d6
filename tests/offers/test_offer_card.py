"""The card's third line carries the hand-off: `→ Reablement North ?2h`; in a narrow column the
service's name gives way and the clock stays."""

from __future__ import annotations

from datetime import date

from rich.style import Style

from d2a_tui.domain.stuck import Level
from d2a_tui.services.hub import Hub
from d2a_tui.widgets.card import CardStyles, card_line, describe
from tests.conftest import FrozenClock
from tests.offers.conftest import on_p1, two_providers

PLAIN = CardStyles(Style(), Style(), Style(), Style(), Style())


def third_line(hub: Hub, journey_id: str, width: int) -> str:
    card = hub.store.card(journey_id)
    segments = card_line(card, 2, Level.OK, hub.now(), width, PLAIN, "initials", True)
    return "".join(segment.text for segment in segments)


def test_the_card_shows_the_offer_and_its_clock_and_a_narrow_one_keeps_the_clock(
    hub: Hub, clock: FrozenClock
) -> None:
    two_providers(hub)
    journey_id = on_p1(hub)
    hub.offers.make(journey_id, "reablement-north")
    clock.advance(hours=2, minutes=10)
    wide = third_line(hub, journey_id, 48)
    assert len(wide) == 48
    assert "→ Reablement North ?2h" in wide
    narrow = third_line(hub, journey_id, 30)
    assert len(narrow) == 30
    assert "→ Reab" in narrow and narrow.rstrip().endswith("… ?2h")  # the name cut, the clock kept


def test_at_every_width_the_offer_keeps_its_arrow_and_clock(hub: Hub, clock: FrozenClock) -> None:
    """The name gives way, then the indent, then "DRD", then the time in the column: never the
    hand-off (at 160 and 80 columns a red offer of 6h used to vanish from its card)."""
    two_providers(hub)
    journey_id = on_p1(hub)
    clock.advance(days=2, hours=3)
    hub.offers.make(journey_id, "reablement-north")
    clock.advance(hours=6)
    for width in range(10, 61):
        line = third_line(hub, journey_id, width)
        assert len(line) == width
        assert "→" in line and "?6h" in line, (width, line)
        if width >= 18:
            assert "DRD+" in line, (width, line)  # the days since ready go only when they must


def test_an_accepted_offer_shows_its_start_and_the_timeline_tells_the_story(hub: Hub) -> None:
    two_providers(hub)
    journey_id = on_p1(hub)
    offer_id = hub.offers.make(journey_id, "reablement-north").event.event_id
    hub.offers.decline(offer_id, "no_capacity")
    assert hub.store.card(journey_id).offer is None  # declined: the hub is looking again
    second = hub.offers.make(journey_id, "home-care-south").event.event_id
    hub.offers.accept(second, date(2026, 11, 27))
    assert "→ Home Care South ✓ 27 Nov" in third_line(hub, journey_id, 48)
    words = [describe(e, hub.flow) for e in hub.store.events(journey_id) if "offer" in e.kind]
    assert words == [
        f"offered to reablement-north (offer {offer_id[-8:]})",
        f"offer {offer_id[-8:]} declined (No capacity)",
        f"offered to home-care-south (offer {second[-8:]})",
        f"offer {second[-8:]} accepted, start 2026-11-27",
    ]
