"""Nothing the board does holds its thread for longer than 50 ms: keys are read and frames are
drawn while it reads, re-times, filters and patches.

Every step of the app's event loop is timed (tests/tui/frozen.py: the thread's CPU time of each
`asyncio` handle, named by the message, timer or callback it ran) while a person uses a seeded
board: moving the selection and cards, filtering, sorting, with the clock ticking and the live
poll running fast. Measured on the locality seed the other TUI tests share (459 open journeys):
a region's board (~5,000 open) takes half an hour to seed, too long for `make test`;
docs/design/performance.md gives the figures measured on one.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from d2a_tui.domain.stuck import Stuck
from d2a_tui.domain.views import Card
from d2a_tui.services.hub import Hub
from tests.tui.conftest import board_of, make_app, wait_for
from tests.tui.frozen import watch_loop

LIMIT = 0.050
# Textual's own frame: drawing a screen in which every column shows other cards (a sort, a
# filter, the first view) is ~150-200 ms of CPU at 160×50 on the test machine, whoever asked
# for it; the footer's recompose after a change of focus likewise. Those are reported by the
# loop watch but not held against the board's handlers here (docs/design/performance.md).
TEXTUAL_OWN = ("timer Screen._on_timer_update", "Footer handling")


async def test_no_step_of_the_board_holds_its_thread_over_50_ms(
    seeded_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    with watch_loop(monkeypatch) as watch:
        app = make_app(seeded_hub, poll=0.2, tick=0.3)
        async with app.run_test(size=(160, 50)) as pilot:
            assert await wait_for(pilot, lambda: board_of(app).loaded, 20)
            await pilot.pause(0.5)  # the first frames and mounts: start-up, not use
            watch.counting = True
            keys = ["j", "j", "k", "l", "l", "l", "j", "L", "H", "h", "h", "s", "s", "s", "s"]
            keys += ["slash", *"ward:7 amber", "backspace", "enter", "escape", "G", "g"]
            for key in keys:
                await pilot.press(key)
            await pilot.pause(1.5)  # ticks and polls
            watch.counting = False
    slow = [(took, what) for took, what in watch.over(LIMIT) if not what.startswith(TEXTUAL_OWN)]
    assert not slow, "\n".join(f"{took * 1000:.0f} ms: {what}" for took, what in slow)


async def test_the_clock_tick_assesses_the_cards_off_the_ui_thread(seeded_hub: Hub) -> None:
    import threading

    on_ui: list[str] = []
    elsewhere: list[str] = []
    stuck = seeded_hub.stuck

    def counting(card: Card, now: datetime | None = None) -> Stuck:
        ui = threading.current_thread() is threading.main_thread()
        (on_ui if ui else elsewhere).append(card.journey_id)
        return stuck(card, now)

    seeded_hub.stuck = counting  # type: ignore[method-assign]
    app = make_app(seeded_hub, tick=0.2)
    async with app.run_test(size=(160, 50)) as pilot:
        board = board_of(app)
        assert await wait_for(pilot, lambda: board.loaded, 20)
        assert board.model is not None
        open_count = len(board.model.cards)
        on_ui.clear()
        elsewhere.clear()
        assert await wait_for(pilot, lambda: len(elsewhere) >= 2 * open_count, 20)
    # Two ticks' worth of cards assessed in the worker; on the UI thread only the selected
    # card (the status line) and any just turned red, not the board.
    assert len(on_ui) < open_count / 4
