"""Alerts: worst first, acknowledgement as an audited event, snoozes that come back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from d2a_tui.domain.errors import InvalidInput
from d2a_tui.domain.events import EventKind
from d2a_tui.domain.stuck import Level
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone


@pytest.fixture
def stuck(hub: Hub) -> dict[str, str]:
    # Today is 23 Nov. Limits: ready amber 1 day, red 3; LoS amber 14, red 21.
    return {
        "ready5": refer_someone(hub, 1, admitted_on="2026-11-17", discharge_ready_date="2026-11-18"),
        "ready3": refer_someone(hub, 2, admitted_on="2026-11-19", discharge_ready_date="2026-11-20"),
        "los22": refer_someone(hub, 3, admitted_on="2026-11-01"),
        "amber": refer_someone(hub, 4, admitted_on="2026-11-20", discharge_ready_date="2026-11-22"),
        "fine": refer_someone(hub, 5, admitted_on="2026-11-22", discharge_ready_date="2026-11-23"),
    }  # fmt: skip


def order(hub: Hub, stuck: dict[str, str], **options: bool) -> list[str]:
    names = {journey: name for name, journey in stuck.items()}
    return [names[a.card.journey_id] for a in hub.alerts.list(**options)]


def test_alerts_are_listed_worst_first_with_why(hub: Hub, stuck: dict[str, str]) -> None:
    assert order(hub, stuck) == ["ready5", "ready3", "los22", "amber"]
    first = hub.alerts.list()[0]
    assert first.level is Level.RED
    assert first.days_ready == 5 and first.los_days == 6
    assert any("5 days since discharge-ready" in reason for reason in first.reasons)
    los = hub.alerts.list()[2]
    assert los.los_band == "21+ super-stranded"


def test_acknowledging_snoozes_an_alert_and_is_audited(
    hub: Hub, stuck: dict[str, str], clock: FrozenClock
) -> None:
    hub.alerts.acknowledge(stuck["ready5"], "Care home visit booked tomorrow", snooze="4h")
    assert order(hub, stuck) == ["ready3", "los22", "amber", "ready5"]
    assert order(hub, stuck, include_snoozed=False) == ["ready3", "los22", "amber"]
    last = hub.journey(stuck["ready5"]).timeline[-1]
    assert last.event.kind is EventKind.ALERT_ACKNOWLEDGED
    assert last.event.payload["reason"] == "Care home visit booked tomorrow"
    assert last.event.actor == "alice"
    clock.advance(hours=4, minutes=1)
    assert order(hub, stuck)[0] == "ready5"  # the snooze ran out: back on top


@pytest.mark.parametrize(
    ("reason", "snooze", "message"),
    [("", "4h", "needs a reason"), ("ok", "8d", "at most 7 days"), ("ok", "soon", "duration")],
)
def test_bad_acknowledgements_are_refused(
    hub: Hub, stuck: dict[str, str], reason: str, snooze: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        hub.alerts.acknowledge(stuck["ready5"], reason, snooze=snooze)
    assert hub.journey(stuck["ready5"]).timeline[-1].event.kind is EventKind.REFERRED


def test_a_snooze_in_the_past_is_refused(hub: Hub, stuck: dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match="future"):
        hub.alerts.acknowledge(stuck["ready5"], "ok", until=hub.now() - timedelta(minutes=1))


def test_newly_red_reports_only_what_turned_red_since(hub: Hub, stuck: dict[str, str]) -> None:
    fresh, seen = hub.alerts.newly_red(None)
    assert fresh == [] and seen == {stuck["ready5"], stuck["ready3"], stuck["los22"]}
    hub.set_ready_date(stuck["amber"], "2026-11-20")
    fresh, seen = hub.alerts.newly_red(seen)
    assert [a.card.journey_id for a in fresh] == [stuck["amber"]]
    assert hub.alerts.newly_red(seen)[0] == []
