"""`?`: every key in force on the screen below, as remapped, with the id to remap it by."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from d2a_tui.domain.stuck import Level
from d2a_tui.widgets.card import LEVEL_WORDS, SYMBOLS

LEGEND = (
    f"{SYMBOLS[Level.OK]} {LEVEL_WORDS[Level.OK]}   {SYMBOLS[Level.AMBER]} amber: past the column's "
    f"amber time, or discharge-ready/length-of-stay limits   {SYMBOLS[Level.RED]} red: past red\n"
    "Card: name · last 4 of the NHS number / ward/bed · pathway · delay code / "
    "time in column · DRD+days since discharge-ready · ✎notes · @assigned\n"
    "Column header: count · red and amber counts · oldest wait · on Awaiting P1/P2/P3 the "
    "gap: places open minus people awaiting (gap −4: four more people than places)\n"
    "Filter words: any part of a name, NHS number, ward or bed; P1; a delay code; "
    "stuck, red, amber; mine\n"
    "⇧←→ steps along the journey's own pathway; a pathway changes only with m, naming the "
    "column. u undoes your changes one by one, U redoes\n"
    'Remap a key in the config file:  [keys]  card.move_right = "ctrl+right"'
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Keys in force", id="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(self._table(), id="help-keys", markup=False)
                yield Static(LEGEND, id="help-legend", markup=False)
            yield Static("esc close", id="dialog-hint")

    def _table(self) -> str:
        rows: dict[tuple[str, str], list[str]] = {}
        for key, active in self.below.active_bindings.items():
            binding = active.binding
            if not binding.description:
                continue
            shown = self.app.get_key_display(binding.with_key(key))
            rows.setdefault((binding.description, binding.id or ""), []).append(shown)
        lines = [f"{'key':<16}{'does':<26}id (to remap)"]
        for (description, binding_id), keys in rows.items():
            lines.append(f"{' '.join(keys):<16}{description:<26}{binding_id}")
        return "\n".join(lines)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
