"""The dashboard (`D` from the board): the operational view (now) and the strategic view (a period).

Operational: people per column with amber/red counts, NCTR now and today's discharges by pathway
against capacity, the oldest waits. Strategic: daily discharges by pathway, NCTR by pathway per
day, length of stay in each part, delay reasons, and the pathway split against the planning
split. `1`-`4` choose the period (7, 30, 90, 365 days); `R` opens the reports; charts take the
keyboard (Tab to one, then ←/→ or ↑/↓) and show the exact numbers at the cursor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from d2a_tui.domain.delays import DELAY_REASONS
from d2a_tui.domain.flow import PATHWAYS
from d2a_tui.domain.timefmt import humanise
from d2a_tui.screens.base import DatabaseBanner, HubScreen
from d2a_tui.widgets.charts import Bar, BarChart, Series, TimeChart
from d2a_tui.widgets.literal import cell, literal

if TYPE_CHECKING:
    from d2a_tui.services.hub import Hub

PERIODS = {"1": 7, "2": 30, "3": 90, "4": 365}
STAGE_LABELS = {"hospital": "Hospital", "P1": "P1 at home", "P2": "P2 bed", "P3": "P3"}
REFRESH_SECONDS = 60.0


class DashboardScreen(HubScreen[None]):
    SHOWING = "the dashboard"
    DEFAULT_CSS = """
    DashboardScreen #dash-title { height: 1; padding: 0 1; text-style: bold; }
    /* The tabs fill what the title leaves and scroll inside, so the title never scrolls away. */
    DashboardScreen #tabs { height: 1fr; }
    DashboardScreen TabPane { height: 1fr; padding: 0; }
    DashboardScreen TabPane > VerticalScroll { height: 1fr; }
    DashboardScreen DataTable { height: auto; margin: 0 1 1 0; }
    DashboardScreen .pair { height: auto; }
    DashboardScreen .pair > * { width: 1fr; }
    DashboardScreen .pair > #columns { width: auto; }
    DashboardScreen TimeChart { height: 14; margin-bottom: 1; }
    DashboardScreen BarChart { margin-bottom: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="dashboard.back"),
        Binding("o", "show('operational')", "Operational", id="dashboard.operational"),
        Binding("s", "show('strategic')", "Strategic", id="dashboard.strategic"),
        Binding("1", "period(7)", "7d", show=False, id="dashboard.7d"),
        Binding("2", "period(30)", "30d", show=False, id="dashboard.30d"),
        Binding("3", "period(90)", "90d", show=False, id="dashboard.90d"),
        Binding("4", "period(365)", "1y", show=False, id="dashboard.1y"),
        Binding("R", "reports", "Reports", id="dashboard.reports"),
        Binding("r", "reload", "Refresh", id="dashboard.refresh"),
    ]

    def __init__(self, hub: Hub, *, days: int = 30, live: bool = True) -> None:
        super().__init__()
        self.hub = hub
        self.days = days
        self.live = live

    def compose(self) -> ComposeResult:
        yield DatabaseBanner()
        yield Static("Dashboard", id="dash-title")
        with TabbedContent(id="tabs", initial="operational"):
            with TabPane("Operational", id="operational"), VerticalScroll():
                with Horizontal(classes="pair"):
                    yield _table("columns", "Column", "People", "Amber", "Red")
                    yield _table("pathways", "Path", "NCTR now", "Discharged today",
                                 "Awaiting", "Places", "Gap")  # fmt: skip
                yield _table("oldest", "Oldest waits", "Column", "Path", "Days ready",
                             "In column", "Delay")  # fmt: skip
                yield _table("offers", "Hand-offs", "Now")
            with TabPane("Strategic", id="strategic"), VerticalScroll():
                yield TimeChart("Discharges per day by pathway", mode="stacked", id="discharges")
                yield TimeChart("No criteria to reside, end of each day, by pathway",
                                mode="lines", id="nctr")  # fmt: skip
                with Horizontal(classes="pair"):
                    yield _table("los", "Length of stay (days)", "Stays ended", "Median",
                                 "90th percentile")  # fmt: skip
                    yield BarChart("Pathway share of discharges", label_width=8, id="shares")
                yield BarChart("Delayed days by reason (patient-days NCTR)", label_width=34,
                               id="reasons")  # fmt: skip
                yield BarChart("Moves between columns (red: 90th percentile wait before the "
                               "move past the column's red time)", label_width=34,
                               id="moves")  # fmt: skip
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_status()
        self.reload()

    def reload(self) -> None:
        # In a worker (a region's figures take a moment); the next refresh is scheduled only when
        # one is done, so refreshes never pile up, and a failed one keeps the last figures.
        hub, days = self.hub, self.days

        def fetch() -> tuple[Any, Any, Any, Any]:
            return (
                hub.reports.operational(), hub.capacity.gap_by_pathway(),
                hub.reports.strategic(days), hub.offers.today(),
            )  # fmt: skip

        self.read(fetch, self._refreshed, group="dashboard", failed=self._failed)

    def refresh_in_background(self) -> None:
        if self.is_attached:
            self.reload()

    def _refreshed(self, figures: tuple[Any, Any, Any, Any]) -> None:
        self.apply(*figures)
        self._schedule()

    def _failed(self, error: Exception) -> None:
        self._schedule()

    def _schedule(self) -> None:
        if self.live:
            self.set_timer(REFRESH_SECONDS, self.refresh_in_background)

    # --- drawing -------------------------------------------------------------------------------

    def apply(self, operational: Any, gaps: Any, strategic: Any, offers: Any = None) -> None:
        amber, red = operational.stuck
        people = sum(c.total for c in operational.columns)
        self.query_one("#dash-title", Static).update(
            literal(
                f"Dashboard at {operational.at.astimezone():%a %d %b %H:%M}: {people} open, "
                f"{amber} amber, {red} red, {sum(operational.nctr.values())} NCTR, "
                f"{sum(operational.discharged_today.values())} discharged today · "
                f"period {strategic.first:%d %b}–{strategic.last:%d %b %Y}"
            )
        )
        columns = self.query_one("#columns", DataTable)
        columns.clear()
        for c in operational.columns:
            columns.add_row(cell(c.name), _n(c.total), _n(c.amber, "yellow"), _n(c.red, "bold red"))
        pathways = self.query_one("#pathways", DataTable)
        pathways.clear()
        for p in PATHWAYS:
            gap = gaps.get(p)
            shown = "-" if gap is None or gap.gap is None else f"{gap.gap:+d}"
            pathways.add_row(
                cell(p), _n(operational.nctr.get(p, 0)), _n(operational.discharged_today.get(p, 0)),
                _n(gap.awaiting) if gap else Text("-", justify="right"),
                Text("-" if gap is None or gap.available is None else str(gap.available),
                     justify="right"),
                Text(shown, justify="right",
                     style="bold red" if gap and gap.gap is not None and gap.gap < 0 else ""),
            )  # fmt: skip
        oldest = self.query_one("#oldest", DataTable)
        oldest.clear()
        initials = getattr(self.app, "privacy", "names") == "initials"
        for wait in operational.oldest:
            who = "".join(p[0] for p in wait.who.split()).upper() if initials else wait.who
            oldest.add_row(
                cell(who), cell(wait.column), cell(wait.pathway or "-"),
                _n(wait.days_ready) if wait.days_ready is not None else Text("-", justify="right"),
                cell(humanise(wait.waited)), cell(wait.delay_reason),
            )  # fmt: skip
        if offers is not None:
            self._show_offers(offers)
        days = [item.day for item in strategic.flow]
        self.query_one("#discharges", TimeChart).set_data(
            days,
            [Series(p, tuple(float(i.discharges.get(p, 0)) for i in strategic.flow))
             for p in PATHWAYS],
        )  # fmt: skip
        self.query_one("#nctr", TimeChart).set_data(
            days,
            [Series(p, tuple(float(i.nctr.get(p, 0)) for i in strategic.flow)) for p in PATHWAYS],
        )
        los = self.query_one("#los", DataTable)
        los.clear()
        for stage, spread in strategic.stages.items():
            los.add_row(
                cell(STAGE_LABELS[stage]), _n(spread.count), _n(spread.median), _n(spread.p90)
            )
        from d2a_tui.reports.service import PLANNING_SPLIT

        self.query_one("#shares", BarChart).set_data([
            Bar(p, round(strategic.shares[p], 1),
                f"{p}: {strategic.shares[p]:.1f}% of {sum(strategic.discharges.values())} "
                f"discharges (planning split {PLANNING_SPLIT[p]})",
                style="red" if _off_plan(p, strategic.shares[p]) else "green")
            for p in PATHWAYS
        ])  # fmt: skip
        texts = {reason.code: reason.text for reason in DELAY_REASONS}
        reasons = sorted(strategic.delay_days.items(), key=lambda kv: -kv[1])[:10]
        self.query_one("#reasons", BarChart).set_data([
            Bar(texts.get(code, "No delay reason recorded"), float(count),
                f"{texts.get(code, 'No delay reason recorded')}: {count} patient-days")
            for code, count in reasons
        ])  # fmt: skip
        self.query_one("#moves", BarChart).set_data(_move_bars(self.hub.flow, strategic))

    def _show_offers(self, offers: Any) -> None:
        """Offers waiting (and how many are amber or red), accepted today, declined today by
        reason; "today" is the hub's day."""
        from d2a_tui.domain.offers import DECLINE_REASONS

        table = self.query_one("#offers", DataTable)
        table.clear()
        table.add_row(cell("Offers waiting"), _n(offers.waiting))
        table.add_row(cell("  of which amber"), _n(offers.amber, "yellow"))
        table.add_row(cell("  of which red"), _n(offers.red, "bold red"))
        table.add_row(cell("Accepted today"), _n(offers.accepted_today))
        for code, text in DECLINE_REASONS.items():
            table.add_row(
                cell(f"Declined today: {text.lower()}"), _n(offers.declined_today.get(code, 0))
            )

    # --- actions -------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss()

    def action_show(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab

    def action_period(self, days: int) -> None:
        self.days = days
        self.action_show("strategic")
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_reports(self) -> None:
        self.app.push_screen(ReportScreen(self.hub, days=self.days))


class ReportScreen(HubScreen[None]):
    """The reports, from the dashboard: `s` sitrep (today, with the weekly and monthly parts),
    `l` length of stay, `f` flow and `t` moves between columns over the dashboard's period; `e`
    saves the one shown as CSV."""

    SHOWING = "the report"

    DEFAULT_CSS = """
    ReportScreen #report-title { height: auto; padding: 0 1; text-style: bold; }
    ReportScreen DataTable { height: auto; margin-bottom: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="report.back"),
        Binding("s", "show('sitrep')", "Sitrep", id="report.sitrep"),
        Binding("l", "show('los')", "Length of stay", id="report.los"),
        Binding("f", "show('flow')", "Flow", id="report.flow"),
        Binding("t", "show('transitions')", "Moves", id="report.transitions"),
        Binding("e", "export", "Save CSV", id="report.export"),
    ]

    def __init__(self, hub: Hub, *, days: int = 30) -> None:
        super().__init__()
        self.hub = hub
        self.days = days
        self.report: Any = None
        self.shown = "sitrep"

    def compose(self) -> ComposeResult:
        yield DatabaseBanner()
        yield Static("", id="report-title")
        yield VerticalScroll(id="report-tables")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_status()
        self.action_show("sitrep")

    def action_back(self) -> None:
        self.dismiss()

    def reload(self) -> None:
        self.action_show(self.shown)

    def action_show(self, name: str) -> None:
        from datetime import timedelta

        self.shown = name
        reports, days = self.hub.reports, self.days

        def fetch() -> Any:
            last = reports.today()
            first = last - timedelta(days=days - 1)
            if name == "sitrep":
                return reports.sitrep(last, week=True, month=True)
            if name == "los":
                return reports.los(first, last)
            if name == "transitions":
                return reports.transitions(first, last)
            return reports.flow(first, last)

        self.read(fetch, self._show_report)

    def _show_report(self, report: Any) -> None:
        self.report = report
        self.query_one("#report-title", Static).update(literal(self.report.title))
        holder = self.query_one("#report-tables", VerticalScroll)
        holder.remove_children()
        widgets: list[Any] = []
        for table in self.report.tables:
            widgets.append(Static(literal(table.title), classes="table-title"))
            grid: DataTable[Any] = DataTable(cursor_type="row", zebra_stripes=True)
            grid.add_columns(*(literal(column) for column in table.columns))
            for row in table.rows:
                grid.add_row(*(cell(v) for v in row))
            widgets.append(grid)
        holder.mount_all(widgets)

    def action_export(self) -> None:
        from d2a_tui.config import data_dir
        from d2a_tui.reports.tables import to_csv

        if self.report is None:
            return
        from d2a_tui.services.private_files import write_private

        stamp = self.hub.now().astimezone().strftime("%Y%m%d-%H%M")
        name = f"{self.report.name}-{stamp}.csv"
        if self.app.is_web:  # in a browser: the browser's download, nothing on the server's disk
            import io

            self.app.deliver_text(io.StringIO(to_csv(self.report)), save_filename=name)
            self.notify(f"Your browser downloads {name}", timeout=6)
            return
        folder = data_dir() / "reports"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / name
        write_private(path, to_csv(self.report))  # 0600, like every file d2a writes
        self.notify(f"Saved {path}", timeout=6)


def _table(table_id: str, *columns: str) -> DataTable[Any]:
    table: DataTable[Any] = DataTable(id=table_id, cursor_type="row", zebra_stripes=True)
    table.add_columns(*(literal(column) for column in columns))
    return table


def _n(value: int | None, style: str = "") -> Text:
    if value is None:
        return Text("-", justify="right")
    return Text(str(value), justify="right", style=style if value else "")


def _off_plan(pathway: str, share: float) -> bool:
    from d2a_tui.reports.service import PLANNING_LIMIT

    low, high = PLANNING_LIMIT[pathway]
    return (low is not None and share < low) or (high is not None and share > high)


def _move_bars(flow: Any, strategic: Any) -> list[Bar]:
    from d2a_tui.reports.moves import busiest

    return [
        Bar(row.label, float(row.count), row.detail, style="red" if row.slow else "cyan")
        for row in busiest(flow, strategic.transitions)
    ]
