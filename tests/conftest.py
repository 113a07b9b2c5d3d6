"""Shared fixtures: every storage test runs on SQLite and on the real PostgreSQL server.

PostgreSQL is found at D2A_TEST_POSTGRES_URL (default: the local server, database `test`). Each
pytest worker gets its own database, emptied between tests. When the server cannot be reached the
PostgreSQL cases are skipped with the reason, except under CI=true, where they fail loudly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from d2a_tui.domain.flow import load_flow
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore

POSTGRES_ADMIN_URL = os.environ.get(
    "D2A_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
FROZEN_NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


class FrozenClock:
    """A clock tests move by hand, so timers and thresholds are exact."""

    def __init__(self, now: datetime = FROZEN_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def _isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never touch the developer's real data or config."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("D2A_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("D2A_CONFIG", str(home / "config.toml"))
    for name in ("D2A_DATABASE_URL", "D2A_FLOW", "D2A_USER", "D2A_SERVER_URL", "D2A_PRIVACY"):
        monkeypatch.delenv(name, raising=False)


def _worker_database_name() -> str:
    # Each xdist worker (gw0, gw1, …) gets its own database; a plain run is "main". Checkouts
    # side by side on one server keep apart by D2A_TEST_DB_PREFIX.
    prefix = os.environ.get("D2A_TEST_DB_PREFIX", "d2a_test")
    return f"{prefix}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def private_database(name: str) -> str:
    """Drop and recreate database `name`; its URL. Skips without PostgreSQL, but fails under
    CI=true, where the PostgreSQL tests must run."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        first = str(error).strip().splitlines()[0]
        message = f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {first}"
        if IN_CI:
            pytest.fail(message + " (CI=true: the PostgreSQL tests must run)", pytrace=False)
        pytest.skip(message)
    return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL database for this pytest worker, created fresh each session."""
    name = _worker_database_name()
    url = private_database(name)
    ensure_schema(make_engine(url))
    yield url
    drop_database(name)


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        tables = (
            connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename NOT IN ('alembic_version', 'counter')"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        connection.execute(text("UPDATE counter SET value = 0"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database: a new SQLite file, or the worker's emptied PostgreSQL one."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'd2a.db'}"
        ensure_schema(make_engine(url))
        return url
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'd2a.db'}"
    ensure_schema(make_engine(url))
    return url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def make_hub(database_url: str, clock: FrozenClock) -> Iterator[Callable[..., Hub]]:
    """Hubs on the test database; several may be opened to play several terminals."""
    opened: list[Hub] = []
    flow = load_flow()

    def factory(user: str = "alice", device: str = "device-a") -> Hub:
        store = JourneyStore(make_engine(database_url), flow)
        hub = Hub(store, Actor(user, device), clock)
        opened.append(hub)
        return hub

    yield factory
    for hub in opened:
        hub.close()


@pytest.fixture
def hub(make_hub: Callable[..., Hub]) -> Hub:
    return make_hub()


def refer_someone(hub: Hub, serial: int = 1, **overrides: object) -> str:
    """Refer a synthetic patient and return the journey id."""
    from d2a_tui.domain.nhs_number import next_synthetic

    values: dict[str, object] = {
        # Any 11 consecutive serials hold a valid number, so stepping by 11 keeps them distinct.
        "nhs_number": next_synthetic(serial * 11)[1],
        "name": f"Test Person {serial}",
        "date_of_birth": "1941-05-06",
        "ward": "Ward 7",
        "bed": "B3",
        "admitted_on": "2026-11-15",
    }
    values.update(overrides)
    return hub.refer(**values).card.journey_id  # type: ignore[arg-type]
