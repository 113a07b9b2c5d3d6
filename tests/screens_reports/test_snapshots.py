"""SVG snapshots of the dashboard and capacity screens on fixed data with a frozen clock.
Update with `pytest tests/screens_reports --snapshot-update` after checking the change by eye."""

from __future__ import annotations

from typing import Any

from d2a_tui.screens.capacity import CapacityScreen
from d2a_tui.screens.dashboard import DashboardScreen
from d2a_tui.services.hub import Hub
from tests.screens_reports.conftest import ScreenApp, settle


def test_capacity_screen(screen_hub: Hub, snap_compare: Any) -> None:
    assert snap_compare(
        ScreenApp(screen_hub, CapacityScreen), terminal_size=(120, 30), run_before=settle
    )


def test_dashboard_operational(screen_hub: Hub, snap_compare: Any) -> None:
    app = ScreenApp(screen_hub, lambda hub: DashboardScreen(hub, live=False))
    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)


def test_dashboard_strategic_with_a_chart_cursor(screen_hub: Hub, snap_compare: Any) -> None:
    app = ScreenApp(screen_hub, lambda hub: DashboardScreen(hub, live=False))

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("s", "1")
        await settle(pilot)
        app.screen.query_one("#discharges").focus()
        await pilot.press("left", "left")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 50), run_before=run_before)


# The night team's thin clients: 80×24, nothing clipped.


def test_capacity_screen_at_80x24(screen_hub: Hub, snap_compare: Any) -> None:
    assert snap_compare(
        ScreenApp(screen_hub, CapacityScreen), terminal_size=(80, 24), run_before=settle
    )


def test_dashboard_at_80x24(screen_hub: Hub, snap_compare: Any) -> None:
    app = ScreenApp(screen_hub, lambda hub: DashboardScreen(hub, live=False))
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)
