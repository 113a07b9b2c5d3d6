"""The lock: an opaque screen over every other, showing the lock and the sync status only.

Pushed by the app (idle, or ctrl+l) on top of whatever is open — the board, a journey, a form,
a modal — so popping it gives back exactly what was there, selection and all. It draws its own
solid background: nothing of the screens beneath shows through, not even initials. Sync goes on
underneath; the status line here says how it is going.

Checking a secret is a deliberate fraction of a second of scrypt (up to a second on a loaded
machine): it runs in a thread, so the lock keeps drawing and taking keys meanwhile. What is typed
during a check stays in the box for the next try; an Enter during a check starts no second one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from d2a_tui.widgets.keys import TextInput
from d2a_tui.widgets.literal import literal
from d2a_tui.widgets.sync_status import SyncStatusBar, is_replica

if TYPE_CHECKING:
    from d2a_tui.services.hub import Hub

MAX_TRIES = 5
log = logging.getLogger(__name__)


class LockScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    /* Opaque in every mode (a modal screen is see-through by default, and wholly so in a
       terminal's own colours): nothing beneath may show. */
    LockScreen, LockScreen:ansi {
        align: center middle;
        background: $background 100%;
    }
    LockScreen > Vertical {
        width: 60;
        height: auto;
        border: heavy $primary;
        background: $surface;
        padding: 1 2;
    }
    LockScreen #lock-title { text-style: bold; width: 100%; content-align: center middle; }
    LockScreen #lock-problem { color: $error; height: auto; }
    LockScreen SyncStatusBar { width: 100%; margin-top: 1; }
    """

    # Nothing beneath answers a key while locked; these are the only ones.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "nothing", show=False),
    ]

    def __init__(self, hub: Hub) -> None:
        super().__init__(id="lock")
        self.hub = hub
        self.tries = 0
        # A secret is being checked (in a thread): a further Enter waits for its answer.
        self.checking = False
        # Not guarded: no passphrase protects this database, and Enter alone unlocks.
        self.guarded = hub.lock_guarded()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("🔒 d2a is locked", id="lock-title")
            yield Static(
                "Type the passphrase (or PIN) and press Enter to unlock."
                if self.guarded
                else "Press Enter to unlock.",
                id="lock-hint",
            )
            yield TextInput(password=True, id="lock-secret", placeholder="passphrase")
            yield Static("", id="lock-problem")
            if is_replica(self.hub):
                yield SyncStatusBar(self.hub, id="lock-sync")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def action_nothing(self) -> None:
        """Escape does not unlock."""

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.checking:
            return  # one check at a time; what was typed stays for the next try
        secret = event.value
        event.input.value = ""
        if not self.guarded:
            self.dismiss(None)
            return
        self.checking = True
        self.query_one("#lock-problem", Static).update("Checking…")
        self._check(secret)

    @work(thread=True, group="unlock", exit_on_error=False)
    def _check(self, secret: str) -> None:
        """The key derivation, off the UI thread; its answer goes back to it."""
        unlocked: bool | None
        try:
            unlocked = self.hub.check_unlock(secret)
        except Exception:  # say so on the lock, which stays, rather than lose the answer
            log.exception("the unlock check failed")  # the secret is not in the message
            unlocked = None
        self.app.call_from_thread(self._checked, unlocked)

    def _checked(self, unlocked: bool | None) -> None:
        self.checking = False
        if not self.is_attached:
            return
        if unlocked is None:  # not checked (the key file unreadable, say): no try is counted
            self.query_one("#lock-problem", Static).update("Could not check it; try again.")
            return
        if unlocked:
            self.dismiss(None)
            return
        self.tries += 1
        left = MAX_TRIES - self.tries
        if left <= 0:
            self.app.lock_out()  # type: ignore[attr-defined]
            return
        self.query_one("#lock-problem", Static).update(
            literal(
                f"Wrong passphrase. {left} {'try' if left == 1 else 'tries'} left before this "
                "device is logged out."
            )
        )
