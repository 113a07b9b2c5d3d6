"""The server's database restored from an older backup, under running servers and replicas
(issue 24 §1): every replica notices by itself, sends again what the server lost, reads its scope
again, and ends where the server is, with nothing lost and nothing twice.

Two `d2a serve` processes over one PostgreSQL database of this test's own; the backup is a real
`pg_dump`, restored with `pg_restore --clean` while both servers run.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from d2a_tui.domain.nhs_number import next_synthetic
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import event_table, journey_table
from tests.conftest import drop_database, private_database
from tests.e2e.conftest import CliReplica, Hub, ServerProcess, cli_env, worker

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

_people = {"serial": 7100}


def refer(replica: CliReplica, name: str) -> str:
    _people["serial"], number = next_synthetic(_people["serial"])
    done = replica.run("refer", "--nhs", number, "--name", name, "--dob", "1940-03-04")
    return done.stdout.strip()


@pytest.fixture(scope="module")
def hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, Hub]]:
    """Servers A and B on one database of this module's own (the restore replaces it whole)."""
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are needed to back up and restore")
    name = f"d2a_restore_{worker()}"
    url = private_database(name)
    engine = make_engine(url)
    ensure_schema(engine)
    tmp = tmp_path_factory.mktemp("restore")
    admin_env = cli_env(tmp / "admin")
    first = ServerProcess(url, tmp / "a.log", cli_env(tmp / "a"))
    second = ServerProcess(url, tmp / "b.log", cli_env(tmp / "b"))
    hub_a = Hub(first, engine, admin_env, tmp)
    hub_b = Hub(second, engine, admin_env, tmp)
    try:
        # The servers first: `d2a serve` marks the database as a server's, and only then do the
        # administration commands act on it.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda server: server.start(), (first, second)))
        hub_a.admin("add-user", "--name", "Nina Night", "--role", "night", "--id", "nina")
        hub_a.admin("add-user", "--name", "Cole Ordinator", "--role", "coordinator", "--id", "cole")
        yield hub_a, hub_b
    finally:
        first.stop()
        second.stop()
        engine.dispose()
        drop_database(name)


def columns_on_server(hub: Hub) -> dict[str, str]:
    with hub.engine.connect() as connection:
        rows = connection.execute(select(journey_table.c.id, journey_table.c.column_id)).all()
    return {row.id: row.column_id for row in rows}


def columns_on(replica: CliReplica) -> dict[str, str]:
    return {card_id: card["column"] for card_id, card in replica.cards().items()}


def pg(tool: str, *args: str) -> None:
    done = subprocess.run([tool, *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{tool} failed: {done.stderr[-2000:]}"


def test_a_restore_from_an_older_backup_is_noticed_and_every_replica_converges(
    hubs: tuple[Hub, Hub], tmp_path: Path
) -> None:
    hub_a, hub_b = hubs
    url = hub_a.server.database_url
    night = hub_a.replica("night", "nina")  # syncs with server A
    day = hub_b.replica("day", "cole")  # syncs with server B
    third = hub_b.replica("third", "cole")  # makes the restored server's head run past the others

    first, second = refer(night, "Ada Backup"), refer(night, "Bea Backup")
    night.run("sync", "--once")
    for replica in (day, third):
        replica.run("sync", "--once")

    dump = tmp_path / "server.dump"
    pg("pg_dump", "--format=custom", "--file", str(dump), url)

    # After the backup: changes the restore will lose, on both servers, by two devices.
    night.run("move", first, "triage")
    later = refer(night, "Cyd After")
    assert night.json("sync", "--once")["outcomes"] == {"applied": 2}
    day.run("sync", "--once")
    day.run("move", second, "triage")
    theirs = refer(day, "Dot After")
    assert day.json("sync", "--once")["outcomes"] == {"applied": 2}
    night.run("sync", "--once")
    lost_head = hub_a.events()
    wanted = {first: "triage", second: "triage", later: "referred", theirs: "referred"}
    assert {j: columns_on_server(hub_a)[j] for j in wanted} == wanted

    pg("pg_restore", "--clean", "--if-exists", "--single-transaction", "--dbname", url, str(dump))
    assert hub_a.events() < lost_head, "the restore did not take the log back"

    # A device that lost nothing carries the restored log's head past the others' cursors:
    # the positions they pulled are now other events.
    fresh = [refer(third, f"Eve Restored {n}") for n in range(4)]
    for journey in fresh:
        third.run("move", journey, "triage")
    third.run("sync", "--once")
    assert hub_a.events() > lost_head

    answers = {r.name: r.json("sync", "--once") for r in (night, day)}
    for replica in (third, night, day):
        replica.run("sync", "--once")

    server = columns_on_server(hub_a)
    assert {j: server.get(j) for j in wanted} == wanted, "a change the restore lost is missing"
    assert all(server[j] == "triage" for j in fresh)
    for replica in (night, day, third):
        assert columns_on(replica) == server, f"{replica.name} differs from the server"
        status = replica.status()
        assert status["pending"] == 0 and status["conflicts"] == 0
        assert status["state"] == "online"
    for name, answer in answers.items():
        assert answer["recovered"], f"{name} did not say what it did"
        assert "sent 2 changes again" in answer["recovered"]
        assert answer["status"]["recovered"]
    assert "recovered" in night.run("sync", "--status").stdout
    with hub_a.engine.connect() as connection:
        events, distinct = connection.execute(
            select(func.count(), func.count(func.distinct(event_table.c.event_id)))
        ).one()
    assert events == distinct, "an event was stored twice"
