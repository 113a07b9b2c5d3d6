"""The audit of every look: a journey opened and changed by three users, two of them on their own
replicas (their looks queued and synced like changes) and one at the hub's desk on the server's
database, answered by `d2a audit` on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from d2a_tui.cli import main
from d2a_tui.storage.audit import access_table
from d2a_tui.sync import admin
from tests.sync.conftest import SyncEnv, refer


def d2a(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _url(env: SyncEnv) -> str:
    return env.engine.url.render_as_string(hide_password=False)


def test_audit_answers_who_looked_at_whom_and_what_they_changed(
    any_sync_env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    env = any_sync_env
    admin.add_user(env.engine, "Ann", "coordinator", None, "ann")
    admin.add_user(env.engine, "Nico", "night", None, "nico")
    ann = env.replica("ann", "ann", role="coordinator")
    nico = env.replica("nico", "nico", role="night")
    journey = refer(ann, 1)
    env.clock.advance(minutes=1)
    ann.journey(journey, purpose="journey_screen")
    version = ann.journey(journey).card.version  # a plain read: not a look the audit records
    ann.sync.sync_now(wait=True)
    nico.sync.sync_now(wait=True)
    env.clock.advance(minutes=1)
    nico.journey(journey, purpose="show")
    env.clock.advance(minutes=1)
    nico.add_note(journey, "spoke to the ward")
    nico.sync.sync_now(wait=True)
    desk = env.direct("dee")
    env.clock.advance(minutes=1)
    desk.journey(journey, purpose="show")
    env.clock.advance(minutes=1)
    desk.move(journey, "triage")
    assert desk.journey(journey).card.version == version + 2  # looking changed no version

    code, out, err = d2a(capsys, "audit", "--journey", journey, "--json", "--db", _url(env))
    assert code == 0, err
    lines = json.loads(out)
    summary = [(line["user"], line["action"], line["detail"]) for line in lines]
    assert summary == [
        ("ann", "referred", ""),
        ("ann", "looked", "journey_screen"),
        # The server's own records of what it sent each device (a snapshot of the journey).
        ("ann", "looked", "snapshot"),
        ("nico", "looked", "snapshot"),
        ("nico", "looked", "show"),
        ("nico", "note_added", ""),
        ("dee", "looked", "show"),
        ("dee", "moved", ""),
    ]
    devices = {line["user"]: line["device"] for line in lines}
    assert devices["ann"] == ann.actor.device_id and devices["nico"] == nico.actor.device_id
    assert len(set(devices.values())) == 3
    assert "Test Person" not in out  # the audit names journeys, never people

    code, out, err = d2a(capsys, "audit", "--user", "nico", "--json", "--db", _url(env))
    assert code == 0, err
    assert {(line["action"], line["journey_id"]) for line in json.loads(out)} == {
        ("looked", journey),
        ("note_added", journey),
    }
    day = env.clock().date().isoformat()
    code, out, _ = d2a(capsys, "audit", "--from", day, "--to", day, "--db", _url(env))
    assert code == 0 and out.count("looked") == 5


def test_a_look_on_a_replica_is_sent_once_however_often_the_push_is_retried(
    sync_env: SyncEnv,
) -> None:
    admin.add_user(sync_env.engine, "Ann", "coordinator", None, "ann")
    ann = sync_env.replica("ann", "ann", role="coordinator")
    journey = refer(ann, 1)
    ann.journey(journey, purpose="show")
    batch: list[dict[str, Any]] = ann.sync.replica.pending_batch(10)
    assert [body["kind"] for body in batch] == ["command", "access"]
    ann.sync.client.push(ann.sync.replica.device_id, batch)  # the answer is lost: sent again below
    ann.sync.sync_now(wait=True)
    with sync_env.engine.connect() as connection:
        looks = connection.execute(
            select(access_table.c.user_id, access_table.c.journey_id, access_table.c.purpose).where(
                access_table.c.purpose != "snapshot"
            )  # the server's record of sending
        ).all()
    assert looks == [("ann", journey, "show")]
    assert ann.sync.sync_status().pending == 0


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        ([], "say whose audit"),
        (["--from", "2026-13-01"], "--from must be a date"),
        (["--from", "2026-11-20", "--to", "2026-11-19"], "--to is before --from"),
        (["--journey", "ffffffff"], "no journey"),
    ],
)
def test_audit_refuses_bad_input_in_one_line(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    code, out, err = d2a(capsys, "audit", *argv, "--db", _url(sync_env))
    assert code != 0 and out == ""
    assert err.startswith("d2a: ") and err.count("\n") == 1 and said in err
