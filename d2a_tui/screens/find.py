"""Find anyone, open or closed (`f` on the board): by name, NHS number, journey id or ward.

The search runs as the user types (a short pause first), in a worker thread, so the screen
never waits on the database. Enter on a result opens the journey's timeline, where a closed one
can be reopened (`o`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.views import Card
from d2a_tui.services import finding
from d2a_tui.widgets.keys import TextInput
from d2a_tui.widgets.literal import NEWLINE_TEXT, literal

if TYPE_CHECKING:
    from d2a_tui.screens.base import HostApp
    from d2a_tui.services.hub import Hub

TYPING_PAUSE = 0.25  # seconds after the last key before searching
HINT = "type a name, an NHS number, a journey id or a ward · ↓ results · enter open · esc back"


class FindScreen(Screen[None]):
    app: HostApp
    DEFAULT_CSS = """
    FindScreen #find-input { margin: 0 1; }
    FindScreen #find-count { padding: 0 1; color: $text-muted; }
    FindScreen #find-results { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="find.back"),
        Binding("down", "results", "Results", show=False, id="find.results"),
    ]

    def __init__(self, hub: Hub, text: str = "") -> None:
        super().__init__(id="find")
        self.hub = hub
        self.initial = text
        self.cards: list[Card] = []
        self._timer: Any = None

    def compose(self) -> ComposeResult:
        yield Static("Find anyone, open or closed", id="find-title")
        search = TextInput(value=self.initial, placeholder=HINT, id="find-input")
        search.cursor_blink = False
        yield search
        yield Static("", id="find-count")
        yield OptionList(id="find-results")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#find-input", Input).focus()
        if self.initial:
            self.search(self.initial)

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        text = event.value
        self._timer = self.set_timer(TYPING_PAUSE, lambda: self.search(text))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.search(event.value, then_focus=True)

    @work(thread=True, exclusive=True, group="find")
    def search(self, text: str, then_focus: bool = False) -> None:
        cards: list[Card] = []
        problem = ""
        if text.strip():
            try:
                cards = self.hub.find(text)
            except D2AError as error:  # the database away, a search too long: say so
                problem = str(error)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, cards, text, problem, then_focus)

    def _show(self, cards: list[Card], text: str, problem: str, then_focus: bool) -> None:
        self.cards = cards
        results = self.query_one(OptionList)
        results.clear_options()
        flow, calendar = self.hub.flow, self.hub.calendar
        for card in cards:
            first, second = finding.lines(card, flow, calendar, initials=self._initials())
            style = "" if card.closed_at is None else "dim"
            prompt = literal(first, NEWLINE_TEXT, second, style=style)
            results.add_option(Option(prompt, id=card.journey_id))
        count = self.query_one("#find-count", Static)
        if problem:
            count.update(literal(problem))
        elif not cards:
            count.update(
                literal(
                    f"Nobody found for {text.strip()!r}, open or closed" if text.strip() else ""
                )
            )
        else:
            closed = sum(card.closed_at is not None for card in cards)
            more = " (the first 50: type more to narrow)" if len(cards) >= 50 else ""
            count.update(literal(f"{len(cards)} found, {closed} closed{more}"))
            results.highlighted = 0
            if then_focus:
                results.focus()

    def _initials(self) -> bool:
        # The board's privacy setting: with `initials`, nobody's full name is on screen.
        return getattr(self.app, "privacy", "names") == "initials"

    def action_results(self) -> None:
        if self.cards:
            self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        from d2a_tui.screens.journey import JourneyScreen

        if event.option.id is not None:
            self.app.push_screen(JourneyScreen(event.option.id))

    def action_back(self) -> None:
        results = self.query_one(OptionList)
        if results.has_focus:
            self.query_one("#find-input", Input).focus()
            return
        self.dismiss()
