"""End-to-end fixtures: a real `d2a serve` process on a real PostgreSQL database, and replicas
driven through the real CLI, each in its own data folder so nothing touches the user's own.

Every pytest worker gets its own database (`d2a_e2e_<worker>`) and free ports, so the tests run
under xdist. The server logs to a file the tests read: it must never hold a patient's details.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from d2a_tui.domain.ids import new_journey_id, uuid7
from d2a_tui.domain.nhs_number import next_synthetic
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import event_table
from d2a_tui.sync import admin
from d2a_tui.sync.ingest import receipt_table
from tests.conftest import drop_database, private_database

_SCRIPT = Path(sys.executable).with_name("d2a")
D2A: list[str] = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "d2a_tui"]
CLI_TIMEOUT = 60.0
REPLICA_PASSPHRASE = "correct horse battery staple"
# Settings the developer's shell may carry that would point a CLI process elsewhere.
_SCRUBBED = ("D2A_DATABASE_URL", "D2A_FLOW", "D2A_USER", "D2A_SERVER_URL", "D2A_PRIVACY")


def worker() -> str:
    # The checkout's prefix too, so checkouts side by side on one server keep apart.
    prefix = os.environ.get("D2A_TEST_DB_PREFIX", "d2a_test")
    return f"{prefix}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment whose data and config live under `home`, never the real user dirs."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env |= {
        "D2A_DATA_DIR": str(home / "data"),
        "D2A_CONFIG": str(home / "config.toml"),
        "PYTHONUNBUFFERED": "1",
    }
    return env | extra


def d2a(
    *args: str, env: dict[str, str], ok: bool | None = True, timeout: float = CLI_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI; `ok=True` demands exit 0, `ok=False` a failure, None either."""
    done = subprocess.run(
        [*D2A, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if ok is not None and (done.returncode == 0) != ok:
        raise AssertionError(
            f"`d2a {args[0]}` exited {done.returncode} (wanted {'0' if ok else 'non-zero'})\n"
            f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-2000:]}"
        )
    return done


@dataclass
class ServerProcess:
    """`d2a serve` in a child process; stopped and started again on the same port."""

    database_url: str
    log_path: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    tls: tuple[Path, Path] | None = None  # (certificate, key): serve HTTPS
    host_name: str = "127.0.0.1"  # the name clients use (a certificate names it)
    extra: tuple[str, ...] = ()  # more `d2a serve` options

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host_name}:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        with self.log_path.open("ab") as log:
            # Debug level: the strictest test of what the server would ever write.
            self.process = subprocess.Popen(
                [
                    *D2A,
                    "serve",
                    "--db",
                    self.database_url,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "debug",
                    *(
                        ["--certfile", str(self.tls[0]), "--keyfile", str(self.tls[1])]
                        if self.tls
                        else []
                    ),
                    *self.extra,
                ],
                env=self.env,
                stdout=log,
                stderr=log,
            )

    def wait_ready(self, timeout: float = 20.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"d2a serve exited {self.process.returncode}:\n{self.log()}")
            try:
                # Only "is it up": whether its certificate is trusted is what the tests ask.
                health = httpx.get(f"{self.url}/v1/health", timeout=1.0, verify=False)
                if health.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"d2a serve did not answer /v1/health in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


@dataclass
class CliReplica:
    """One terminal: its own data folder, config and SQLite replica, used through the CLI."""

    name: str
    home: Path

    @property
    def env(self) -> dict[str, str]:
        # Every replica here is encrypted, as `d2a login` makes them.
        return cli_env(
            self.home,
            D2A_DATABASE_URL=f"sqlite:///{self.home / 'replica.db'}",
            D2A_PASSPHRASE=REPLICA_PASSPHRASE,
        )

    def run(self, *args: str, ok: bool | None = True) -> subprocess.CompletedProcess[str]:
        return d2a(*args, env=self.env, ok=ok)

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def status(self) -> dict[str, Any]:
        return self.json("sync", "--status")

    def cards(self) -> dict[str, dict[str, Any]]:
        return {card["id"]: card for card in self.json("list")}

    def login_file(self) -> dict[str, Any]:
        return json.loads((self.home / "data" / "sync-login.json").read_text())

    def secrets(self) -> dict[str, Any]:
        """The device's token and PIN hash, read as only the passphrase's holder can: from
        inside the encrypted replica (the login file holds neither)."""
        from sqlalchemy import text

        from d2a_tui.storage import cipher
        from d2a_tui.storage.db import remember_key

        path = self.home / "replica.db"
        remember_key(path, cipher.unlock(path, REPLICA_PASSPHRASE))
        engine = make_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as connection:
                row = connection.execute(
                    text("SELECT device_token, pending_token, pin_hash FROM sync_replica")
                ).one()
        finally:
            engine.dispose()
        return {"token": row[0], "pending_token": row[1], "pin_hash": row[2]}


@dataclass
class Hub:
    """A running server with its admin's CLI environment and its database."""

    server: ServerProcess
    engine: Engine
    admin_env: dict[str, str]
    tmp: Path

    def admin(self, *args: str, ok: bool | None = True) -> subprocess.CompletedProcess[str]:
        return d2a("server", *args, "--db", self.server.database_url, env=self.admin_env, ok=ok)

    def enrol(self, user: str, label: str) -> dict[str, str]:
        done = self.admin("enrol-device", "--user", user, "--label", label, "--json")
        return json.loads(done.stdout)

    def replica(self, name: str, user: str) -> CliReplica:
        """Enrol a device for `user` and log a fresh replica in with the real CLI."""
        enrolled = self.enrol(user, name)
        replica = CliReplica(name, self.tmp / name)
        replica.home.mkdir()
        replica.run("login", "--server", self.server.url, "--token", enrolled["enrolment_token"])
        return replica

    def count(self, table: Any, device_id: str | None = None) -> int:
        query = select(func.count()).select_from(table)
        if device_id is not None:
            query = query.where(table.c.device_id == device_id)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def events(self, device_id: str | None = None) -> int:
        return self.count(event_table, device_id)

    def receipts(self, device_id: str | None = None) -> int:
        return self.count(receipt_table, device_id)


@pytest.fixture(scope="session")
def e2e_database_url() -> Iterator[str]:
    name = f"d2a_e2e_{worker()}"
    url = private_database(name)
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    yield url
    drop_database(name)


@pytest.fixture(scope="module")
def e2e_hub(e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """One server process per module (and worker), with two users added through the CLI."""
    tmp = tmp_path_factory.mktemp("e2e")
    admin_env = cli_env(tmp / "admin")
    server = ServerProcess(e2e_database_url, tmp / "server.log", cli_env(tmp / "server"))
    server.launch()
    engine = make_engine(e2e_database_url)
    hub = Hub(server, engine, admin_env, tmp)
    try:
        # The admin's commands talk to the database, not the server, once it is a server's:
        # `d2a serve` marks it as it starts.
        server.wait_ready()
        with ThreadPoolExecutor(2) as pool:
            added = [
                pool.submit(hub.admin, "add-user", "--name", name, "--role", role, "--id", user)
                for name, role, user in (
                    ("Nina Night", "night", "nina"),
                    ("Cole Ordinator", "coordinator", "cole"),
                )
            ]
            for future in added:
                future.result()
        yield hub
    finally:
        server.stop()
        engine.dispose()


_patients = {"serial": 600_000}
_patients_lock = threading.Lock()


def next_patient_number() -> str:
    """A synthetic NHS number no other raw device's referral has used (an open journey per
    patient: a repeated one would be refused)."""
    with _patients_lock:
        _patients["serial"], number = next_synthetic(_patients["serial"])
    return number


class RawDevice:
    """A device speaking the wire protocol itself (no replica): for tests that time requests or
    send many of them. Enrolled through the admin module, its token redeemed over HTTP."""

    def __init__(self, hub: Hub, user: str, server_url: str) -> None:
        _, enrol_token = admin.enrol_device(hub.engine, user)
        enrolled = httpx.post(
            f"{server_url}/v1/devices/enrol", json={"token": enrol_token}, timeout=10
        ).json()
        self.user = user
        self.device_id: str = enrolled["device_id"]
        self.auth = {"Authorization": f"Bearer {enrolled['token']}"}
        self.seq = 0

    def referrals(self, count: int) -> dict[str, Any]:
        """A push body of `count` new referrals of synthetic patients, next in this device's seq."""
        mutations = []
        for _ in range(count):
            self.seq += 1
            mutations.append(
                {
                    "kind": "command",
                    "mutation_id": uuid7(),
                    "client_seq": self.seq,
                    "actor": self.user,
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "command": "refer",
                    "journey_id": new_journey_id(),
                    "args": {
                        "patient": {
                            "nhs_number": next_patient_number(),
                            "name": "Test Person",
                            "date_of_birth": "1941-05-06",
                        }
                    },
                }
            )
        return {"schema_version": 1, "device_id": self.device_id, "mutations": mutations}
