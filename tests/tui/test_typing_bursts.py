"""Every key lands where it was typed, in order, when keys arrive together (as over SSH).

Each test hands the app a whole sequence at once (`burst`), as a terminal read does, and then
checks the screen and the database. On Textual's own handling these fail: Backspace, End and
Ctrl+U ran after the letters typed after them, Tab after the next field's text, and the keys
after `/` or a dialog's opening key went to the board.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.screen import Screen
from textual.widgets import Input, Static

from d2a_tui.app import D2AApp
from d2a_tui.domain.events import EventKind
from d2a_tui.domain.nhs_number import format_nhs_number, next_synthetic
from d2a_tui.screens.board import BoardScreen
from d2a_tui.screens.lock import LockScreen
from d2a_tui.screens.referral import ReferralScreen
from d2a_tui.services.hub import Hub
from tests.conftest import refer_someone
from tests.sync.conftest import SyncEnv
from tests.tui.conftest import board_of, make_app, shown_ids, wait_for
from tests.tui.test_idle_lock import PASSPHRASE, encrypted_hub  # noqa: F401
from tests.tui.typing import burst

SIZE = (160, 40)


def notes_of(hub: Hub, journey_id: str) -> list[str]:
    return [
        str(entry.event.payload["text"])
        for entry in hub.journey(journey_id).timeline
        if entry.event.kind is EventKind.NOTE_ADDED
    ]


async def test_the_filter_takes_backspace_in_its_place_and_every_key_after_slash(
    sqlite_hub: Hub,
) -> None:
    journey = refer_someone(sqlite_hub, 1, name="Ada Lovelace", ward="Ward 7B")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # `a` would assign the journey and `c` open capacity, were they to reach the board.
        burst(app, ["slash", *"redx", "backspace", *" amber ac"])
        search = board_of(app).query_one("#filter", Input)
        await wait_for(pilot, lambda: search.value == "red amber ac")
        assert search.value == "red amber ac"
        assert isinstance(app.screen, BoardScreen)
        assert sqlite_hub.journey(journey).card.assigned_to is None
        # Ctrl+U, End and the keys after them, and Enter hands the keys back to the board.
        burst(app, ["ctrl+u", *"ward:7x", "home", "end", "backspace", *"B", "enter", "a"])
        await wait_for(pilot, lambda: sqlite_hub.journey(journey).card.assigned_to is not None)
        assert board_of(app).model.filter_text == "ward:7B"  # type: ignore[union-attr]
        assert shown_ids(app, "referred") == [journey]
        assert sqlite_hub.journey(journey).card.assigned_to == "alice"


async def test_a_note_typed_with_a_correction_is_saved_as_typed(sqlite_hub: Hub) -> None:
    journey = refer_someone(sqlite_hub, 1, name="Ada Lovelace")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        burst(app, ["n", *"Famx", "backspace", *"ily aware", "enter"])
        assert await wait_for(pilot, lambda: bool(notes_of(sqlite_hub, journey)))
        assert notes_of(sqlite_hub, journey) == ["Family aware"]
        assert isinstance(app.screen, BoardScreen)


async def test_the_referral_form_takes_each_field_after_its_tab(sqlite_hub: Hub) -> None:
    nhs = next_synthetic(700)[1]
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        keys = ["N", *format_nhs_number(nhs), "tab", *"Edna Wilx", "backspace", *"kins"]
        keys += ["tab", *"04/03/1938", "tab", *"Ward 7B", "tab", *"B4", "tab", "tab"]
        keys += [*"20/11/2026", "tab", *"22/11/2026", "enter"]
        burst(app, keys)
        assert await wait_for(pilot, lambda: bool(sqlite_hub.board()))
        card = sqlite_hub.board()[0]
        assert (card.nhs_number, card.name, card.ward, card.bed) == (nhs, "Edna Wilkins",
                                                                     "Ward 7B", "B4")  # fmt: skip
        assert str(card.date_of_birth) == "1938-03-04"
        assert str(card.admitted_on) == "2026-11-20"
        assert str(card.discharge_ready_date) == "2026-11-22"
        assert not isinstance(app.screen, ReferralScreen)


async def test_after_tab_a_filled_field_is_added_to_not_replaced(sqlite_hub: Hub) -> None:
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("N")
        await pilot.pause()
        name = app.screen.query_one("#name", Input)
        burst(app, ["tab", *"Edna", "shift+tab", "tab", *" Wilkins"])
        await wait_for(pilot, lambda: name.value.endswith("s"))
        assert name.value == "Edna Wilkins"


async def test_the_export_dialog_takes_end_and_backspace_before_the_new_ending(
    sqlite_hub: Hub, tmp_path: Path
) -> None:
    refer_someone(sqlite_hub, 1, name="Ada Lovelace")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        folder = tmp_path / "exports"
        folder.mkdir()  # a folder typed in the dialog must exist: nothing makes one unasked
        burst(app, ["e", "ctrl+u", *str(folder / "board.txt"), "home"])
        await wait_for(pilot, lambda: app.screen.query(Input).first().value.endswith(".txt"))
        burst(app, ["end", "backspace", "backspace", "backspace", *"html", "enter"])
        target = folder / "board.html"
        assert await wait_for(pilot, target.exists)
    assert "Ada Lovelace" in target.read_text()
    assert [p.name for p in folder.iterdir()] == ["board.html"]


async def test_the_delay_reason_search_and_the_move_picker_take_keys_in_order(
    sqlite_hub: Hub,
) -> None:
    journey = refer_someone(sqlite_hub, 1, name="Ada Lovelace")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # "medx" would match nothing (or the medical reason): only "transport" after the
        # correction picks TRANSPORT.
        burst(app, ["r", *"tranx", "backspace", *"sport", "enter"])
        assert await wait_for(
            pilot, lambda: sqlite_hub.journey(journey).card.delay_reason == "TRANSPORT"
        )
        burst(app, ["m", *"triagx", "backspace", *"e", "enter"])
        assert await wait_for(pilot, lambda: sqlite_hub.journey(journey).card.column == "triage")
        assert isinstance(app.screen, BoardScreen)


def locks_seen(app: D2AApp) -> list[LockScreen]:
    """Every lock the app shows from now on (it may come and go between two looks)."""
    seen: list[LockScreen] = []

    def changed(screen: Screen[object]) -> None:
        if isinstance(screen, LockScreen) and screen not in seen:
            seen.append(screen)

    app.screen_change_signal.subscribe(app, changed)
    return seen


def unlocked_after(app: D2AApp, seen: list[LockScreen], count: int) -> Callable[[], bool]:
    return lambda: len(seen) == count and not app.locked and not app._held


async def test_the_lock_takes_a_passphrase_typed_at_once(
    encrypted_hub: Hub,  # noqa: F811
) -> None:
    app = make_app(encrypted_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        seen = locks_seen(app)
        # A slip corrected with Backspace, then the passphrase, all in one burst with the lock.
        burst(app, ["ctrl+l", *"teX", "backspace", *PASSPHRASE[2:], "enter"])
        assert await wait_for(pilot, unlocked_after(app, seen, 1), 10)
        assert isinstance(app.screen, BoardScreen)


async def test_the_lock_takes_a_pin_typed_at_once(
    sync_env_factory: Callable[[str], SyncEnv], tmp_path: Path
) -> None:
    from dataclasses import replace

    from d2a_tui.storage.cipher import hash_pin
    from tests.sync.transports import DownTransport

    sync_env = sync_env_factory(f"sqlite:///{tmp_path / 'server.db'}")
    sync_env.user("nina")
    hub = sync_env.replica("nina", "night", transport=DownTransport())
    hub.sync.login = replace(hub.sync.login, pin_hash=hash_pin("4711"))
    app = make_app(hub, background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        seen = locks_seen(app)
        burst(app, ["ctrl+l", *"47", "backspace", *"711", "enter"])
        assert await wait_for(pilot, unlocked_after(app, seen, 1), 10)
        # And a wrong PIN does not unlock, whatever the speed.
        burst(app, ["ctrl+l", *"4712", "enter"])

        def problem() -> str:  # (the lock may not be composed yet at the first look)
            found = app.screen.query("#lock-problem")
            return str(found.first(Static).render()) if found else ""

        assert await wait_for(pilot, lambda: app.locked and "Wrong" in problem(), 10)
        assert len(seen) == 2


async def test_a_burst_of_filter_keys_filters_the_board_once(sqlite_hub: Hub) -> None:
    ada = refer_someone(sqlite_hub, 1, name="Ada Lovelace", ward="Ward 7B")
    refer_someone(sqlite_hub, 2, name="Bob Brown", ward="Ward 9")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        board = board_of(app)
        applied: list[str] = []
        apply = board.apply_filter

        def counting(text: str) -> None:
            applied.append(text)
            apply(text)

        board.apply_filter = counting  # type: ignore[method-assign]
        burst(app, ["slash", *"ward:7B"])
        assert await wait_for(pilot, lambda: shown_ids(app, "referred") == [ada])
        # Every column filtered and drawn again once for the burst, not once per key.
        assert applied == ["ward:7B"]
