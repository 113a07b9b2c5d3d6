"""The idle lock, driven by keys: ctrl+l or idle time covers every screen with the lock, which
shows no patient data at all (the whole screen is scanned for names, NHS numbers, initials,
wards and note text); the passphrase unlocks onto exactly the board and selection left; five
wrong tries log the device out with its unsent changes kept."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from textual.widgets import Input

from d2a_tui.app import D2AApp
from d2a_tui.domain.flow import load_flow
from d2a_tui.domain.nhs_number import format_nhs_number
from d2a_tui.screens.board import BoardScreen
from d2a_tui.screens.lock import LockScreen
from d2a_tui.services.hub import Hub
from d2a_tui.storage import cipher
from d2a_tui.storage.db import ensure_schema, forget_keys, make_engine, remember_key
from d2a_tui.storage.journeys import Actor, JourneyStore
from d2a_tui.sync.login import load_login, save_login
from d2a_tui.sync.replica import outbox_table
from tests.conftest import FrozenClock, refer_someone
from tests.sync.conftest import SyncEnv
from tests.sync.transports import DownTransport
from tests.tui.conftest import board_of, make_app, wait_for

SIZE = (200, 30)
PASSPHRASE = "tea at three, bins on tuesday"
PEOPLE = ["Zebedee Quillfeather", "Xanthe Vospers", "Jorunn Kettleby"]
NOTE = "Key safe code with Mrs Vospers next door"


@pytest.fixture
def encrypted_hub(tmp_path: Path, clock: FrozenClock) -> Iterator[Hub]:
    path = tmp_path / "night.db"
    remember_key(path, cipher.create_key(path, PASSPHRASE))
    engine = make_engine(str(path))
    ensure_schema(engine)
    hub = Hub(JourneyStore(engine, load_flow()), Actor("nina", "device-n"), clock)
    yield hub
    hub.close()
    forget_keys()


def refer_people(hub: Hub) -> list[str]:
    journeys = [
        refer_someone(hub, serial, name=name, ward="Larch Ward")
        for serial, name in enumerate(PEOPLE, 1)
    ]
    hub.add_note(journeys[1], NOTE)
    return journeys


def answered(lock: LockScreen) -> Callable[[], bool]:
    """Whether the lock has the answer to the secret it was given (checked in a thread)."""
    return lambda: not lock.checking


def screen_text(app: D2AApp) -> str:
    """Everything the terminal shows, as text, from the app's own screenshot."""
    svg = app.export_screenshot()
    return html.unescape("".join(re.findall(r">([^<>]*)</text>", svg))).replace("\xa0", " ")


def identifiers(hub: Hub) -> list[str]:
    found = [NOTE, "Larch"]
    for card in hub.board():
        number = card.nhs_number or ""
        found += [card.name, card.initials, number, format_nhs_number(number)]
        found += card.name.split()
    return [word for word in found if word]


async def test_ctrl_l_locks_and_the_lock_shows_no_patient_data(encrypted_hub: Hub) -> None:
    refer_people(encrypted_hub)
    app = make_app(encrypted_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = screen_text(app)
        secrets = identifiers(encrypted_hub)
        # The scan can fail: unlocked, the board shows the people.
        assert "Larch Ward" in before and any(name in before for name in PEOPLE)
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        locked = screen_text(app)
        assert "locked" in locked
        assert [secret for secret in secrets if secret in locked] == []


async def test_initials_are_not_shown_either(encrypted_hub: Hub) -> None:
    refer_people(encrypted_hub)
    app = make_app(encrypted_hub, privacy="initials")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "ZQ" in screen_text(app)
        await pilot.press("ctrl+l")
        await pilot.pause()
        locked = screen_text(app)
        assert not any(initials in locked for initials in ("ZQ", "XV", "JK"))


async def test_the_passphrase_unlocks_onto_the_exact_board_and_selection(
    encrypted_hub: Hub,
) -> None:
    refer_people(encrypted_hub)
    app = make_app(encrypted_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down", "down")
        await pilot.pause()
        board = board_of(app)
        selected, column, focused = board.selected, board.active_column, app.focused
        assert selected is not None
        await pilot.press("ctrl+l")
        await pilot.press(*"not it", "enter")
        assert await wait_for(pilot, lambda: "4 tries left" in screen_text(app))
        assert isinstance(app.screen, LockScreen)
        await pilot.press("escape")  # does not unlock
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*PASSPHRASE, "enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        assert board_of(app) is board
        assert (board.selected, board.active_column, app.focused) == (selected, column, focused)
        assert any(name in screen_text(app) for name in PEOPLE)


async def test_the_lock_covers_an_open_journey_and_gives_it_back(encrypted_hub: Hub) -> None:
    refer_people(encrypted_hub)
    app = make_app(encrypted_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # the selected journey's detail
        await wait_for(pilot, lambda: not isinstance(app.screen, BoardScreen))
        detail = app.screen
        assert any(name in screen_text(app) for name in PEOPLE)
        await pilot.press("ctrl+l")
        await pilot.pause()
        locked = screen_text(app)
        assert not any(secret in locked for secret in identifiers(encrypted_hub))
        await pilot.press(*PASSPHRASE, "enter")
        assert await wait_for(pilot, lambda: app.screen is detail)


async def test_idle_time_locks_and_a_key_press_counts_as_activity(encrypted_hub: Hub) -> None:
    refer_people(encrypted_hub)
    app = make_app(encrypted_hub, lock_after=600.0)
    now = [1000.0]
    app.idle_clock = lambda: now[0]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.last_input = now[0]
        now[0] += 599
        app.lock_if_idle()
        assert not app.locked
        await pilot.press("down")  # activity: the ten minutes start again
        now[0] += 599
        app.lock_if_idle()
        assert not app.locked
        now[0] += 1
        app.lock_if_idle()
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)


async def test_the_command_palette_does_not_open_over_the_lock(encrypted_hub: Hub) -> None:
    refer_people(encrypted_hub)
    app = make_app(encrypted_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+l")
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)


async def test_five_wrong_tries_log_the_device_out_and_keep_its_outbox(
    sync_env_factory: Callable[[str], SyncEnv], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_env = sync_env_factory(f"sqlite:///{tmp_path / 'server.db'}")
    monkeypatch.setenv("D2A_DATA_DIR", str(tmp_path / "data"))
    sync_env.user("nina")
    hub = sync_env.replica("nina", "night", transport=DownTransport(), passphrase=PASSPHRASE)
    save_login(hub.sync.login)
    refer_people(hub)
    app = make_app(hub, background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert "4 pending" in screen_text(app)  # the sync status stays in view, locked
        for attempt in range(5):
            lock = app.screen
            assert isinstance(lock, LockScreen)
            await pilot.press(*f"guess {attempt}", "enter")
            await wait_for(pilot, answered(lock))
    assert app.return_code == 1
    assert load_login() is None
    with hub.sync.replica.engine.connect() as connection:
        queued = connection.execute(select(func.count()).select_from(outbox_table)).scalar_one()
    assert queued == 4  # three referrals and a note, kept for the next login
    forget_keys()


async def test_a_plain_database_unlocks_with_enter(sqlite_hub: Hub) -> None:
    refer_people(sqlite_hub)
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert "Press Enter to unlock" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen)


async def test_a_pin_set_at_login_unlocks_a_plain_replica(
    sync_env_factory: Callable[[str], SyncEnv], tmp_path: Path
) -> None:
    from dataclasses import replace

    from d2a_tui.storage.cipher import hash_pin

    sync_env = sync_env_factory(f"sqlite:///{tmp_path / 'server.db'}")
    sync_env.user("nina")
    hub = sync_env.replica("nina", "night", transport=DownTransport())
    hub.sync.login = replace(hub.sync.login, pin_hash=hash_pin("4711"))
    refer_people(hub)
    app = make_app(hub, background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert "Type the passphrase" in screen_text(app)
        await pilot.press("enter")  # guarded: Enter alone does not unlock
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*"4711", "enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))


async def test_the_lock_takes_keys_while_a_passphrase_is_checked(
    encrypted_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key derivation runs off the UI thread: held open here (the real check runs once the
    gate opens), the lock still draws and takes keys; what is typed waits for the next try, and
    an Enter meanwhile starts no second check."""
    refer_people(encrypted_hub)
    gate = threading.Event()
    checked: list[str] = []
    real_check = encrypted_hub.check_unlock

    def held_check(secret: str) -> bool:
        checked.append(secret)
        gate.wait(10)
        return real_check(secret)

    monkeypatch.setattr(encrypted_hub, "check_unlock", held_check)
    app = make_app(encrypted_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+l")
        await pilot.pause()
        lock = app.screen
        assert isinstance(lock, LockScreen)
        # A wrong guess, held: the screen answers keys and says it is checking.
        await pilot.press(*"not it", "enter")
        assert await wait_for(pilot, lambda: checked == ["not it"])
        assert "Checking" in screen_text(app)
        started = time.monotonic()
        await pilot.press(*PASSPHRASE[:8])
        assert time.monotonic() - started < 5  # not waiting for the gate
        secret_box = lock.query_one("#lock-secret", Input)
        assert secret_box.value == PASSPHRASE[:8]
        await pilot.press("enter")  # during the check: no second one
        await pilot.pause()
        assert checked == ["not it"] and secret_box.value == PASSPHRASE[:8]
        gate.set()
        assert await wait_for(pilot, lambda: "4 tries left" in screen_text(app))
        # The keys typed during the check are the next try's start, in order.
        await pilot.press(*PASSPHRASE[8:], "enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        assert checked == ["not it", PASSPHRASE]


async def test_a_check_that_cannot_run_says_so_and_counts_no_try(
    encrypted_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(secret: str) -> bool:
        raise PermissionError("the key file cannot be read")

    monkeypatch.setattr(encrypted_hub, "check_unlock", unreadable)
    app = make_app(encrypted_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+l")
        await pilot.press(*PASSPHRASE, "enter")
        assert await wait_for(pilot, lambda: "Could not check" in screen_text(app))
        lock = app.screen
        assert isinstance(lock, LockScreen)
        assert lock.tries == 0 and not lock.checking
