"""Small modal dialogs the quick actions use: pick one of a list (searchable), or type a value.

Each returns its answer through `dismiss`, or None on escape, so a caller chains them with
`push_screen(..., callback)` and nothing is saved until the last answer is in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from d2a_tui.domain.calendar import parse_day
from d2a_tui.widgets.keys import TextInput
from d2a_tui.widgets.literal import literal

CLEAR = "\x00clear"  # a choice value no real code can collide with: "clear the current value"


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


class ChoiceScreen(ModalScreen[str | None]):
    """A list to pick from; typing narrows it (every word must match), enter picks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("down", "cursor(1)", "Next", show=False, id="picker.down"),
        Binding("up", "cursor(-1)", "Previous", show=False, id="picker.up"),
        Binding("pagedown", "cursor(10)", show=False, id="picker.pagedown"),
        Binding("pageup", "cursor(-10)", show=False, id="picker.pageup"),
    ]

    def __init__(
        self,
        title: str,
        choices: Sequence[Choice],
        *,
        current: str | None = None,
        hint: str = "type to narrow · ↑↓ choose · enter pick · esc cancel",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.current = current
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="picker"):
            yield Label(literal(self.title_text), id="dialog-title")
            yield TextInput(placeholder="search", id="picker-search")
            yield OptionList(id="picker-options")
            yield Static(literal(self.hint), id="dialog-hint")

    def on_mount(self) -> None:
        self._show("")
        self.query_one(Input).focus()

    def _show(self, query: str) -> None:
        words = query.lower().split()
        options = self.query_one(OptionList)
        shown = [
            choice
            for choice in self.choices
            if all(word in f"{choice.value} {choice.label}".lower() for word in words)
        ]
        options.set_options(Option(literal(choice.label), id=choice.value) for choice in shown)
        if shown:
            values = [choice.value for choice in shown]
            keep = values.index(self.current) if self.current in values and not words else 0
            options.highlighted = keep

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        option = self.query_one(OptionList).highlighted_option
        if option is None:
            self.notify("Nothing matches: change the search or press esc", severity="warning")
            return
        self.dismiss(option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cursor(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count == 0:
            return
        current = options.highlighted if options.highlighted is not None else 0
        options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextPrompt(ModalScreen[str | None]):
    """One line of text; `check` returns why the value is not acceptable, shown under the field."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel")
    ]

    def __init__(
        self,
        title: str,
        *,
        value: str = "",
        placeholder: str = "",
        hint: str = "enter save · esc cancel",
        check: Callable[[str], str | None] | None = None,
        max_length: int = 0,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.hint = hint
        self.check = check
        self.max_length = max_length

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="prompt"):
            yield Label(literal(self.title_text), id="dialog-title")
            yield TextInput(
                self.value,
                placeholder=self.placeholder,
                id="prompt-input",
                max_length=self.max_length,
            )
            yield Label("", id="prompt-error", classes="field-error")
            yield Static(literal(self.hint), id="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        problem = self.check(event.value) if self.check else None
        if problem:
            self.query_one("#prompt-error", Label).update(literal(problem))
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


def parse_user_date(text: str, today: date) -> date | None:
    """A date as people type it (the CLI's reading too: `calendar.parse_day`); blank is None."""
    if not text.strip():
        return None
    return parse_day(text, today)
