"""Need-to-know benchmark: the server's pull and snapshot with scope filtering, on a region.

    .venv/bin/python bench/scope_pull.py [--days 365] [--runs 5] [--url URL]

Seeds a synthetic region (ten localities) for --days, then offers ~50 open journeys to one
provider's service and ~1,000 others to other providers' services (offer events written through
the event log), and times, in-process against the real app (Starlette's TestClient, no network):

(a) a coordinator's snapshot (what a new replica starts from): scoped to every locality of the
    region, beside the same user with no locality (unscoped): target scoped <= 1.25 x unscoped.
(b) a coordinator's pull of one full page (1,000 events up to the head), scoped and unscoped.
(c) an idle pull (nothing new: the held-journeys reconcile only), scoped and unscoped.
(d) a provider's snapshot (~50 journeys): target < 100 ms.
(e) a provider's pull of the same page as (b): target < 100 ms.

Figures are medians of --runs, with the fastest run (the floor) beside each. The default database
is PostgreSQL (D2A_BENCH_POSTGRES_URL's server, database d2a_bench_scope); --url takes any.
Patients are synthetic; nothing identifying is printed. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.testclient import TestClient

from d2a_tui.domain.events import Event, EventKind, apply
from d2a_tui.domain.flow import load_flow
from d2a_tui.domain.ids import uuid7
from d2a_tui.seed import seed_database
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import UnitOfWork, journey_table, patient_table
from d2a_tui.storage.models import Organisation, Service
from d2a_tui.sync import admin
from d2a_tui.sync.server import create_app

ADMIN_URL = os.environ.get("D2A_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DATABASE = "d2a_bench_scope"
PROVIDER_JOURNEYS = 50
OTHER_OFFERS = 1000
PAGE = 1000


def fresh_postgres() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"


def add_offers(url: str, now: datetime) -> list[str]:
    """Offers to the bench provider's service and to others', through the event log."""
    engine = make_engine(url)
    flow = load_flow()
    with engine.begin() as connection:
        connection.execute(
            Organisation.insert(),
            [{"id": "bench.care", "name": "Bench Care"}, {"id": "bench.other", "name": "Other"}],
        )
        connection.execute(
            Service.insert(),
            [
                {"id": sid, "name": sid, "kind": "reablement", "pathway": "P1",
                 "unit": "packages", "organisation_id": org, "locality": None, "active": True}
                for sid, org in (("bench.reable", "bench.care"), ("bench.home", "bench.other"))
            ],
        )  # fmt: skip
        open_ids = list(
            connection.execute(
                select(journey_table.c.id)
                .where(journey_table.c.closed_at.is_(None))
                .order_by(journey_table.c.id)
                .limit(PROVIDER_JOURNEYS + OTHER_OFFERS)
            ).scalars()
        )
        work = UnitOfWork(connection, flow)
        work.log.lock()
        for index, journey_id in enumerate(open_ids):
            state = work.load(journey_id)
            service = "bench.reable" if index < PROVIDER_JOURNEYS else "bench.home"
            payload = {"offer_id": uuid7(), "service_id": service, "start": None, "note": ""}
            event = Event(
                uuid7(), journey_id, EventKind.OFFER_MADE, payload, "bench.hub", now,
                state.version + 1,
            )  # fmt: skip
            work.log.append(event, state, apply(state, event), work.next_position(), "bench", now)
        localities = sorted(
            set(
                connection.execute(
                    select(patient_table.c.locality).where(patient_table.c.locality.is_not(None))
                ).scalars()
            )
        )
    engine.dispose()
    return localities


def token_for(url: str, http: TestClient, user: str, role: str, org: str | None,
              localities: list[str]) -> dict[str, str]:  # fmt: skip
    engine = make_engine(url)
    if org is not None:
        admin.add_organisation(engine, org, org.title(), "provider")
    admin.add_user(engine, user.title(), role, org, user, localities)
    _, enrol = admin.enrol_device(engine, user)
    engine.dispose()
    token = http.post("/v1/devices/enrol", json={"token": enrol}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def timed(runs: int, call: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", help="a database URL (default: a fresh PostgreSQL database)")
    args = parser.parse_args()
    url = args.url or fresh_postgres()
    now = datetime.now(UTC)
    started = time.perf_counter()
    summary = seed_database(url, profile="region", days=args.days, now=now, replace=True)
    localities = add_offers(url, now)
    print(f"seeded: {summary.journeys:,} journeys, {summary.events:,} events over {args.days} "
          f"days, {len(localities)} localities, in {time.perf_counter() - started:.0f} s")  # fmt: skip
    engine = make_engine(url)
    with engine.connect() as connection:
        still_open = connection.execute(
            select(func.count())
            .select_from(journey_table)
            .where(journey_table.c.closed_at.is_(None))
        ).scalar_one()
    print(f"open journeys: {still_open:,}")
    app = create_app(engine)
    with TestClient(app) as http:
        scoped = token_for(url, http, "cora", "coordinator", None, localities)
        unscoped = token_for(url, http, "hubwide", "coordinator", None, [])
        provider = token_for(url, http, "pat", "provider", "bench.care", [])
        head = http.get("/v1/sync/pull", params={"since": 0, "limit": 1}, headers=scoped).json()[
            "head"
        ]
        since = max(head - PAGE, 0)

        def snapshot(auth: dict[str, str]) -> Callable[[], dict[str, object]]:
            return lambda: http.get("/v1/sync/snapshot", headers=auth).json()

        def pull(auth: dict[str, str], after: int) -> Callable[[], dict[str, object]]:
            return lambda: http.get(
                "/v1/sync/pull", params={"since": after, "limit": PAGE}, headers=auth
            ).json()

        counts = {
            "coordinator": snapshot(scoped)()["journeys"],
            "provider": snapshot(provider)()["journeys"],
        }
        snapshot(unscoped)()  # the same warm-up for both
        rows = [
            ("a", "coordinator snapshot", timed(args.runs, snapshot(scoped)),
             timed(args.runs, snapshot(unscoped)), f"{counts['coordinator']:,} journeys"),
            ("b", "coordinator pull, one page", timed(args.runs, pull(scoped, since)),
             timed(args.runs, pull(unscoped, since)), f"{PAGE:,} events"),
            ("c", "coordinator idle pull", timed(args.runs, pull(scoped, head)),
             timed(args.runs, pull(unscoped, head)), "nothing new"),
            ("d", "provider snapshot", timed(args.runs, snapshot(provider)), None,
             f"{counts['provider']:,} journeys; target < 100 ms"),
            ("e", "provider pull, one page", timed(args.runs, pull(provider, since)), None,
             f"{len(pull(provider, since)()['events']):,} of its events; target < 100 ms"),
        ]  # fmt: skip
    engine.dispose()
    print(f"{'':3}{'':30}{'scoped ms (floor)':>20}{'unscoped ms (floor)':>22}  note")
    for key, label, (median, floor), other, note in rows:
        beside = f"{other[0]:10.1f} ({other[1]:.1f})" if other else ""
        print(f"({key}) {label:<30}{median:10.1f} ({floor:.1f}){beside:>22}  {note}")


if __name__ == "__main__":
    main()
