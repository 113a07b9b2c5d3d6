"""Faults a hostile or out-of-date client can send: each is refused with a reason code (a 4xx in
the one error shape for the whole push, or a per-change "rejected" receipt that lets the rest of
the batch through), and nothing of it is stored. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from d2a_tui.domain.ids import uuid7
from d2a_tui.storage.journeys import event_table, journey_table, patient_table
from d2a_tui.storage.models import CapacityReport, Service, table_of
from d2a_tui.sync.protocol import MAX_BATCH, ErrorBody
from tests.sync.conftest import SyncEnv, nhs
from tests.sync.test_protocol import NOW, Device, client

capacity_table = table_of(CapacityReport)
service_table = table_of(Service)


def stored(env: SyncEnv) -> dict[str, int]:
    """What a refused request must not have added to."""
    with env.engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (event_table, journey_table, patient_table, capacity_table)
        }


async def push(env: SyncEnv, device: Device, *mutations: dict[str, Any]) -> httpx.Response:
    # Encoded here with \u escapes: a lone surrogate is valid JSON though not valid UTF-8.
    content = json.dumps(device.body(*mutations)).encode()
    headers = {**device.auth, "Content-Type": "application/json"}
    async with client(env) as http:
        return await http.post("/v1/sync/push", content=content, headers=headers)


def assert_error_shape(answer: httpx.Response, status: int, error: str) -> None:
    assert answer.status_code == status, answer.text
    body = ErrorBody.model_validate(answer.json())
    assert body.error == error and body.detail


def receipt_of(answer: httpx.Response, index: int = -1) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    return answer.json()["receipts"][index]


async def referred(env: SyncEnv, device: Device, serial: int = 1) -> str:
    referral = device.referral(serial)
    assert receipt_of(await push(env, device, referral))["outcome"] == "applied"
    return str(referral["journey_id"])


# --- ids used twice --------------------------------------------------------------------------------


async def test_a_mutation_id_resent_with_a_different_body_is_409_and_changes_nothing(
    any_sync_env: SyncEnv,
) -> None:
    device = Device(any_sync_env, "nina")
    journey = await referred(any_sync_env, device)
    note = device.mutation("add_note", journey, args={"text": "first"})
    assert receipt_of(await push(any_sync_env, device, note))["outcome"] == "applied"
    before = stored(any_sync_env)

    changed = {**note, "args": {"text": "something else"}}  # same id, same seq, new body
    assert_error_shape(await push(any_sync_env, device, changed), 409, "mutation_changed")

    device.seq += 1  # same id under a new seq: it would be the event's id a second time
    reused = {**note, "client_seq": device.seq, "args": {"text": "again"}}
    assert_error_shape(await push(any_sync_env, device, reused), 409, "mutation_id_reused")
    assert stored(any_sync_env) == before


async def test_a_mutation_reusing_an_event_id_seen_in_a_pull_is_refused(
    any_sync_env: SyncEnv,
) -> None:
    device, other = Device(any_sync_env, "nina"), Device(any_sync_env, "cole", "coordinator")
    journey = await referred(any_sync_env, device)
    async with client(any_sync_env) as http:
        pulled = (await http.get("/v1/sync/pull", headers=other.auth)).json()["events"]
    before = stored(any_sync_env)
    stolen = other.mutation("add_note", journey, args={"text": "x"})
    stolen["mutation_id"] = pulled[0]["event_id"]
    assert_error_shape(await push(any_sync_env, other, stolen), 409, "mutation_id_reused")
    assert stored(any_sync_env) == before


async def test_a_capacity_report_id_sent_again_is_rejected_and_stored_once(
    any_sync_env: SyncEnv,
) -> None:
    with any_sync_env.engine.begin() as connection:
        connection.execute(
            service_table.insert().values(
                id="meadowbank", name="Meadowbank", kind="p2_unit", pathway="P2", unit="beds"
            )
        )
    device = Device(any_sync_env, "cole", "coordinator")
    report = {
        "kind": "capacity",
        "mutation_id": uuid7(),
        "client_seq": 1,
        "actor": "cole",
        "occurred_at": NOW,
        "report_id": uuid7(),
        "service_id": "meadowbank",
        "total": 20,
        "occupied": 15,
    }
    assert receipt_of(await push(any_sync_env, device, report))["outcome"] == "applied"
    again = {**report, "mutation_id": uuid7(), "client_seq": 2, "occupied": 16}
    receipt = receipt_of(await push(any_sync_env, device, again))
    assert (receipt["outcome"], receipt["reason"]) == ("rejected", "duplicate_report")
    assert stored(any_sync_env)["capacity_report"] == 1


# --- fields past their limits ---------------------------------------------------------------------

POISONED_ARGS = [
    pytest.param("set_ward", {"ward": "W" * 300}, "too_long", id="300-char-ward"),
    pytest.param("add_note", {"text": "x" * 4001}, "invalid_input", id="4001-char-note"),
    pytest.param("add_note", {"text": "keys\x00under mat"}, "control_characters", id="nul"),
    pytest.param("add_note", {"text": "bell\x07"}, "control_characters", id="bel"),
    pytest.param("set_ward", {"ward": "7\x1b[2J"}, "control_characters", id="escape"),
    pytest.param("add_note", {"text": "half \ud800"}, "control_characters", id="surrogate"),
    pytest.param("set_ward", {"ward": "7B", "colour": "red"}, "unknown_field", id="unknown-arg"),
    pytest.param(
        "retract_note", {"note_event_id": {"$ne": None}}, "bad_field", id="retract-object"
    ),
    pytest.param("set_ready_date", {"date": "9999-01-01"}, "date_out_of_range", id="year-9999"),
    pytest.param("set_expected_date", {"date": "0001-01-01"}, "date_out_of_range", id="year-1"),
]


@pytest.mark.parametrize(("command", "args", "reason"), POISONED_ARGS)
async def test_a_field_past_its_limits_is_rejected_per_change_and_not_stored(
    any_sync_env: SyncEnv, command: str, args: dict[str, Any], reason: str
) -> None:
    device = Device(any_sync_env, "nina")
    journey = await referred(any_sync_env, device)
    if command == "retract_note":
        await push(any_sync_env, device, device.mutation("add_note", journey, args={"text": "n"}))
    before = stored(any_sync_env)
    poison = device.mutation(command, journey, args=args)
    after_it = device.mutation("assign", journey, args={"to": "nina"})
    answer = await push(any_sync_env, device, poison, after_it)
    first, second = receipt_of(answer, 0), receipt_of(answer, 1)
    assert (first["outcome"], first["reason"]) == ("rejected", reason)
    assert second["outcome"] == "applied"  # the change after the poison is not blocked
    assert stored(any_sync_env)["journey_event"] == before["journey_event"] + 1


POISONED_REFERRALS = [
    pytest.param({"name": "N" * 300}, "too_long", id="300-char-name"),
    pytest.param({"name": "Ann\x00Smith"}, "control_characters", id="nul-in-name"),
    pytest.param({"nhs_number": "９４３４７６５９１９"}, "invalid_input", id="full-width-digits"),
    pytest.param({"existing": True}, "patient_mismatch", id="existing-but-unknown"),
    pytest.param({"shoe_size": 9}, "unknown_field", id="unknown-patient-field"),
    pytest.param({"date_of_birth": "1066-10-14"}, "date_out_of_range", id="born-1066"),
]


@pytest.mark.parametrize(("patient", "reason"), POISONED_REFERRALS)
async def test_a_poisoned_referral_is_rejected_and_leaves_no_patient(
    any_sync_env: SyncEnv, patient: dict[str, Any], reason: str
) -> None:
    device = Device(any_sync_env, "nina")
    referral = device.referral(5)
    referral["args"]["patient"].update(patient)
    receipt = receipt_of(await push(any_sync_env, device, referral))
    assert (receipt["outcome"], receipt["reason"]) == ("rejected", reason)
    assert stored(any_sync_env) == {
        "journey_event": 0,
        "journey": 0,
        "patient": 0,
        "capacity_report": 0,
    }


async def test_an_existing_flag_false_for_a_person_on_record_is_rejected(
    any_sync_env: SyncEnv,
) -> None:
    device = Device(any_sync_env, "nina")
    journey = await referred(any_sync_env, device, serial=3)
    await push(any_sync_env, device, device.mutation("close", journey, args={"outcome": "home"}))
    before = stored(any_sync_env)
    again = device.referral(3)  # the same person, now on record, claimed to be new
    again["args"]["patient"]["existing"] = False
    receipt = receipt_of(await push(any_sync_env, device, again))
    assert (receipt["outcome"], receipt["reason"]) == ("rejected", "patient_mismatch")
    assert stored(any_sync_env) == before


TIMES = [
    pytest.param("0001-01-01T00:00:00+05:00", "bad_timestamp", id="year-1-east"),
    pytest.param("9999-12-31T23:59:59-05:00", "bad_timestamp", id="year-9999-west"),
    pytest.param("2026-11-23T02:14:00+23:59", "bad_timestamp", id="offset-23h59"),
    pytest.param("2026-11-23T02:14:00+05:00:30", "bad_timestamp", id="offset-with-seconds"),
    pytest.param("2099-06-01T10:00:00+00:00", "future_timestamp", id="referral-in-2099"),
]


@pytest.mark.parametrize(("occurred_at", "reason"), TIMES)
async def test_a_change_at_an_impossible_time_is_refused_and_not_stored(
    any_sync_env: SyncEnv, occurred_at: str, reason: str
) -> None:
    device = Device(any_sync_env, "nina")
    referral = {**device.referral(), "occurred_at": occurred_at}
    answer = await push(any_sync_env, device, referral)
    if answer.status_code == 200:
        receipt = receipt_of(answer)
        assert (receipt["outcome"], receipt["reason"]) == ("rejected", reason)
    else:  # a time the schema itself cannot read: the whole push, in the one error shape
        assert_error_shape(answer, 422, "invalid_payload")
    assert stored(any_sync_env)["journey_event"] == 0


async def test_unknown_keys_at_the_top_of_a_body_are_422(any_sync_env: SyncEnv) -> None:
    device = Device(any_sync_env, "nina")
    body = device.body(device.referral())
    body["priority"] = "urgent"
    async with client(any_sync_env) as http:
        answer = await http.post("/v1/sync/push", json=body, headers=device.auth)
        nested = device.body({**device.referral(2), "colour": "red"})
        inner = await http.post("/v1/sync/push", json=nested, headers=device.auth)
    assert_error_shape(answer, 422, "invalid_payload")
    assert_error_shape(inner, 422, "invalid_payload")
    assert stored(any_sync_env)["journey_event"] == 0


# --- the wrong journey ----------------------------------------------------------------------------


async def test_undo_naming_another_journeys_event_changes_neither(any_sync_env: SyncEnv) -> None:
    device = Device(any_sync_env, "nina")
    journey_a = await referred(any_sync_env, device, 1)
    journey_b = await referred(any_sync_env, device, 2)
    move_a = device.mutation("move", journey_a, args={"to": "triage"})
    assert receipt_of(await push(any_sync_env, device, move_a))["outcome"] == "applied"
    before = stored(any_sync_env)
    undo = device.mutation("undo", journey_b, undo_event_id=move_a["mutation_id"])
    receipt = receipt_of(await push(any_sync_env, device, undo))
    assert (receipt["outcome"], receipt["reason"]) == ("rejected", "wrong_journey")
    assert stored(any_sync_env) == before
    with any_sync_env.engine.connect() as connection:
        rows = connection.execute(select(journey_table.c.id, journey_table.c.column_id)).all()
        columns = {row.id: row.column_id for row in rows}
    assert columns == {journey_a: "triage", journey_b: "referred"}


# --- the one error shape --------------------------------------------------------------------------


async def test_every_4xx_has_the_one_error_shape(sync_env: SyncEnv) -> None:
    device = Device(sync_env, "nina")
    async with client(sync_env) as http:
        answers = {
            "not_found": await http.get("/v1/nowhere"),
            "method_not_allowed": await http.delete("/v1/sync/push", headers=device.auth),
            "no_token": await http.get("/v1/me"),
            "malformed_json": await http.post(
                "/v1/sync/push",
                content=b"{",
                headers={**device.auth, "Content-Type": "application/json"},
            ),
            "invalid_payload": await http.get("/v1/sync/pull?since=-1", headers=device.auth),
        }
    for error, answer in answers.items():
        assert 400 <= answer.status_code < 500, (error, answer.status_code)
        assert ErrorBody.model_validate(answer.json()).error == error


async def test_a_batch_too_long_and_a_pull_from_another_log_have_their_reason_codes(
    sync_env: SyncEnv,
) -> None:
    device = Device(sync_env, "nina")
    await referred(sync_env, device)
    too_many = [device.referral(serial) for serial in range(1, MAX_BATCH + 2)]
    async with client(sync_env) as http:
        long_batch = await http.post(
            "/v1/sync/push", json=device.body(*too_many), headers=device.auth
        )
        # A `since` this log never reached, and a mark naming another event than the one at
        # `since`: the device synced with another log (this one restored from a backup).
        beyond = await http.get("/v1/sync/pull?since=99", headers=device.auth)
        other_mark = await http.get("/v1/sync/pull?since=1&mark=abc", headers=device.auth)
    assert_error_shape(long_batch, 413, "batch_too_large")
    for answer in (beyond, other_mark):
        assert_error_shape(answer, 409, "log_changed")
        assert answer.json()["head"] == 1


def test_full_width_digits_are_not_an_nhs_number() -> None:
    from d2a_tui.domain.nhs_number import is_valid

    assert is_valid(nhs(1))
    full_width = "".join(chr(ord(digit) + 0xFEE0) for digit in nhs(1))  # '０'..'９'
    arabic_indic = "".join(chr(ord(digit) - ord("0") + 0x0660) for digit in nhs(1))
    assert not is_valid(full_width) and not is_valid(arabic_indic)


@pytest.mark.parametrize(
    "args",
    [{"code": "P1\x00CARE"}, {"code": "\ud800" * 3}, {"code": "X" * 100_000}],
    ids=["nul", "surrogates", "100k"],
)
async def test_a_refusal_that_echoes_the_input_is_still_stored_as_a_receipt(
    any_sync_env: SyncEnv, args: dict[str, Any]
) -> None:
    device = Device(any_sync_env, "nina")
    journey = await referred(any_sync_env, device)
    receipt = receipt_of(
        await push(any_sync_env, device, device.mutation("set_delay", journey, args=args))
    )
    assert receipt["outcome"] == "rejected" and receipt["reason"] in ("not_found", "too_long")
    assert stored(any_sync_env)["journey_event"] == 1
