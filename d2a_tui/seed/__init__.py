"""Synthetic, clearly fake, realistic hub data for demos, tests and benchmarks.

Every NHS number is in the 999 range that the NHS reserves for testing and never issues, and the
database is marked with an organisation named SYNTHETIC. The volumes follow DOMAIN.md: a locality
takes ~150 referrals a day, most P0 and gone within a day or two; P1 lasts up to six weeks at home;
~145 P2 beds; a region is ten localities. Journeys are simulated in `seed_journeys.py` and folded
with the same `apply` the hub uses, so a seeded journey's projection is exactly what replaying its
log gives; they are written through the event log, which checks each event's fields.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from d2a_tui.config import data_dir
from d2a_tui.domain.flow import Flow, load_flow
from d2a_tui.domain.ids import uuid7
from d2a_tui.domain.nhs_number import next_synthetic as next_synthetic_nhs_number
from d2a_tui.seed.journeys import CHUNK_DAYS, Generated, Task, generate, staff_for
from d2a_tui.storage.db import ensure_schema, make_engine, normalise_url
from d2a_tui.storage.event_log import (
    EventLog,
    counter_table,
    patient_table,
    row_from_event,
    row_from_state,
)
from d2a_tui.storage.models import EVENTS_COUNTER, AppUser, Organisation, table_of

SYNTHETIC_ORGANISATION = "synthetic"
REGION_LOCALITIES = (
    "Stockport", "Manchester", "Oldham", "Bolton", "Bury",
    "Rochdale", "Salford", "Tameside", "Trafford", "Wigan",
)  # fmt: skip


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
        Task(
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
        results = pool.imap(generate, tasks) if pool else map(generate, tasks)
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
            EventLog(connection).set_head(position)
        from d2a_tui.reports.capacity_seed import after_seed  # services, capacity, report summaries

        after_seed(engine, flow, chosen.localities, now=now, days=days, seed=seed)
        from d2a_tui.seed.offers import seed_offers  # hand-offs to the services just added

        seed_offers(engine, flow, now=now, seed=seed)
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


def _write_reference_data(connection: Connection, profile: Profile) -> None:
    organisations = table_of(Organisation)
    users = table_of(AppUser)
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
        for name in staff_for(locality)
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
        EventLog(connection).bulk_load(patients, journeys, events)
    return position
