"""No patient identifier in a real `d2a serve` process's log, nor in what the CLI prints, when
the server meets an error nobody planned for (issue 10 §4)."""

from __future__ import annotations

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
    quotes the failing row, as a constraint added by a DBA (or a bug) would."""
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
    failed = replica.run("sync", ok=False)
    printed.append(failed)
    # One line: the server failed, with the request id to quote; nothing about the person.
    assert failed.stderr.count("\n") == 1 and "answered 500 (request " in failed.stderr
    request_id = failed.stderr.split("(request ", 1)[1].split(")", 1)[0]

    log = e2e_hub.server.log()
    assert f"internal error IntegrityError on POST /v1/sync/push request={request_id}" in log
    assert "Traceback" not in log
    assert identifiers_in(log) == []
    client_output = "".join(done.stderr for done in printed)
    assert identifiers_in(client_output) == []
    assert replica.status()["pending"] == 1  # kept on the laptop for when the server is fixed
