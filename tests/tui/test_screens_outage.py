"""Every hub screen survives the database going away: open it, take the database away, press its
keys, bring the database back. No crash, the banner shows with the last data kept on screen,
writes are refused with a reason and nothing typed or undone is lost; afterwards they work.

On SQLite and PostgreSQL (see tests/tui/outage.py for how each outage is made).
"""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Input, Static

from d2a_tui.domain.nhs_number import format_nhs_number, next_synthetic
from d2a_tui.screens.alerts import AlertsScreen
from d2a_tui.screens.base import DatabaseBanner
from d2a_tui.screens.capacity import CapacityScreen
from d2a_tui.screens.dashboard import DashboardScreen, ReportScreen
from d2a_tui.screens.journey import JourneyScreen
from d2a_tui.screens.referral import ReferralScreen
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.tui.conftest import board_of, record_notifications, settle, shown_ids, wait_for
from tests.tui.conftest import make_app as make_tui_app
from tests.tui.outage import Outage

SIZE = (140, 40)
NHS = next_synthetic(500)[1]
POLL = 0.2  # the board looks for the database this often (three times slower while it is away)


def banner_up(app: Any) -> bool:
    return bool(app.screen.query_one(DatabaseBanner).display)


def said(app: Any, *words: str) -> bool:
    messages = app.said if hasattr(app, "said") else [n.message for n in app._notifications]
    return any(all(w in message for w in words) for message in messages)


def make_app(hub: Hub, **options: Any) -> Any:
    app = make_tui_app(hub, **options)
    app.said = record_notifications(app)
    return app


async def lose(pilot: Any, outage: Outage, *keys: str) -> None:
    """Take the database away, then press keys that read: the banner must come up."""
    outage.start()
    await pilot.press(*keys)
    assert await wait_for(pilot, lambda: banner_up(pilot.app), seconds=8)
    assert "Database unavailable" in str(pilot.app.screen.query_one(DatabaseBanner).render())


async def restore(pilot: Any, outage: Outage) -> None:
    outage.end()
    assert await wait_for(pilot, lambda: not banner_up(pilot.app), seconds=10)
    await settle(pilot)


async def test_capacity_screen_survives_and_keeps_what_was_typed(
    lost_db: tuple[Hub, Outage],
) -> None:
    hub, outage = lost_db
    hub.capacity.add_service(
        "Meadowbank", kind="intermediate_care", pathway="P2", unit="beds", service_id="mb"
    )
    hub.capacity.report("mb", total=40, occupied=38)
    app = make_app(hub, poll=POLL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CapacityScreen)
        table = screen.query_one("#services", DataTable)
        assert table.row_count == 1

        await lose(pilot, outage, "r")
        assert table.row_count == 1  # the last figures stay
        await pilot.press("H")  # history reads too: no crash
        await pilot.press("v", "5", "enter")
        await pilot.pause()
        assert screen.query_one("#quick", Input).value == "5"  # kept, to send again
        assert said(app, "unavailable")
        await restore(pilot, outage)
        assert len(hub.capacity.history("mb")) == 1  # nothing half-saved

        screen.query_one("#quick", Input).focus()
        await pilot.press("enter")  # the same value, now the database is back
        await settle(pilot)
        latest = hub.capacity.history("mb")[0]
        assert (latest.total, latest.occupied) == (40, 35)


async def test_dashboard_survives_its_refresh_and_period_keys(
    lost_db: tuple[Hub, Outage],
) -> None:
    hub, outage = lost_db
    refer_someone(hub, 1, name="Ann Smith")
    app = make_app(hub, poll=POLL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("D")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        title = screen.query_one("#dash-title", Static)
        before = str(title.render())
        assert "1 open" in before

        await lose(pilot, outage, "r")
        await pilot.press("2", "o")  # a period (it reads), back to the operational tab
        await pilot.pause(0.3)
        assert str(screen.query_one("#dash-title", Static).render()) == before
        await pilot.press("R")  # the reports read too, under their own banner
        await pilot.pause(0.3)
        assert isinstance(app.screen, ReportScreen) and banner_up(app)
        await pilot.press("escape")
        await restore(pilot, outage)
        assert app.screen is screen
        assert "1 open" in str(screen.query_one("#dash-title", Static).render())


async def test_alerts_screen_survives_its_check_and_refuses_an_acknowledgement(
    lost_db: tuple[Hub, Outage], clock: FrozenClock
) -> None:
    hub, outage = lost_db
    journey = refer_someone(hub, 1, name="Ann Smith", discharge_ready_date="2026-11-15")
    app = make_app(hub, poll=POLL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("exclamation_mark")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        table = screen.query_one("#alerts", DataTable)
        assert table.row_count == 1

        await lose(pilot, outage, "r")
        screen.check_new_reds()  # what its 30-second timer does
        await pilot.press("s")
        await pilot.pause(0.3)
        assert table.row_count == 1  # the last list stays
        await pilot.press("a", *"care home tomorrow", "enter")
        await pilot.pause()
        assert said(app, "unavailable")
        await restore(pilot, outage)
        assert hub.journey(journey).card.acknowledged_until is None  # nothing half-saved

        await pilot.press("a", *"care home tomorrow", "enter")
        await settle(pilot)
        assert hub.journey(journey).card.acknowledged_until is not None


async def test_undo_during_an_outage_keeps_the_change_to_undo_later(
    lost_db: tuple[Hub, Outage],
) -> None:
    hub, outage = lost_db
    journey = refer_someone(hub, 1, name="Ann Smith")
    app = make_app(hub, poll=POLL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("L")
        await pilot.pause()
        assert hub.journey(journey).card.column == "triage"

        outage.start()
        await pilot.press("ctrl+r")  # reload the board: the read fails in its worker
        assert await wait_for(pilot, lambda: banner_up(app), seconds=8)
        assert shown_ids(app, "triage") == [journey]  # the last board stays
        await pilot.press("u")
        await pilot.pause()
        assert said(app, "unavailable")
        assert len(app.history.undo) == 1  # still there to undo
        assert shown_ids(app, "triage") == [journey]

        await restore(pilot, outage)
        assert hub.journey(journey).card.column == "triage"
        await pilot.press("u")
        await pilot.pause()
        assert hub.journey(journey).card.column == "referred"
        assert said(app, "Undid: moved Ann Smith to Triage")
        assert board_of(app).selected == journey


async def test_journey_screen_survives_and_refuses_a_quick_action(
    lost_db: tuple[Hub, Outage],
) -> None:
    hub, outage = lost_db
    journey = refer_someone(hub, 1, name="Ann Smith")
    app = make_app(hub, poll=POLL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, JourneyScreen)
        assert "Ann Smith" in str(screen.query_one("#journey-details", Static).render())

        await lose(pilot, outage, "ctrl+r")
        assert "Ann Smith" in str(screen.query_one("#journey-details", Static).render())
        await pilot.press("a")  # assign to me: refused while the database is away
        await pilot.pause()
        assert said(app, "unavailable")
        await restore(pilot, outage)
        assert hub.journey(journey).card.assigned_to is None
        await pilot.press("a")
        await settle(pilot)
        assert hub.journey(journey).card.assigned_to == "alice"


async def test_referral_form_keeps_what_was_typed_through_an_outage(
    lost_db: tuple[Hub, Outage],
) -> None:
    hub, outage = lost_db
    app = make_app(hub, poll=POLL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("N")
        await pilot.pause()
        await pilot.press(*format_nhs_number(NHS), "tab", *"Grace Hopper", "tab", *"09/12/1936")
        outage.start()
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: banner_up(app), seconds=8)
        assert isinstance(app.screen, ReferralScreen)
        assert "Not referred" in str(app.screen.query_one("#referral-error", Static).render())
        assert app.screen.query_one("#name", Input).value == "Grace Hopper"  # nothing lost
        await restore(pilot, outage)
        assert hub.board() == []
        app.screen.query_one("#dob", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert [card.name for card in hub.board()] == ["Grace Hopper"]
