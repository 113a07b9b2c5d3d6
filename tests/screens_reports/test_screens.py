"""Pilot tests of the capacity, dashboard and alerts screens, asserting on screen and database."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Static

from d2a_tui.domain.events import EventKind
from d2a_tui.screens.alerts import AcknowledgeScreen, AlertsScreen
from d2a_tui.screens.capacity import CapacityScreen
from d2a_tui.screens.dashboard import DashboardScreen, ReportScreen
from d2a_tui.services.hub import Hub
from d2a_tui.widgets.charts import BarChart, TimeChart
from tests.screens_reports.conftest import ScreenApp, settle


def cell(table: DataTable, row_key: str, column: int) -> str:
    return str(table.get_row(row_key)[column])


async def test_quick_vacancy_update_is_two_keys_and_a_number(screen_hub: Hub) -> None:
    app = ScreenApp(screen_hub, CapacityScreen)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CapacityScreen)
        table = screen.query_one("#services", DataTable)
        assert cell(table, "meadowbank", 5) == "2"  # vacant before: 40 - 38
        assert "STALE" in cell(table, "reablement", 8)
        table.move_cursor(row=screen.service_ids.index("meadowbank"))
        await pilot.press("v", "5", "enter")
        await settle(pilot)
        latest = screen_hub.capacity.history("meadowbank")[0]
        assert (latest.total, latest.occupied, latest.closed) == (40, 35, 1)
        assert cell(table, "meadowbank", 5) == "5"
        assert cell(table, "meadowbank", 7) == "4"  # available: 5 vacant less 1 closed
        demand = screen.query_one("#demand", DataTable)
        # P2: B awaits (1 person), 4 places free: gap +3.
        assert cell(demand, "P2", 4) == "+3"


async def test_a_refused_update_keeps_what_was_typed_and_saves_nothing(screen_hub: Hub) -> None:
    app = ScreenApp(screen_hub, CapacityScreen)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#services", DataTable)
        table.move_cursor(row=screen.service_ids.index("meadowbank"))
        await pilot.press("v", "9", "9", "enter")
        await settle(pilot)
        assert screen.query_one("#quick", Input).value == "99"
        assert any("more than the total" in n.message for n in app._notifications)
        assert len(screen_hub.capacity.history("meadowbank")) == 1
        await pilot.press("escape")
        assert screen.mode is None


async def test_full_report_from_the_capacity_screen(screen_hub: Hub) -> None:
    app = ScreenApp(screen_hub, CapacityScreen)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.query_one("#services", DataTable).move_cursor(
            row=screen.service_ids.index("reablement")
        )
        await pilot.press("f", *"420 400 0", "enter")
        await settle(pilot)
        latest = screen_hub.capacity.history("reablement")[0]
        assert (latest.total, latest.occupied, latest.reported_by) == (420, 400, "alice")
        assert "STALE" not in cell(screen.query_one("#services", DataTable), "reablement", 8)


async def test_dashboard_shows_the_live_figures_and_the_period(screen_hub: Hub) -> None:
    app = ScreenApp(screen_hub, lambda hub: DashboardScreen(hub, live=False))
    async with app.run_test(size=(140, 50)) as pilot:
        await settle(pilot)
        screen = app.screen
        pathways = screen.query_one("#pathways", DataTable)
        # Today: B remains NCTR on P2; D went to a care home this morning (P3).
        assert [str(v) for v in pathways.get_row_at(2)[:2]] == ["P2", "1"]
        assert [str(v) for v in pathways.get_row_at(3)[:3]] == ["P3", "0", "1"]
        title = str(screen.query_one("#dash-title", Static).render())
        assert "1 NCTR" in title and "1 discharged today" in title
        await pilot.press("s", "1")
        chart = screen.query_one("#discharges", TimeChart)
        assert len(chart.days) == 7  # 17 to 23 Nov
        chart.focus()
        await pilot.press("left", "left", "left")  # 20 Nov: A went home on P1
        assert chart.describe().startswith("Fri 20 Nov: P0 0 · P1 1 · P2 0 · P3 0")
        await pilot.press("2")
        assert len(screen.query_one("#nctr", TimeChart).days) == 30
        shares = screen.query_one("#shares", BarChart)
        # 30 days to 23 Nov: 4 discharges, one on each pathway: 25% each.
        assert [bar.value for bar in shares.bars] == [25.0, 25.0, 25.0, 25.0]


async def test_reports_open_from_the_dashboard_and_save_csv(screen_hub: Hub) -> None:
    app = ScreenApp(screen_hub, lambda hub: DashboardScreen(hub, live=False))
    async with app.run_test(size=(140, 50)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, ReportScreen)
        assert app.screen.report.name == "sitrep"
        await pilot.press("e")
        await settle(pilot)
        from d2a_tui.config import data_dir

        (saved,) = (data_dir() / "reports").glob("sitrep-*.csv")
        assert saved.read_text().startswith("Pathway,Patients who no longer meet")
        assert saved.stat().st_mode & 0o777 == 0o600  # readable by its owner only
        await pilot.press("l")
        assert app.screen.report.name == "los"


async def test_alerts_acknowledge_from_the_keyboard(screen_hub: Hub) -> None:
    app = ScreenApp(screen_hub, lambda hub: AlertsScreen(hub, poll=None))
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        first = screen.alerts[0]
        assert first.card.name == "Test Person 2"  # B: 18 days since ready, LoS 29
        await pilot.press("a")
        assert isinstance(app.screen, AcknowledgeScreen)
        await pilot.press(*"CHC panel Fri", "enter")
        await settle(pilot)
        last = screen_hub.journey(first.card.journey_id).timeline[-1].event
        assert last.kind is EventKind.ALERT_ACKNOWLEDGED
        assert last.payload["reason"] == "CHC panel Fri"
        assert screen.alerts[-1].card.journey_id == first.card.journey_id  # snoozed: last
        await pilot.press("s")
        assert first.card.journey_id not in [a.card.journey_id for a in screen.alerts]
