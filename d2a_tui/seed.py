"""Synthetic, clearly fake, realistic hub data for demos, tests and benchmarks.

Every NHS number is in the 999 range that the NHS reserves for testing and never issues, and the
database is marked with an organisation named SYNTHETIC. The volumes follow DOMAIN.md: a locality
takes ~150 referrals a day, most P0 and gone within a day or two; P1 lasts up to six weeks at home;
~145 P2 beds; a region is ten localities. Events are folded with the same `apply` the hub uses, so a
seeded journey's projection is exactly what replaying its log gives.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from d2a_tui.config import data_dir
from d2a_tui.domain.events import Event, EventKind, JourneyState, apply
from d2a_tui.domain.flow import Flow, load_flow
from d2a_tui.domain.ids import new_journey_id, uuid7
from d2a_tui.domain.nhs_number import next_synthetic as next_synthetic_nhs_number
from d2a_tui.storage.db import ensure_schema, make_engine, normalise_url
from d2a_tui.storage.journeys import (
    counter_table,
    patient_table,
    row_from_event,
    row_from_state,
)
from d2a_tui.storage.models import EVENTS_COUNTER, AppUser, Organisation

SYNTHETIC_ORGANISATION = "synthetic"
REGION_LOCALITIES = (
    "Stockport", "Manchester", "Oldham", "Bolton", "Bury",
    "Rochdale", "Salford", "Tameside", "Trafford", "Wigan",
)  # fmt: skip
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


@dataclass(frozen=True)
class Profile:
    localities: tuple[str, ...]
    referrals_per_day: int = 150


PROFILES = {
    "locality": Profile(localities=("Stockport",)),
    "region": Profile(localities=REGION_LOCALITIES),
}


@dataclass
class SeedSummary:
    profile: str
    days: int
    journeys: int = 0
    events: int = 0
    open_journeys: int = 0
    seconds: float = 0.0
    open_by_column: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        columns = ", ".join(f"{k} {v}" for k, v in self.open_by_column.items())
        return (
            f"seeded {self.profile} ({self.days} days, synthetic): {self.journeys} journeys, "
            f"{self.events} events, {self.open_journeys} open ({columns}) in {self.seconds:.1f} s"
        )


def demo_database_url() -> str:
    return f"sqlite:///{data_dir() / 'demo.db'}"


class _Simulator:
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
                Event(
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


def _referral_times(
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
class _Task:
    locality: str
    first_day: int
    days: int
    start: datetime
    now: datetime
    seed: int
    referrals_per_day: int
    flow: Flow


def _generate(task: _Task) -> Generated:
    rng = random.Random(f"{task.seed}-{task.locality}-{task.first_day}")
    simulator = _Simulator(rng, task.flow, task.now)
    staff = _staff_for(task.locality)
    generated: Generated = []
    chunk_start = task.start + timedelta(days=task.first_day)
    for referred_at in _referral_times(rng, chunk_start, task.days - 1, task.referrals_per_day):
        if referred_at > task.now:
            break
        events = simulator.journey(referred_at, task.locality, staff)
        state: JourneyState | None = None
        for event in events:
            state = apply(state, event)
        assert state is not None
        generated.append((events, state))
    return generated


def seed_database(
    url: str | None,
    *,
    profile: str = "locality",
    days: int = 365,
    seed: int = 2026,
    now: datetime | None = None,
    progress: bool | Callable[[SeedSummary, int, int], None] = False,
    replace: bool = False,
    flow: Flow | None = None,
    processes: int | None = None,
) -> SeedSummary:
    from d2a_tui.config import Settings

    started = time.perf_counter()
    url = normalise_url(url or Settings.load().database_url)
    if replace and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    flow = flow or load_flow()
    now = now or datetime.now(UTC)
    chosen = PROFILES[profile]
    summary = SeedSummary(profile, days)
    # Start far enough back that journeys referred before the window (long P1/P2 stays) are present.
    start = datetime.combine(now.date() - timedelta(days=days), datetime.min.time(), tzinfo=UTC)
    tasks = [
        _Task(
            locality,
            first,
            min(CHUNK_DAYS, days + 1 - first),
            start,
            now,
            seed,
            chosen.referrals_per_day,
            flow,
        )
        for locality in chosen.localities
        for first in range(0, days + 1, CHUNK_DAYS)
    ]
    workers = processes if processes is not None else (os.cpu_count() or 1)
    # Fork the workers before any database connection exists, so none is shared with a child.
    pool = (
        multiprocessing.get_context("fork").Pool(workers)
        if workers > 1 and len(tasks) > 2
        else None
    )
    engine = make_engine(url)
    try:
        ensure_schema(engine)
        with engine.begin() as connection:
            _write_reference_data(connection, chosen)
            position = connection.execute(
                select(counter_table.c.value).where(counter_table.c.name == EVENTS_COUNTER)
            ).scalar_one()
            highest = connection.execute(
                select(func.max(patient_table.c.nhs_number)).where(
                    patient_table.c.nhs_number.like("999%")
                )
            ).scalar()
            nhs_serial = int(highest[3:9]) if highest else 0
        results = pool.imap(_generate, tasks) if pool else map(_generate, tasks)
        for done, (task, generated) in enumerate(zip(tasks, results, strict=True), 1):
            nhs_serial = _assign_nhs_numbers(generated, nhs_serial)
            position = _write_batch(
                engine, generated, position, _device_for(task.locality), summary
            )
            if callable(progress):  # the CLI's progress bar
                progress(summary, done, len(tasks))
            elif progress:
                print(
                    f"\r  {summary.journeys:,} journeys, {summary.events:,} events…",
                    end="",
                    file=sys.stderr,
                )
        with engine.begin() as connection:
            connection.execute(
                update(counter_table)
                .where(counter_table.c.name == EVENTS_COUNTER)
                .values(value=position)
            )
        from d2a_tui.reports.capacity_seed import after_seed  # services, capacity, report summaries

        after_seed(engine, flow, chosen.localities, now=now, days=days, seed=seed)
        if progress is True:
            print(file=sys.stderr)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("ANALYZE")
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        engine.dispose()
    summary.seconds = time.perf_counter() - started
    return summary


def _assign_nhs_numbers(generated: Generated, serial: int) -> int:
    """Test-range NHS numbers are handed out in order here, not in the workers, so that they stay
    unique across the whole database."""
    for events, _state in generated:
        serial, number = next_synthetic_nhs_number(serial)
        events[0].payload["patient"]["nhs_number"] = number
    return serial


def _device_for(locality: str) -> str:
    return uuid7(0, random.Random(locality))


def _staff_for(locality: str) -> list[str]:
    key = locality.lower()
    return [f"{key}.coord{i}" for i in range(1, 6)] + [f"{key}.night{i}" for i in range(1, 4)]


def _write_reference_data(connection: Connection, profile: Profile) -> None:
    organisations = Organisation.__table__  # type: ignore[attr-defined]
    users = AppUser.__table__  # type: ignore[attr-defined]
    existing = {row.id for row in connection.execute(organisations.select())}
    rows = [
        {
            "id": SYNTHETIC_ORGANISATION,
            "name": "SYNTHETIC DEMO DATA - not real patients",
            "kind": "demo",
        }
    ]
    for locality in profile.localities:
        rows.append(
            {
                "id": f"{locality.lower()}-council",
                "name": f"{locality} Council (synthetic)",
                "kind": "council",
            }
        )
    new_rows = [row for row in rows if row["id"] not in existing]
    if new_rows:
        connection.execute(organisations.insert(), new_rows)
    known_users = {row.id for row in connection.execute(users.select())}
    user_rows = [
        {
            "id": name,
            "name": name.replace(".", " ").title(),
            "organisation_id": f"{locality.lower()}-council",
            "role": "night" if ".night" in name else "coordinator",
        }
        for locality in profile.localities
        for name in _staff_for(locality)
        if name not in known_users
    ]
    if user_rows:
        connection.execute(users.insert(), user_rows)


def _write_batch(
    engine: Engine, generated: Generated, position: int, device_id: str, summary: SeedSummary
) -> int:
    patients: list[dict[str, Any]] = []
    journeys: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for journey_events, state in generated:
        for event in journey_events:
            position += 1
            events.append(row_from_event(event, position, device_id, event.occurred_at))
        patient = journey_events[0].payload["patient"]
        patients.append({**patient, "date_of_birth": date.fromisoformat(patient["date_of_birth"])})
        journeys.append(row_from_state(state, position))
        summary.journeys += 1
        summary.events += len(journey_events)
        if state.closed_at is None:
            summary.open_journeys += 1
            summary.open_by_column[state.column] = summary.open_by_column.get(state.column, 0) + 1
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            _copy(connection, "patient", patients)
            _copy(connection, "journey", journeys)
            _copy(connection, "journey_event", events)
        else:
            _insert_sqlite(connection, "patient", patients)
            _insert_sqlite(connection, "journey", journeys)
            _insert_sqlite(connection, "journey_event", events)
    return position


def _insert_sqlite(connection: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Plain executemany on the driver: SQLAlchemy's per-value type processing is most of the
    cost of a seeded year. Values are written in the exact text forms SQLAlchemy reads back."""
    if not rows:
        return
    columns = list(rows[0])
    raw = connection.connection.dbapi_connection
    assert raw is not None
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    raw.executemany(sql, [[_sqlite_value(row[column]) for column in columns] for row in rows])


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # isoformat is several times faster than strftime, and SQLAlchemy reads both forms.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _copy(connection: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY: an order of magnitude faster than INSERTs for a year of history."""
    if not rows:
        return
    columns = list(rows[0])
    raw = connection.connection.dbapi_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([_copy_value(row[column]) for column in columns])


def _copy_value(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
