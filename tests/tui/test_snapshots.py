"""SVG snapshots of the main screens on a seeded locality and a frozen clock.

Regenerate after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`,
then look at the SVGs in tests/tui/__snapshots__ before committing them.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from d2a_tui.services.hub import Hub
from tests.tui.conftest import make_app


def test_board_at_80x24(seeded_hub: Hub, snap_compare: Any) -> None:
    assert snap_compare(make_app(seeded_hub), terminal_size=(80, 24))


def test_board_at_160x50_after_moving_the_cursor(seeded_hub: Hub, snap_compare: Any) -> None:
    assert snap_compare(
        make_app(seeded_hub), press=["right", "right", "down", "down"], terminal_size=(160, 50)
    )


def test_board_with_initials_and_a_filter(seeded_hub: Hub, snap_compare: Any) -> None:
    assert snap_compare(
        make_app(seeded_hub, privacy="initials"),
        press=["slash", *"stuck", "enter"],
        terminal_size=(160, 50),
    )


def test_journey_screen(seeded_hub: Hub, snap_compare: Any) -> None:
    assert snap_compare(
        make_app(seeded_hub), press=["right", "right", "right", "enter"], terminal_size=(100, 32)
    )


def test_referral_form_part_filled(seeded_hub: Hub, snap_compare: Any) -> None:
    async def fill(pilot: Pilot[Any]) -> None:
        await pilot.press("N")
        await pilot.pause()
        await pilot.press(*"943 476", "tab", *"Grace Hopper", "tab", *"31/02/1936", "enter")
        await pilot.pause()

    assert snap_compare(make_app(seeded_hub), run_before=fill, terminal_size=(100, 30))


def test_help_lists_the_keys_in_force(seeded_hub: Hub, snap_compare: Any) -> None:
    assert snap_compare(make_app(seeded_hub), press=["question_mark"], terminal_size=(100, 50))
