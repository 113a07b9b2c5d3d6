"""Replaying a journey's events gives the stored projection, for any valid sequence of commands."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from d2a_tui.domain.delays import DELAY_REASONS
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.events import replay
from d2a_tui.domain.flow import load_flow
from d2a_tui.domain.outcomes import OUTCOMES
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone

FLOW = load_flow()
COLUMNS = [column.id for column in FLOW.columns]
_serials = itertools.count(1000)

commands = st.one_of(
    st.tuples(st.just("move"), st.sampled_from(COLUMNS)),
    st.tuples(st.just("close"), st.sampled_from(sorted(OUTCOMES))),
    st.tuples(st.just("reopen"), st.sampled_from(COLUMNS)),
    st.tuples(st.just("delay"), st.sampled_from([None, *(r.code for r in DELAY_REASONS[:6])])),
    st.tuples(st.just("ready"), st.sampled_from([None, "2026-11-16", "2026-11-20", "2026-11-23"])),
    st.tuples(st.just("expected"), st.sampled_from([None, "2026-11-30"])),
    st.tuples(st.just("note"), st.sampled_from(["Family updated.", "OT booked."])),
    st.tuples(st.just("assign"), st.sampled_from(["", None, "bob"])),
    st.tuples(st.just("ward"), st.sampled_from(["Ward 1", "AMU", None])),
    st.tuples(st.just("undo"), st.just(None)),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=3000)),
)


def run(hub: Hub, clock: FrozenClock, journey_id: str, command: str, value) -> None:
    match command:
        case "move":
            hub.move(journey_id, value, outcome="other")
        case "close":
            hub.close_journey(journey_id, value)
        case "reopen":
            hub.reopen(journey_id, value)
        case "delay":
            hub.set_delay(journey_id, value)
        case "ready":
            hub.set_ready_date(journey_id, value)
        case "expected":
            hub.set_expected_date(journey_id, value)
        case "note":
            hub.add_note(journey_id, value)
        case "assign":
            hub.assign(journey_id, value)
        case "ward":
            hub.set_ward(journey_id, value, "B1" if value else None)
        case "undo":
            hub.undo(hub.journey(journey_id).timeline[-1].event)
        case "wait":
            clock.advance(minutes=value)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(commands, min_size=1, max_size=25))
def test_replaying_the_log_gives_the_stored_journey(hub: Hub, clock: FrozenClock, steps) -> None:
    clock.now = FrozenClock().now
    journey_id = refer_someone(hub, serial=next(_serials))
    for command, value in steps:
        before = hub.store.state(journey_id)
        try:
            run(hub, clock, journey_id, command, value)
        except D2AError:
            # A refused command must leave the journey exactly as it was.
            assert hub.store.state(journey_id) == before
    events = hub.store.events(journey_id)
    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    assert replay(events) == hub.store.state(journey_id)
