"""The filter language: what each term keeps, worked by hand on a few journeys, and a parser
that any string either parses or refuses with InvalidInput."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import InvalidInput
from d2a_tui.domain.query import Context, parse
from d2a_tui.domain.stuck import Level

# 00:30 on 23 Nov 2026 in London is still GMT, so the same instant in UTC: the hub's day is 23 Nov.
NOW = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
CONTEXT = Context(NOW, HubCalendar("Europe/London"), "alice", {"triage": "Triage"})


@dataclass(frozen=True)
class Row:
    name: str
    nhs_number: str
    ward: str | None = None
    pathway: str | None = None
    delay_reason: str | None = None
    column: str = "triage"
    assigned_to: str | None = None
    referred_at: datetime = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    discharge_ready_date: date | None = None


EDNA = Row("Edna Example", "9434765919", ward="Ward 7B", pathway="P1", delay_reason="P1CARE",
           assigned_to="alice", discharge_ready_date=date(2026, 11, 19))  # fmt: skip
FRED = Row("Fred Sample", "9990007771", ward="Ward 7", pathway="P3", delay_reason="P3BED",
           column="await_p3", referred_at=datetime(2026, 11, 23, 0, 10, tzinfo=UTC),
           discharge_ready_date=date(2026, 11, 22))  # fmt: skip


def keeps(text: str, row: Row, level: Level = Level.OK) -> bool:
    return parse(text).matches(row, level, CONTEXT)


def test_ward_is_the_whole_ward_not_any_seven() -> None:
    assert keeps("ward:7B", EDNA) and not keeps("ward:7B", FRED)
    assert keeps("ward:7", FRED) and not keeps("ward:7", EDNA)
    assert keeps('ward:"ward 7b"', EDNA)
    # The old complaint: a bare 7 is a digit search in the NHS number, and FRED's has 7s.
    assert keeps("7", FRED) and keeps("7", EDNA)


def test_fields_and_flags_combine_as_and() -> None:
    assert keeps("pathway:P1 delay:p1care mine", EDNA)
    assert not keeps("pathway:P1 delay:P3BED", EDNA)
    assert keeps("pathway:3 delay:P3BED", FRED)
    assert keeps("red ward:7", FRED, Level.RED) and not keeps("red ward:7", FRED, Level.AMBER)
    assert keeps("stuck", FRED, Level.AMBER) and not keeps("stuck", FRED, Level.OK)
    assert keeps("column:triage", EDNA) and keeps("column:Triage", EDNA)
    assert not keeps("column:triage", FRED)


def test_ready_counts_hub_days_since_discharge_ready() -> None:
    # EDNA ready 19 Nov, today 23 Nov (hub day): 4 days. FRED ready 22 Nov: 1 day.
    assert keeps("ready>3d", EDNA) and not keeps("ready>3d", FRED)
    assert keeps("ready>=1d", FRED) and not keeps("ready>1d", FRED)
    assert keeps("ready<2d", FRED) and not keeps("ready<=3", EDNA)
    assert not keeps("ready>0d", Row("No Date", "9990000001"))


def test_new_means_referred_on_the_hubs_today() -> None:
    # FRED referred 00:10 UTC on 23 Nov (the hub's 23 Nov): new; EDNA on 20 Nov: not.
    assert keeps("new", FRED) and not keeps("new", EDNA)
    # In summer time 23:30 UTC on 22 Jun is 00:30 on 23 Jun in London: still "today" at 08:00.
    june = Context(datetime(2026, 6, 23, 7, 0, tzinfo=UTC), HubCalendar(), "alice")
    late = Row("Late Referral", "9990000002", referred_at=datetime(2026, 6, 22, 23, 30, tzinfo=UTC))
    assert parse("new").matches(late, Level.OK, june)


def test_words_match_name_or_nhs_number_typed_with_spaces() -> None:
    assert keeps("edna", EDNA) and not keeps("edna", FRED)
    assert keeps('"edna ex"', EDNA)
    assert keeps("943 476 5919", EDNA) and not keeps("943 476 5919", FRED)


def test_a_field_name_typed_as_a_word_gets_a_hint() -> None:
    from d2a_tui.domain.query import hint

    assert hint(parse("ward 7")) == "for the ward, write ward:7"
    assert hint(parse("red delay")) == "for the delay, write delay:P3BED"
    assert hint(parse("ward:7 edna")) is None


def test_provider_matches_nothing_until_journeys_name_one() -> None:
    query = parse('provider:"Reablement North"')
    assert str(query) == 'provider:"Reablement North"'
    assert not query.matches(EDNA, Level.OK, CONTEXT)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("colour:red", "unknown field 'colour'"),
        ("ward:", "ward: needs a value"),
        ('provider:"Reablement North', 'a " is not closed'),
        ("ready>soon", "not a ready term"),
        ("pathway:P7", "not one of P0, P1, P2, P3"),
    ],
)
def test_a_bad_term_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        parse(text)


@given(st.text(max_size=60))
def test_any_text_parses_or_is_refused_and_round_trips(text: str) -> None:
    try:
        query = parse(text)
    except InvalidInput as error:
        assert str(error).startswith("filter: ")
        return
    assert parse(str(query)) == query  # what the header shows types back as the same filter
    query.matches(EDNA, Level.RED, CONTEXT)  # and matching never raises


@given(st.lists(st.sampled_from(['ward:7B', 'red', 'ready>1d', '"a b"', 'delay:X', ':', '"',
                                 'pathway:1', 'new', 'ready<', 'x:y', 'mine', '9434']), max_size=6))  # fmt: skip
def test_term_soup_parses_or_is_refused(words: list[str]) -> None:
    text = " ".join(words)
    try:
        query = parse(text)
    except InvalidInput:
        return
    assert parse(str(query)) == query
