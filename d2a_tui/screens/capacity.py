"""The capacity screen (`c` from the board): every service's latest report, how old it is, and
demand against capacity per pathway.

A provider updates vacancies with two key presses and a number: `v`, the number, Enter. `x` does
the same for vacancies closed to admissions, `f` takes a full report ("total occupied [closed]").
A refused value stays in the box with the reason, so nothing typed is lost. Reads run in a
worker and writes through the app's command runner (`HubScreen`): with the database away the
last figures stay under the banner and a report typed then stays in the box.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Input, Static

from d2a_tui.domain.timefmt import humanise
from d2a_tui.screens.base import DatabaseBanner, HubScreen
from d2a_tui.widgets.charts import spark
from d2a_tui.widgets.keys import TextInput
from d2a_tui.widgets.literal import cell, literal

if TYPE_CHECKING:
    from d2a_tui.services.hub import Hub

PROMPTS = {
    "vacant": "Vacancies now at {name} ({unit}), then Enter",
    "closed": "Vacancies closed to admissions at {name}, then Enter",
    "full": "Full report for {name}: total occupied [closed], e.g. 40 35 1, then Enter",
}
UNIT_SHORT = {"hours": "h/wk", "packages": "pkgs", "beds": "beds"}
# Below this width (the night team's 80-column thin clients) the tables drop the columns a
# provider needs least, so what is left fits without scrolling sideways.
COMPACT_BELOW = 110
SERVICE_COLUMNS = ("Service", "Path", "Unit", "Total", "Occupied", "Vacant", "Closed",
                   "Available", "Reported", "By")  # fmt: skip
SERVICE_COLUMNS_COMPACT = ("Service", "Path", "Vacant", "Closed", "Avail", "Reported")
DEMAND_COLUMNS = ("Pathway", "Awaiting", "Arriving/day", "Places free", "Gap", "Stale",
                  "Gap, 30 days")  # fmt: skip
DEMAND_COLUMNS_COMPACT = ("Path", "Awaiting", "Per day", "Free", "Gap", "Stale", "Gap, 14 days")
COMPACT_NAME = 24


class CapacityScreen(HubScreen[None]):
    SHOWING = "the capacity"
    DEFAULT_CSS = """
    CapacityScreen { layout: vertical; }
    CapacityScreen #capacity-title { height: 1; padding: 0 1; text-style: bold; }
    CapacityScreen #services { height: 1fr; }
    CapacityScreen #demand { height: auto; max-height: 6; margin-top: 1; }
    CapacityScreen #quick-box { height: auto; display: none; }
    CapacityScreen #quick-box.open { display: block; }
    CapacityScreen #quick-prompt { padding: 0 1; }
    CapacityScreen #history { height: auto; max-height: 8; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="capacity.back"),
        Binding("v", "quick('vacant')", "Vacancies", id="capacity.vacant"),
        Binding("x", "quick('closed')", "Closed", id="capacity.closed"),
        Binding("f", "quick('full')", "Full report", id="capacity.full"),
        Binding("H", "history", "History", id="capacity.history"),
        Binding("r", "reload", "Refresh", show=False, id="capacity.refresh"),
    ]

    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self.hub = hub
        self.mode: str | None = None
        self.service_ids: list[str] = []
        self.statuses: list[Any] = []
        self.compact = False
        self._figures: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        yield DatabaseBanner()
        yield Static("Capacity", id="capacity-title")
        self.compact = self.app.size.width < COMPACT_BELOW
        services: DataTable[Any] = DataTable(id="services", cursor_type="row", zebra_stripes=True)
        services.add_columns(*(SERVICE_COLUMNS_COMPACT if self.compact else SERVICE_COLUMNS))
        yield services
        demand: DataTable[Any] = DataTable(id="demand", cursor_type="row", show_cursor=False)
        demand.add_columns(*(DEMAND_COLUMNS_COMPACT if self.compact else DEMAND_COLUMNS))
        demand.can_focus = False
        yield demand
        yield Static("", id="history")
        with Vertical(id="quick-box"):
            yield Static("", id="quick-prompt")
            yield TextInput(id="quick", placeholder="a number")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_status()
        self.reload()
        self.query_one("#services", DataTable).focus()

    # --- data ----------------------------------------------------------------------------------

    def reload(self) -> None:
        capacity = self.hub.capacity

        def fetch() -> tuple[Any, ...]:
            return capacity.statuses(), capacity.trend(), capacity.gap_by_pathway(), self.hub.now()

        self.read(fetch, self._show)

    def on_resize(self) -> None:
        compact = self.size.width < COMPACT_BELOW
        if compact == self.compact:
            return
        self.compact = compact
        services = self.query_one("#services", DataTable)
        services.clear(columns=True)
        services.add_columns(*(SERVICE_COLUMNS_COMPACT if compact else SERVICE_COLUMNS))
        demand = self.query_one("#demand", DataTable)
        demand.clear(columns=True)
        demand.add_columns(*(DEMAND_COLUMNS_COMPACT if compact else DEMAND_COLUMNS))
        if self._figures is not None:
            self._show(self._figures)

    def _show(self, figures: tuple[Any, ...]) -> None:
        self._figures = figures
        statuses, trend, gaps, now = figures
        self.statuses = list(statuses)
        table = self.query_one("#services", DataTable)
        keep = table.cursor_row
        table.clear()
        self.service_ids = []
        # Narrow: the words every service's name starts with (the locality, usually) say nothing.
        shared = _shared_start([status.service.name for status in statuses])
        for status in statuses:
            service, latest = status.service, status.latest
            numbers: list[Any] = (
                [latest.total, latest.occupied, latest.vacant, latest.closed, latest.available]
                if latest
                else ["-"] * 5
            )
            age = "never" if status.age is None else humanise(status.age) + " ago"
            reported = cell(("STALE " if status.stale else "") + age,
                            "bold yellow" if status.stale else "")  # fmt: skip
            if self.compact:
                name = service.name[len(shared) :]
                if len(name) > COMPACT_NAME:
                    # Keep both ends: "Community Hospital Ward A" and "… Ward B" must differ.
                    head = (COMPACT_NAME - 1) * 2 // 3
                    name = name[:head] + "…" + name[-(COMPACT_NAME - 1 - head) :]
                table.add_row(
                    cell(name), cell(service.pathway),
                    *(cell(n, justify="right") for n in numbers[2:]),
                    reported, key=service.id,
                )  # fmt: skip
            else:
                table.add_row(
                    cell(service.name), cell(service.pathway),
                    cell(UNIT_SHORT.get(service.unit, service.unit)),
                    *(cell(n, justify="right") for n in numbers), reported,
                    cell(latest.reported_by if latest else ""), key=service.id,
                )  # fmt: skip
            self.service_ids.append(service.id)
        if self.service_ids:
            table.move_cursor(row=min(max(keep, 0), len(self.service_ids) - 1))
        stale = sum(1 for s in statuses if s.stale)
        at = now.astimezone().strftime("%a %d %b %H:%M")
        self.query_one("#capacity-title", Static).update(
            literal(
                f"Capacity at {at}: {len(statuses)} services, {stale} with stale reports (over 24h)"
            )
        )
        self._show_demand(trend, gaps)

    def _show_demand(self, trend: Any, gaps: Any) -> None:
        table = self.query_one("#demand", DataTable)
        table.clear()
        for pathway, gap in gaps.items():
            shown = "-" if gap.gap is None else f"{gap.gap:+d}"
            style = "bold red" if gap.gap is not None and gap.gap < 0 else "green"
            table.add_row(
                cell(pathway),
                cell(gap.awaiting, justify="right"),
                cell(f"{gap.arriving_per_day:.1f}", justify="right"),
                cell("-" if gap.available is None else gap.available, justify="right"),
                cell(shown, style, justify="right"),
                cell(gap.stale, justify="right"),
                cell(spark([d.gap for d in trend.get(pathway, [])][-14 if self.compact else 0 :])),
                key=pathway,
            )

    def _status(self, service_id: str) -> Any | None:
        return next((s for s in self.statuses if s.service.id == service_id), None)

    def selected(self) -> str | None:
        table = self.query_one("#services", DataTable)
        if not self.service_ids or table.cursor_row < 0:
            return None
        return self.service_ids[min(table.cursor_row, len(self.service_ids) - 1)]

    # --- actions -------------------------------------------------------------------------------

    def action_back(self) -> None:
        if self.mode is not None:
            self._close_quick()
            return
        self.dismiss()

    def action_reload(self) -> None:
        self.reload()

    def action_quick(self, mode: str) -> None:
        service_id = self.selected()
        if service_id is None:
            self.notify("No services yet: add one with `d2a service add`", severity="warning")
            return
        status = self._status(service_id)
        if status is None:
            return
        service = status.service
        self.mode = mode
        self.query_one("#quick-prompt", Static).update(
            literal(PROMPTS[mode].format(name=service.name, unit=service.unit), " (Esc cancels)")
        )
        box = self.query_one("#quick-box")
        box.add_class("open")
        field = self.query_one("#quick", Input)
        field.value = ""
        field.focus()

    def _close_quick(self) -> None:
        self.mode = None
        self.query_one("#quick-box").remove_class("open")
        self.query_one("#services", DataTable).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        service_id, mode = self.selected(), self.mode
        if service_id is None or mode is None:
            return
        try:
            numbers = [int(part) for part in event.value.replace(",", " ").split()]
        except ValueError:
            self.notify(f"{event.value!r} is not a whole number", severity="error")
            return
        capacity = self.hub.capacity
        status = self._status(service_id)
        if mode == "vacant" and len(numbers) == 1:
            report = self.run_command(lambda: capacity.update_vacancies(service_id, numbers[0]))
        elif mode == "closed" and len(numbers) == 1:
            latest = status.latest if status is not None else None
            if latest is None:
                self.notify(
                    "no capacity report yet: give a full report first (f)", severity="error"
                )
                return
            report = self.run_command(
                lambda: capacity.report(
                    service_id, total=latest.total, occupied=latest.occupied, closed=numbers[0]
                )
            )
        elif mode == "full" and len(numbers) in (2, 3):
            report = self.run_command(
                lambda: capacity.report(
                    service_id, total=numbers[0], occupied=numbers[1],
                    closed=numbers[2] if len(numbers) == 3 else 0,
                )
            )  # fmt: skip
        else:
            want = "total occupied [closed]" if mode == "full" else "one number"
            self.notify(f"type {want}", severity="error")
            return
        if report is None:
            return  # refused or not saved, and said why: the typed value stays in the box
        name = status.service.name if status is not None else service_id
        self.notify(
            f"{name}: {report.vacant} vacant ({report.closed} closed), "
            f"{report.available} available",
            timeout=4,
        )
        self._close_quick()
        self.reload()

    def action_history(self) -> None:
        service_id = self.selected()
        if service_id is None:
            return
        capacity = self.hub.capacity
        self.read(lambda: capacity.history(service_id, days=30)[:6], self._show_history,
                  group="history")  # fmt: skip

    def _show_history(self, rows: list[Any]) -> None:
        lines = [
            f"{r.reported_at.astimezone():%d %b %H:%M}  total {r.total}  occupied {r.occupied}  "
            f"vacant {r.vacant}  closed {r.closed}  by {r.reported_by}"
            for r in rows
        ]
        self.query_one("#history", Static).update(
            literal(
                "\n".join(["Latest reports (newest first):", *lines])
                if lines
                else "No reports yet.",
                lines=True,
            )
        )


def _shared_start(names: list[str]) -> str:
    """The whole words (with their spaces) that begin every name, when there are several."""
    if len(names) < 2:
        return ""
    first = names[0].split(" ")
    words = 0
    while words < len(first) - 1 and all(
        name.split(" ")[: words + 1] == first[: words + 1] and len(name.split(" ")) > words + 1
        for name in names
    ):
        words += 1
    return " ".join(first[:words]) + " " if words else ""
