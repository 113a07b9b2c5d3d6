"""The board's filter language, saved views and export, as a person uses them with the keys."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.widgets import Input, Static

from d2a_tui.config import save_view, saved_views
from d2a_tui.services.hub import Hub
from tests.conftest import refer_someone
from tests.tui.conftest import board_of, column_text, make_app, shown_ids, wait_for

SIZE = (200, 30)


def header(app: object) -> str:
    bar = board_of(app).query_one("#filter-bar", Static)  # type: ignore[arg-type]
    return str(bar.render()) if bar.display else ""


def three_on_two_wards(hub: Hub) -> tuple[str, str, str]:
    # The clock is 23 Nov 2026: ready on 15 Nov is 8 days (red), on 21 Nov 2 days (amber).
    red_7b = refer_someone(hub, 1, name="Ada Lovelace", ward="Ward 7B",
                           discharge_ready_date="2026-11-15")  # fmt: skip
    amber_7b = refer_someone(hub, 2, name="Bob Brown", ward="Ward 7B",
                             discharge_ready_date="2026-11-21")  # fmt: skip
    # Ward 7 (not 7B) and an NHS number full of 7s: the old filter matched it for "7B"'s 7.
    red_7 = refer_someone(hub, 3, name="Carol Lovell", ward="Ward 7",
                          discharge_ready_date="2026-11-15")  # fmt: skip
    return red_7b, amber_7b, red_7


async def test_ward_and_red_combine_and_the_header_counts_what_is_left(sqlite_hub: Hub) -> None:
    red_7b, amber_7b, red_7 = three_on_two_wards(sqlite_hub)
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert header(app) == ""
        await pilot.press("slash", *"ward:7B red", "enter")
        await pilot.pause()
        assert shown_ids(app, "referred") == [red_7b]
        assert "Bob Brown" not in column_text(app, "referred")
        assert header(app).startswith("Filter: ward:7B red — 1 of 3")
        assert not board_of(app).query_one("#filter", Input).display
        await pilot.press("escape")
        await pilot.pause()
        assert set(shown_ids(app, "referred")) == {red_7b, amber_7b, red_7}
        assert header(app) == ""


async def test_the_old_way_of_asking_gets_a_hint(sqlite_hub: Hub) -> None:
    three_on_two_wards(sqlite_hub)
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"ward 7", "enter")
        await pilot.pause()
        # "ward" is a word in the name now, so nobody matches, and the header says how to ask.
        assert shown_ids(app, "referred") == []
        assert "0 of 3" in header(app) and "for the ward, write ward:7" in header(app)


async def test_ready_days_and_a_bad_term_keeps_the_last_good_filter(sqlite_hub: Hub) -> None:
    red_7b, _amber_7b, red_7 = three_on_two_wards(sqlite_hub)
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"ready>3d")
        await pilot.pause()
        assert set(shown_ids(app, "referred")) == {red_7b, red_7}  # 8 days, not 2
        # Pasted in one go (typed, each prefix would be the last good filter in turn).
        board_of(app).query_one("#filter", Input).value = "ready>3d colour:blue"
        await pilot.pause()
        assert "unknown field 'colour'" in header(app)
        assert "ready>3d" in header(app)
        assert set(shown_ids(app, "referred")) == {red_7b, red_7}


async def test_v_cycles_saved_views_then_back_to_everything(sqlite_hub: Hub) -> None:
    red_7b, amber_7b, red_7 = three_on_two_wards(sqlite_hub)
    save_view("bedmeeting", "red ready>1d")
    save_view("ward7b", "ward:7B")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        assert set(shown_ids(app, "referred")) == {red_7b, red_7}
        assert header(app).startswith("View bedmeeting: red ready>1d — 2 of 3")
        await pilot.press("v")
        await pilot.pause()
        assert set(shown_ids(app, "referred")) == {red_7b, amber_7b}
        assert header(app).startswith("View ward7b: ward:7B — 2 of 3")
        await pilot.press("v")
        await pilot.pause()
        assert len(shown_ids(app, "referred")) == 3
        assert header(app) == ""


async def test_e_exports_what_the_board_shows_readable_by_its_owner(
    sqlite_hub: Hub, tmp_path: Path
) -> None:
    three_on_two_wards(sqlite_hub)
    target = tmp_path / "out" / "bed-meeting.md"
    target.parent.mkdir()  # a folder typed is the user's to make (d2a's own exports one is made)
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"ward:7B", "enter", "e")
        await pilot.pause()
        prompt = app.screen.query_one(Input)
        assert "exports" in prompt.value  # offered: the data folder
        prompt.value = str(target)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: bool(app._notifications) and target.exists())
        messages = " ".join(n.message for n in app._notifications)
    assert f"Exported 2 journeys to {target}" in messages
    text = target.read_text()
    assert "| ▲ amber | Bob Brown |" in text and "Ada Lovelace" in text
    assert "Carol Lovell" not in text  # filtered out on the board, so not exported
    assert "filter: ward:7B · 2 of 3 open journeys" in text
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_saved_views_keep_the_rest_of_the_config_file(tmp_path: Path) -> None:
    from d2a_tui.config import config_path, delete_view

    path = config_path()
    path.write_text('# my settings\nprivacy = "initials"\n\n[keys]\n"card.note" = "N"\n')
    save_view("bedmeeting", 'red   provider:"Reablement North"')
    assert saved_views() == {"bedmeeting": 'red provider:"Reablement North"'}
    text = path.read_text()
    assert text.startswith('# my settings\nprivacy = "initials"')
    assert '"card.note" = "N"' in text
    delete_view("bedmeeting")
    assert saved_views() == {}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_snapshot_board_filtered_by_ward_and_amber(seeded_hub: Hub, snap_compare: object) -> None:
    # The header says what is applied and what it leaves: 12 of the 459 open journeys.
    assert snap_compare(  # type: ignore[operator]
        make_app(seeded_hub), press=["slash", *"ward:7 amber", "enter"], terminal_size=(120, 30)
    )


async def test_an_unknown_delay_code_or_column_says_so_rather_than_empty_the_board(
    sqlite_hub: Hub,
) -> None:
    red_7b, amber_7b, red_7 = three_on_two_wards(sqlite_hub)
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"ward:7B", "enter")
        await pilot.pause()
        search = board_of(app).query_one("#filter", Input)
        search.value = "ward:7B delay:NOPE"  # pasted whole
        await pilot.pause()
        assert "unknown delay reason in delay:NOPE" in header(app) and "P3BED" in header(app)
        assert set(shown_ids(app, "referred")) == {red_7b, amber_7b}  # the last good filter
        search.value = 'column:"Awaiting P9"'
        await pilot.pause()
        assert 'unknown column in column:"Awaiting P9"' in header(app)
        search.value = 'column:"referred"'
        await pilot.pause()
        assert set(shown_ids(app, "referred")) == {red_7b, amber_7b, red_7}
