"""Typing into the real `d2a board` in a real terminal (tmux), the way keys arrive over SSH.

Each test starts the installed `d2a board` on a private copy of a seeded SQLite database, with
its own HOME, in a tmux pane, and types with `send-keys`: either a whole sequence in one call
(one read's worth of bytes, as a burst over a slow link delivers them) or one key per call,
0–30 ms apart. What is typed must come out exactly: on the screen (`capture-pane`) and in the
database. Skipped only where tmux is not installed (`make test` installs it when run as root).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from d2a_tui.domain.events import EventKind
from d2a_tui.domain.flow import load_flow
from d2a_tui.domain.nhs_number import format_nhs_number, next_synthetic
from d2a_tui.domain.views import Card
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

WIDTH, HEIGHT = 160, 45
READY = re.compile(r"\d[\d,]* open ·")  # the board's status line, once the cards are in
D2A = str(Path(sys.executable).with_name("d2a"))


class Terminal:
    """One tmux server of our own (its own socket) running one command in one pane."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        # A server of our own on a socket of our own, removed with it.
        self.folder = Path(tempfile.mkdtemp(prefix="d2a-tmux-"))
        self.socket = str(self.folder / "s")
        line = " ".join(["env", "-i", *(f"{k}={shlex_quote(v)}" for k, v in env.items()), *command])
        self.tmux("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-s", "t", line)
        self.tmux("set-option", "-t", "t", "remain-on-exit", "on")

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", self.socket, *args], check=True, capture_output=True, text=True
        ).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def wait(self, condition: Callable[[str], bool], seconds: float = 30.0) -> str:
        deadline = time.monotonic() + seconds
        shown = ""
        while time.monotonic() < deadline:
            shown = self.screen()
            if condition(shown):
                return shown
            time.sleep(0.05)
        raise AssertionError(f"never came; the screen shows:\n{shown}")

    def burst(self, *keys: str) -> None:
        """Every key in one `send-keys`: one write to the terminal."""
        self.tmux("send-keys", "-t", "t", *keys)

    def one_by_one(self, *keys: str, rng: random.Random) -> None:
        """One key per `send-keys`, 0–30 ms apart, as a fast typist or a jittery link."""
        for key in keys:
            for part in [key] if _is_key_name(key) else list(key):
                self.tmux("send-keys", "-t", "t", *(["-l", part] if part == ";" else [part]))
                time.sleep(rng.uniform(0, 0.03))

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


KEY_NAMES = {"BSpace", "Tab", "BTab", "Enter", "End", "Home", "C-u", "C-l", "C-q", "Escape"}


def _is_key_name(key: str) -> bool:
    return key in KEY_NAMES or len(key) == 1


def shlex_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "home"
    folder.mkdir()
    return {
        "HOME": str(folder),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "TZ": "Europe/London",
        "D2A_USER": "alice",
        "D2A_DATA_DIR": str(folder / "data"),
        "D2A_CONFIG": str(folder / "config.toml"),
    }


@pytest.fixture
def board_db(seeded_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "board.db"
    shutil.copy(seeded_file, path)
    return path


@pytest.fixture
def open_board(home: dict[str, str]) -> Iterator[Callable[..., Terminal]]:
    opened: list[Terminal] = []

    def start(db: Path, *extra: str) -> Terminal:
        terminal = Terminal([D2A, "board", "--db", str(db), *extra], home)
        opened.append(terminal)
        terminal.wait(lambda shown: READY.search(shown) is not None)
        return terminal

    yield start
    for terminal in opened:
        terminal.close()


def hub_on(db: Path) -> Hub:
    return Hub(JourneyStore(make_engine(f"sqlite:///{db}"), load_flow()), Actor("test", "t"))


def open_cards(db: Path) -> dict[str, Card]:
    hub = hub_on(db)
    try:
        return {card.journey_id: card for card in hub.board()}
    finally:
        hub.close()


def notes(db: Path, journey_id: str) -> list[str]:
    hub = hub_on(db)
    try:
        return [
            str(entry.event.payload["text"])
            for entry in hub.journey(journey_id).timeline
            if entry.event.kind is EventKind.NOTE_ADDED
        ]
    finally:
        hub.close()


def changed(before: dict[str, Card], after: dict[str, Card], what: str) -> list[str]:
    return [
        journey_id
        for journey_id, card in after.items()
        if journey_id in before and getattr(before[journey_id], what) != getattr(card, what)
    ]


def wait_db(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.parametrize("delivery", ["burst", "one_by_one"])
def test_filter_note_delay_and_move_come_out_as_typed(
    open_board: Callable[..., Terminal], board_db: Path, delivery: str
) -> None:
    terminal = open_board(board_db)
    rng = random.Random(20)

    def send(*keys: str) -> None:
        if delivery == "burst":
            terminal.burst(*keys)
        else:
            terminal.one_by_one(*keys, rng=rng)

    # The filter: Backspace in its place, and nothing after `/` reaches the board.
    before = open_cards(board_db)
    send("/", "wardx", "BSpace", ":7 ", "ac")
    shown = terminal.wait(lambda s: "ward:7 ac" in s)
    assert "wardx" not in shown and "Capacity" not in shown.splitlines()[0]
    send("C-u", "ward:7x", "BSpace", "Enter")
    terminal.wait(lambda s: "Filter: ward:7 —" in s)
    assert changed(before, open_cards(board_db), "assigned_to") == []  # `a` never ran
    send("Escape")
    terminal.wait(lambda s: "Filter:" not in s)

    # A note with a correction in it: saved exactly as typed.
    send("n", "Famx", "BSpace", "ily aware of plan", "Enter")
    assert wait_db(lambda: bool(changed(before, open_cards(board_db), "notes")))
    (noted,) = changed(before, open_cards(board_db), "notes")
    assert notes(board_db, noted)[-1] == "Family aware of plan"

    # The delay-reason search and the move picker, on the same (selected) journey.
    send("r", "tranx", "BSpace", "sport", "Enter")
    assert wait_db(lambda: open_cards(board_db)[noted].delay_reason == "TRANSPORT")
    send("m", "triagx", "BSpace", "e", "Enter")
    assert wait_db(lambda: open_cards(board_db)[noted].column == "triage")
    terminal.wait(lambda s: "TRANSPORT" in s)


def test_the_referral_form_takes_every_field_after_its_tab(
    open_board: Callable[..., Terminal], board_db: Path
) -> None:
    terminal = open_board(board_db)
    nhs = next_synthetic(9001)[1]
    terminal.burst(
        "N", format_nhs_number(nhs), "Tab", "Edna Wilx", "BSpace", "kins", "Tab", "04/03/1938",
        "Tab", "Ward 7B", "Tab", "B4", "Tab", "Tab", "20/11/2026", "Tab", "22/11/2026", "Enter",
    )  # fmt: skip
    assert wait_db(lambda: any(c.nhs_number == nhs for c in open_cards(board_db).values()))
    card = next(c for c in open_cards(board_db).values() if c.nhs_number == nhs)
    assert (card.name, card.ward, card.bed) == ("Edna Wilkins", "Ward 7B", "B4")
    assert (str(card.date_of_birth), str(card.admitted_on), str(card.discharge_ready_date)) == (
        "1938-03-04",
        "2026-11-20",
        "2026-11-22",
    )
    terminal.wait(lambda s: "Referred: journey" in s)


def test_the_export_dialog_takes_end_and_three_backspaces_before_html(
    open_board: Callable[..., Terminal], board_db: Path, home: dict[str, str]
) -> None:
    terminal = open_board(board_db)
    terminal.burst("e")
    terminal.wait(lambda s: "Export what the board shows to" in s)
    terminal.burst("End", "BSpace", "BSpace", "BSpace", "html", "Enter")
    terminal.wait(lambda s: "Exported" in s)
    written = list((Path(home["D2A_DATA_DIR"]) / "exports").iterdir())
    assert [path.suffix for path in written] == [".html"]
    assert written[0].name.startswith("board-")
    assert "<html" in written[0].read_text().lower()


def test_the_lock_takes_a_passphrase_typed_in_one_go(
    open_board: Callable[..., Terminal], tmp_path: Path
) -> None:
    from d2a_tui.storage import cipher
    from d2a_tui.storage.db import ensure_schema, forget_keys, remember_key
    from tests.conftest import refer_someone

    passphrase = "tea at three, bins on tuesday"
    db = tmp_path / "night.db"
    remember_key(db, cipher.create_key(db, passphrase))
    engine = make_engine(str(db))
    ensure_schema(engine)
    hub = Hub(JourneyStore(engine, load_flow()), Actor("alice", "device-a"))
    refer_someone(hub, 1, name="Zebedee Quillfeather")
    hub.close()
    forget_keys()
    secret = tmp_path / "secret"
    secret.write_text(passphrase)
    secret.chmod(0o600)
    terminal = open_board(db, "--passphrase-file", str(secret))
    terminal.burst("C-l", "tea at thrx", "BSpace", "ee, bins on tuesdaz", "Enter")
    shown = terminal.wait(lambda s: "Wrong passphrase" in s)
    assert "Zebedee" not in shown
    terminal.burst("C-u", "teX", "BSpace", passphrase[2:], "Enter")
    terminal.wait(lambda s: "Zebedee" in s or "Quillfeather" in s)
