"""The board on every terminal: without colour (NO_COLOR, the mono theme, a monochrome terminal)
it reads by symbol, bold and reverse video; in 16 colours it uses only the terminal's own; a
high-contrast theme is a setting. Snapshots at 80×24, the night team's thin clients."""

from __future__ import annotations

from typing import Any

import pytest
from rich.color import ColorType

from d2a_tui.services.hub import Hub
from d2a_tui.widgets.board_column import ColumnBody
from tests.tui.conftest import board_of, make_app


@pytest.fixture
def no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def xterm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_board_without_colour_at_80x24(seeded_hub: Hub, no_color: None, snap_compare: Any) -> None:
    assert snap_compare(make_app(seeded_hub), press=["right", "down"], terminal_size=(80, 24))


def test_board_in_16_colours_at_80x24(seeded_hub: Hub, xterm: None, snap_compare: Any) -> None:
    assert snap_compare(make_app(seeded_hub), press=["right", "down"], terminal_size=(80, 24))


def test_board_in_high_contrast(seeded_hub: Hub, xterm: None, snap_compare: Any) -> None:
    app = make_app(seeded_hub, theme="high-contrast")
    assert snap_compare(app, press=["right", "down"], terminal_size=(100, 30))


@pytest.mark.parametrize(
    ("env", "theme"),
    [({"NO_COLOR": "1"}, None), ({"TERM": "vt100"}, None), ({}, "mono")],
    ids=["NO_COLOR", "monochrome-terminal", "mono-theme"],
)
async def test_without_colour_every_state_reads_by_bold_and_reverse(
    seeded_hub: Hub,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    theme: str | None,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = make_app(seeded_hub, **({"theme": theme} if theme else {}))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.no_color  # the terminal's own foreground and background only
        body = board_of(app).active_column.body
        cursor = body.get_component_rich_style("column-body--cursor")
        red = body.get_component_rich_style("column-body--red", partial=True)
        amber = body.get_component_rich_style("column-body--amber", partial=True)
        assert cursor.reverse  # the selected card
        assert red.bold and red.reverse  # red waits stand out as blocks
        assert amber.bold and not amber.reverse
        banner = board_of(app).query_one("#banner")
        assert banner.rich_style.reverse and banner.rich_style.bold


async def test_in_16_colours_the_board_draws_only_the_terminals_colours(
    seeded_hub: Hub, xterm: None
) -> None:
    """Every colour on screen is one of the terminal's 16 (or its default), so a 16-colour
    terminal shows exactly what was meant."""
    app = make_app(seeded_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("right", "down")
        await pilot.pause()
        seen: set[ColorType] = set()
        for strip in app.screen._compositor.render_strips():
            for segment in strip:
                style = segment.style
                for color in (style.color, style.bgcolor) if style else ():
                    if color is not None:
                        seen.add(color.type)
        assert seen <= {ColorType.DEFAULT, ColorType.STANDARD}, seen
        assert ColorType.STANDARD in seen  # there is colour: red and amber are drawn in it
        assert any(isinstance(w, ColumnBody) for w in app.screen.query(ColumnBody))


async def test_the_theme_is_a_setting(seeded_hub: Hub) -> None:
    app = make_app(seeded_hub, theme="high-contrast")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == "high-contrast"
        assert not app.no_color
