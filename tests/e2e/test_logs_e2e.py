"""No patient identifier in a real `d2a serve` process's log (at debug level), nor in what the
CLI prints, when the server's database fails on a patient's row in a way nobody planned for
(issue 10 §4). The 500 path itself is shown in-process (tests/sync/test_logs_private.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from d2a_tui.domain.nhs_number import format_nhs_number, next_synthetic
from tests.e2e.conftest import CliReplica, Hub

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

NAME = "Ignatius Logwarden"
NHS = next_synthetic(9100)[1]  # the 999 test range
DOB = "1929-08-17"


def identifiers_in(log: str) -> list[str]:
    forms = (NAME, *NAME.split(), NHS, format_nhs_number(NHS), DOB)
    return [form for form in forms if form in log]


@pytest.fixture
def refusing_database(e2e_hub: Hub) -> Iterator[None]:
    """The server's PostgreSQL refuses this one patient: an IntegrityError whose driver message
    quotes the failing row (DETAIL), as a constraint added by a DBA (or a bug) would."""
    with e2e_hub.engine.begin() as connection:
        connection.execute(
            text(f"ALTER TABLE patient ADD CONSTRAINT refuse_logwarden CHECK (name <> '{NAME}')")
        )
    yield
    with e2e_hub.engine.begin() as connection:
        connection.execute(text("ALTER TABLE patient DROP CONSTRAINT refuse_logwarden"))


def test_a_server_error_in_a_real_process_logs_no_identifier(
    e2e_hub: Hub, refusing_database: None
) -> None:
    replica: CliReplica = e2e_hub.replica("log-laptop", "nina")
    printed = [replica.run("refer", "--nhs", NHS, "--name", NAME, "--dob", DOB, "--ward", "W3")]
    printed.append(replica.run("sync", ok=None))
    printed.append(replica.run("conflicts", "--json"))

    log = e2e_hub.server.log()
    assert (
        "enrolled" in log
    )  # the log is being written (at debug level): an empty one proves nothing
    sync = printed[1]
    assert "refused" in sync.stdout + sync.stderr  # the failing change was answered, not lost
    assert "Traceback" not in log
    assert identifiers_in(log) == []
    lines = [json.loads(line) for line in log.splitlines()]  # one JSON object a line, every line
    assert any(line.get("endpoint") == "/v1/sync/push" for line in lines)  # the failing push
    client_output = "".join(done.stderr + done.stdout for done in printed[1:])
    assert identifiers_in(client_output) == []
