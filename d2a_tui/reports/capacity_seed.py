"""Synthetic services and capacity history for a seeded hub, and the first fold of its reports.

Per locality (DOMAIN.md): ~145 intermediate-care (P2) beds across units, community hospital
wards and D2A beds in a care home; a reablement service counted in care hours a week plus bridging
home-care packages (P1); and care homes taking new long-term placements (P3). Providers report most
mornings; a couple of them have gone quiet for a few days, as some always do, so stale flags show.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, select

from d2a_tui.domain.flow import Flow
from d2a_tui.domain.ids import uuid7
from d2a_tui.reports.capacity_store import organisations, reports, services, slug
from d2a_tui.reports.summary import Summary

HISTORY_DAYS = 60
# (name, kind, pathway, unit, size, typical occupancy, organisation suffix)
TEMPLATE: tuple[tuple[str, str, str, str, int, float, str], ...] = (
    ("Reablement Service", "reablement", "P1", "hours", 1800, 0.93, "council"),
    ("Bridging Home Care", "home_care", "P1", "packages", 60, 0.95, "home-care"),
    ("Meadowbank Intermediate Care Unit", "intermediate_care", "P2", "beds", 40, 0.92, "community"),
    ("Larkhill Intermediate Care Unit", "intermediate_care", "P2", "beds", 32, 0.94, "community"),
    ("Community Hospital Ward 1", "community_hospital", "P2", "beds", 28, 0.95, "community"),
    ("Community Hospital Ward 2", "community_hospital", "P2", "beds", 25, 0.9, "community"),
    ("Oakfield House D2A Beds", "care_home", "P2", "beds", 20, 0.88, "care-homes"),
    ("Oakfield House", "care_home", "P3", "beds", 48, 0.96, "care-homes"),
    ("Rosewood Nursing Home", "care_home", "P3", "beds", 62, 0.97, "care-homes"),
    ("Elm Lodge", "care_home", "P3", "beds", 36, 0.95, "care-homes"),
    ("Willow Bank Care Centre", "care_home", "P3", "beds", 55, 0.96, "care-homes"),
)  # fmt: skip
ORGANISATIONS = {
    "council": "{loc} Council (synthetic)",
    "home-care": "{loc} Home Care Partnership (synthetic)",
    "community": "{loc} Community Health Trust (synthetic)",
    "care-homes": "{loc} Independent Care Homes (synthetic)",
}


def seed_capacity(
    engine: Engine, localities: tuple[str, ...], *, now: datetime, days: int, seed: int
) -> int:
    """Add the services and their report history; returns how many reports were written.
    Services already present (a second seed into the same database) are left alone."""
    rng = random.Random(f"{seed}-capacity")
    history = max(min(days, HISTORY_DAYS), 1)
    org_rows: list[dict[str, Any]] = []
    service_rows: list[dict[str, Any]] = []
    report_rows: list[dict[str, Any]] = []
    with engine.connect() as connection:
        known_orgs = set(connection.execute(select(organisations.c.id)).scalars())
        known_services = set(connection.execute(select(services.c.id)).scalars())
    for locality in localities:
        key = slug(locality)
        for suffix, name in ORGANISATIONS.items():
            org_id = f"{key}-{suffix}"
            if org_id not in known_orgs:
                known_orgs.add(org_id)
                org_rows.append(
                    {"id": org_id, "name": name.format(loc=locality), "kind": "provider"}
                )
        quiet = set(rng.sample(range(len(TEMPLATE)), 2))
        device = uuid7(0, random.Random(f"{seed}-{locality}-providers"))
        for index, (name, kind, pathway, unit, size, usual, org) in enumerate(TEMPLATE):
            service_id = f"{key}-{slug(name)}"
            if service_id in known_services:
                continue
            service_rows.append({
                "id": service_id, "name": f"{locality} {name}", "kind": kind, "pathway": pathway,
                "unit": unit, "organisation_id": f"{key}-{org}", "locality": locality,
                "active": True,
            })  # fmt: skip
            occupancy = usual
            last_day = history - (rng.randint(2, 4) if index in quiet else 0)
            for day in range(last_day + 1):
                when = datetime.combine(
                    now.date() - timedelta(days=history - day), time(8), tzinfo=UTC
                ) + timedelta(minutes=rng.randint(0, 180))
                if when > now or (day < last_day and rng.random() < 0.12):
                    continue  # a morning without a report
                occupancy = min(max(occupancy + rng.gauss(0, 0.025), usual - 0.12), 1.0)
                total = size
                occupied = min(round(total * occupancy), total)
                vacant = total - occupied
                closed = min(vacant, rng.choice((0, 0, 0, 0, 1, 2))) if unit == "beds" else 0
                report_rows.append({
                    "report_id": uuid7(int(when.timestamp() * 1000), rng),
                    "service_id": service_id, "reported_at": when, "total": total,
                    "occupied": occupied, "closed": closed,
                    "reported_by": f"{key}.provider", "device_id": device,
                    "note": "infection control: bay closed" if closed else None,
                })  # fmt: skip
    with engine.begin() as connection:
        if org_rows:
            connection.execute(organisations.insert(), org_rows)
        if service_rows:
            connection.execute(services.insert(), service_rows)
        if report_rows:
            connection.execute(reports.insert(), report_rows)
    return len(report_rows)


def after_seed(
    engine: Engine,
    flow: Flow,
    localities: tuple[str, ...],
    *,
    now: datetime,
    days: int,
    seed: int,
) -> None:
    """Called at the end of `seed_database`: capacity history, then the reports' first fold so
    the first dashboard opens at once (a region year takes minutes to fold, once)."""
    seed_capacity(engine, localities, now=now, days=days, seed=seed)
    Summary(engine, flow).catch_up()
