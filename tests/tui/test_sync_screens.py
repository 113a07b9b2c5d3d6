"""The board of a replica, driven by keys against the real sync server in-process: the status
line, `S` with the server up and down, and the conflicts screen deciding conflicts two replicas
made. What is asserted is what the screen draws and what the databases hold.

Regenerate the snapshots after an intended change with
`pytest tests/tui/test_sync_screens.py --snapshot-update`, and look at the SVGs before committing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from textual.widget import Widget
from textual.widgets import OptionList

from d2a_tui.app import D2AApp
from d2a_tui.services.hub import Hub
from d2a_tui.storage.journeys import event_table
from d2a_tui.sync.ingest import receipt_table
from d2a_tui.sync.replica import outbox_table
from d2a_tui.widgets.sync_status import SyncStatusBar
from tests.sync.conftest import SyncEnv, refer
from tests.sync.transports import DownTransport
from tests.tui.conftest import make_app, wait_for


@pytest.fixture
def env(sync_env_factory: Callable[[str], SyncEnv], tmp_path: Path) -> SyncEnv:
    """The real server app on its own SQLite database, reached through a switchable transport."""
    return sync_env_factory(f"sqlite:///{tmp_path / 'server.db'}")


def replica(env: SyncEnv, user: str) -> Hub:
    env.user(user)
    hub = env.replica(user, user)
    hub.sync.synchroniser.clock = env.clock  # "synced … ago" on the test's clock, not the wall's
    return hub


def server_down(env: SyncEnv) -> None:
    assert env.switch is not None
    env.switch.target = DownTransport()


def server_up(env: SyncEnv) -> None:
    assert env.switch is not None and env.transport is not None
    env.switch.target = env.transport


def drawn(widget: Widget) -> str:
    return "\n".join(strip.text for strip in widget.render_lines(widget.size.region))


def sync_text(app: D2AApp) -> str:
    return drawn(app.screen.query_one(SyncStatusBar))


def toasts(app: D2AApp) -> str:
    """Every notification the app has raised and not yet timed out: title, then message."""
    return " | ".join(f"{n.title}: {n.message}" for n in app._notifications)


def outbox(hub: Hub, status: str = "pending") -> list[dict[str, Any]]:
    with hub.store.engine.connect() as connection:
        return list(
            connection.execute(
                select(outbox_table.c.body).where(outbox_table.c.status == status)
            ).scalars()
        )


def server_column(engine: Engine, journey_id: str) -> str:
    """Where the server's event log last put the journey."""
    with engine.connect() as connection:
        payloads = connection.execute(
            select(event_table.c.payload)
            .where(event_table.c.journey_id == journey_id)
            .order_by(event_table.c.position)
        ).scalars()
        columns = [p.get("column") or p.get("to") for p in payloads]
    return [c for c in columns if c][-1]


def offline_with_a_referral(env: SyncEnv) -> tuple[Hub, str]:
    """nina's replica, synced with one referred journey, and then the server goes down."""
    hub = replica(env, "nina")
    journey_id = refer(env.direct(), 1)
    hub.sync.sync_now(wait=True)
    server_down(env)
    return hub, journey_id


def make_conflict(env: SyncEnv, *, theirs_to: str = "await_p3") -> tuple[Hub, str]:
    """nina (offline) moves a journey Triage → Awaiting P2 after omar moved it elsewhere and
    synced first: nina's sync comes back with a conflict."""
    desk = env.direct("day.coordinator")
    journey_id = refer(desk, 1, name="Jean Smith")
    desk.move(journey_id, "triage")
    nina, omar = replica(env, "nina"), replica(env, "omar")
    nina.sync.sync_now(wait=True)
    omar.sync.sync_now(wait=True)
    if theirs_to == "closed":
        omar.close_journey(journey_id, "home_independent")
    else:
        omar.move(journey_id, theirs_to)
    omar.sync.sync_now(wait=True)
    nina.move(journey_id, "await_p2")
    nina.sync.sync_now(wait=True)
    assert len(nina.sync.conflicts()) == 1
    return nina, journey_id


# --- the status line -----------------------------------------------------------------------------


async def test_offline_edit_shows_as_pending_and_S_sends_it_when_the_server_is_back(
    env: SyncEnv,
) -> None:
    hub, journey_id = offline_with_a_referral(env)
    app = make_app(hub)
    async with app.run_test(size=(140, 30)) as pilot:
        assert await wait_for(pilot, lambda: "0 pending" in sync_text(app))
        await pilot.press("shift+right")  # Referred → Triage, here only
        assert await wait_for(pilot, lambda: "1 pending" in sync_text(app)), sync_text(app)
        assert await wait_for(pilot, lambda: "✗ offline" in sync_text(app)), sync_text(app)
        assert server_column(env.engine, journey_id) == "referred"

        server_up(env)
        await pilot.press("S")
        assert await wait_for(pilot, lambda: "0 pending" in sync_text(app)), sync_text(app)
        assert await wait_for(pilot, lambda: "✓ online" in sync_text(app)), sync_text(app)
        assert "synced just now" in sync_text(app)
        assert await wait_for(pilot, lambda: "Synced" in toasts(app)), toasts(app)
    assert server_column(env.engine, journey_id) == "triage"
    assert outbox(hub) == []


async def test_S_with_the_server_down_says_so_and_the_edit_stays_in_the_outbox(
    env: SyncEnv,
) -> None:
    hub, journey_id = offline_with_a_referral(env)
    app = make_app(hub, background_sync=False)  # only `S` talks to the server here
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.press("shift+right")
        assert await wait_for(pilot, lambda: "1 pending" in sync_text(app)), sync_text(app)
        await pilot.press("S")
        assert await wait_for(pilot, lambda: "Could not sync" in toasts(app)), toasts(app)
        assert "cannot reach the server" in toasts(app)
        assert await wait_for(pilot, lambda: "✗ offline" in sync_text(app)), sync_text(app)
        assert "1 pending" in sync_text(app)
    pending = outbox(hub)
    assert [(m["command"], m["journey_id"], m["args"]["to"]) for m in pending] == [
        ("move", journey_id, "triage")
    ]
    assert server_column(env.engine, journey_id) == "referred"


def footer_keys(app: D2AApp) -> dict[str, str]:
    return {key.key: key.description for key in app.screen.query("FooterKey")}  # type: ignore[attr-defined]


async def test_a_direct_database_board_has_no_sync_status_nor_sync_keys(sqlite_hub: Any) -> None:
    app = make_app(sqlite_hub)
    async with app.run_test(size=(200, 30)) as pilot:
        assert await wait_for(pilot, lambda: "u" in footer_keys(app))
        assert not app.screen.query(SyncStatusBar)
        assert "S" not in footer_keys(app) and "C" not in footer_keys(app)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Sync" not in titles and "Conflicts" not in titles
        await pilot.press("S", "C")  # nothing to sync, no conflicts: the keys do nothing
        await pilot.pause()
        assert app.screen is app.screen_stack[0]


async def test_a_replica_board_shows_S_and_C_in_its_footer(env: SyncEnv) -> None:
    hub = replica(env, "nina")
    app = make_app(hub, background_sync=False)
    async with app.run_test(size=(200, 30)) as pilot:
        assert await wait_for(pilot, lambda: "C" in footer_keys(app)), footer_keys(app)
        keys = footer_keys(app)
        assert (keys.get("S"), keys.get("C")) == ("Sync", "Conflicts")


# --- the conflicts screen ------------------------------------------------------------------------


def listed(app: D2AApp) -> list[str]:
    options = app.screen.query_one("#conflicts", OptionList)
    return [
        " ".join(str(options.get_option_at_index(i).prompt).split())
        for i in range(options.option_count)
    ]


async def test_a_conflict_is_listed_in_words_and_re_apply_mine_makes_a_new_mutation(
    env: SyncEnv,
) -> None:
    nina, journey_id = make_conflict(env)
    conflict_id = nina.sync.conflicts()[0].mutation_id
    app = make_app(nina, background_sync=False)
    async with app.run_test(size=(140, 30)) as pilot:
        assert await wait_for(pilot, lambda: "⚠ 1 conflict — C" in sync_text(app))
        await pilot.press("C")
        await pilot.pause()
        assert listed(app) == [
            "⚠ your move of Jean Smith to Awaiting P2 at 09:30 (offline) conflicted with "
            "omar's move to Awaiting P3 at 09:30"
        ]
        await pilot.press("m")
        await pilot.pause()
        assert listed(app) == []
        assert await wait_for(pilot, lambda: "conflict" not in sync_text(app)), sync_text(app)
        assert "1 pending" in sync_text(app)
        await pilot.press("S")
        assert await wait_for(pilot, lambda: "0 pending" in sync_text(app)), sync_text(app)
    # The server took a new mutation that names the conflict it resolves, and applied it.
    with env.engine.connect() as connection:
        receipts = connection.execute(select(receipt_table)).all()
    assert any(r.mutation_id == conflict_id and r.outcome == "conflict" for r in receipts)
    assert server_column(env.engine, journey_id) == "await_p2"
    assert nina.journey(journey_id).card.column == "await_p2"
    [resolved] = nina.sync.conflicts(include_resolved=True)
    assert resolved.resolution == "mine"


async def test_keep_theirs_records_the_decision_and_it_leaves_the_list(env: SyncEnv) -> None:
    nina, journey_id = make_conflict(env)
    app = make_app(nina, background_sync=False)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.press("C")
        await pilot.pause()
        assert len(listed(app)) == 1
        await pilot.press("t")
        await pilot.pause()
        assert listed(app) == []
        await pilot.press("a")  # resolved ones too
        await pilot.pause()
        assert len(listed(app)) == 1 and listed(app)[0].startswith("✓ kept theirs")
        await pilot.press("S")
        assert await wait_for(pilot, lambda: "0 pending" in sync_text(app)), sync_text(app)
    decisions = [m for m in outbox(nina, "applied") if m["kind"] == "resolve"]
    assert [(m["decision"], m["actor"]) for m in decisions] == [("keep_theirs", "nina")]
    with env.engine.connect() as connection:
        server_knows = connection.execute(
            select(receipt_table.c.mutation_id).where(
                receipt_table.c.mutation_id == decisions[0]["mutation_id"]
            )
        ).all()
    assert len(server_knows) == 1  # the decision is in the server's audit trail
    assert server_column(env.engine, journey_id) == "await_p3"
    assert nina.journey(journey_id).card.column == "await_p3"


async def test_a_re_apply_the_flow_now_forbids_says_why_and_stays_listed(env: SyncEnv) -> None:
    nina, journey_id = make_conflict(env, theirs_to="closed")
    app = make_app(nina, background_sync=False)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.press("C")
        await pilot.pause()
        await pilot.press("m")
        assert await wait_for(pilot, lambda: "Not re-applied" in toasts(app)), toasts(app)
        assert len(listed(app)) == 1
    assert outbox(nina) == []
    assert len(nina.sync.conflicts()) == 1
    assert server_column(env.engine, journey_id) == "closed"


async def test_enter_opens_the_journey_and_escape_comes_back(env: SyncEnv) -> None:
    nina, journey_id = make_conflict(env)
    app = make_app(nina, background_sync=False)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.press("C")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.id == "journey"
        assert getattr(app.screen, "journey_id", None) == journey_id
        # The journey screen does not place the sync line itself; the app adds it.
        assert await wait_for(pilot, lambda: "⚠ 1 conflict — C" in sync_text(app))
        assert "Jean Smith" in drawn(app.screen.query_one("#journey-details"))
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.id == "conflicts-screen"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.id == "board"


# --- snapshots -----------------------------------------------------------------------------------


def test_conflicts_screen_snapshot(env: SyncEnv, snap_compare: Any) -> None:
    nina, _ = make_conflict(env)
    app = make_app(nina, background_sync=False)
    assert snap_compare(app, press=["C"], terminal_size=(120, 24))


def test_board_status_bar_in_replica_mode_at_80_columns_snapshot(
    env: SyncEnv, snap_compare: Any
) -> None:
    nina, _ = make_conflict(env)
    app = make_app(nina, background_sync=False)
    assert snap_compare(app, terminal_size=(80, 24))


async def test_after_a_long_time_offline_conflicts_are_grouped_and_decided_in_bulk(
    env: SyncEnv,
) -> None:
    """Two journeys, three conflicts: listed journey by journey; T keeps theirs for the selected
    journey's (after a second press), X for all that are left."""
    desk = env.direct("day.coordinator")
    first, second = refer(desk, 1, name="Jean Smith"), refer(desk, 2, name="Alan Jones")
    for journey in (first, second):
        desk.move(journey, "triage")
    nina, omar = replica(env, "nina"), replica(env, "omar")
    nina.sync.sync_now(wait=True)
    omar.sync.sync_now(wait=True)
    omar.move(first, "await_p3")
    omar.move(second, "await_p3")
    omar.sync.sync_now(wait=True)
    nina.move(second, "await_p2")  # made first: the second journey's conflict is the oldest
    nina.move(first, "await_p2")
    nina.move(first, "await_p1")  # from where she left it: a second conflict on the first
    nina.sync.sync_now(wait=True)
    assert len(nina.sync.conflicts()) == 3
    app = make_app(nina, background_sync=False)
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.press("C")
        await pilot.pause()
        shown = listed(app)
        assert ["Alan Jones" in line for line in shown] == [True, False, False]
        assert "3 to decide on 2 journeys" in drawn(app.screen.query_one("#conflicts-title"))
        await pilot.press("down")  # Jean Smith's first conflict
        await pilot.press("T")
        await pilot.pause()
        assert "Press T again" in toasts(app) and "(2)" in toasts(app)
        assert len(listed(app)) == 3  # nothing decided on one press
        await pilot.press("T")
        await pilot.pause()
        assert [("Alan Jones" in line) for line in listed(app)] == [True]
        await pilot.press("X")
        await pilot.press("X")
        await pilot.pause()
        assert listed(app) == []
        await pilot.press("S")
        assert await wait_for(pilot, lambda: "0 pending" in sync_text(app)), sync_text(app)
    decisions = [m for m in outbox(nina, "applied") if m["kind"] == "resolve"]
    assert sorted(m["decision"] for m in decisions) == ["keep_theirs"] * 3
    assert server_column(env.engine, first) == server_column(env.engine, second) == "await_p3"
