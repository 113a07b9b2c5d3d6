"""The board driven by its keys, checked on the screen and in the database."""

from __future__ import annotations

from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.tui.conftest import board_of, column_text, make_app, selected_row_text, shown_ids

SIZE = (200, 30)  # wide enough for every column and whole names


async def test_shift_right_moves_card_and_selection_follows(
    sqlite_hub: Hub, clock: FrozenClock
) -> None:
    first = refer_someone(sqlite_hub, 1, name="Ada Lovelace")
    clock.advance(minutes=5)  # Ada has waited longest, so the board starts on her
    refer_someone(sqlite_hub, 2, name="Bob Brown")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        board = board_of(app)
        assert board.selected == first
        await pilot.press("shift+right")
        await pilot.pause()
        assert sqlite_hub.journey(first).card.column == "triage"
        assert board.active_column.column.id == "triage"
        assert board.selected == first
        assert "Ada Lovelace" in selected_row_text(app)
        assert "Ada Lovelace" in column_text(app, "triage")
        assert "Ada Lovelace" not in column_text(app, "referred")
        # L does the same from the keyboard's home row; H goes back.
        await pilot.press("H")
        await pilot.pause()
        assert sqlite_hub.journey(first).card.column == "referred"
        assert board.selected == first


async def test_r_sets_a_delay_reason_picked_by_searching(sqlite_hub: Hub) -> None:
    journey = refer_someone(sqlite_hub, 1, name="Ada Lovelace")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.press(*"transport")
        await pilot.press("enter")
        await pilot.pause()
        assert sqlite_hub.journey(journey).card.delay_reason == "TRANSPORT"
        assert "TRANSPORT" in column_text(app, "referred")
        # And clear it again: the clearing choice is offered first when a reason is set.
        await pilot.press("r", *"clear", "enter")
        await pilot.pause()
        assert sqlite_hub.journey(journey).card.delay_reason is None
        assert "TRANSPORT" not in column_text(app, "referred")


async def test_u_undoes_with_a_compensating_event_and_U_redoes(sqlite_hub: Hub) -> None:
    journey = refer_someone(sqlite_hub, 1, name="Ada Lovelace")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("shift+right")
        await pilot.pause()
        assert sqlite_hub.journey(journey).card.column == "triage"
        await pilot.press("u")
        await pilot.pause()
        view = sqlite_hub.journey(journey)
        assert view.card.column == "referred"
        kinds = [entry.event.kind.value for entry in view.timeline]
        assert kinds == ["referred", "moved", "moved"]  # nothing deleted: the undo is an event
        assert view.timeline[-1].event.payload["undoes"] == view.timeline[1].event.event_id
        assert board_of(app).selected == journey
        assert "Ada Lovelace" in column_text(app, "referred")
        await pilot.press("U")
        await pilot.pause()
        assert sqlite_hub.journey(journey).card.column == "triage"
        assert "Ada Lovelace" in column_text(app, "triage")


async def test_forbidden_move_says_why_and_changes_nothing(sqlite_hub: Hub) -> None:
    journey = refer_someone(sqlite_hub, 1, name="Ada Lovelace")
    for column in ("triage", "await_p1", "on_p1"):
        sqlite_hub.move(journey, column)
    before = sqlite_hub.journey(journey)
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        board = board_of(app)
        assert board.selected == journey
        await pilot.press("shift+left")
        await pilot.pause()
        messages = [notification.message for notification in app._notifications]
        assert any("not an allowed move" in message for message in messages), messages
        after = sqlite_hub.journey(journey)
        assert after.card.version == before.card.version
        assert len(after.timeline) == len(before.timeline)
        assert shown_ids(app, "on_p1") == [journey]
        assert board.active_column.column.id == "on_p1"


async def test_slash_filters_and_escape_clears(sqlite_hub: Hub) -> None:
    ada = refer_someone(sqlite_hub, 1, name="Ada Lovelace", ward="Ward 7")
    refer_someone(sqlite_hub, 2, name="Bob Brown", ward="Ward 9")
    carol = refer_someone(sqlite_hub, 3, name="Carol Lovell", ward="Ward 9")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"lovel")
        await pilot.pause()
        assert set(shown_ids(app, "referred")) == {ada, carol}
        assert "Bob Brown" not in column_text(app, "referred")
        await pilot.press("enter")  # keep the filter, back to the cards
        await pilot.press("down")
        await pilot.pause()
        assert board_of(app).selected in {ada, carol}
        await pilot.press("escape")
        await pilot.pause()
        assert len(shown_ids(app, "referred")) == 3
        assert "Bob Brown" in column_text(app, "referred")


async def test_filter_by_nhs_number_with_spaces_and_by_stuck(sqlite_hub: Hub) -> None:
    from d2a_tui.domain.nhs_number import format_nhs_number, next_synthetic

    ada = refer_someone(sqlite_hub, 1, name="Ada Lovelace", discharge_ready_date="2026-11-15")
    refer_someone(sqlite_hub, 2, name="Bob Brown")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *format_nhs_number(next_synthetic(11)[1]))
        await pilot.pause()
        assert shown_ids(app, "referred") == [ada]
        await pilot.press("escape", "slash", *"stuck")
        await pilot.pause()
        # Eight days since discharge-ready is red; Bob, just referred, is not stuck.
        assert shown_ids(app, "referred") == [ada]


async def test_m_closes_with_an_outcome_and_the_card_leaves(sqlite_hub: Hub) -> None:
    journey = refer_someone(sqlite_hub, 1, name="Ada Lovelace")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("m", *"closed", "enter")  # the column picker
        await pilot.press(*"died", "enter")  # the outcome
        await pilot.press("enter")  # destination: not recorded now
        await pilot.pause()
        card = sqlite_hub.journey(journey).card
        assert card.closed_at is not None and card.outcome == "died"
        assert shown_ids(app, "referred") == []
        assert board_of(app).selected is None


async def test_remapped_key_works_and_help_shows_it(sqlite_hub: Hub) -> None:
    journey = refer_someone(sqlite_hub, 1, name="Ada Lovelace")
    app = make_app(sqlite_hub, keymap={"card.move_right": "ctrl+right"})
    async with app.run_test(size=(200, 40)) as pilot:
        await pilot.pause()
        await pilot.press("shift+right")  # no longer bound
        await pilot.pause()
        assert sqlite_hub.journey(journey).card.column == "referred"
        await pilot.press("ctrl+right")
        await pilot.pause()
        assert sqlite_hub.journey(journey).card.column == "triage"
        await pilot.press("question_mark")
        await pilot.pause()
        keys = str(app.screen.query_one("#help-keys").render())
        assert "card.move_right" in keys
        assert "^→" in keys or "ctrl+right" in keys.lower()


async def test_s_cycles_the_sort_and_keeps_the_selection(sqlite_hub: Hub) -> None:
    zoe = refer_someone(sqlite_hub, 1, name="Zoe Young")
    refer_someone(sqlite_hub, 2, name="Ada Lovelace")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        board = board_of(app)
        assert board.model is not None
        # Both were referred at the same (frozen) moment, so put the cursor on Zoe by name.
        if board.selected != zoe:
            await pilot.press("down")
        assert board.selected == zoe
        for _ in range(3):  # wait → ready → stuck → name
            await pilot.press("s")
        await pilot.pause()
        assert board.model.sort == "name"
        names = [board.model.cards[i].name for i in shown_ids(app, "referred")]
        assert names == ["Ada Lovelace", "Zoe Young"]
        assert board.selected == zoe
        assert "Zoe Young" in selected_row_text(app)
