"""The referral form and the journey screen, as a person uses them."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Label

from d2a_tui.domain.nhs_number import format_nhs_number, next_synthetic
from d2a_tui.screens.journey import JourneyScreen
from d2a_tui.screens.referral import ReferralScreen
from d2a_tui.services.hub import Hub
from tests.conftest import refer_someone
from tests.tui.conftest import board_of, column_text, make_app, shown_ids

SIZE = (200, 40)
NHS = next_synthetic(500)[1]


def note(app: object, field: str) -> str:
    return str(app.screen.query_one(f"#note-{field}", Label).render())  # type: ignore[attr-defined]


async def test_refer_a_patient_through_the_form(sqlite_hub: Hub) -> None:
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("N")
        await pilot.pause()
        assert isinstance(app.screen, ReferralScreen)
        await pilot.press(*format_nhs_number(NHS)[:5])
        assert "of 10 digits" in note(app, "nhs")
        await pilot.press(*format_nhs_number(NHS)[5:])
        assert "✓" in note(app, "nhs")
        await pilot.press("tab", *"Grace Hopper", "tab", *"09/12/1936", "tab", *"Ward 7")
        await pilot.press("tab", *"B4", "tab")  # on to the pathway picker, left undecided
        await pilot.press("tab", *"20/11/2026", "tab", *"22/11/2026", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, ReferralScreen)
        cards = [card for card in sqlite_hub.board() if card.nhs_number == NHS]
        assert len(cards) == 1
        card = cards[0]
        assert (card.name, card.ward, card.bed, card.column) == (
            "Grace Hopper",
            "Ward 7",
            "B4",
            "referred",
        )
        assert str(card.date_of_birth) == "1936-12-09"
        assert str(card.admitted_on) == "2026-11-20"
        assert str(card.discharge_ready_date) == "2026-11-22"
        assert board_of(app).selected == card.journey_id
        assert "Grace Hopper" in column_text(app, "referred")


async def test_referral_errors_show_beside_the_fields_and_nothing_is_saved(
    sqlite_hub: Hub,
) -> None:
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("N")
        await pilot.pause()
        bad = NHS[:9] + str((int(NHS[9]) + 1) % 10)
        await pilot.press(*bad)
        assert "check digit" in note(app, "nhs")
        await pilot.press("tab", "tab", *"31/02/1936", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReferralScreen)
        assert "check digit" in note(app, "nhs")
        assert "needed" in note(app, "name")
        assert "not a date" in note(app, "dob")
        assert app.screen.focused is app.screen.query_one("#nhs", Input)
        assert sqlite_hub.board() == []
        # A refusal from the rules lands beside its field too: admitted before birth.
        await pilot.press("ctrl+u", *NHS, "tab", *"Grace Hopper", "tab", "ctrl+u", *"09/12/1936")
        await pilot.press("tab", "tab", "tab", "tab", *"01/01/1930", "ctrl+s")
        await pilot.pause()
        assert "before the date of birth" in note(app, "admitted")
        assert sqlite_hub.board() == []
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ReferralScreen)
        assert shown_ids(app, "referred") == []


async def test_journey_screen_shows_the_timeline_and_acts_on_the_journey(sqlite_hub: Hub) -> None:
    journey = refer_someone(sqlite_hub, 1, name="Ada Lovelace")
    sqlite_hub.set_delay(journey, "EQUIP")
    sqlite_hub.add_note(journey, "daughter visiting at 3")
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, JourneyScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 3
        whats = [str(table.get_row_at(i)[2]) for i in range(table.row_count)]
        assert whats == [
            "referred to Referred from Ward 7/B3",
            "delay reason EQUIP",
            "note: daughter visiting at 3",
        ]
        details = str(app.screen.query_one("#journey-details").render())
        assert "Ada Lovelace" in details and "EQUIP" in details
        await pilot.press("shift+right")
        await pilot.pause()
        assert sqlite_hub.journey(journey).card.column == "triage"
        assert table.row_count == 4
        assert "moved Referred → Triage" in str(table.get_row_at(3)[2])
        await pilot.press("n", *"rang the ward", "enter")
        await pilot.pause()
        assert sqlite_hub.journey(journey).card.notes == 2
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, JourneyScreen)
        assert shown_ids(app, "triage") == [journey]
        assert board_of(app).selected == journey


async def test_opening_a_journey_records_one_look_and_reloads_record_none(
    sqlite_hub: Hub,
) -> None:
    from d2a_tui.storage.audit import audit

    journey = refer_someone(sqlite_hub, 1, name="Ada Lovelace")
    version = sqlite_hub.journey(journey).card.version
    app = make_app(sqlite_hub)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, JourneyScreen)
        await pilot.press("n", *"rang the ward", "enter")  # the screen reloads after it
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    looks = [
        (line.user, line.device, line.journey_id, line.detail)
        for line in audit(sqlite_hub.store.engine, journey=journey)
        if line.action == "looked"
    ]
    actor = sqlite_hub.actor
    assert looks == [(actor.user, actor.device_id, journey, "journey_screen")]
    assert sqlite_hub.journey(journey).card.version == version + 1  # the note, not the look
