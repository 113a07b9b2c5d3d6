"""The Textual app: the board as home screen, global keys, theme, palette and the session's undo.

`run_board(hub)` is what `d2a board` and `d2a demo` call. Tests construct `D2AApp(hub)` directly
and drive it with Pilot.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

# Calm over SSH: Textual reads these when it is first imported, so they are set before that.
# A user's own TEXTUAL_* settings win.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
os.environ.setdefault("TEXTUAL_FPS", "20")

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.filter import NoColor
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen

from d2a_tui.config import Settings
from d2a_tui.domain.display import shown
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.views import Card
from d2a_tui.screens.base import HubScreen
from d2a_tui.screens.history import UndoHistory
from d2a_tui.services.hub import Change, DatabaseUnavailable, DiskFull, Hub, VersionConflict
from d2a_tui.widgets.keys import KeyOrder
from d2a_tui.widgets.themes import DEFAULT_THEME, HIGH_CONTRAST_THEME, MONO, wants_mono

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from d2a_tui.screens.board import BoardScreen

T = TypeVar("T")


class D2AApp(KeyOrder, App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "d2a"
    SUB_TITLE = "Discharge to Assess hub"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Keys", id="app.help", key_display="?"),
        Binding("q", "quit", "Quit", show=False, id="app.quit"),
        # Priority: it locks from inside a text box or a form too.
        Binding("ctrl+l", "lock", "Lock", show=False, id="app.lock", priority=True),
    ]

    def __init__(
        self,
        hub: Hub,
        settings: Settings | None = None,
        *,
        poll_interval: float = 1.0,
        tick_interval: float = 5.0,
        background_sync: bool = True,
    ) -> None:
        settings = settings or Settings(database_url="", user=hub.actor.user)
        mono = wants_mono(settings.theme)
        # Without colour the terminal's own foreground and background are the only ones used.
        from d2a_tui.app_logging import keep_typed_text_out_of_logs, report_crashes_without_details

        keep_typed_text_out_of_logs()
        super().__init__(ansi_color=True if mono else None)
        report_crashes_without_details(self)
        if mono:
            self.no_color = True
            if not any(isinstance(f, NoColor) for f in self._filters):
                self._filters.append(NoColor())  # NO_COLOR is unset: a mono terminal or theme
            self.add_class("-mono")
        self.register_theme(HIGH_CONTRAST_THEME)
        self._unknown_theme = self._start_in_theme(settings.theme)
        self.hub = hub
        self.settings = settings
        self.poll_interval = poll_interval
        self.tick_interval = tick_interval
        self.background_sync = background_sync
        self.db_problem: str | None = None
        self.history = UndoHistory()
        # Why the last command was not done: "unavailable", "conflict" or "refused".
        self.refused_because: str | None = None
        self.animation_level = "none"
        # The idle lock: the time of the last key or click, on a clock tests can move.
        self.idle_clock: Callable[[], float] = time.monotonic
        self.last_input = self.idle_clock()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast of every screen, made safe here once: its words often hold a name, a ward
        or a service's name, so they are shown literally (never markup, no terminal control).
        `markup` is taken for Textual's signature and ignored: d2a writes no markup in toasts."""
        super().notify(
            shown(message, lines=True),
            title=shown(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    @property
    def privacy(self) -> str:
        return self.settings.privacy

    def get_default_screen(self) -> Screen:
        if self.hub.offers.is_provider():  # a provider's user: its offers and capacity
            from d2a_tui.screens.provider_board import ProviderBoardScreen

            return ProviderBoardScreen()
        from d2a_tui.screens.board import BoardScreen

        return BoardScreen()

    def on_ready(self) -> None:
        # `d2a board` held the garbage collector off until this first frame (cli.cmd_board):
        # what the start made is frozen out of later collections, which then scan only what
        # the board makes from now on.
        if not gc.isenabled():
            gc.freeze()
            gc.enable()

    def _start_in_theme(self, wanted: str | None) -> str | None:
        """Start in the settings' theme; returns the name asked for if there is no such theme.

        Set before the stylesheet is first read, without the theme's watcher: set in `on_mount`,
        Textual read, applied and laid out every style of the board a second time before its
        first frame (bench/startup.py). What the watcher does, the first parse then does."""
        theme = wanted or DEFAULT_THEME
        unknown = None
        if theme == MONO:
            theme = DEFAULT_THEME
        elif theme not in self.available_themes:
            unknown, theme = theme, DEFAULT_THEME
        self.set_reactive(App.theme, theme)
        self.stylesheet.set_variables(self.get_css_variables())  # the theme's, before any parse
        dark = self.current_theme.dark
        self.set_class(True, f"-theme-{theme}", update=False)
        self.set_class(dark, "-dark-mode", update=False)
        self.set_class(not dark, "-light-mode", update=False)
        self._refresh_truecolor_filter(self.ansi_theme)
        return unknown

    def on_mount(self) -> None:
        if self._unknown_theme is not None:
            self.notify(
                f"Unknown theme {self._unknown_theme!r}; using {DEFAULT_THEME}", severity="warning"
            )
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        if self.settings.lock_after:
            self.set_interval(min(5.0, self.settings.lock_after / 4), self.lock_if_idle)
        sync = self.hub.sync
        if self.background_sync and sync is not None:
            # A replica syncs beside the board; hub.close() (run_board's, on exit) stops it.
            sync.start()
        if sync is not None:
            self.screen_change_signal.subscribe(self, self._screen_changed)

    # --- the idle lock ---------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown | events.MouseScrollDown | events.Paste):
            self.last_input = self.idle_clock()
        await super().on_event(event)

    @property
    def locked(self) -> bool:
        from d2a_tui.screens.lock import LockScreen

        return any(isinstance(screen, LockScreen) for screen in self.screen_stack)

    def lock_if_idle(self) -> None:
        limit = self.settings.lock_after
        if limit and not self.locked and self.idle_clock() - self.last_input >= limit:
            self.action_lock()

    def action_lock(self) -> None:
        """Cover every screen with the lock; what is beneath stays exactly as it was."""
        from d2a_tui.screens.lock import LockScreen

        if not self.locked:
            self.push_screen(LockScreen(self.hub))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Locked, nothing may open over the lock (the palette lists and finds patients).
        if self.locked and action in ("command_palette", "help", "lock"):
            return False
        return super().check_action(action, parameters)

    def lock_out(self) -> None:
        """Five wrong tries at the lock: the device is logged out and the board closes. What
        was not yet sent stays in the database's outbox for the next login to push."""
        self.hub.lock_out()
        self.exit(
            return_code=1,
            message="d2a: five wrong passphrases at the lock: this device is logged out; "
            "changes not yet sent are kept for the next `d2a login`",
        )

    # --- a replica's sync line on every screen ------------------------------------------------

    def _screen_changed(self, screen: Screen) -> None:
        # Published before a pushed screen has mounted: add the line once it has.
        self.call_after_refresh(self._add_sync_line, screen)

    def _add_sync_line(self, screen: Screen) -> None:
        from d2a_tui.widgets.sync_status import SyncStatusBar

        if isinstance(screen, ModalScreen) or not screen.is_attached or screen.query(SyncStatusBar):
            return
        screen.mount(SyncStatusBar(self.hub, id="sync-status", classes="-docked"))

    # --- commands, shared by every screen -----------------------------------------------------

    def command(self, make: Callable[[], T], *, record: bool = True) -> T | None:
        """Run one write; on success patch the board, else say why. Nothing half-done.

        Every write of every screen comes here: a journey's change (a `Change`, kept for undo
        when `record`) or any other, such as a capacity report."""
        self.refused_because = "unavailable"
        if self.db_problem is not None:
            self.notify(
                "The database is unavailable, so nothing was changed. "
                "Try again when the banner has gone.",
                title="Not saved",
                severity="error",
            )
            return None
        try:
            change = make()
        except DiskFull as error:
            # Reads still work: no outage banner, just this change refused, whole.
            self.notify(str(error), title="Not saved", severity="error", timeout=10)
            return None
        except DatabaseUnavailable as error:
            self.database_lost(str(error))
            self.notify(str(error), title="Not saved", severity="error")
            return None
        except VersionConflict as error:
            self.refused_because = "conflict"
            self.notify(str(error), title="Changed by someone else", severity="warning", timeout=8)
            self.poll_now()
            return None
        except D2AError as error:
            self.refused_because = "refused"
            self.notify(str(error), title="Not done", severity="warning", timeout=6)
            return None
        self.refused_because = None
        if isinstance(change, Change):
            if record:
                self.history.record(change)
            self.apply_cards([change.card])
        return change

    def _board(self) -> BoardScreen | None:
        from d2a_tui.screens.board import BoardScreen

        for screen in self.screen_stack:
            if isinstance(screen, BoardScreen):
                return screen
        return None

    def apply_cards(self, cards: Iterable[Card]) -> None:
        board = self._board()
        if board is not None:
            board.patch(cards)

    def poll_now(self) -> None:
        board = self._board()
        if board is not None:
            board.poll_now()

    # --- the database coming and going --------------------------------------------------------

    def _hub_screens(self) -> list[HubScreen[Any]]:
        return [screen for screen in self.screen_stack if isinstance(screen, HubScreen)]

    def database_lost(self, problem: str) -> None:
        first = self.db_problem is None
        self.db_problem = problem
        for screen in self._hub_screens():
            screen.refresh_status()
        if first:
            self.notify(problem, title="Database unavailable", severity="error", timeout=8)

    def database_back(self) -> None:
        if self.db_problem is None:
            return
        self.db_problem = None
        for screen in self._hub_screens():
            screen.database_back()
        self.notify("The database is back; the board is live again", title="Reconnected")

    def status_text(self) -> str:
        kind, _, where = self.hub.backend().partition(" ")
        state = "live" if self.db_problem is None else "DATABASE UNAVAILABLE"
        return f" {kind} {where} · {state} "

    # --- keys, help, palette ------------------------------------------------------------------

    def action_help(self) -> None:
        from d2a_tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        # Every action the current screen offers, under its own words, with every key that does it.
        keys: dict[str, list[str]] = {}
        found: dict[str, tuple[Binding, DOMNode]] = {}
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or not active.enabled or active.node is self:
                continue
            found.setdefault(binding.action, (binding, active.node))
            shown = self.get_key_display(binding.with_key(key))
            if shown not in keys.setdefault(binding.action, []):
                keys[binding.action].append(shown)
        for action, (binding, node) in found.items():
            yield SystemCommand(
                binding.tooltip or binding.description,
                f"key{'s' if len(keys[action]) > 1 else ''}: {'  '.join(keys[action])}",
                lambda node=node, action=action: self.call_later(node.run_action, action),
            )


def run_board(hub: Hub, settings: Settings | None = None) -> int:
    """Open the board on `hub` until the user quits; returns the exit status."""
    app = D2AApp(hub, settings or Settings.load())
    try:
        app.run()
    finally:
        gc.enable()  # if the board never painted (cli.cmd_board held collection off until then)
        hub.close()
    return app.return_code or 0
