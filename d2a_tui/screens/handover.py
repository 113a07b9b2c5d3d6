"""The handover (`O` on the board, for "overnight"): what changed since the start of the shift.

The same text `d2a handover` prints, read in a worker thread. `t` asks for another start (20:00,
yesterday 20:00, a date); `p` saves the text to a file readable by its owner only, for printing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from d2a_tui.domain.display import shown
from d2a_tui.domain.errors import D2AError
from d2a_tui.services import handover
from d2a_tui.widgets.literal import literal

if TYPE_CHECKING:
    from datetime import datetime

    from d2a_tui.screens.base import HostApp
    from d2a_tui.services.hub import Hub


class HandoverScreen(Screen[None]):
    app: HostApp
    DEFAULT_CSS = """
    HandoverScreen #handover-text { padding: 0 1; width: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", id="handover.back"),
        Binding("t", "since", "Since…", id="handover.since"),
        Binding("p", "save", "Save to print", id="handover.save"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="handover.reload"),
    ]

    def __init__(self, hub: Hub, since: datetime | None = None) -> None:
        super().__init__(id="handover")
        self.hub = hub
        self.since = since
        self.lines: list[str] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="handover-scroll"):
            yield Static("Reading the handover…", id="handover-text")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self.load()

    @work(thread=True, exclusive=True, group="handover")
    def load(self) -> None:
        try:
            report = self.hub.handover(self.since)
            initials = getattr(self.app, "privacy", "names") == "initials"  # as the board
            lines = handover.to_lines(report, self.hub.flow, self.hub.calendar, initials=initials)
        except D2AError as error:
            self.app.call_from_thread(self._problem, str(error))
            return
        self.app.call_from_thread(self._show, lines)

    def _show(self, lines: list[str]) -> None:
        self.lines = lines
        self.query_one("#handover-text", Static).update(Text("\n").join(map(literal, lines)))

    def _problem(self, problem: str) -> None:
        self.query_one("#handover-text", Static).update(literal(problem))
        self.app.notify(problem, title="No handover", severity="error")

    def action_since(self) -> None:
        from d2a_tui.screens.pickers import TextPrompt

        hub = self.hub

        def check(value: str) -> str | None:
            try:
                handover.parse_since(value, hub.now(), hub.calendar)
            except D2AError as error:
                return str(error)
            return None

        def chosen(value: str | None) -> None:
            if value:
                self.since = handover.parse_since(value, hub.now(), hub.calendar)
                self.load()

        self.app.push_screen(
            TextPrompt(
                "Handover since (20:00, yesterday 20:00, a date):",
                placeholder="20:00",
                check=check,
            ),
            chosen,
        )

    def action_save(self) -> None:
        from d2a_tui.config import data_dir
        from d2a_tui.services.private_files import write_private

        if not self.lines:
            return
        stamp = self.hub.now().astimezone(self.hub.calendar.zone).strftime("%Y%m%d-%H%M")
        try:
            path = write_private(
                data_dir() / "reports" / f"handover-{stamp}.txt", self._text(), make_folder=True
            )
        except D2AError as error:
            self.app.notify(str(error), title="Not saved", severity="error")
            return
        self.app.notify(f"Saved {path} (readable by you only)", timeout=6)

    def _text(self) -> str:
        # A file a person will `cat` or print: what it holds is shown as on the screen.
        return "\n".join(map(shown, self.lines)) + "\n"

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.dismiss()
