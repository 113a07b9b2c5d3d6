"""Cell values in the spellings caseload sheets hold."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from d2a_tui.domain.errors import InvalidInput
from d2a_tui.interop.values import parse_delay_reason, parse_pathway, parse_sheet_date

DAYS = st.dates(min_value=date(1960, 1, 1), max_value=date(2090, 12, 31))


@given(DAYS)
def test_every_written_form_of_a_date_reads_back_as_that_date(day: date) -> None:
    serial = (day - date(1899, 12, 30)).days  # how Excel stores the day
    forms = [
        day.strftime("%d/%m/%Y"),
        day.strftime("%d-%b-%y") if 1969 <= day.year <= 2068 else day.strftime("%d-%b-%Y"),
        day.strftime("%d %B %Y"),
        day.isoformat(),
        serial,
        float(serial),
        str(serial),
        datetime.combine(day, datetime.min.time()),
    ]
    assert {parse_sheet_date(form, "date") for form in forms} == {day}


def test_known_excel_serials() -> None:
    # 45658 is 1 Jan 2025 in Excel (=DATE(2025,1,1)); one more day per unit.
    assert parse_sheet_date(45658, "d") == date(2025, 1, 1)
    assert parse_sheet_date(45658 + 365, "d") == date(2026, 1, 1)
    assert parse_sheet_date("24-Nov-26", "d") == date(2026, 11, 24)
    assert parse_sheet_date(" 24/11/2026 ", "d") == date(2026, 11, 24)
    assert parse_sheet_date("", "d") is None


@pytest.mark.parametrize("text", ["11/24/2026", "31/02/2026", "yesterday-ish", "12", "2026-13-01"])
def test_dates_that_are_not_dates_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="not a date"):
        parse_sheet_date(text, "ready date")


@pytest.mark.parametrize(
    ("text", "pathway"),
    [("P1", "P1"), ("p2", "P2"), ("Pathway 1", "P1"), ("pathway3", "P3"), ("pw1", "P1"),
     ("PW 0", "P0"), ("2", "P2"), (3.0, "P3"), ("", None)],
)  # fmt: skip
def test_pathway_spellings(text: object, pathway: str | None) -> None:
    assert parse_pathway(text) == pathway


@pytest.mark.parametrize("text", ["P4", "Pathway one", "home"])
def test_unknown_pathways_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="pathway"):
        parse_pathway(text)


def test_delay_reasons_by_code_wording_or_a_unique_beginning() -> None:
    assert parse_delay_reason("p1care").code == "P1CARE"  # type: ignore[union-attr]
    assert parse_delay_reason("Awaiting transport").code == "TRANSPORT"  # type: ignore[union-attr]
    assert parse_delay_reason("AWAITING MEDICINES TO TAKE HOME.").code == "TTO"  # type: ignore[union-attr]
    assert parse_delay_reason("Safeguarding concern preventing").code == "SAFEG"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match=r"could be any of: MED .*; and \d+ more"):
        parse_delay_reason("Awaiting")  # too short to tell which: the candidates are named
    with pytest.raises(InvalidInput, match=r"could be any of: P1CARE .*; P1NEW "):
        parse_delay_reason("Pathway 1: awaiting")  # P1 wording in acute and community lists
    with pytest.raises(InvalidInput, match="neither a code"):
        parse_delay_reason("waiting for godot")
    assert parse_delay_reason(None) is None


# NHS England's wordings as its guidance and returns write them, which differ from the sitrep
# list's short forms in small words, slashes and spelled-out shorthands.
PUBLISHED = [
    ("Declared as not meeting the criteria to reside at morning board round, and then later in "
     "the day meets the criteria to reside, so discharge stopped", "CTRAGAIN"),
    ("Remains in non-acute bed to avoid spread of infectious disease (non Covid-19) and there "
     "is no other suitable location", "INFECT"),
    ("Awaiting confirmation from community hub / single point of access that the referral has "
     "been received and actioned", "HUBCONF"),
    ("Awaiting a medical decision / intervention, including writing the discharge summary", "MED"),
    ("Homeless/no right of recourse to public funds/no place to discharge to", "HOMELESS"),
    ("Repatriation/transfer to another acute trust for specialist or ongoing treatment", "REPAT"),
    # The grouped list published from 27 May 2024, with its headings.
    ("Capacity – Home-based rehabilitation, reablement or recovery services not yet available "
     "(Pathway 1)", "P1CARE"),
    ("Capacity – Bed-based rehabilitation, reablement or recovery services not yet available "
     "(Pathway 2)", "P2BED"),
    ("Hospital process – Awaiting therapy review of need for supported discharge", "THERAPY"),
    ("Wellbeing concerns – Patient /family/carer concerns over discharge readiness", "FAMILY"),
    ("Care transfer hub process – Waiting for confirmation of immediate care needs and pathway",
     "CTHNEEDS"),
    ("Interface process – Home based rehabilitation, reablement or recovery service "
     "arrangements still underway (Pathway 1)", "P1ARRANGE"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "code"), PUBLISHED)
def test_nhs_englands_published_wordings_are_accepted(text: str, code: str) -> None:
    assert parse_delay_reason(text).code == code  # type: ignore[union-attr]


def test_the_old_year_like_and_tiny_numbers_are_not_dates() -> None:
    assert parse_sheet_date(13943, "DOB") == date(1938, 3, 4)  # Excel's serial for a 1938 birth
    assert parse_sheet_date("13943", "DOB") == date(1938, 3, 4)
    assert parse_sheet_date(1000, "DOB") == date(1902, 9, 26)
    with pytest.raises(InvalidInput, match="is a year, not a date"):
        parse_sheet_date(1938, "DOB")


def test_a_date_a_century_out_is_not_a_serial() -> None:
    with pytest.raises(InvalidInput):
        parse_sheet_date(100, "d")
    assert parse_sheet_date(date(2026, 1, 1) - timedelta(days=1), "d") == date(2025, 12, 31)
