"""A new hub's server, a new partner and a new laptop, each from the manual on machines where d2a
never ran: a real `d2a serve` on a new SQLite file named once in D2A_SERVER_DATABASE_URL, the
administrator's commands, and laptops logging in with the real CLI (issue 21)."""

from __future__ import annotations

import json
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from d2a_tui.storage import cipher
from d2a_tui.storage.db import make_engine
from d2a_tui.sync.admin import organisation_table, service_table
from d2a_tui.sync.ingest import user_table
from tests.e2e.conftest import D2A, REPLICA_PASSPHRASE, free_port
from tests.fresh_machine import Machine

pytestmark = pytest.mark.e2e


@dataclass
class Served:
    url: str  # the server's URL
    database: Path
    admin: Machine  # the server's own machine: D2A_SERVER_DATABASE_URL names its database
    started: str  # what `d2a serve` said as it started

    def rows(self, table: Any) -> list[Any]:
        engine = make_engine(f"sqlite:///{self.database}")
        try:
            with engine.connect() as connection:
                return list(connection.execute(select(table)).all())
        finally:
            engine.dispose()

    def enrol(self, user: str) -> str:
        done = self.admin.ok("server", "enrol-device", "--user", user, "--json")
        return str(json.loads(done.stdout)["enrolment_token"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("first-hour")
    admin = Machine(root, "server")
    database = admin.home / "hub-server.db"
    admin.env["D2A_SERVER_DATABASE_URL"] = str(database)
    port = free_port()
    log = root / "serve.log"
    with log.open("wb") as handle:
        # No --db: `d2a serve` reads the same variable as `d2a server …`.
        process = subprocess.Popen(
            [*D2A, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=admin.env, stdout=handle, stderr=handle, cwd=admin.home,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield Served(url, database, admin, log.read_text())
    finally:
        process.terminate()
        process.wait(20)


def test_the_readmes_server_steps_on_the_servers_database_named_once(served: Served) -> None:
    assert f"created a new database sqlite:///{served.database}" in served.started
    served.admin.ok("server", "add-locality", "Stockport")
    # The manual's `--org "Hub"`: an organisation nobody added is refused, with the command.
    said = served.admin.refused(
        "server", "add-user", "--name", "nina", "--org", "Hub", "--role", "night"
    )
    assert "unknown organisation 'Hub'" in said
    assert "d2a server add-organisation hub --name NAME --kind KIND" in said
    assert [row.id for row in served.rows(user_table)] == []
    added = served.admin.ok(
        "server", "add-organisation", "hub", "--name", "Stockport Hub", "--kind", "council"
    )
    assert added.stdout == "hub\n"
    served.admin.ok(
        "server", "add-user", "--name", "nina", "--org", "Hub", "--role", "night",
        "--locality", "Stockport",
    )  # fmt: skip
    users = {row.id: row for row in served.rows(user_table)}
    assert users["nina"].organisation_id == "hub"


def test_a_new_partner_is_one_organisation_whatever_the_command(served: Served) -> None:
    server_db = ("--db", str(served.database))
    service = ("service", "add", "Royal North Reablement", "--kind", "reablement", "--pathway",
               "P1", "--unit", "hours", "--id", "rn-reablement", *server_db)  # fmt: skip
    # Without --org-name the organisation is not known: the line says what to add.
    said = served.admin.refused(*service, "--org", "RN")
    assert "unknown organisation 'RN'" in said and '--org rn --org-name "…"' in said
    served.admin.ok(*service, "--org", "RN", "--org-name", "Royal North")
    # The provider user typed the way the service was: the same organisation, not a new one.
    served.admin.ok("server", "add-user", "--name", "nora", "--role", "provider", "--org", "RN")
    served.admin.ok("server", "add-user", "--name", "pat", "--role", "provider", "--org", "rn")
    organisations = {row.id: row for row in served.rows(organisation_table)}
    assert "RN" not in organisations and organisations["rn"].name == "Royal North"
    users = {row.id: row.organisation_id for row in served.rows(user_table)}
    services = {row.id: row.organisation_id for row in served.rows(service_table)}
    assert users["nora"] == users["pat"] == services["rn-reablement"] == "rn"

    # A typo is refused, never a second organisation of some kind.
    before = len(organisations)
    said = served.admin.refused(
        "server", "add-user", "--name", "sam", "--role", "provider", "--org", "stockport-council"
    )
    assert "unknown organisation 'stockport-council'" in said
    assert "add-organisation stockport-council" in said
    assert len(served.rows(organisation_table)) == before
    served.admin.ok(
        "server", "add-organisation", "stockport-council", "--name", "Stockport Council",
        "--kind", "council",
    )  # fmt: skip
    served.admin.ok(
        "server", "add-user", "--name", "sam", "--role", "coordinator", "--org", "stockport-council"
    )
    users = {row.id: row.organisation_id for row in served.rows(user_table)}
    assert users["sam"] == "stockport-council"


def test_a_new_laptop_logs_in_encrypted_where_d2a_never_ran(served: Served, tmp_path: Path) -> None:
    served.admin.ok("server", "add-user", "--name", "lee", "--role", "night", "--id", "lee")
    laptop = Machine(tmp_path, "laptop")
    assert not laptop.data.exists()
    done = laptop.ok(
        "login", "--server", served.url, "--token", served.enrol("lee"),
        D2A_PASSPHRASE=REPLICA_PASSPHRASE,
    )  # fmt: skip
    replica = laptop.data / "d2a.db"
    assert stat.S_IMODE(laptop.data.stat().st_mode) == 0o700
    assert cipher.is_encrypted(replica)
    assert f"created a new database sqlite:///{replica}" in done.stderr
    assert "first sync:" in done.stderr
    # The board and every command without --db now use the replica.
    assert laptop.ok("sync", "--status", D2A_PASSPHRASE=REPLICA_PASSPHRASE).stdout.startswith(
        "online"
    )
    assert laptop.ok("list", "--json", D2A_PASSPHRASE=REPLICA_PASSPHRASE).stderr == ""
    # Trying the demo afterwards: the commands follow it, and say it is not the replica.
    laptop.ok("demo", "--no-board", "--days", "2")
    done = laptop.ok("list", "--json")
    assert (
        "demo.db" in done.stderr
        and f"not this machine's replica sqlite:///{replica}" in done.stderr
    )


def test_a_plain_database_left_by_an_earlier_try_is_encrypted_or_refused(
    served: Served, tmp_path: Path
) -> None:
    served.admin.ok("server", "add-user", "--name", "kim", "--role", "night", "--id", "kim")
    laptop = Machine(tmp_path, "laptop")
    laptop.ok("db", "upgrade")  # an earlier step made a plain default database
    replica = laptop.data / "d2a.db"
    assert cipher.has_plain_header(replica)
    token = served.enrol("kim")
    # No passphrase to hand (no terminal, none given): refused with the command, token unspent.
    said = laptop.refused("login", "--server", served.url, "--token", token)
    assert f"d2a db encrypt --db {replica}" in said and "--unencrypted" in said
    assert cipher.has_plain_header(replica)
    done = laptop.ok(
        "login", "--server", served.url, "--token", token, D2A_PASSPHRASE=REPLICA_PASSPHRASE
    )
    assert f"{replica} is now encrypted" in done.stderr
    assert cipher.is_encrypted(replica) and not cipher.has_plain_header(replica)

    demo_laptop = Machine(tmp_path, "demo-laptop")
    demo_laptop.ok("db", "upgrade")
    demo_laptop.ok("login", "--server", served.url, "--token", served.enrol("kim"), "--unencrypted")
    assert cipher.has_plain_header(demo_laptop.data / "d2a.db")  # plain only when asked for


def test_server_administration_refuses_a_replica(served: Served, tmp_path: Path) -> None:
    served.admin.ok("server", "add-user", "--name", "ria", "--role", "night", "--id", "ria")
    laptop = Machine(tmp_path, "laptop")
    laptop.ok("login", "--server", served.url, "--token", served.enrol("ria"), "--unencrypted")
    said = laptop.refused("server", "devices", "--db", str(laptop.data / "d2a.db"))
    assert "is this machine's replica of" in said
