"""What the board and its screens show must hold at every width (issue 20, section 3).

The offer's arrow and clock on the board at 80 and 160 columns, a closed journey offering no
change it cannot take, the strategic charts told apart without colour, the capacity screen's
service names whole at 160×50; and SVG snapshots of the main screens at 80×24, 160×50, 220×50
and without colour. Regenerate the snapshots after an intended change with
`pytest tests/tui/test_widths.py --snapshot-update`, and read them before committing.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from textual.pilot import Pilot

from d2a_tui.app import D2AApp
from d2a_tui.screens.journey import JourneyScreen
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.offers.conftest import on_p1, two_providers
from tests.tui.conftest import (
    make_app,
    record_notifications,
    settle,
    settle_for_snapshot,
    wait_for,
)


def screen_text(app: D2AApp) -> str:
    svg = app.export_screenshot()
    return html.unescape("".join(re.findall(r">([^<]*)</text>", svg))).replace("\xa0", " ")


@pytest.mark.parametrize("size", [(80, 24), (160, 50), (220, 50)])
async def test_an_unanswered_offer_shows_its_arrow_and_clock_at_every_width(
    sqlite_hub: Hub, clock: FrozenClock, size: tuple[int, int]
) -> None:
    two_providers(sqlite_hub)
    journey_id = on_p1(sqlite_hub)
    clock.advance(days=2, hours=3)
    sqlite_hub.offers.make(journey_id, "reablement-north")
    clock.advance(hours=6)  # red by the offer's clock
    app = make_app(sqlite_hub)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("right", "right", "right")  # to Awaiting P1 (at 80 it scrolls there)
        await settle(pilot)
        text = screen_text(app)
        assert "→" in text and "?6h" in text


async def test_a_closed_journey_offers_no_move_and_shift_right_does_nothing(
    sqlite_hub: Hub,
) -> None:
    journey_id = refer_someone(sqlite_hub)
    sqlite_hub.close_journey(journey_id, "home_independent")
    app = make_app(sqlite_hub)
    said = record_notifications(app)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        app.push_screen(JourneyScreen(journey_id))
        await settle(pilot)
        # The footer is rebuilt on an idle moment after the journey is read: on a busy machine
        # that can come after the settle, so wait for it (the only place these words appear).
        assert await wait_for(pilot, lambda: "Reopen" in screen_text(app))
        footer = screen_text(app)
        assert "Move" not in footer and "Delay" not in footer
        await pilot.press("L", "shift+right", "r", "m")
        await settle(pilot)
        assert said == []  # nothing offered, nothing refused
        assert isinstance(app.screen, JourneyScreen)


async def test_the_strategic_charts_tell_pathways_apart_without_colour(
    seeded_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(seeded_hub)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("D", "s")
        await settle(pilot)
        text = screen_text(app)
        # Each pathway has its own glyph in the legend and in the columns of the chart.
        for legend in ("██ P0", "▒▒ P1", "▓▓ P2", "░░ P3"):
            assert legend in text
        assert "▒" in text.replace("▒▒ P1", "")  # P1 is drawn, not only named


def _open(*keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await settle_for_snapshot(pilot)

    return run_before


SCREENS = {
    "board": (),
    "journey": ("right", "right", "right", "enter"),
    "alerts": ("exclamation_mark",),
    "capacity": ("c",),
    "dashboard": ("D",),
}


@pytest.mark.parametrize("size", [(80, 24), (160, 50), (220, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_main_screens_at_every_width(
    seeded_hub: Hub, snap_compare: Any, screen: str, size: tuple[int, int]
) -> None:
    assert snap_compare(
        make_app(seeded_hub), run_before=_open(*SCREENS[screen]), terminal_size=size
    )


@pytest.mark.parametrize("screen", ["board", "journey", "strategic"])
def test_main_screens_without_colour(
    seeded_hub: Hub, snap_compare: Any, screen: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    keys = ("D", "s") if screen == "strategic" else SCREENS[screen]
    assert snap_compare(make_app(seeded_hub), run_before=_open(*keys), terminal_size=(160, 50))


@pytest.mark.parametrize("answer", ["withdraw", "keep", "escape"])
async def test_moving_a_person_with_an_unanswered_offer_asks_once_what_becomes_of_it(
    sqlite_hub: Hub, answer: str
) -> None:
    two_providers(sqlite_hub)
    journey_id = on_p1(sqlite_hub)
    sqlite_hub.offers.make(journey_id, "reablement-north")
    app = make_app(sqlite_hub)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("shift+right")  # the board opens on the one card there is
        await settle(pilot)
        assert sqlite_hub.card(journey_id).column == "await_p1"  # asked first, nothing moved
        question = screen_text(app)
        assert "has an offer to Reablement North with no answer yet" in question
        keys = {"withdraw": ("enter",), "keep": ("down", "enter"), "escape": ("escape",)}
        await pilot.press(*keys[answer])
        await settle(pilot)
        assert len(app.screen_stack) == 1  # asked once: back on the board
    card = sqlite_hub.card(journey_id)
    if answer == "escape":
        assert card.column == "await_p1" and card.offer is not None and card.offer.is_open
    elif answer == "withdraw":
        assert card.column == "on_p1" and card.offer is None
    else:
        assert card.column == "on_p1" and card.offer is not None and card.offer.is_open


@pytest.mark.parametrize(
    "sizes",
    [((160, 50),), ((80, 24), (160, 50)), ((160, 50), (80, 24), (160, 50))],
    ids=["160", "80-then-160", "160-80-160"],
)
async def test_the_capacity_screen_keeps_services_names_whole_at_160_columns(
    seeded_hub: Hub, sizes: tuple[tuple[int, int], ...]
) -> None:
    """The names were once cut to "Stockpo" (the width of the "Service" heading) at 160x50: not
    reproduced since, opened at 160 or resized there from 80 before or after the figures came."""
    app = make_app(seeded_hub)
    async with app.run_test(size=sizes[0]) as pilot:
        await settle(pilot)
        await pilot.press("c")
        for size in sizes[1:]:
            await pilot.resize_terminal(*size)
            await settle(pilot)
        await settle(pilot)
        text = screen_text(app)
        names = [s.service.name for s in seeded_hub.capacity.statuses()]
        assert names and all(name in text for name in names), text
