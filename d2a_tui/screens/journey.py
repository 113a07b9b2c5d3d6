"""One journey: who, where, how long, and every event of its timeline, with the quick actions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import DataTable, Footer, Static

from d2a_tui.domain.delays import delay_reason
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.events import EventKind
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.nhs_number import format_nhs_number
from d2a_tui.domain.outcomes import OUTCOMES
from d2a_tui.domain.stuck import los_band
from d2a_tui.domain.timefmt import humanise
from d2a_tui.domain.views import Card, JourneyView
from d2a_tui.screens.actions import QUICK_BINDINGS, QuickActions
from d2a_tui.screens.base import DatabaseBanner, HubScreen
from d2a_tui.services.hub import Change, DatabaseUnavailable
from d2a_tui.widgets.card import LEVEL_WORDS, SYMBOLS, describe
from d2a_tui.widgets.literal import NEWLINE, ContentPart, literal, literal_content

if TYPE_CHECKING:
    from d2a_tui.screens.base import HostApp

_MOVES = (EventKind.REFERRED, EventKind.MOVED, EventKind.CLOSED, EventKind.REOPENED)
# The quick actions that change the open journey itself: none applies to a closed one.
CHANGES_TO_AN_OPEN_JOURNEY = frozenset(
    {"move_step", "move_to", "delay", "note", "ready_date", "assign", "offer"}
)


def time_in_columns(view: JourneyView, now: datetime) -> list[tuple[str, timedelta]]:
    """Each stay in a column, in order, with how long it lasted (the current one until `now`)."""
    stays: list[tuple[str, datetime]] = []
    for entry in view.timeline:
        event = entry.event
        if event.kind in _MOVES:
            column = event.payload.get("column") or event.payload.get("to")
            stays.append((str(column), event.occurred_at))
    result: list[tuple[str, timedelta]] = []
    for i, (column, entered) in enumerate(stays):
        left = stays[i + 1][1] if i + 1 < len(stays) else None
        if left is None and view.card.closed_at is not None:
            break  # the closed column is where the journey ends, not a stay
        result.append((column, (left or now) - entered))
    return result


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%a %d %b %H:%M")


def _day(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "—"


class JourneyScreen(QuickActions, HubScreen[None]):
    app: HostApp
    SHOWING = "the journey"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", id="journey.back"),
        *QUICK_BINDINGS,
        Binding("ctrl+r", "reload", "Reload", show=False, id="journey.reload"),
        Binding("o", "reopen", "Reopen", id="journey.reopen"),
    ]

    def __init__(self, journey_id: str) -> None:
        super().__init__(id="journey")
        self.journey_id = journey_id
        self.view: JourneyView | None = None

    def compose(self) -> ComposeResult:
        yield DatabaseBanner()
        yield Static("", id="journey-details")
        yield Static("", id="journey-columns")
        table: DataTable[Text] = DataTable(
            id="journey-timeline", cursor_type="row", zebra_stripes=True
        )
        yield table
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("when", "who", "what")
        self.refresh_status()
        self.load()
        table.focus()

    def load(self) -> None:
        hub, journey_id = self.app.hub, self.journey_id
        # The first load is the look the audit records; reloads after a change are not.
        purpose = "journey_screen" if self.view is None else None
        self.read(
            lambda: hub.journey(journey_id, purpose=purpose), self._loaded, failed=self._not_loaded
        )

    def reload(self) -> None:
        self.load()

    def _loaded(self, view: JourneyView) -> None:
        self.view = view
        self._show(view)
        self.refresh_bindings()

    def _not_loaded(self, error: Exception) -> None:
        # Not found (or not readable): nothing to show, so back to where the user came from.
        # With the database away the screen waits under the banner and reads again on its return.
        if self.view is None and not isinstance(error, DatabaseUnavailable):
            self.dismiss()

    def _show(self, view: JourneyView) -> None:
        hub = self.app.hub
        flow: Flow = hub.flow
        card = view.card
        now = hub.now()
        self.query_one("#journey-details", Static).update(self._details(view, now))
        stays = time_in_columns(view, now)
        text = "Time in each column: " + " → ".join(
            f"{_column_name(flow, column)} {humanise(spent)}" for column, spent in stays
        )
        if card.closed_at is not None:
            text += f" → Closed {_local(card.closed_at)}"
        self.query_one("#journey-columns", Static).update(literal(text))
        table = self.query_one(DataTable)
        table.clear()
        for entry in view.timeline:
            event = entry.event
            table.add_row(
                literal(_local(event.occurred_at)),
                literal(event.actor),
                literal(describe(event, flow)),
            )
        table.move_cursor(row=table.row_count - 1)

    def _details(self, view: JourneyView, now: datetime) -> Content:
        hub = self.app.hub
        card = view.card
        column = hub.flow.column(card.column)
        stuck = hub.stuck(card, now)
        age = (now.date() - card.date_of_birth).days // 365
        place = "/".join(part for part in (card.ward, card.bed) if part) or "—"
        parts: list[ContentPart] = [
            (card.name, "bold"),
            f"  NHS {format_nhs_number(card.nhs_number)}  born {_day(card.date_of_birth)} "
            f"(age {age})  {view.locality or ''}",
            NEWLINE,
            (column.name, "bold"),
            f" for {humanise(now - card.entered_column_at)} · "
            f"pathway {card.pathway or 'not decided'} · ward/bed {place} · "
            f"journey {card.short_id} v{card.version}",
            NEWLINE,
        ]
        stay = []
        if card.admitted_on:
            los = (now.date() - card.admitted_on).days
            band = los_band(los)
            stay.append(
                f"admitted {_day(card.admitted_on)} (length of stay {los}d{', ' + band if band else ''})"
            )
        if card.discharge_ready_date:
            ready = (now.date() - card.discharge_ready_date).days
            stay.append(f"discharge-ready {_day(card.discharge_ready_date)} (DRD+{ready}d)")
        else:
            stay.append("no discharge-ready date")
        if card.expected_discharge_date:
            stay.append(f"expected discharge {_day(card.expected_discharge_date)}")
        if card.discharged_at:
            stay.append(f"discharged {_local(card.discharged_at)}")
        parts += [" · ".join(stay), NEWLINE]
        if card.delay_reason:
            try:
                reason = delay_reason(card.delay_reason).text
            except D2AError:
                reason = ""
            parts += [f"delay {card.delay_reason}: {reason}", NEWLINE]
        who = f"assigned to {card.assigned_to}" if card.assigned_to else "not assigned"
        outcome = f" · outcome {OUTCOMES.get(card.outcome, card.outcome)}" if card.outcome else ""
        parts += [f"{who} · {card.notes} note(s){outcome}", NEWLINE]
        level = SYMBOLS[stuck.level] + " " + LEVEL_WORDS[stuck.level]
        colour = {"red": "$text-error", "amber": "$text-warning"}.get(LEVEL_WORDS[stuck.level])
        reasons = "; ".join(stuck.reasons) or "within its thresholds"
        parts += [(level, colour) if colour else level, f": {reasons}"]
        return literal_content(*parts)

    # --- QuickActions hooks --------------------------------------------------------------------

    def selected_card(self) -> Card | None:
        if self.view is None:
            return None
        if self.view.card.closed_at is not None:
            self.app.notify("The journey is closed", severity="warning")
            return None
        return self.view.card

    def show_change(self, change: Change) -> None:
        self.load()

    def action_back(self) -> None:
        self.dismiss()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A key is offered (and shown in the footer) only where it can do something: `o` on a
        # closed journey; the journey's own changes (move, delay, note, …) on an open one. Undo
        # and redo are the board's, whatever journey is open.
        closed = self.view is not None and self.view.card.closed_at is not None
        if action == "reopen":
            return closed
        if action in CHANGES_TO_AN_OPEN_JOURNEY:
            return not closed
        return True

    def action_reopen(self) -> None:
        from d2a_tui.screens.reopen import ask_and_reopen

        ask_and_reopen(self)

    def action_reload(self) -> None:
        self.load()


def _column_name(flow: Flow, column_id: str) -> str:
    try:
        return flow.column(column_id).name
    except D2AError:
        return column_id
