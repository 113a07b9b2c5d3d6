"""Sync fixtures: a real server app on a real database, and replicas talking to it in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from d2a_tui.domain.flow import Flow, load_flow
from d2a_tui.domain.nhs_number import next_synthetic
from d2a_tui.services.hub import Hub
from d2a_tui.storage import cipher
from d2a_tui.storage.db import ensure_schema, make_engine, remember_key
from d2a_tui.storage.journeys import Actor, JourneyStore, event_table
from d2a_tui.sync import admin
from d2a_tui.sync.client import SyncClient
from d2a_tui.sync.login import Login
from d2a_tui.sync.replica_hub import ReplicaSync
from d2a_tui.sync.server import create_app
from tests.sync.transports import ASGISyncTransport, Switch

BASE_URL = "http://d2a.test"


def nhs(serial: int) -> str:
    return next_synthetic(serial * 7)[1]


def refer(hub: Hub, serial: int = 1, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "nhs_number": nhs(serial),
        "name": f"Test Person {serial}",
        "date_of_birth": "1941-05-06",
        "ward": "Ward 7",
        "bed": "B3",
        "admitted_on": "2026-11-15",
    }
    values.update(overrides)
    return hub.refer(**values).card.journey_id


def event_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(event_table)).scalar_one()


@dataclass
class SyncEnv:
    engine: Engine
    flow: Flow
    tmp: Path
    clock: Any
    app: Any = None
    transport: ASGISyncTransport | None = None
    switch: Switch | None = None
    hubs: list[Hub] = field(default_factory=list)

    def start(self) -> None:
        # The server on the tests' clock: it judges how old a change or a look is by it (a
        # look from days before the server's now is refused). The replicas' logins carry no
        # token expiry, so the server gives them ten years, as months may pass in a test.
        self.app = create_app(self.engine, flow=self.flow, clock=self.clock, token_days=3650)
        if self.transport is not None:
            self.transport.close()
        self.transport = ASGISyncTransport(self.app)
        if self.switch is None:
            self.switch = Switch(self.transport)
        self.switch.target = self.transport

    def user(self, user_id: str, role: str = "night", org: str | None = None) -> str:
        if org is not None:  # the organisation first: add-user refuses an unknown one
            admin.add_organisation(self.engine, org, org.title(), "provider")
        return admin.add_user(self.engine, user_id.title(), role, org, user_id)

    def token(self, user_id: str) -> tuple[str, str]:
        """Enrol and log in a device: (device_id, device token)."""
        _, enrol_token = admin.enrol_device(self.engine, user_id)
        client = SyncClient(BASE_URL, transport=self.switch)
        enrolled = client.enrol(enrol_token)
        return enrolled.device_id, enrolled.token

    def replica(
        self,
        user_id: str,
        name: str | None = None,
        *,
        device: tuple[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        role: str = "night",
        passphrase: str | None = None,
    ) -> Hub:
        device_id, token = device or self.token(user_id)
        path = self.tmp / f"{name or device_id}.db"
        url = f"sqlite:///{path}"
        if passphrase is not None:  # encrypted, as `d2a login` makes it
            remember_key(path, cipher.create_key(path, passphrase))
        engine = make_engine(url)
        ensure_schema(engine)
        login = Login(BASE_URL, token, device_id, user_id, user_id, role, url)
        client = SyncClient(
            BASE_URL, token, transport=transport or self.switch, retries=3, sleep=lambda _: None
        )
        hub = Hub(JourneyStore(engine, self.flow), Actor(user_id, device_id), self.clock)
        hub.sync = ReplicaSync(hub, login=login, client=client)
        self.hubs.append(hub)
        return hub

    def direct(self, user: str = "server.admin") -> Hub:
        hub = Hub(JourneyStore(self.engine, self.flow), Actor(user, "server-console"), self.clock)
        self.hubs.append(hub)
        return hub


@pytest.fixture
def sync_env_factory(tmp_path: Path, clock: Any) -> Iterator[Callable[[str], SyncEnv]]:
    envs: list[SyncEnv] = []

    def make(url: str) -> SyncEnv:
        engine = make_engine(url)
        ensure_schema(engine)
        env = SyncEnv(engine, load_flow(), tmp_path, clock)
        env.start()
        envs.append(env)
        return env

    yield make
    for env in envs:
        for hub in env.hubs:
            hub.close()
        if env.transport is not None:
            env.transport.close()
        env.engine.dispose()


@pytest.fixture
def sync_env(sync_env_factory: Callable[[str], SyncEnv], tmp_path: Path) -> SyncEnv:
    """A server on SQLite (fast); tests that must see PostgreSQL use `pg_sync_env`."""
    return sync_env_factory(f"sqlite:///{tmp_path / 'server.db'}")


@pytest.fixture
def any_sync_env(sync_env_factory: Callable[[str], SyncEnv], database_url: str) -> SyncEnv:
    """A server on SQLite and on PostgreSQL (the root conftest's `database_url`)."""
    return sync_env_factory(database_url)
