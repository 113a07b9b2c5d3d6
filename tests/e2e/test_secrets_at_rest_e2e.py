"""Nothing on the disk opens the record (issue 22, section 3), against a real `d2a serve` and
the real CLI: with a laptop's disk alone, a thief finds no device token and no PIN hash to
guess offline. They live inside the encrypted replica; the login file names a server and a user.
A login file written by an earlier d2a (token inside) hands its secrets over at the first
unlock and is rewritten without them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CliReplica, Hub, d2a

pytestmark = pytest.mark.e2e

TOKEN_SHAPE = re.compile(rb"d2a_[A-Za-z0-9_-]{30,}")


def disk_of(replica: CliReplica) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in replica.home.rglob("*") if path.is_file()}


def test_the_disk_alone_holds_no_token_and_no_pin_hash(e2e_hub: Hub) -> None:
    enrolled = e2e_hub.enrol("nina", "laptop")
    night = CliReplica("laptop", e2e_hub.tmp / "laptop")
    night.home.mkdir()
    d2a(
        "login", "--server", e2e_hub.server.url, "--token", enrolled["enrolment_token"], "--pin",
        env={**night.env, "D2A_PIN": "4711"},
    )  # fmt: skip
    held = night.secrets()
    assert held["token"].startswith("d2a_") and held["pin_hash"].startswith("scrypt$")
    login = night.login_file()
    assert "token" not in login and "pin_hash" not in login
    for path, data in disk_of(night).items():
        assert held["token"].encode() not in data, path
        assert TOKEN_SHAPE.search(data) is None, path
        assert b"scrypt$" not in data, path  # the PIN cannot be guessed against the disk
    # The device still works: the token is found where the passphrase opens it.
    assert night.run("sync", "--once").returncode == 0
    with httpx.Client(base_url=e2e_hub.server.url, timeout=10) as http:
        me = http.get("/v1/me", headers={"Authorization": f"Bearer {held['token']}"})
    assert me.status_code == 200
    night.run("logout")  # and a logout takes the secrets out of the database too
    assert night.secrets() == {"token": None, "pending_token": None, "pin_hash": None}


def test_an_old_login_file_gives_its_token_to_the_database_at_the_first_unlock(
    e2e_hub: Hub,
) -> None:
    night = e2e_hub.replica("old-laptop", "nina")
    token = night.secrets()["token"]
    # As an earlier d2a left it: the token in the file, none in the database.
    path = night.home / "data" / "sync-login.json"
    path.write_text(json.dumps({**night.login_file(), "token": token}))
    from sqlalchemy import text

    from d2a_tui.storage.db import make_engine

    engine = make_engine(f"sqlite:///{night.home / 'replica.db'}")  # keyed by secrets() above
    with engine.begin() as connection:
        connection.execute(text("UPDATE sync_replica SET device_token = NULL"))
    engine.dispose()
    assert night.secrets()["token"] is None

    assert night.run("sync", "--once").returncode == 0  # the first unlock
    assert "token" not in night.login_file()
    assert night.secrets()["token"] == token
    assert all(token.encode() not in data for data in disk_of(night).values())
