"""The operational dashboard's hand-offs: offers waiting (amber, red), accepted today and
declined today by reason, from the day worked in tests/offers/test_offers_report.py."""

from __future__ import annotations

from textual.widgets import DataTable

from d2a_tui.domain.flow import load_flow
from d2a_tui.screens.dashboard import DashboardScreen
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from tests.conftest import FrozenClock
from tests.offers.test_offers_report import the_day
from tests.screens_reports.conftest import ScreenApp, settle


async def test_the_dashboard_counts_offers_waiting_and_answered_today(
    sqlite_url: str, clock: FrozenClock
) -> None:
    hub = Hub(JourneyStore(make_engine(sqlite_url), load_flow()), Actor("alice", "dev-a"), clock)
    the_day(hub, clock)  # by 14:00: A and C accepted, B declined (no capacity), D waiting
    clock.advance(hours=2, minutes=30)  # 16:30: D has waited 2h 30m, amber
    app = ScreenApp(hub, lambda hub: DashboardScreen(hub, live=False))
    try:
        async with app.run_test(size=(140, 50)) as pilot:
            await settle(pilot)
            table = app.screen.query_one("#offers", DataTable)
            shown = {
                str(table.get_row_at(i)[0]).strip(): str(table.get_row_at(i)[1])
                for i in range(table.row_count)
            }
            assert shown == {
                "Offers waiting": "1",
                "of which amber": "1",
                "of which red": "0",
                "Accepted today": "2",
                "Declined today: no capacity": "1",
                "Declined today: cannot meet needs": "0",
                "Declined today: out of area": "0",
                "Declined today: other": "0",
            }
    finally:
        hub.close()
