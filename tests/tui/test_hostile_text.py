"""No text breaks a screen, and no text reaches the terminal raw (issue 20, section 2).

People and other systems put markup, terminal controls, bidirectional overrides and very long
text into names, wards, notes, services' names and offers' notes. The entries refuse what their
field limits refuse (cleanly); everything they take is shown literally on every screen, and text
older than the limits (a database row holding an ESC) is shown with a visible stand-in.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import text as sql
from textual.pilot import Pilot

from d2a_tui.app import D2AApp
from d2a_tui.domain.display import shown
from d2a_tui.domain.limits import FieldRejected
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.hostile import CONTROL, CORPUS, LONG, MARKUP, REORDER, raw_in, readable
from tests.tui.conftest import make_app, record_notifications, settle, wait_for


def _screen_text(app: D2AApp) -> str:
    """What the screen shows: the exported SVG (every character drawn is in it), with its text
    unescaped so that the words can be looked for."""
    svg = app.export_screenshot()
    text = html.unescape("".join(re.findall(r">([^<]*)</text>", svg))).replace("\xa0", " ")
    return svg + "\n" + text


def _hostile_hub(hub: Hub) -> list[str]:
    """A person per accepted hostile name, each with a hostile ward and note, red by now;
    a service with a hostile name and an offer to it with a hostile note. Returns the names."""
    names: list[str] = []
    serial = 0
    for value in CORPUS:
        serial += 1
        try:
            journey_id = refer_someone(
                hub, serial, name=value, ward=value[:64], discharge_ready_date="2026-11-16"
            )
        except FieldRejected as refused:
            # Controls and too-long names are refused at the entry, whole, with a reason code.
            assert refused.reason in ("control_characters", "too_long")
            assert value in CONTROL or value == LONG
            continue
        names.append(value)
        hub.add_note(journey_id, f"note {value}")
        hub.set_delay(journey_id, "MED")
    assert len(names) == len(MARKUP) + len(REORDER)
    hub.capacity.add_service(
        "[/]Reablement [bold]North", kind="reablement", pathway="P1", unit="hours",
        service_id="north",
    )  # fmt: skip
    journey_id = refer_someone(hub, 99, name="[@click=app.quit]Offered[/]")
    hub.move(journey_id, "triage")
    hub.move(journey_id, "await_p1")
    hub.offers.make(journey_id, "north", note="[/]start [link=x]Monday")
    return names


def _assert_clean(text: str, where: str) -> None:
    assert raw_in(text) == [], f"{where}: raw characters reached the screen"


async def _open(pilot: Pilot[Any], *keys: str) -> str:
    await pilot.press(*keys)
    await settle(pilot)
    return _screen_text(pilot.app)  # type: ignore[arg-type]


@pytest.mark.parametrize("privacy", ["name"])
async def test_every_screen_shows_hostile_text_literally(
    sqlite_hub: Hub, clock: FrozenClock, privacy: str
) -> None:
    names = _hostile_hub(sqlite_hub)
    app = make_app(sqlite_hub, privacy=privacy)
    said = record_notifications(app)
    async with app.run_test(size=(220, 50)) as pilot:
        await settle(pilot)
        board = _screen_text(app)
        _assert_clean(board, "board")
        # The board's cards show the names literally (as far as a card is wide).
        for name in names:
            assert shown(name)[:3] in board or readable(name) in board, name
        # Every screen, opened from the board, shows and survives the text.
        screens: dict[str, tuple[str, ...]] = {
            "journey": ("enter",),
            "alerts": ("exclamation_mark",),
            "dashboard": ("D",),
            "strategic": ("D", "s"),
            "capacity": ("c",),
            "find": ("f", *"Ann"),
            "handover": ("O",),
            "adt": ("x",),
            "delay picker": ("r",),
            "move picker": ("m",),
            "note prompt": ("n",),
            "keys": ("question_mark",),
        }
        for where, keys in screens.items():
            shown_text = await _open(pilot, *keys)
            _assert_clean(shown_text, where)
            assert app.is_running, f"{where} ended the app"
            while len(app.screen_stack) > 1:
                await pilot.press("escape")
                await settle(pilot)
        # A journey's timeline: every hostile note, literally.
        await pilot.press("home")
        journey = await _open(pilot, "enter")
        assert "note " in journey
        await pilot.press("escape")
        # The clock moves on: the turned-red toasts name people literally, while locked too.
        await pilot.press("ctrl+l")  # locked: the toasts still come, literally
        await settle(pilot)
        assert type(app.screen).__name__ == "LockScreen"
        clock.advance(days=30)
        app.screen_stack[0].tick()  # type: ignore[attr-defined]
        await settle(pilot)
        _assert_clean(_screen_text(app), "toasts")
        assert app.is_running
    assert said, "the clock moved on and nothing was said"
    for message in said:
        _assert_clean(shown(message), "a toast")


async def test_text_older_than_the_limits_is_shown_with_visible_stand_ins(
    sqlite_hub: Hub,
) -> None:
    """A row written before the field limits (or by hand) holding an ESC sequence, BEL and a C1
    CSI: the board, the journey and the find screens show ␛, ␇ and �, never the bytes."""
    journey_id = refer_someone(sqlite_hub, 1, name="Hal Old", ward="Ward 7")
    with sqlite_hub.store.engine.begin() as connection:
        patient_id = connection.execute(
            sql("SELECT patient_id FROM journey WHERE id = :id"), {"id": journey_id}
        ).scalar_one()
        connection.execute(
            sql("UPDATE patient SET name = :name WHERE id = :id"),
            {"name": "Hal\x1b[31m Old\x07\x9b", "id": patient_id},
        )
        connection.execute(
            sql("UPDATE journey SET ward = :ward WHERE id = :id"),
            {"ward": "W\x1b]52;c;ZXZpbA==\x07", "id": journey_id},
        )
    app = make_app(sqlite_hub)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        for where, keys in {"board": (), "journey": ("enter",), "find": ("f", *"Hal")}.items():
            text = await _open(pilot, *keys)
            await wait_for(pilot, lambda: "Hal␛[31m" in _screen_text(app))
            text = _screen_text(app)
            _assert_clean(text, where)
            assert "Hal␛[31m Old␇�" in text, where
            assert "W␛]52" in text or where == "find", where
            while len(app.screen_stack) > 1:
                await pilot.press("escape")
                await settle(pilot)
