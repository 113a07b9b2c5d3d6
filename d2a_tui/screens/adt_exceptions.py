"""The ADT exceptions screen (`x` from the board): what the hospital's feed holds for a person.

Admissions of people not yet referred (`f` refers the selected one, with the feed's admission
date and ward), hospital discharges of journeys still waiting in a hospital column, dates of birth
that differ from the hub's record and merges of two open journeys. `r` resolves the selected entry
with a note of what was done; `a` shows the resolved ones too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from d2a_tui.domain.errors import D2AError
from d2a_tui.widgets.keys import TextInput
from d2a_tui.widgets.literal import literal

if TYPE_CHECKING:
    from d2a_tui.services.hub import Hub

KIND_WORDS = {
    "admitted": "Admitted, not referred",
    "discharged": "Discharged by the hospital",
    "mismatch": "Date of birth differs",
    "merge": "Merge needs a person",
    "reopen": "Discharge cancelled, closed",
    "died": "Died in hospital",
}


class NoteScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    NoteScreen { align: center middle; }
    NoteScreen > Vertical {
        width: 70; height: auto; padding: 1 2; border: round $warning; background: $surface;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("What was done? (kept with the entry)")
            yield TextInput(placeholder="e.g. DOB corrected on the PAS", id="note")

    def on_mount(self) -> None:
        self.query_one("#note", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class AdtExceptionsScreen(Screen[None]):
    DEFAULT_CSS = """
    AdtExceptionsScreen { layout: vertical; }
    AdtExceptionsScreen #adt-title { height: 1; padding: 0 1; text-style: bold; }
    AdtExceptionsScreen #adt-list { height: 1fr; }
    AdtExceptionsScreen #adt-detail { height: auto; max-height: 4; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="adt.back"),
        Binding("f", "refer", "Refer", id="adt.refer"),
        Binding("r", "resolve", "Resolve", id="adt.resolve"),
        Binding("a", "toggle_resolved", "Resolved too", id="adt.resolved"),
    ]

    def __init__(self, hub: Hub) -> None:
        super().__init__(id="adt-screen")
        from d2a_tui.interop.desk import AdtDesk

        self.hub = hub
        self.desk = AdtDesk(hub)
        self.show_resolved = False
        self.rows: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static("ADT exceptions", id="adt-title")
        yield OptionList(id="adt-list")
        yield Static("", id="adt-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#adt-list", OptionList).focus()

    def _who(self, row: dict[str, Any]) -> str:
        name = row["name"] or "?"
        if getattr(self.app, "privacy", "names") == "initials":
            name = "".join(part[0] for part in name.split() if part)
        nhs = row["nhs_number"] or "??????????"
        return f"{name} …{nhs[-4:]}"

    def reload(self) -> None:
        options = self.query_one("#adt-list", OptionList)
        keep = options.highlighted or 0
        # The exceptions (work waiting for a person), then the admissions of people not yet
        # referred (a list to refer from, newest first), each marked for what it is.
        self.rows = self.desk.exceptions(include_resolved=self.show_resolved)
        waiting = sum(1 for row in self.rows if not row["resolved_at"])
        admissions = self.desk.admissions(include_done=self.show_resolved)
        self.rows += admissions
        options.clear_options()
        for row in self.rows:
            line = literal(
                ("✓ " if row["resolved_at"] else "⚠ ", "dim" if row["resolved_at"] else "bold"),
                (f"{KIND_WORDS.get(row['kind'], row['kind']):<28}", "bold"),
                f"{row['created_at']:%d %b %H:%M}  {self._who(row)}  {row['reason']}",
            )
            options.add_option(Option(line, id=row["id"]))
        if self.rows:
            options.highlighted = min(keep, len(self.rows) - 1)
        self.query_one("#adt-title", Static).update(
            literal(
                f"ADT exceptions: {waiting} waiting · {len(admissions)} admission(s) not referred"
            )
        )
        self.query_one("#adt-detail", Static).update(
            literal("" if self.rows else "Nothing from the hospital's feed needs a person.")
        )

    def _selected(self) -> dict[str, Any] | None:
        index = self.query_one("#adt-list", OptionList).highlighted
        if index is None or index >= len(self.rows):
            return None
        return self.rows[index]

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_toggle_resolved(self) -> None:
        self.show_resolved = not self.show_resolved
        self.reload()

    def action_refer(self) -> None:
        row = self._selected()
        if row is None:
            return
        try:
            journey_id = self.desk.refer(row["id"])
        except D2AError as error:
            self.app.notify(str(error), severity="error")
            return
        self.app.notify(f"Referred: journey {journey_id[:8]}")
        self.reload()

    def action_resolve(self) -> None:
        row = self._selected()
        if row is None:
            return

        def resolved(note: str | None) -> None:
            if not note:
                return
            try:
                self.desk.resolve(row["id"], note)
            except D2AError as error:
                self.app.notify(str(error), severity="error")
                return
            self.reload()

        self.app.push_screen(NoteScreen(), resolved)
