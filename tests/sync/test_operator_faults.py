"""Operators' faults answer as what they are (issue 24 §3): a server whose database was dropped
and recreated empty says so with a 503 and a reason, as /v1/ready does, and no command quietly
gives the empty database a new schema; a full disk during a sync is called a full disk, and the
sync status stays true.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from d2a_tui.storage.db import current_revision, make_engine
from d2a_tui.sync.client import SyncError
from tests.conftest import drop_database, private_database
from tests.e2e.conftest import worker
from tests.sync.conftest import BASE_URL, SyncEnv, refer

pytestmark = pytest.mark.postgres


def test_a_server_on_a_dropped_and_recreated_database_answers_503_and_d2a_list_leaves_it_empty(
    sync_env_factory: Callable[[str], SyncEnv], tmp_path: Path
) -> None:
    name = f"d2a_dropped_{worker()}"
    url = private_database(name)
    try:
        env = sync_env_factory(url)
        env.user("nina")
        device_id, token = env.token("nina")
        client = httpx.Client(
            base_url=BASE_URL, transport=env.switch, headers={"Authorization": f"Bearer {token}"}
        )
        assert client.get("/v1/sync/pull", params={"since": 0}).status_code == 200

        env.engine.dispose()
        private_database(name)  # dropped and created again, empty, under the running server

        body = {"schema_version": 2, "device_id": device_id, "mutations": []}
        answers = {
            "pull": client.get("/v1/sync/pull", params={"since": 0}),
            "push": client.post("/v1/sync/push", json=body),
            "snapshot": client.get("/v1/sync/snapshot"),
            "me": client.get("/v1/me"),
        }
        for endpoint, answer in answers.items():
            assert answer.status_code == 503, f"{endpoint}: {answer.status_code} {answer.text}"
            assert answer.json()["error"] == "schema_mismatch", endpoint
            assert "empty" in answer.json()["detail"]

        env_vars = {k: v for k, v in os.environ.items() if not k.startswith("D2A_")}
        env_vars |= {"D2A_DATA_DIR": str(tmp_path / "data"), "D2A_CONFIG": str(tmp_path / "c")}
        done = subprocess.run(
            [sys.executable, "-m", "d2a_tui", "list", "--db", url],
            env=env_vars,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1
        assert done.stderr.startswith("d2a: ") and "no d2a schema" in done.stderr
        assert "Traceback" not in done.stderr
        probe = make_engine(url)
        try:
            assert current_revision(probe) is None, "d2a list gave the empty database a schema"
        finally:
            probe.dispose()
    finally:
        drop_database(name)


def test_a_full_disk_during_a_sync_says_so_and_the_status_stays_true(
    sync_env_factory: Callable[[str], SyncEnv], tmp_path: Path
) -> None:
    env = sync_env_factory(f"sqlite:///{tmp_path / 'server.db'}")
    env.user("nina")
    env.user("cole", role="coordinator")
    laptop = env.replica("nina", "laptop")
    laptop.sync.sync_now(wait=True)
    assert laptop.sync.sync_status().state == "online"
    desk = env.direct("cole")
    for serial in range(1, 80):
        refer(desk, serial)
    # The replica's file may not grow by a page more: SQLite answers as a full disk does.
    engine = laptop.store.engine
    with engine.connect() as connection:
        pages = connection.execute(text("PRAGMA page_count")).scalar_one()

    def no_room(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", no_room)
    engine.dispose()

    with pytest.raises(SyncError) as raised:
        laptop.sync.sync_now(wait=True)
    assert "disk is full" in str(raised.value)
    assert "not a d2a database" not in str(raised.value)
    status = laptop.sync.sync_status()
    assert status.state != "online"
    assert status.message is not None and "disk is full" in status.message
