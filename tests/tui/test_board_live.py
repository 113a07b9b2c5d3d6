"""Two terminals on one database: the board sees the other's changes, and refuses stale edits.

These run on SQLite and on the PostgreSQL server: the second writer is another Hub with its own
engine and connections, as another terminal or a CLI command would be.
"""

from __future__ import annotations

from collections.abc import Callable

from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.tui.conftest import (
    board_of,
    column_text,
    make_app,
    selected_row_text,
    shown_ids,
    wait_for,
)

SIZE = (200, 30)


async def test_live_update_from_a_second_writer_keeps_the_selection(
    make_hub: Callable[..., Hub], clock: FrozenClock
) -> None:
    mine, other = make_hub("alice", "device-a"), make_hub("bob", "device-b")
    ada = refer_someone(mine, 1, name="Ada Lovelace")
    clock.advance(minutes=1)
    bob = refer_someone(mine, 2, name="Bob Brown")
    clock.advance(minutes=1)
    cyd = refer_someone(mine, 3, name="Cyd Charisse")
    app = make_app(mine, poll=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        board = board_of(app)
        await pilot.press("down", "down")
        assert board.selected == cyd
        # Another terminal moves Bob (above the selection) and refers someone new, no key pressed.
        other.move(bob, "triage")
        dan = refer_someone(other, 4, name="Dan Dare")
        assert await wait_for(pilot, lambda: bob in shown_ids(app, "triage"), 3.0)
        assert await wait_for(pilot, lambda: dan in shown_ids(app, "referred"), 1.0)
        assert "Bob Brown" in column_text(app, "triage")
        assert "Bob Brown" not in column_text(app, "referred")
        assert "Dan Dare" in column_text(app, "referred")
        assert board.selected == cyd
        assert "Cyd Charisse" in selected_row_text(app)
        # The other terminal closes the selected journey: it leaves, a neighbour takes the cursor.
        other.close_journey(cyd, "home_independent")
        assert await wait_for(pilot, lambda: cyd not in shown_ids(app, "referred"), 3.0)
        assert board.selected in {ada, dan}


async def test_selected_journey_moved_elsewhere_keeps_the_selection_on_it(
    make_hub: Callable[..., Hub],
) -> None:
    mine, other = make_hub("alice", "device-a"), make_hub("bob", "device-b")
    ada = refer_someone(mine, 1, name="Ada Lovelace")
    app = make_app(mine, poll=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        board = board_of(app)
        assert board.selected == ada
        other.move(ada, "triage")
        assert await wait_for(pilot, lambda: ada in shown_ids(app, "triage"), 3.0)
        assert board.selected == ada
        assert board.active_column.column.id == "triage"


async def test_a_stale_move_is_refused_as_a_conflict_and_the_card_stays(
    make_hub: Callable[..., Hub],
) -> None:
    mine, other = make_hub("alice", "device-a"), make_hub("bob", "device-b")
    ada = refer_someone(mine, 1, name="Ada Lovelace")
    app = make_app(mine)  # polling slow: the board still shows version 1 when alice acts
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        other.set_delay(ada, "TRANSPORT")
        await pilot.press("shift+right")
        await pilot.pause()
        messages = " ".join(notification.message for notification in app._notifications)
        assert "changed by bob" in messages
        view = mine.journey(ada)
        assert view.card.column == "referred"
        assert [entry.event.actor for entry in view.timeline] == ["alice", "bob"]
        assert shown_ids(app, "referred") == [ada]
        # The conflict made the board look again: bob's delay reason is now on the card.
        assert await wait_for(pilot, lambda: "TRANSPORT" in column_text(app, "referred"), 3.0)


async def test_on_postgresql_another_terminals_move_is_heard_without_waiting_for_the_poll(
    make_hub: Callable[..., Hub],
) -> None:
    mine, other = make_hub("alice", "device-a"), make_hub("bob", "device-b")
    if mine.store.engine.dialect.name != "postgresql":
        assert mine.watch_head(lambda head: None) is None  # SQLite: no channel, the poll alone
        return
    ada = refer_someone(mine, 1, name="Ada Lovelace")
    app = make_app(mine)  # the poll is an hour away: only the announcement can bring it
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        board = board_of(app)
        watch = board._head_watch
        assert watch is not None and await wait_for(pilot, watch.listening.is_set, 5.0)
        other.move(ada, "triage")
        assert await wait_for(pilot, lambda: ada in shown_ids(app, "triage"), 3.0)
    assert watch.join(3.0), "the board left, its watching thread did not"
