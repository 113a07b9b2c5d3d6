"""The synthetic journeys the seed writes: who, which pathway, and what happens to them when.

Each chunk of days has its own random stream, so chunks can be simulated in parallel processes
and the same seed still gives the same database.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from d2a_tui.domain.events import Event, EventKind, JourneyState, apply
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.handler import recorded_event
from d2a_tui.domain.ids import new_journey_id, uuid7

FIRST_NAMES = (
    "Margaret", "Joan", "Dorothy", "Patricia", "Barbara", "Jean", "Sheila", "Brenda", "Irene", "Eileen",
    "Betty", "Maureen", "Doreen", "Kathleen", "Pauline", "Valerie", "Sylvia", "Edna", "Elsie", "Mavis",
    "John", "David", "Michael", "Peter", "Brian", "Alan", "Kenneth", "Derek", "Ronald", "Keith",
    "Geoffrey", "Roy", "Frank", "Dennis", "Harold", "Arthur", "Raymond", "Bernard", "Stanley", "Terence",
    "Anwar", "Mohammed", "Priya", "Aisha", "Gurdeep", "Winston", "Delroy", "Krystyna", "Tomasz", "Siobhan",
)  # fmt: skip
SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
    "Hughes", "Lees", "Kershaw", "Ashworth", "Schofield", "Whitehead", "Barlow", "Ogden", "Hargreaves", "Butterworth",
    "Khan", "Patel", "Hussain", "Begum", "Singh", "Campbell", "Murphy", "O'Brien", "Kowalski", "Nowak",
)  # fmt: skip
WARDS = (
    "AMU", "Ward A1", "Ward A2", "Ward A3", "Ward B1", "Ward B2", "Ward B4", "Ward C3", "Ward C5",
    "Ward D1", "Ward D2", "Ward E1", "Ward 7", "Ward 8", "Ward 11", "SAU", "Stroke Unit", "Frailty Unit",
)  # fmt: skip
# Pathway split of referrals (what leaves through the hub; DOMAIN.md's observed split, a little
# heavier on P1-P3 because a hub sees fewer of the simplest P0 discharges).
PATHWAY_WEIGHTS = (("P0", 0.86), ("P1", 0.06), ("P2", 0.045), ("P3", 0.035))
DELAYS_BY_PATHWAY = {
    "P0": ("MED", "TTO", "TRANSPORT", "DIAG", "FAMILY", "EQUIP"),
    "P1": ("P1CARE", "P1CARE", "P1CARE", "EQUIP", "THERAPY", "HUBCONF", "FAMILY"),
    "P2": ("P2BED", "P2BED", "P2BED", "THERAPY", "SPAREF", "INFECT"),
    "P3": ("P3BED", "P3BED", "P3BED", "CHC", "FAMILY", "SAFEG", "HOMELESS"),
}
NOTES = (
    "Family updated by phone.",
    "Awaiting OT assessment this afternoon.",
    "Package of care requested from brokerage.",
    "Bed offered, awaiting transport booking.",
    "TTOs with pharmacy.",
    "Discussed at morning board round.",
    "Key safe code confirmed with daughter.",
    "Care home assessment booked for tomorrow.",
)


class Simulator:
    """Makes one journey's events in time order, stopping at `now`."""

    def __init__(self, rng: random.Random, flow: Flow, now: datetime) -> None:
        self.rng = rng
        self.flow = flow
        self.now = now

    def _hours(self, low: float, high: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(low, high))

    def journey(self, referred_at: datetime, locality: str, staff: list[str]) -> list[Event]:
        rng = self.rng
        journey_id = new_journey_id(rng)
        pathway = rng.choices([p for p, _ in PATHWAY_WEIGHTS], [w for _, w in PATHWAY_WEIGHTS])[0]
        age_days = int(rng.triangular(65, 100, 83) * 365.25)
        admitted = referred_at.date() - timedelta(days=int(rng.expovariate(1 / 5)))
        ready = referred_at.date() - timedelta(days=rng.choice((0, 0, 0, 1, 2)))
        ready = max(ready, admitted)
        plan: list[tuple[datetime, EventKind, dict[str, Any]]] = []
        t = referred_at
        plan.append(
            (
                t,
                EventKind.REFERRED,
                {
                    "patient": {
                        "id": new_journey_id(rng),
                        "nhs_number": "",  # handed out by the writer, see _assign_nhs_numbers
                        "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
                        "date_of_birth": (
                            referred_at.date() - timedelta(days=age_days)
                        ).isoformat(),
                        "locality": locality,
                    },
                    "column": self.flow.entry.id,
                    "pathway": pathway if rng.random() < 0.5 else None,
                    "ward": rng.choice(WARDS),
                    "bed": f"B{rng.randint(1, 28)}",
                    "admitted_on": admitted.isoformat(),
                    "discharge_ready_date": ready.isoformat(),
                    "expected_discharge_date": None,
                },
            )
        )
        column, current_pathway = "referred", plan[0][2]["pathway"]

        def move(at: datetime, to: str, **extra: Any) -> None:
            nonlocal column, current_pathway
            source, target = self.flow.column(column), self.flow.column(to)
            kind = EventKind.CLOSED if target.is_closed else EventKind.MOVED
            new_pathway = target.pathway or current_pathway
            payload = {
                "from": column,
                "to": to,
                "pathway": new_pathway,
                "previous_pathway": current_pathway,
                "discharged": source.in_hospital and not target.in_hospital,
                **extra,
            }
            plan.append((at, kind, payload))
            column, current_pathway = to, new_pathway

        t += self._hours(0.3, 5)
        move(t, "triage")
        t += self._hours(0.5, 8)
        move(t, f"await_{pathway.lower()}")
        wait_days = {
            "P0": rng.uniform(0.1, 1.6),
            "P1": rng.uniform(0.5, 4),
            "P2": rng.uniform(1, 6),
            "P3": rng.uniform(2, 12),
        }[pathway]
        if rng.random() < 0.03:
            # Meets the criteria to reside again: the no-criteria-to-reside clock stops, then restarts.
            off = t + self._hours(2, 10)
            plan.append(
                (off, EventKind.READY_DATE_SET, {"date": None, "previous": ready.isoformat()})
            )
            back = off + timedelta(days=rng.uniform(1, 3))
            plan.append(
                (
                    back,
                    EventKind.READY_DATE_SET,
                    {"date": back.date().isoformat(), "previous": None},
                )
            )
            t = back
        if wait_days > 0.8 or rng.random() < 0.15:
            code = rng.choice(DELAYS_BY_PATHWAY[pathway])
            plan.append(
                (t + self._hours(1, 6), EventKind.DELAY_SET, {"code": code, "previous": None})
            )
        if rng.random() < 0.25:
            plan.append(
                (t + self._hours(0.5, 20), EventKind.NOTE_ADDED, {"text": rng.choice(NOTES)})
            )
        if rng.random() < 0.2:
            plan.append(
                (
                    t + self._hours(0.2, 3),
                    EventKind.ASSIGNED,
                    {"to": rng.choice(staff), "previous": None},
                )
            )
        t += timedelta(days=wait_days)
        if pathway == "P0":
            move(
                t,
                "closed",
                outcome="home_independent",
                destination=rng.choice(("P0_HOME",) * 9 + ("P0_OTHER",)),
            )
        elif pathway == "P3":
            destination = rng.choice(("P3_CAREHOME",) * 6 + ("P3_DESIGNATED", "P3B_RETURN"))
            move(t, "closed", outcome="care_home", destination=destination)
        else:
            move(t, "on_p1" if pathway == "P1" else "in_p2")
            if pathway == "P2" and rng.random() < 0.2:
                t += timedelta(days=rng.uniform(7, 21))
                move(t, "on_p1")
            t += timedelta(days=rng.triangular(5, 42, 14))
            outcome = rng.choices(
                ("home_independent", "home_with_care", "care_home", "readmitted", "died"),
                (55, 28, 6, 8, 3),
            )[0]
            destination = {"P1": "P1_HOME", "P2": "P2_REHAB"}[pathway]
            move(t, "closed", outcome=outcome, destination=destination)

        plan.sort(key=lambda step: step[0])
        events: list[Event] = []
        for at, kind, payload in plan:
            if at > self.now:
                break
            events.append(
                recorded_event(  # a simulated history, replayed: not commands decided now
                    event_id=uuid7(int(at.timestamp() * 1000), rng),
                    journey_id=journey_id,
                    kind=kind,
                    payload=payload,
                    actor=rng.choice(staff),
                    occurred_at=at,
                    seq=len(events) + 1,
                )
            )
        return events


def referral_times(
    rng: random.Random, start: datetime, days: int, per_day: int
) -> Iterator[datetime]:
    """Referral times over `days` days, heavier in the working day, as hubs see them."""
    for day in range(days + 1):
        midnight = start + timedelta(days=day)
        weekday_factor = 0.75 if midnight.weekday() >= 5 else 1.08
        count = max(int(rng.gauss(per_day * weekday_factor, per_day * 0.08)), 0)
        for hour in sorted(rng.triangular(7, 22, 12) for _ in range(count)):
            yield midnight + timedelta(hours=hour)


# Journeys are simulated in chunks of days, each with its own random stream, so the work can be
# spread over processes and still give the same database for the same seed.
CHUNK_DAYS = 30
Generated = list[tuple[list[Event], JourneyState]]


@dataclass(frozen=True)
class Task:
    locality: str
    first_day: int
    days: int
    start: datetime
    now: datetime
    seed: int
    referrals_per_day: int
    flow: Flow


def generate(task: Task) -> Generated:
    rng = random.Random(f"{task.seed}-{task.locality}-{task.first_day}")
    simulator = Simulator(rng, task.flow, task.now)
    staff = staff_for(task.locality)
    generated: Generated = []
    chunk_start = task.start + timedelta(days=task.first_day)
    for referred_at in referral_times(rng, chunk_start, task.days - 1, task.referrals_per_day):
        if referred_at > task.now:
            break
        events = simulator.journey(referred_at, task.locality, staff)
        state: JourneyState | None = None
        for event in events:
            state = apply(state, event)
        assert state is not None
        generated.append((events, state))
    return generated


def staff_for(locality: str) -> list[str]:
    key = locality.lower()
    return [f"{key}.coord{i}" for i in range(1, 6)] + [f"{key}.night{i}" for i in range(1, 4)]
