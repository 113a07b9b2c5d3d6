"""Undo as people expect: back step by step through the session's own changes, across journeys,
forward again with redo, each message naming what was done in plain words. And every action of
the board in the command palette, with its keys."""

from __future__ import annotations

from typing import Any

from d2a_tui.screens.capacity import CapacityScreen
from d2a_tui.services.hub import Hub
from tests.conftest import refer_someone
from tests.tui.conftest import board_of, make_app, record_notifications, settle

SIZE = (200, 30)


def last_message(app: Any) -> str:
    return app.said[-1]


async def test_u_goes_back_step_by_step_and_U_forward_naming_each_change(
    sqlite_hub: Hub,
) -> None:
    ann = refer_someone(sqlite_hub, 1, name="Ann Smith")
    bob = refer_someone(sqlite_hub, 2, name="Bob Brown")
    app = make_app(sqlite_hub)
    app.said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        board = board_of(app)
        if board.selected != ann:
            await pilot.press("down")
        assert board.selected == ann
        await pilot.press("L")  # Ann to Triage
        await pilot.press("r", *"transport", "enter")  # her delay reason
        await pilot.press("a")  # assigned to me
        await pilot.press("h")  # back to Referred, where Bob is
        await pilot.pause()
        assert board.selected == bob
        await pilot.press("L")  # Bob to Triage
        await pilot.pause()
        assert sqlite_hub.journey(bob).card.column == "triage"

        expected = [
            ("Undid: moved Bob Brown to Triage", bob, "column", "referred"),
            ("Undid: assigned Ann Smith to alice", ann, "assigned_to", None),
            ("Undid: set the delay reason of Ann Smith to TRANSPORT", ann, "delay_reason", None),
            ("Undid: moved Ann Smith to Triage", ann, "column", "referred"),
        ]
        for message, journey, field, value in expected:
            await pilot.press("u")
            await pilot.pause()
            assert last_message(app) == message
            assert getattr(sqlite_hub.journey(journey).card, field) == value
        await pilot.press("u")
        await pilot.pause()
        assert "Nothing of yours to undo" in last_message(app)

        await pilot.press("U")
        await pilot.pause()
        assert last_message(app) == "Redid: moved Ann Smith to Triage"
        assert sqlite_hub.journey(ann).card.column == "triage"
        await pilot.press("U")
        await pilot.pause()
        assert last_message(app) == "Redid: set the delay reason of Ann Smith to TRANSPORT"
        assert sqlite_hub.journey(ann).card.delay_reason == "TRANSPORT"

        # A new change ends the way forward, as in any editor.
        await pilot.press("a")
        await pilot.press("U")
        await pilot.pause()
        assert last_message(app) == "Nothing to redo"
        await pilot.press("u")
        await pilot.pause()
        assert last_message(app) == "Undid: assigned Ann Smith to alice"


async def test_undo_messages_keep_to_initials_when_the_board_does(sqlite_hub: Hub) -> None:
    refer_someone(sqlite_hub, 1, name="Ann Smith")
    app = make_app(sqlite_hub, privacy="initials")
    app.said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("L", "u")
        await pilot.pause()
        assert last_message(app) == "Undid: moved AS to Triage"


async def test_every_board_action_is_in_the_palette_with_its_keys(sqlite_hub: Hub) -> None:
    refer_someone(sqlite_hub, 1, name="Ann Smith")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        board = board_of(app)
        keys_in_palette = [
            c.help.split(": ", 1)[1].split("  ")
            for c in app.get_system_commands(board)
            if c.help.startswith("key")
        ]
        for key, active in board.active_bindings.items():
            binding = active.binding
            if not binding.description or active.node is app:
                continue
            shown = app.get_key_display(binding.with_key(key))
            assert any(shown in keys for keys in keys_in_palette), (
                f"{binding.description} ({shown}) is not in the palette"
            )
        # And from the palette as a person uses it: find the action by its words, Enter runs it.
        await pilot.press("ctrl+p", *"capacity")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CapacityScreen)
