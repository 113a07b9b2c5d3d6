"""Opening databases: file permissions, schema checks, unreachable servers, a full disk."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import event, text

from d2a_tui.domain.flow import load_flow
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import (
    SCHEMA_HEAD,
    DatabaseUnavailable,
    SchemaMismatch,
    current_revision,
    ensure_schema,
    make_engine,
)
from d2a_tui.storage.journeys import Actor, JourneyStore
from d2a_tui.storage.migrations import head_revision
from tests.conftest import FrozenClock, refer_someone


def test_schema_head_constant_is_alembics_head() -> None:
    assert head_revision() == SCHEMA_HEAD


def test_new_sqlite_database_and_its_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "hub" / "d2a.db"
    hub = Hub.open(f"sqlite:///{path}", user="alice")
    refer_someone(hub)
    hub.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for sidecar in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        if sidecar.exists():
            assert stat.S_IMODE(sidecar.stat().st_mode) & 0o077 == 0


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_empty_database_is_migrated_to_head(database_url: str) -> None:
    assert current_revision(make_engine(database_url)) == SCHEMA_HEAD


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'future.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaMismatch, match="'9999' is newer than this d2a knows"):
        Hub.open(url)
    assert current_revision(engine) == "9999"


def test_an_unreachable_postgresql_server_is_one_clear_error() -> None:
    # Port 9 (discard) on loopback has no PostgreSQL: the connection is refused at once.
    with pytest.raises(
        DatabaseUnavailable,
        match=r"cannot reach database postgresql\+psycopg://nobody:\*\*\*@127.0.0.1:9/x",
    ):
        Hub.open("postgresql://nobody:secret@127.0.0.1:9/x")


def test_an_unsupported_url_is_refused() -> None:
    with pytest.raises(DatabaseUnavailable, match="unsupported database 'mysql'"):
        make_engine("mysql://localhost/x")


def test_a_full_disk_says_so_and_loses_nothing_already_saved(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'small.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    with engine.connect() as connection:
        pages = connection.execute(text("PRAGMA page_count")).scalar()

    # SQLite's own limit on the file's size: writes beyond it fail exactly as on a full disk.
    @event.listens_for(engine, "connect")
    def _cap(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 2}")

    engine.dispose()  # pooled connections were opened before the cap

    hub = Hub(JourneyStore(engine, load_flow()), Actor("alice", "dev"), FrozenClock())
    saved = refer_someone(hub, serial=1)
    with pytest.raises(DatabaseUnavailable, match="the disk is full: nothing was saved"):
        for serial in range(2, 400):
            refer_someone(hub, serial=serial, name="N" * 100)  # the longest name allowed
    assert hub.journey(saved).card.name == "Test Person 1"
    assert {card.journey_id for card in hub.board()} >= {saved}
    assert os.path.getsize(tmp_path / "small.db") > 0


def test_migration_0015_flags_the_journeys_the_feed_discharged_before_it(
    database_url: str, clock: FrozenClock
) -> None:
    """A database from before 0015 (its column dropped again) gains `left_hospital_at` from its
    own events: the discharged journey, not the one whose discharge the hospital took back."""
    from alembic import command

    from d2a_tui.interop.adt import AdtFeed
    from d2a_tui.storage.migrations import alembic_config
    from tests.interop.hl7_samples import adt

    engine = make_engine(database_url)
    hub = Hub(JourneyStore(engine, load_flow()), Actor("alice", "d"), clock)
    left = refer_someone(hub, 1, nhs_number="9434765919", date_of_birth="1938-03-04")
    back = refer_someone(hub, 2, nhs_number="9434765870", date_of_birth="1938-03-04")
    feed = AdtFeed(hub.store, hub.calendar, "adt", hub.clock)
    feed.process(adt("A03", "9434765919", msg_id="M1", discharged="20261123080000"))
    feed.process(adt("A03", "9434765870", msg_id="M2", discharged="20261123081500"))
    feed.process(adt("A13", "9434765870", msg_id="M3"))
    flagged = {card.journey_id: card.left_hospital_at for card in hub.board()}
    assert flagged[left] is not None and flagged[back] is None

    command.downgrade(alembic_config(engine), "0014")
    engine.dispose()
    command.upgrade(alembic_config(engine), "head")
    engine.dispose()
    assert {card.journey_id: card.left_hospital_at for card in hub.board()} == flagged
    hub.close()
