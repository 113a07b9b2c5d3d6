"""One key never changes a person's pathway, and undoing a move gives back the waiting clock:
on every pathway, pressed on the board and checked in the database."""

from __future__ import annotations

import pytest

from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.tui.conftest import (
    board_of,
    column_text,
    make_app,
    record_notifications,
    selected_row_text,
)

SIZE = (200, 30)
PATHWAYS = ["P0", "P1", "P2", "P3"]
# Where L (shift+→) takes someone awaiting each pathway: the next step on that pathway, if any.
NEXT_ON_PATHWAY = {"P0": None, "P1": "on_p1", "P2": "in_p2", "P3": None}


def _awaiting(hub: Hub, pathway: str) -> str:
    journey = refer_someone(hub, 1, name="Ann Smith")
    hub.move(journey, "triage")
    hub.move(journey, f"await_{pathway.lower()}")
    return journey


def _messages(app: object) -> list[str]:
    return app.said  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("pathway", PATHWAYS)
async def test_shift_arrows_follow_the_journeys_own_pathway(sqlite_hub: Hub, pathway: str) -> None:
    journey = _awaiting(sqlite_hub, pathway)
    app = make_app(sqlite_hub)
    app.said = record_notifications(app)  # type: ignore[attr-defined]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        board = board_of(app)
        assert board.selected == journey
        await pilot.press("L")
        await pilot.pause()
        card = sqlite_hub.journey(journey).card
        expected = NEXT_ON_PATHWAY[pathway] or f"await_{pathway.lower()}"
        assert (card.column, card.pathway) == (expected, pathway)
        if NEXT_ON_PATHWAY[pathway] is None:
            assert _messages(app), "a key that does nothing must say why"
        if pathway == "P0":  # Awaiting P1..P3 lie to its right: each a pathway change
            assert any("change the pathway" in m and "press m" in m for m in _messages(app))
        else:
            assert not any("change the pathway" in m for m in _messages(app))

        # Back to Awaiting, then H: Triage (the pathway stays), skipping Awaiting P0.
        if NEXT_ON_PATHWAY[pathway] is not None:
            await pilot.press("u")
            await pilot.pause()
        await pilot.press("H")
        await pilot.pause()
        card = sqlite_hub.journey(journey).card
        assert (card.column, card.pathway) == ("triage", pathway)
        # From Triage, L returns to the journey's own pathway, not to the next column (P0).
        await pilot.press("L")
        await pilot.pause()
        card = sqlite_hub.journey(journey).card
        assert (card.column, card.pathway) == (f"await_{pathway.lower()}", pathway)
        assert board.selected == journey


async def test_from_triage_without_a_pathway_a_key_chooses_none(sqlite_hub: Hub) -> None:
    journey = refer_someone(sqlite_hub, 1, name="Ann Smith")
    sqlite_hub.move(journey, "triage")
    app = make_app(sqlite_hub)
    app.said = record_notifications(app)  # type: ignore[attr-defined]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("shift+right")
        await pilot.pause()
        card = sqlite_hub.journey(journey).card
        assert (card.column, card.pathway) == ("triage", None)
        assert any("press m" in m for m in _messages(app))
        # The pathway is chosen by naming the column.
        await pilot.press("m", *"awaiting p2", "enter")
        await pilot.pause()
        assert sqlite_hub.journey(journey).card.column == "await_p2"


async def test_a_p2_bed_never_steps_down_to_p1_by_one_key(sqlite_hub: Hub) -> None:
    journey = _awaiting(sqlite_hub, "P2")
    sqlite_hub.move(journey, "in_p2")
    app = make_app(sqlite_hub)
    app.said = record_notifications(app)  # type: ignore[attr-defined]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("H")  # On P1 at home is left of In P2 bed on the board
        await pilot.pause()
        card = sqlite_hub.journey(journey).card
        assert (card.column, card.pathway) == ("in_p2", "P2")
        assert any("change the pathway" in m for m in _messages(app))


@pytest.mark.parametrize("pathway", PATHWAYS)
async def test_undoing_a_move_gives_back_the_waiting_clock(
    sqlite_hub: Hub, clock: FrozenClock, pathway: str
) -> None:
    journey = _awaiting(sqlite_hub, pathway)
    entered = sqlite_hub.journey(journey).card.entered_column_at
    clock.advance(days=8)  # red in every Awaiting column (Awaiting P3 turns red after 7 days)
    assert journey in {a.card.journey_id for a in sqlite_hub.alerts.list(red_only=True)}
    app = make_app(sqlite_hub)
    app.said = record_notifications(app)  # type: ignore[attr-defined]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("H")  # by mistake: to Triage, where the clock starts again
        await pilot.pause()
        assert sqlite_hub.journey(journey).card.column == "triage"
        assert "0m" in column_text(app, "triage")
        await pilot.press("u")
        await pilot.pause()
        card = sqlite_hub.journey(journey).card
        assert (card.column, card.entered_column_at) == (f"await_{pathway.lower()}", entered)
        assert "■ Ann Smith" in selected_row_text(app)  # red again
        assert "8d" in column_text(app, card.column)
        # Still red, so still on the alerts list.
        assert journey in {a.card.journey_id for a in sqlite_hub.alerts.list(red_only=True)}
