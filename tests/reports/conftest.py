"""A small hand-built hub whose report figures are worked out by hand in the tests.

All times are UTC in November, when England is on GMT, so a UTC day is the hub's local day.

  A  referred 10 Nov (admitted 1 Nov, ready 9 Nov) → Awaiting P1, delay P1CARE;
     12 Nov meets the criteria to reside again (ready date cleared); 15 Nov ready again (15 Nov);
     20 Nov discharged to P1 at home (no destination recorded yet).
  B  referred 10 Nov (admitted 25 Oct, ready 5 Nov, proposed P2) → Awaiting P2, delay P2BED;
     still in hospital today (23 Nov).
  C  referred 11 Nov (admitted 9 Nov, ready 11 Nov) → Awaiting P0; closed 12 Nov, P0_HOME.
  D  referred 13 Nov (admitted 12 Nov, no ready date) → Awaiting P3; ready 16 Nov, delay P3BED;
     closed 23 Nov 09:00, P3_CAREHOME.
  E  referred 10 Nov (admitted 7 Nov, ready 9 Nov) → Awaiting P2; 13 Nov into a P2 bed;
     22 Nov closed with destination P2_REHAB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from d2a_tui.services.hub import Hub
from tests.conftest import FROZEN_NOW, FrozenClock, refer_someone

# The sync tests' real server, for the late-sync scenarios.
from tests.sync.conftest import any_sync_env, sync_env_factory  # noqa: F401


@dataclass
class Scenario:
    hub: Hub
    clock: FrozenClock
    ids: dict[str, str]


def _at(clock: FrozenClock, when: str) -> None:
    clock.now = datetime.fromisoformat(when).replace(tzinfo=UTC)


def build(hub: Hub, clock: FrozenClock, *, read_between: bool = False) -> dict[str, str]:
    """Run the scenario through the Hub's commands. With read_between, a report is read after
    every step, so the summaries are folded a few events at a time, as in real use."""
    ids: dict[str, str] = {}
    steps: list[tuple[str, Callable[[], object]]] = [
        ("2026-11-10 09:00", lambda: ids.__setitem__("A", refer_someone(
            hub, 1, admitted_on="2026-11-01", discharge_ready_date="2026-11-09"))),
        ("2026-11-10 09:10", lambda: ids.__setitem__("B", refer_someone(
            hub, 2, admitted_on="2026-10-25", discharge_ready_date="2026-11-05", pathway="P2"))),
        ("2026-11-10 09:20", lambda: ids.__setitem__("E", refer_someone(
            hub, 5, admitted_on="2026-11-07", discharge_ready_date="2026-11-09"))),
        ("2026-11-10 10:00", lambda: hub.move(ids["A"], "triage")),
        ("2026-11-10 10:10", lambda: hub.move(ids["B"], "triage")),
        ("2026-11-10 10:15", lambda: hub.move(ids["E"], "triage")),
        ("2026-11-10 10:20", lambda: hub.move(ids["B"], "await_p2")),
        ("2026-11-10 10:30", lambda: hub.move(ids["E"], "await_p2")),
        ("2026-11-10 11:00", lambda: hub.move(ids["A"], "await_p1")),
        ("2026-11-10 12:00", lambda: hub.set_delay(ids["A"], "P1CARE")),
        ("2026-11-10 12:05", lambda: hub.set_delay(ids["B"], "P2BED")),
        ("2026-11-11 09:00", lambda: ids.__setitem__("C", refer_someone(
            hub, 3, admitted_on="2026-11-09", discharge_ready_date="2026-11-11"))),
        ("2026-11-11 10:00", lambda: hub.move(ids["C"], "triage")),
        ("2026-11-11 11:00", lambda: hub.move(ids["C"], "await_p0")),
        ("2026-11-12 10:00", lambda: hub.set_ready_date(ids["A"], None)),
        ("2026-11-12 15:00", lambda: hub.close_journey(
            ids["C"], "home_independent", destination="P0_HOME")),
        ("2026-11-13 09:00", lambda: ids.__setitem__("D", refer_someone(
            hub, 4, admitted_on="2026-11-12"))),
        ("2026-11-13 10:00", lambda: hub.move(ids["D"], "triage")),
        ("2026-11-13 10:05", lambda: hub.move(ids["D"], "await_p3")),
        ("2026-11-13 10:10", lambda: hub.move(ids["E"], "in_p2")),
        ("2026-11-15 10:00", lambda: hub.set_ready_date(ids["A"], "2026-11-15")),
        ("2026-11-16 10:00", lambda: hub.set_ready_date(ids["D"], "2026-11-16")),
        ("2026-11-16 11:00", lambda: hub.set_delay(ids["D"], "P3BED")),
        ("2026-11-20 14:00", lambda: hub.move(ids["A"], "on_p1")),
        ("2026-11-22 10:00", lambda: hub.close_journey(
            ids["E"], "home_independent", destination="P2_REHAB")),
        ("2026-11-23 09:00", lambda: hub.close_journey(
            ids["D"], "care_home", destination="P3_CAREHOME")),
    ]  # fmt: skip
    for when, step in steps:
        _at(clock, when)
        step()
        if read_between:
            hub.reports.sitrep(clock.now.date())
    clock.now = FROZEN_NOW  # 23 Nov 09:30
    return ids


@pytest.fixture
def scenario(make_hub: Callable[..., Hub], clock: FrozenClock) -> Scenario:
    hub = make_hub()
    return Scenario(hub, clock, build(hub, clock))


LONDON_ZONE = ZoneInfo("Europe/London")


def local(when: str) -> datetime:
    """A hub-local wall-clock time ("2026-06-16 00:30") as the UTC instant it is."""
    return datetime.fromisoformat(when).replace(tzinfo=LONDON_ZONE).astimezone(UTC)


def run_timeline(clock: FrozenClock, steps: list[tuple[str, Callable[[], object]]]) -> None:
    """Each step at its hub-local time, through the hub's own commands."""
    for when, step in steps:
        clock.now = local(when)
        step()


def daily_row(hub: Hub, day: str, pathway: str, **known: object) -> tuple[int, ...]:
    """The daily sitrep's (a) NCTR, (b) discharged, (c) remaining for one pathway."""
    return tuple(hub.reports.sitrep(day, **known).table("daily").row(pathway)[1:])  # type: ignore[arg-type]
