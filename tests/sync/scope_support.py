"""Helpers for the need-to-know tests: services of organisations, offer events written through
the event log (the one writer), and what a replica's database file holds."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, select, text

from d2a_tui.domain.events import Event, EventKind, apply
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.ids import uuid7
from d2a_tui.services.hub import Hub
from d2a_tui.storage.journeys import UnitOfWork, event_table, journey_table
from d2a_tui.storage.models import Organisation, Service, table_of
from d2a_tui.sync.server import create_app
from tests.sync.conftest import SyncEnv
from tests.sync.transports import ASGISyncTransport

service_table = table_of(Service)
organisation_table = table_of(Organisation)


def add_service(
    engine: Engine, service_id: str, organisation: str, pathway: str = "P1", locality: str = "North"
) -> None:
    with engine.begin() as connection:
        if not connection.execute(
            select(organisation_table.c.id).where(organisation_table.c.id == organisation)
        ).first():
            connection.execute(
                organisation_table.insert().values(id=organisation, name=organisation.title())
            )
        connection.execute(
            service_table.insert().values(
                id=service_id,
                name=service_id.title(),
                kind="reablement",
                pathway=pathway,
                unit="packages",
                organisation_id=organisation,
                locality=locality,
                active=True,
            )
        )


def append(
    engine: Engine,
    flow: Flow,
    journey_id: str,
    kind: EventKind,
    payload: dict[str, Any],
    at: datetime,
    actor: str = "hub.coordinator",
) -> None:
    """One event on the server's log, through the event log, as the offers commands will."""
    with engine.begin() as connection:
        work = UnitOfWork(connection, flow)
        work.log.lock()
        state = work.load(journey_id)
        event = Event(uuid7(), journey_id, kind, payload, actor, at, state.version + 1)
        work.log.append(event, state, apply(state, event), work.next_position(), "hub-desk", at)


def offer(
    engine: Engine, flow: Flow, journey_id: str, service_id: str, at: datetime, note: str = ""
) -> str:
    offer_id = uuid7()
    payload = {"offer_id": offer_id, "service_id": service_id, "start": None, "note": note}
    append(engine, flow, journey_id, EventKind.OFFER_MADE, payload, at)
    return offer_id


def answer(
    engine: Engine, flow: Flow, journey_id: str, offer_id: str, kind: EventKind, at: datetime
) -> None:
    payload: dict[str, Any] = {"offer_id": offer_id}
    if kind is EventKind.OFFER_ACCEPTED:
        payload["start"] = at.date().isoformat()
    if kind is EventKind.OFFER_DECLINED:
        payload |= {"reason": "no_capacity", "text": ""}
    append(engine, flow, journey_id, kind, payload, at, actor="care.co")


def file_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table in a SQLite file, read afresh from the file."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            return {
                table: [tuple(row) for row in connection.execute(text(f'SELECT * FROM "{table}"'))]
                for table in inspect(engine).get_table_names()
            }
    finally:
        engine.dispose()


def file_text(path: Path) -> str:
    """The file's rows as one text, to look for any trace of a person in it."""
    return "\n".join(repr(row) for rows in file_rows(path).values() for row in rows)


def serve_on_clock(env: SyncEnv) -> None:
    """Run the env's server on its frozen clock, so a test can step days forward. These
    replicas' logins carry no token expiry, so nothing rotates their tokens: the server gives
    them ten years, as months may pass here (expiry and rotation: test_device_tokens.py)."""
    env.app = create_app(env.engine, flow=env.flow, clock=env.clock, token_days=3650)
    if env.transport is not None:
        env.transport.close()
    env.transport = ASGISyncTransport(env.app)
    assert env.switch is not None
    env.switch.target = env.transport


def replica_journeys(hub: Hub) -> set[str]:
    with hub.store.engine.connect() as connection:
        journeys = set(connection.execute(select(journey_table.c.id)).scalars())
        journeys |= set(connection.execute(select(event_table.c.journey_id)).scalars())
    return journeys
