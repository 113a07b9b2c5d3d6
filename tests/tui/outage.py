"""Taking the database away from a running app, for real, and bringing it back.

PostgreSQL: the test database stops accepting connections and the app's open ones are dropped.
SQLite: the folder holding the file is moved away (running as root, making the file unreadable
would not stop anyone), after the engine's pooled connections are closed, so the next read has
to open the file and cannot.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from d2a_tui.domain.flow import load_flow
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from tests.conftest import POSTGRES_ADMIN_URL, FrozenClock, _empty_postgres


class Outage:
    def start(self) -> None:
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError


class PostgresOutage(Outage):
    def __init__(self, url: str) -> None:
        self.name = url.rsplit("/", 1)[1]

    def _admin(self, *statements: str) -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def start(self) -> None:
        self._admin(
            f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS false',
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{self.name}' AND pid <> pg_backend_pid()",
        )

    def end(self) -> None:
        self._admin(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS true')


class SqliteOutage(Outage):
    def __init__(self, hub: Hub, folder: Path) -> None:
        self.hub = hub
        self.folder = folder
        self.away = folder.with_name(folder.name + "-away")

    def start(self) -> None:
        self.hub.store.engine.dispose()
        os.rename(self.folder, self.away)

    def end(self) -> None:
        if self.away.exists():
            os.rename(self.away, self.folder)


@pytest.fixture(params=["sqlite", "postgresql"])
def lost_db(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock
) -> Iterator[tuple[Hub, Outage]]:
    """A hub on a real database that the test can take away (`start`) and bring back (`end`)."""
    outage: Outage
    if request.param == "sqlite":
        folder = tmp_path / "hub"
        url = f"sqlite:///{folder / 'd2a.db'}"
        ensure_schema(make_engine(url))
        hub = Hub(JourneyStore(make_engine(url), load_flow()), Actor("alice", "a"), clock)
        outage = SqliteOutage(hub, folder)
    else:
        url = request.getfixturevalue("postgres_url")
        _empty_postgres(url)
        hub = Hub(JourneyStore(make_engine(url), load_flow()), Actor("alice", "a"), clock)
        outage = PostgresOutage(url)
    try:
        yield hub, outage
    finally:
        outage.end()
        hub.close()
