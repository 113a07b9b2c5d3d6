"""Find (`f`) and handover (`O`) on the board, as a person uses them: find someone discharged
last week, open their timeline, reopen them; read the night's handover and save it to print."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from d2a_tui.screens.find import FindScreen
from d2a_tui.screens.handover import HandoverScreen
from d2a_tui.screens.journey import JourneyScreen
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock
from tests.tui.conftest import make_app, shown_ids, wait_for

BEA, ANN = "9990000026", "9990000018"  # synthetic: the 999 test range


def last_week_and_today(hub: Hub, clock: FrozenClock) -> tuple[str, str]:
    clock.now = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    bea = hub.refer(BEA, "Bea Beta", "1940-01-01", ward="Ward 7", admitted_on="2026-11-10")
    hub.close_journey(bea.card.journey_id, "home_independent")
    clock.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    ann = hub.refer(ANN, "Ann Alpha", "1941-01-01", ward="Ward 7", admitted_on="2026-11-20")
    clock.now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    return bea.card.journey_id, ann.card.journey_id


async def test_find_a_person_discharged_last_week_and_reopen_them(
    sqlite_hub: Hub, clock: FrozenClock
) -> None:
    bea, ann = last_week_and_today(sqlite_hub, clock)
    app = make_app(sqlite_hub)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("f")
        assert isinstance(app.screen, FindScreen)
        await pilot.press(*"999 000 0026", "enter")
        results = app.screen.query_one(OptionList)
        assert await wait_for(pilot, lambda: results.option_count == 1)
        shown = str(results.get_option_at_index(0).prompt)
        assert shown.startswith(f"{bea[:8]}  closed  Home, independent") and "Bea Beta" in shown
        assert "closed 16 Nov 2026" in shown
        assert "1 found, 1 closed" in str(app.screen.query_one("#find-count", Static).render())

        await pilot.press("enter")  # the results have the focus after enter in the search box
        assert isinstance(app.screen, JourneyScreen) and app.screen.journey_id == bea
        await pilot.press("o")
        await pilot.press("enter")  # the first open column: Referred
        await pilot.pause()
        card = sqlite_hub.journey(bea).card
        assert card.closed_at is None and card.column == "referred"
        assert sqlite_hub.journey(bea).timeline[-1].event.kind == "reopened"
        await pilot.press("o")  # open now: nothing to reopen, nothing written
        await pilot.pause()
        assert len(sqlite_hub.journey(bea).timeline) == 3
        await pilot.press("escape", "escape", "escape")
        assert await wait_for(pilot, lambda: bea in shown_ids(app, "referred"))
        assert ann in shown_ids(app, "referred")


async def test_find_by_name_lists_open_before_closed_and_says_when_nobody(
    sqlite_hub: Hub, clock: FrozenClock
) -> None:
    bea, ann = last_week_and_today(sqlite_hub, clock)
    app = make_app(sqlite_hub)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("f", *"ward 7")
        results = app.screen.query_one(OptionList)
        assert await wait_for(pilot, lambda: results.option_count == 2)
        assert [results.get_option_at_index(i).id for i in range(2)] == [ann, bea]
        await pilot.press(*" nobody")
        assert await wait_for(pilot, lambda: results.option_count == 0)
        count = app.screen.query_one("#find-count", Static)
        assert "Nobody found for 'ward 7 nobody', open or closed" in str(count.render())
        await pilot.press("escape")
        assert not isinstance(app.screen, FindScreen)


async def test_the_handover_screen_shows_the_night_and_saves_it_privately(
    sqlite_hub: Hub, clock: FrozenClock, tmp_path: Path
) -> None:
    _, ann = last_week_and_today(sqlite_hub, clock)
    sqlite_hub.add_note(ann, "Seen by OT.")
    app = make_app(sqlite_hub)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("O")
        assert isinstance(app.screen, HandoverScreen)
        screen = app.screen
        assert await wait_for(pilot, lambda: bool(screen.lines))
        # 09:30 is in the first two hours of the day shift: since 08:00 (Ann's referral, note).
        assert (
            screen.lines[0] == "Handover from Mon 23 Nov 08:00 to Mon 23 Nov 09:30 (Europe/London)"
        )
        assert screen.lines[1] == "1 person, 2 changes"
        await pilot.press("t", *"16/11/2026", "enter")  # since last Monday: Bea too
        assert await wait_for(pilot, lambda: screen.lines[1] == "2 people, 4 changes")
        await pilot.press("p")
        await pilot.pause()
    saved = sorted((Path(os.environ["D2A_DATA_DIR"]) / "reports").glob("handover-*.txt"))
    assert len(saved) == 1
    assert stat.S_IMODE(saved[0].stat().st_mode) == 0o600
    assert (
        "Bea Beta" in saved[0].read_text() and "closed: Home, independent" in saved[0].read_text()
    )


async def _find_smith(pilot: Pilot[Any]) -> None:
    await pilot.press("f", *"smith", "enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_find_screen_snapshot(seeded_hub: Hub, snap_compare: Any) -> None:
    assert snap_compare(make_app(seeded_hub), run_before=_find_smith, terminal_size=(100, 32))


async def _open_handover(pilot: Pilot[Any]) -> None:
    await pilot.press("O")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_handover_screen_snapshot(seeded_hub: Hub, snap_compare: Any) -> None:
    assert snap_compare(make_app(seeded_hub), run_before=_open_handover, terminal_size=(100, 32))


async def test_with_the_initials_setting_find_and_handover_show_no_full_name(
    sqlite_hub: Hub, clock: FrozenClock
) -> None:
    last_week_and_today(sqlite_hub, clock)
    app = make_app(sqlite_hub, privacy="initials")
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("f", *"alpha", "enter")
        results = app.screen.query_one(OptionList)
        assert await wait_for(pilot, lambda: results.option_count == 1)
        shown = str(results.get_option_at_index(0).prompt)
        assert "AA" in shown and "…0018" in shown  # Ann Alpha, 999 000 0018
        assert "Ann Alpha" not in shown and "999 000 0018" not in shown
        await pilot.press("escape", "escape", "O")
        screen = app.screen
        assert isinstance(screen, HandoverScreen)
        assert await wait_for(pilot, lambda: bool(screen.lines))
        text = "\n".join(screen.lines)
        assert "AA  …0018" in text and "Ann Alpha" not in text
