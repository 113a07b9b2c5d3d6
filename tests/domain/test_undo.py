"""Undo, step by step, gives back the journey as it was — its column, pathway and the clock it
had there included — for any sequence of one user's changes. Pure domain: no database."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from d2a_tui.domain.commands import compensate, decide
from d2a_tui.domain.delays import DELAY_REASONS
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.events import Event, JourneyState, apply
from d2a_tui.domain.flow import load_flow
from tests.conftest import FROZEN_NOW

FLOW = load_flow()
COLUMNS = [column.id for column in FLOW.columns if not column.is_closed]
TODAY = date(2026, 11, 23)
# What an undo does not give back: the bookkeeping of who changed it when, and when a delay
# reason was set (a new setting starts its own time).
BOOKKEEPING = ("version", "updated_at", "updated_by", "delay_since")

changes = st.one_of(
    st.tuples(st.just("move"), st.fixed_dictionaries({"to": st.sampled_from(COLUMNS)})),
    st.tuples(
        st.just("close"), st.fixed_dictionaries({"outcome": st.sampled_from(["died", "other"])})
    ),
    st.tuples(st.just("set_delay"), st.fixed_dictionaries(
        {"code": st.sampled_from([r.code for r in DELAY_REASONS[:4]])})),
    st.tuples(st.just("clear_delay"), st.just({})),
    st.tuples(st.just("set_ready_date"), st.fixed_dictionaries(
        {"date": st.sampled_from([None, "2026-11-16", "2026-11-20"])})),
    st.tuples(st.just("assign"), st.fixed_dictionaries({"to": st.sampled_from([None, "alice"])})),
    st.tuples(st.just("set_ward"), st.fixed_dictionaries(
        {"ward": st.sampled_from([None, "Ward 1"]), "bed": st.just("B1")})),
)  # fmt: skip


def _event(state: JourneyState | None, kind: Any, payload: dict[str, Any], minutes: int) -> Event:
    return Event(
        event_id=f"e{0 if state is None else state.version}",
        journey_id="j1",
        kind=kind,
        payload=payload,
        actor="alice",
        occurred_at=FROZEN_NOW + timedelta(minutes=minutes),
        seq=1 if state is None else state.version + 1,
    )


def _referred() -> JourneyState:
    kind, payload = decide(FLOW, None, "refer", {
        "patient": {"id": "p1", "nhs_number": "9434765919", "name": "Ann Smith",
                    "date_of_birth": "1941-05-06"},
        "ward": "Ward 7", "admitted_on": "2026-11-15",
    }, TODAY)  # fmt: skip
    return apply(None, _event(None, kind, payload, 0))


def _as_it_was(state: JourneyState) -> JourneyState:
    kept = {name: None for name in BOOKKEEPING if name != "version"}
    return dataclasses.replace(state, version=0, **kept)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(changes, st.integers(1, 3000)), min_size=1, max_size=8))
def test_undoing_every_change_newest_first_gives_back_each_state_in_turn(
    steps: list[tuple[tuple[str, dict[str, Any]], int]],
) -> None:
    state = _referred()
    minutes = 0
    done: list[tuple[Event, JourneyState]] = []  # each change, and the journey before it
    for (command, args), wait in steps:
        minutes += wait
        try:
            kind, payload = decide(FLOW, state, command, args, TODAY)
        except D2AError:
            continue  # not allowed from here: the user could not have made it
        event = _event(state, kind, payload, minutes)
        done.append((event, state))
        state = apply(state, event)
    for target, before in reversed(done):
        minutes += 1
        kind, payload = compensate(state, target)
        state = apply(state, _event(state, kind, payload, minutes))
        assert _as_it_was(state) == _as_it_was(before)
        # In particular the waiting clock: an undone move does not start it again.
        assert state.entered_column_at == before.entered_column_at
