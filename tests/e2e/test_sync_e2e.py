"""Sync end to end: `d2a serve` on PostgreSQL, replicas driven through the real CLI over HTTP.

The lost-response case is the chaos test's (tests/sync/test_chaos.py); here the wire, the
processes, the CLI and the database are the real ones.
"""

from __future__ import annotations

import json

import httpx
import pytest

from d2a_tui.domain.nhs_number import format_nhs_number, next_synthetic
from d2a_tui.storage.db import SCHEMA_HEAD
from d2a_tui.storage.models import CapacityReport
from tests.conftest import drop_database, private_database
from tests.e2e.conftest import CliReplica, Hub, cli_env, d2a, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

# Synthetic people; the server log is checked for every one of these strings.
PEOPLE = {
    "handover": ("Ottoline Brackenridge", next_synthetic(4100)[1]),
    "offline": ("Peregrine Waddingham", next_synthetic(4200)[1]),
    "night": ("Wilhelmina Thistlewood", next_synthetic(4300)[1]),
    "revoked": ("Barnaby Quillfeather", next_synthetic(4400)[1]),
}
NOTES = ("daughter has keys, rings after 6pm", "awaiting OT equipment, key safe code given")


def assert_log_has_no_patient_details(hub: Hub) -> None:
    log = hub.server.log()
    assert "d2a.sync.server" in log  # the log is being written: an empty one proves nothing
    for name, number in PEOPLE.values():
        for secret in (name, *name.split(), number, format_nhs_number(number)):
            assert secret not in log, "the server log names a patient"
    for note in NOTES:
        assert note not in log, "the server log holds a note's text"


def refer(replica: CliReplica, key: str) -> str:
    name, number = PEOPLE[key]
    done = replica.run(
        "refer", "--nhs", number, "--name", name, "--dob", "1938-02-11", "--ward", "Ward 7"
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def night(e2e_hub: Hub) -> CliReplica:
    return e2e_hub.replica("night-laptop", "nina")


@pytest.fixture(scope="module")
def day(e2e_hub: Hub) -> CliReplica:
    return e2e_hub.replica("day-desk", "cole")


def test_a_change_made_on_one_replica_reaches_the_other_after_both_sync(
    e2e_hub: Hub, night: CliReplica, day: CliReplica
) -> None:
    device = night.login_file()["device_id"]
    before = e2e_hub.events(device)
    journey = refer(night, "handover")
    night.run("move", journey, "triage")
    night.run("note", journey, NOTES[0])

    pushed = night.json("sync", "--once")
    assert pushed["pushed"] == 3 and pushed["outcomes"] == {"applied": 3}
    assert pushed["status"]["pending"] == 0
    pulled = day.json("sync", "--once")
    assert pulled["pulled"] >= 3

    shown = day.json("show", journey)
    assert shown["column"] == "triage"
    assert shown["name"] == PEOPLE["handover"][0]
    assert NOTES[0] in [event["payload"].get("text") for event in shown["events"]]
    assert e2e_hub.events(device) == before + 3
    assert_log_has_no_patient_details(e2e_hub)


def test_work_done_while_the_server_is_down_is_kept_and_sent_exactly_once(
    e2e_hub: Hub, night: CliReplica
) -> None:
    journey = refer(night, "offline")
    night.run("sync", "--once")
    device = night.login_file()["device_id"]
    events, receipts = e2e_hub.events(device), e2e_hub.receipts(device)

    e2e_hub.server.stop()
    try:
        night.run("move", journey, "triage")
        night.run("note", journey, NOTES[1])
        newcomer = refer(night, "night")
        status = night.status()
        assert status["pending"] == 3
        cards = night.cards()
        assert cards[journey]["column"] == "triage"
        assert cards[newcomer]["name"] == PEOPLE["night"][0]
    finally:
        e2e_hub.server.start()

    first = night.json("sync", "--once")
    assert first["pushed"] == 3 and first["outcomes"] == {"applied": 3}
    again = night.json("sync", "--once")
    assert again["pushed"] == 0 and again["status"]["pending"] == 0
    assert e2e_hub.events(device) == events + 3
    assert e2e_hub.receipts(device) == receipts + 3
    assert_log_has_no_patient_details(e2e_hub)


def test_requests_without_a_valid_token_get_401_and_change_nothing(e2e_hub: Hub) -> None:
    before = e2e_hub.events()
    push = {"schema_version": 1, "device_id": "0" * 36, "mutations": []}
    with httpx.Client(base_url=e2e_hub.server.url, timeout=10) as http:
        answers = {
            "no token pull": http.get("/v1/sync/pull", params={"since": 0}),
            "no token push": http.post("/v1/sync/push", json=push),
            "wrong token pull": http.get(
                "/v1/sync/pull", headers={"Authorization": "Bearer d2a_not-a-real-token"}
            ),
            "wrong token push": http.post(
                "/v1/sync/push", json=push, headers={"Authorization": "Bearer d2a_nope"}
            ),
            "not bearer": http.get("/v1/me", headers={"Authorization": "Basic bmluYTpwdw=="}),
        }
    for what, answer in answers.items():
        assert answer.status_code == 401, what
        assert answer.headers["www-authenticate"] == "Bearer", what
        assert answer.json()["error"] in ("no_token", "bad_token"), what
    assert e2e_hub.events() == before


def test_a_revoked_device_gets_401_and_its_pending_changes_stay_on_it(e2e_hub: Hub) -> None:
    spare = e2e_hub.replica("spare-tablet", "nina")
    login = spare.login_file()
    refer(spare, "revoked")
    before = e2e_hub.events()

    done = e2e_hub.admin("revoke-device", login["device_id"])
    assert "revoked" in done.stdout

    refused = spare.run("sync", "--once", ok=False)
    assert "revoked" in refused.stderr
    assert "Traceback" not in refused.stderr
    status = spare.status()
    assert status["pending"] == 1 and status["state"] in ("refused", "offline")
    with httpx.Client(base_url=e2e_hub.server.url, timeout=10) as http:
        token = spare.secrets()["token"]
        answer = http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and answer.json()["error"] == "revoked"
    assert e2e_hub.events() == before
    assert e2e_hub.receipts(login["device_id"]) == 0
    assert_log_has_no_patient_details(e2e_hub)


@pytest.mark.parametrize("schema", ["empty", "stale"])
def test_the_server_refuses_a_database_of_another_schema(
    schema: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.e2e.conftest import worker

    name = f"d2a_e2e_{worker()}_{schema}"
    url = private_database(name)
    try:
        if schema == "stale":
            import psycopg

            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute("CREATE TABLE alembic_version (version_num varchar(32))")
                connection.execute("INSERT INTO alembic_version VALUES ('0001_long_gone')")
        env = cli_env(tmp_path_factory.mktemp("refused"))
        done = d2a("serve", "--db", url, "--port", str(free_port()), env=env, ok=False)
    finally:
        drop_database(name)
    assert done.returncode == 1
    message = done.stderr.strip()
    assert "Traceback" not in message and len(message.splitlines()) == 1
    assert SCHEMA_HEAD in message and "d2a db upgrade" in message
    assert ("'empty'" if schema == "empty" else "0001_long_gone") in message


def test_capacity_reported_on_a_replica_waits_in_the_outbox_and_arrives_exactly_once(
    e2e_hub: Hub, day: CliReplica
) -> None:
    service = ("service", "add", "Meadowbank Unit", "--kind", "intermediate_care")
    service += ("--pathway", "P2", "--unit", "beds", "--id", "meadowbank-e2e")
    d2a(*service, "--db", e2e_hub.server.database_url, env=e2e_hub.admin_env)
    day.run(*service)  # the replica's own list of services
    # The looks recorded by earlier tests (`d2a show` is an access event, queued like a
    # change) go first, so that what follows counts only the capacity reports.
    day.run("sync", "--once")
    before = e2e_hub.count(CapacityReport)

    # Reporting writes the replica alone (the server is not asked: the restart of the test
    # before shows the same path with the server down); both wait in the outbox.
    day.run("capacity", "meadowbank-e2e", "--total", "20", "--occupied", "15")
    day.run("capacity", "meadowbank-e2e", "--vacant", "3")
    assert day.status()["pending"] == 2
    assert e2e_hub.count(CapacityReport) == before

    first = day.json("sync", "--once")
    assert first["pushed"] == 2 and first["outcomes"] == {"applied": 2}
    again = day.json("sync", "--once")
    assert again["pushed"] == 0 and again["status"]["pending"] == 0
    assert e2e_hub.count(CapacityReport) == before + 2
    # The server's latest for the service is the later report: 20 beds, 3 vacant.
    server_view = d2a(
        "service", "list", "--json", "--db", e2e_hub.server.database_url, env=e2e_hub.admin_env
    )
    [latest] = [s for s in json.loads(server_view.stdout) if s["id"] == "meadowbank-e2e"]
    assert (latest["total"], latest["occupied"]) == (20, 17)
