"""The allow-list itself (domain/need_to_know.py): it names every key the domain writes (so a
coordinator loses nothing), the manual (docs/guide/need-to-know.md) shows it as it is, and each
narrower view is a subset."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from d2a_tui.domain import need_to_know
from d2a_tui.domain.commands import compensate, decide
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.events import Event, EventKind, JourneyState, apply
from d2a_tui.domain.flow import load_flow
from d2a_tui.domain.offers import OfferContext
from tests.conftest import FROZEN_NOW

FLOW = load_flow()
TODAY = date(2026, 11, 23)
MANUAL_PAGE = Path(__file__).parents[2] / "docs" / "guide" / "need-to-know.md"
START, END = "<!-- need-to-know table: start -->", "<!-- need-to-know table: end -->"


def test_the_manuals_table_is_the_domains_table() -> None:
    text = MANUAL_PAGE.read_text(encoding="utf-8")
    assert START in text and END in text, (
        f"{MANUAL_PAGE.name} lost its need-to-know table's markers"
    )
    shown = text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert shown == need_to_know.markdown_table(), (
        "docs/guide/need-to-know.md's table differs from domain/need_to_know.py: paste "
        "markdown_table()'s output between the markers"
    )


def test_every_role_has_a_view_and_every_kind_a_full_entry() -> None:
    assert set(need_to_know.VIEW_BY_ROLE) == set(need_to_know.ROLES)
    assert set(need_to_know.FULL) == set(EventKind) - {EventKind.WITHHELD}
    assert need_to_know.view_of("someone.new") == need_to_know.NARROWEST


def _keys(fields: Mapping[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for key, rule in fields.items():
        found.add(prefix + key)
        if isinstance(rule, Mapping):
            found |= _keys(rule, f"{prefix}{key}.")
    return found


def test_each_narrower_view_is_within_the_full_one() -> None:
    for view in ("provider", "initials", "figures"):
        for kind, fields in need_to_know.ALLOWED[view].items():
            assert _keys(fields) <= _keys(need_to_know.FULL[kind]), (view, kind)
        assert need_to_know.JOURNEY_FIELDS[view] <= need_to_know.JOURNEY_FIELDS["full"]


def _payload_keys(payload: Mapping[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for key, value in payload.items():
        found.add(prefix + key)
        if isinstance(value, Mapping):
            found |= _payload_keys(value, f"{prefix}{key}.")
    return found


commands = st.one_of(
    st.tuples(st.just("move"), st.fixed_dictionaries({"to": st.sampled_from(
        [c.id for c in FLOW.columns if not c.is_closed])})),
    st.tuples(st.just("close"), st.just({"outcome": "other", "destination": None})),
    st.tuples(st.just("reopen"), st.just({})),
    st.tuples(st.just("set_delay"), st.sampled_from([{"code": "MED"}, {"code": "EQUIP"}])),
    st.tuples(st.just("clear_delay"), st.just({})),
    st.tuples(st.just("set_ready_date"), st.just({"date": "2026-11-20"})),
    st.tuples(st.just("set_expected_date"), st.just({"date": "2026-11-30"})),
    st.tuples(st.just("set_ward"), st.just({"ward": "Ward 2", "bed": "B9"})),
    st.tuples(st.just("add_note"), st.just({"text": "a note"})),
    st.tuples(st.just("assign"), st.just({"to": "alice"})),
    st.tuples(st.just("acknowledge"), st.just({"reason": "known", "until": None})),
    st.tuples(st.just("record_admission"), st.just(
        {"admitted_on": "2026-11-15", "ward": "W1", "bed": None, "cancels": "m1"})),
    st.tuples(st.just("record_hospital_discharge"), st.just(
        {"at": "2026-11-22T10:00:00+00:00", "ward": "W1", "cancels": "m2"})),
    st.tuples(st.just("update_demographics"), st.just(
        {"name": "New Name", "date_of_birth": "1941-05-06", "previous_name": "Old",
         "previous_date_of_birth": "1941-05-07"})),
    st.tuples(st.just("merge_patient"), st.just({"patient": {
        "id": "p-2", "nhs_number": "9434765919", "name": "A B", "date_of_birth": "1941-05-06",
        "locality": "North", "existing": True}, "previous_nhs_number": "9434765870"})),
    st.tuples(st.just("offer"), st.just({"service_id": "reable", "start": None, "note": "hi"})),
    st.tuples(st.just("undo"), st.just({})),
)  # fmt: skip


@settings(max_examples=150)
@given(st.lists(commands, min_size=1, max_size=12))
def test_the_full_view_lists_every_key_the_domain_writes(steps: list[tuple[str, Any]]) -> None:
    """A coordinator's replica must receive everything: a key a command writes that the full
    view does not list would be cut from it."""
    referral = {
        "patient": {
            "id": "p-1",
            "nhs_number": "9434765919",
            "name": "Edna Example",
            "date_of_birth": "1938-03-04",
            "locality": "North",
        },
        "ward": "Ward 7",
        "bed": "B3",
        "pathway": "P1",
        "admitted_on": "2026-11-15",
        "discharge_ready_date": "2026-11-20",
        "expected_discharge_date": "2026-11-25",
    }
    kind, payload = decide(FLOW, None, "refer", referral, TODAY)
    events = [Event("e0", "j", kind, payload, "alice", FROZEN_NOW, 1)]
    state: JourneyState = apply(None, events[0])
    for n, (command, args) in enumerate(steps, start=1):
        try:
            if command == "undo":
                kind, payload = compensate(state, events[-1])
            else:
                offers = OfferContext({}, None, f"e{n}")
                kind, payload = decide(FLOW, state, command, args, TODAY, offers)
            event = Event(f"e{n}", "j", kind, payload, "alice", FROZEN_NOW, state.version + 1)
            state = apply(state, event)
        except D2AError:
            continue
        events.append(event)
    for event in events:
        listed = _keys(need_to_know.FULL[event.kind])
        assert _payload_keys(event.payload) <= listed, event.kind
        # And the cut keeps it whole for a coordinator.
        assert need_to_know.cut(str(event.kind), event.payload, "full") == (
            str(event.kind),
            event.payload,
        )
