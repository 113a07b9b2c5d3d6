"""Several replicas, a real server, and a network that drops, duplicates, reorders and fails.

After the faults stop and every replica syncs: every mutation ever made has exactly one outcome
on the server, every replica holds exactly the server's journeys, and no conflicting or refused
mutation left an event behind.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.flow import load_flow
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore, event_table, journey_table
from d2a_tui.sync.client import SyncClient, SyncError
from d2a_tui.sync.ingest import receipt_table
from d2a_tui.sync.login import Login
from d2a_tui.sync.replica import outbox_table
from d2a_tui.sync.replica_hub import ReplicaSync
from tests.sync.conftest import BASE_URL, SyncEnv, nhs
from tests.sync.transports import ChaosTransport

USERS = ("nina", "omar", "pat")
DELAYS = ("MED", "EQUIP", "TRANSPORT")
_TEMPLATE: dict[str, Path] = {}


def _template() -> Path:
    """One migrated empty database, copied for every server and replica (migrating is slow)."""
    if "path" not in _TEMPLATE:
        path = Path(tempfile.mkdtemp(prefix="d2a-chaos-")) / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        ensure_schema(engine)
        engine.dispose()
        _TEMPLATE["path"] = path
    return _TEMPLATE["path"]


class TickingClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=7)
        return self.now


class SyncChaos(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="d2a-chaos-run-"))
        server = self.dir / "server.db"
        shutil.copy(_template(), server)
        self.clock = TickingClock()
        self.flow = load_flow()
        self.env = SyncEnv(make_engine(f"sqlite:///{server}"), self.flow, self.dir, self.clock)
        self.env.start()
        self.rng = random.Random(0)
        self.chaos: list[ChaosTransport] = []
        self.logins: list[Login] = []
        self.hubs: list[Hub] = []
        self.journeys: list[str] = []
        self.serial = 0

    @initialize(seed=st.integers(0, 2**32 - 1))
    def replicas(self, seed: int) -> None:
        self.rng.seed(seed)
        for user in USERS:
            self.env.user(user, "night")
            device_id, token = self.env.token(user)
            path = self.dir / f"{user}.db"
            shutil.copy(_template(), path)
            self.logins.append(
                Login(BASE_URL, token, device_id, user, user, "night", f"sqlite:///{path}")
            )
            self.chaos.append(
                ChaosTransport(lambda: self.env.transport, random.Random(self.rng.random()))
            )
            self.hubs.append(self._open(len(self.hubs)))
        # A few journeys everyone has seen, so that offline moves can collide.
        desk = self.env.direct("day.coordinator")
        for _ in range(3):
            self.serial += 1
            card = desk.refer(nhs(self.serial), f"Test Person {self.serial}", "1941-05-06").card
            self.journeys.append(card.journey_id)
        for hub in self.hubs:
            hub.sync.sync_now(wait=True)
        for transport in self.chaos:
            transport.rate = 0.3

    def _open(self, index: int) -> Hub:
        login = self.logins[index]
        client = SyncClient(
            BASE_URL, login.token, transport=self.chaos[index], retries=2, sleep=lambda _: None
        )
        store = JourneyStore(make_engine(login.database_url), self.flow)
        hub = Hub(store, Actor(login.user_id, login.device_id), self.clock)
        hub.sync = ReplicaSync(hub, login=login, client=client)
        return hub

    def teardown(self) -> None:
        try:
            if self.hubs:
                self._converge_and_check()
        finally:
            for hub in self.hubs:
                hub.close()
            if self.env.transport is not None:
                self.env.transport.close()
            self.env.engine.dispose()
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- what people do ------------------------------------------------------------------------

    def _journey(self, pick: int) -> str | None:
        return self.journeys[pick % len(self.journeys)] if self.journeys else None

    @rule(who=st.integers(0, 2))
    def refer(self, who: int) -> None:
        self.serial += 1
        try:
            change = self.hubs[who].refer(
                nhs(self.serial),
                f"Test Person {self.serial}",
                "1941-05-06",
                admitted_on="2026-11-15",
            )
        except D2AError:
            return
        self.journeys.append(change.card.journey_id)

    @rule(who=st.integers(0, 2), pick=st.integers(0, 99), step=st.integers(0, 99))
    def move(self, who: int, pick: int, step: int) -> None:
        journey = self._journey(pick)
        if journey is None:
            return
        hub = self.hubs[who]
        with contextlib.suppress(D2AError):
            column = hub.flow.column(hub.store.card(journey).column)
            targets = [c for c in column.moves if not hub.flow.column(c).needs]
            if targets:
                hub.move(journey, targets[step % len(targets)])
            elif column.moves:
                hub.close_journey(journey, "home_independent")

    @rule(who=st.integers(0, 2), pick=st.integers(0, 99))
    def note(self, who: int, pick: int) -> None:
        journey = self._journey(pick)
        if journey is not None:
            with contextlib.suppress(D2AError):
                self.hubs[who].add_note(journey, f"called the ward ({who})")

    @rule(who=st.integers(0, 2), pick=st.integers(0, 99), code=st.sampled_from(DELAYS))
    def delay(self, who: int, pick: int, code: str) -> None:
        journey = self._journey(pick)
        if journey is not None:
            with contextlib.suppress(D2AError):
                self.hubs[who].set_delay(journey, code)

    @rule(who=st.integers(0, 2), pick=st.integers(0, 99))
    def undo_latest(self, who: int, pick: int) -> None:
        journey = self._journey(pick)
        if journey is None:
            return
        hub = self.hubs[who]
        with contextlib.suppress(D2AError):
            latest = hub.journey(journey).timeline[-1].event
            hub.undo(latest)

    @rule(who=st.integers(0, 2))
    def sync(self, who: int) -> None:
        with contextlib.suppress(SyncError):
            self.hubs[who].sync.sync_now(wait=True)

    @rule(who=st.integers(0, 2), keep=st.sampled_from(["mine", "theirs"]))
    def resolve(self, who: int, keep: str) -> None:
        hub = self.hubs[who]
        for view in hub.sync.conflicts():
            try:
                hub.sync.resolve_conflict(view.mutation_id, keep)
            except D2AError:
                hub.sync.resolve_conflict(view.mutation_id, "theirs")
            return

    @rule(rate=st.sampled_from([0.0, 0.3, 0.6]))
    def network(self, rate: float) -> None:
        for transport in self.chaos:
            transport.rate = rate

    @rule()
    def restart_server(self) -> None:
        self.env.start()

    @rule(who=st.integers(0, 2))
    def restart_replica(self, who: int) -> None:
        self.hubs[who].close()
        self.hubs[who] = self._open(who)

    @rule(who=st.integers(0, 2), batch=st.sampled_from([1, 2, 250]))
    def batch_size(self, who: int, batch: int) -> None:
        self.hubs[who].sync.synchroniser.batch = batch  # split batches

    @invariant()
    def cursor_never_passes_the_server(self) -> None:
        with self.env.engine.connect() as connection:
            head = (
                connection.execute(
                    select(event_table.c.position).order_by(event_table.c.position.desc()).limit(1)
                ).scalar()
                or 0
            )
        for hub in self.hubs:
            assert hub.sync.replica.cursor() <= head

    # --- the promise ---------------------------------------------------------------------------

    def _converge_and_check(self) -> None:
        for transport in self.chaos:
            transport.rate = 0.0
        for _ in range(2):
            for hub in self.hubs:
                hub.sync.sync_now(wait=True)
        with self.env.engine.connect() as connection:
            receipts = connection.execute(select(receipt_table)).all()
            server_events = connection.execute(
                select(event_table).order_by(event_table.c.position)
            ).all()
            server_journeys = _journeys(connection)
        outcomes = {row.mutation_id: row.outcome for row in receipts}
        assert len(outcomes) == len(receipts)
        made: set[str] = set()
        for hub in self.hubs:
            with hub.store.engine.connect() as connection:
                rows = connection.execute(select(outbox_table)).all()
                local_journeys = _journeys(connection)
                local_events = connection.execute(
                    select(
                        event_table.c.event_id,
                        event_table.c.journey_id,
                        event_table.c.seq,
                        event_table.c.kind,
                        event_table.c.payload,
                    ).order_by(event_table.c.journey_id, event_table.c.seq)
                ).all()
            made |= {row.mutation_id for row in rows}
            assert all(row.status != "pending" for row in rows), "a mutation was never answered"
            for row in rows:
                assert row.status == outcomes[row.mutation_id]
            assert local_journeys == server_journeys
            expected = sorted(
                (e.event_id, e.journey_id, e.seq, e.kind, e.payload) for e in server_events
            )
            assert sorted(tuple(e) for e in local_events) == expected
        assert made == set(outcomes), "a mutation has no outcome, or one nobody made"
        event_ids = {row.event_id for row in server_events}
        for receipt in receipts:
            if receipt.outcome == "applied" and receipt.kind == "command":
                assert receipt.mutation_id in event_ids
            else:
                assert receipt.mutation_id not in event_ids, (
                    f"a {receipt.outcome} change left an event"
                )


def _journeys(connection: Any) -> dict[str, tuple[Any, ...]]:
    columns = [c for c in journey_table.c if c.name not in ("change_position",)]
    return {row.id: tuple(row) for row in connection.execute(select(*columns))}


SyncChaos.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_sync_survives_chaos = SyncChaos.TestCase
