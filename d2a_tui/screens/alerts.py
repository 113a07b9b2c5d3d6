"""The alerts screen (`!` from the board): every stuck journey, worst first, with why.

`a` acknowledges the selected alert: a reason (required, it goes into the journey's audited
log) and how long to snooze it (default 24h, at most 7 days). `s` shows or hides snoozed alerts.
While the screen is open it looks again every ALERT_POLL seconds; a journey that newly turns red
raises a notification, and rings the terminal bell when the bell is enabled in the settings.
Every look runs in a worker (`HubScreen`); with the database away the last list stays under the
banner, and an acknowledgement is refused with the reason, through the app's command runner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Label, Static

from d2a_tui.domain.timefmt import humanise
from d2a_tui.screens.base import DatabaseBanner, HubScreen
from d2a_tui.widgets.keys import TextInput
from d2a_tui.widgets.literal import cell, literal

if TYPE_CHECKING:
    from d2a_tui.services.hub import Hub

ALERT_POLL = 30.0
LEVEL_STYLE = {"red": "bold red", "amber": "yellow"}


class AcknowledgeScreen(ModalScreen[tuple[str, str] | None]):
    """Asks for the reason and the snooze; Enter in the reason box saves, Esc cancels."""

    DEFAULT_CSS = """
    AcknowledgeScreen { align: center middle; }
    AcknowledgeScreen > Vertical {
        width: 70; height: auto; padding: 1 2; border: round $warning; background: $surface;
    }
    AcknowledgeScreen Input { margin-bottom: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, who: str) -> None:
        super().__init__()
        self.who = who

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(literal(f"Acknowledge the alert for {self.who}"))
            yield Label("Snooze for (e.g. 4h, 1d; at most 7d):")
            yield TextInput(value="24h", id="snooze")
            yield Label("Reason (recorded in the journey's log):")
            yield TextInput(placeholder="e.g. care home assessing tomorrow", id="reason")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        reason = self.query_one("#reason", Input).value.strip()
        if event.input.id == "snooze":
            self.query_one("#reason", Input).focus()
            return
        if not reason:
            self.notify("Give a reason: it goes into the journey's log", severity="error")
            return
        self.dismiss((reason, self.query_one("#snooze", Input).value.strip() or "24h"))

    def action_cancel(self) -> None:
        self.dismiss(None)


class AlertsScreen(HubScreen[None]):
    SHOWING = "the alerts"
    DEFAULT_CSS = """
    AlertsScreen #alerts-title { height: 1; padding: 0 1; text-style: bold; }
    AlertsScreen #alerts { height: 1fr; }
    AlertsScreen #why { height: auto; max-height: 6; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="alerts.back"),
        Binding("a", "acknowledge", "Acknowledge", id="alerts.acknowledge"),
        Binding("s", "toggle_snoozed", "Snoozed", id="alerts.snoozed"),
        Binding("r", "reload", "Refresh", id="alerts.refresh"),
    ]

    def __init__(self, hub: Hub, *, poll: float | None = ALERT_POLL) -> None:
        super().__init__()
        self.hub = hub
        self.poll = poll
        self.show_snoozed = True
        self.alerts: list[Any] = []
        self.seen_red: set[str] | None = None

    def compose(self) -> ComposeResult:
        yield DatabaseBanner()
        yield Static("Alerts", id="alerts-title")
        table: DataTable[Text] = DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        table.add_columns("Level", "Who", "Where", "Path", "Ready", "LoS", "In column",
                          "Assigned", "Why", "Snoozed")  # fmt: skip
        yield table
        yield Static("", id="why")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_status()
        self.reload()
        self.query_one("#alerts", DataTable).focus()
        if self.poll:
            self.set_interval(self.poll, self.check_new_reds)

    def _who(self, card: Any) -> str:
        initials = getattr(self.app, "privacy", "names") == "initials"
        return card.initials if initials else card.name

    def reload(self) -> None:
        alerts, show_snoozed = self.hub.alerts, self.show_snoozed

        def fetch() -> tuple[list[Any], set[str] | None]:
            shown = alerts.list(include_snoozed=show_snoozed)
            # What is red when the screen opens is on it already: only later reds are news.
            seen = None if self.seen_red is not None else alerts.newly_red(None)[1]
            return shown, seen

        self.read(fetch, self._show)

    def _show(self, fetched: tuple[list[Any], set[str] | None]) -> None:
        self.alerts, seen = fetched
        if self.seen_red is None:
            self.seen_red = seen
        table = self.query_one("#alerts", DataTable)
        keep = table.cursor_row
        table.clear()
        for alert in self.alerts:
            card = alert.card
            snoozed = (
                f"until {alert.snoozed_until.astimezone():%d %b %H:%M}"
                if alert.snoozed_until
                else ""
            )
            why = alert.reasons[0] + (
                f" (+{len(alert.reasons) - 1})" if len(alert.reasons) > 1 else ""
            )
            table.add_row(
                cell(alert.level.label.upper(), "dim" if alert.snoozed else LEVEL_STYLE[alert.level.label]),
                cell(self._who(card)),
                cell(alert.column_name),
                cell(card.pathway or "-"),
                cell("-" if alert.days_ready is None else f"{alert.days_ready}d"),
                cell("-" if alert.los_days is None else f"{alert.los_days}d"),
                cell(humanise(alert.waited)),
                cell(card.assigned_to or "unassigned"),
                cell(why),
                cell(snoozed),
                key=card.journey_id,
            )  # fmt: skip
        if self.alerts:
            table.move_cursor(row=min(max(keep, 0), len(self.alerts) - 1))
        red = sum(1 for a in self.alerts if a.level.label == "red" and not a.snoozed)
        amber = sum(1 for a in self.alerts if a.level.label == "amber" and not a.snoozed)
        snoozed_count = sum(1 for a in self.alerts if a.snoozed)
        self.query_one("#alerts-title", Static).update(
            literal(
                f"Alerts: {red} red, {amber} amber",
                f", {snoozed_count} snoozed" if self.show_snoozed else " (snoozed hidden: s)",
            )
        )
        self._show_why()

    def _selected(self) -> Any | None:
        table = self.query_one("#alerts", DataTable)
        if not self.alerts or table.cursor_row < 0:
            return None
        return self.alerts[min(table.cursor_row, len(self.alerts) - 1)]

    def _show_why(self) -> None:
        alert = self._selected()
        text = "" if alert is None else "\n".join(f"• {reason}" for reason in alert.reasons)
        if alert is not None and alert.los_band:
            text += f"\n• length-of-stay band: {alert.los_band}"
        self.query_one("#why", Static).update(literal(text, lines=True))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_why()

    def check_new_reds(self) -> None:
        if self.seen_red is None:
            return  # the first read has not come back yet
        alerts, seen = self.hub.alerts, set(self.seen_red)
        self.read(lambda: alerts.newly_red(seen), self._new_reds, group="new-reds")

    def _new_reds(self, result: tuple[list[Any], set[str]]) -> None:
        fresh, self.seen_red = result
        if not fresh:
            return
        for alert in fresh[:3]:
            self.notify(
                f"{self._who(alert.card)} turned red: {alert.reasons[0]}",
                title="New red alert",
                severity="error",
                timeout=10,
            )
        if len(fresh) > 3:
            self.notify(f"and {len(fresh) - 3} more turned red", severity="error")
        settings = getattr(self.app, "settings", None)
        if settings is not None and getattr(settings, "bell", False):
            self.app.bell()
        self.reload()

    def action_back(self) -> None:
        self.dismiss()

    def action_reload(self) -> None:
        self.reload()

    def action_toggle_snoozed(self) -> None:
        self.show_snoozed = not self.show_snoozed
        self.reload()

    def action_acknowledge(self) -> None:
        alert = self._selected()
        if alert is None:
            return
        journey_id = alert.card.journey_id

        def done(answer: tuple[str, str] | None) -> None:
            if answer is None:
                return
            reason, snooze = answer
            change = self.run_command(
                lambda: self.hub.alerts.acknowledge(journey_id, reason, snooze=snooze)
            )
            if change is None:
                return  # refused or not saved; the runner said why
            until = change.card.acknowledged_until
            self.notify(
                f"Acknowledged; snoozed until {until.astimezone():%d %b %H:%M}"
                if until
                else "Acknowledged",
                timeout=4,
            )
            self.reload()

        self.app.push_screen(AcknowledgeScreen(self._who(alert.card)), done)
