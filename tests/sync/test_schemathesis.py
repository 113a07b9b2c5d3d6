"""Schemathesis over the server's OpenAPI document, against the app in-process on SQLite: no 5xx,
every response matches the schema it declares, and a refused request stores nothing.

Bounded for `make test` (D2A_FUZZ_EXAMPLES cases per operation, 40 by default: about 240 in all,
derandomised so a run is repeatable); `bench/fuzz_api.py` runs it larger. Push bodies are pointed
at the test's own device and its next client_seq, so the generated mutations reach the ingest and
its rules instead of stopping at the device check.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from sqlalchemy import func, select

from d2a_tui.storage.journeys import event_table, journey_table, patient_table
from d2a_tui.storage.models import CapacityReport
from d2a_tui.sync.compact import NO_EVENT
from d2a_tui.sync.ingest import device_table, receipt_table
from tests.sync.conftest import SyncEnv
from tests.sync.test_protocol import NOW, Device

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EXAMPLES = int(os.environ.get("D2A_FUZZ_EXAMPLES", "40"))
TABLES = (
    event_table,
    journey_table,
    patient_table,
    CapacityReport,
    receipt_table,
)


@pytest.fixture
def fuzz_device(sync_env: SyncEnv) -> Device:
    return Device(sync_env, "nina")


@pytest.fixture
def api(sync_env: SyncEnv, fuzz_device: Device) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", sync_env.app)


schema = schemathesis.pytest.from_fixture("api")


def counts(env: SyncEnv) -> dict[str, int]:
    with env.engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in TABLES
        }


def aim_at_our_device(env: SyncEnv, device: Device, body: Any) -> None:
    if not isinstance(body, dict):
        return
    body["device_id"] = device.device_id
    # Versions 1 and 3 (2 is 1's body); others are refused before anything else is read.
    version_3 = "first_seq" in body
    body["schema_version"] = 3 if version_3 else 1
    mutations = body.get("mutations")
    if not isinstance(mutations, list):
        return
    with env.engine.connect() as connection:
        expected = connection.execute(
            select(device_table.c.next_seq).where(device_table.c.id == device.device_id)
        ).scalar_one()
    if version_3:
        body["first_seq"] = expected
        body["started_us"] = (datetime.fromisoformat(NOW) - EPOCH) // timedelta(microseconds=1)
    for offset, mutation in enumerate(mutations):
        if isinstance(mutation, dict):
            mutation["actor"] = device.user
            if not version_3:
                mutation["client_seq"] = expected + offset
            if offset % 2 == 0:
                # Half at a plausible time, so the rules behind the timestamp check are reached.
                if version_3:
                    mutation["elapsed_us"] = 0
                else:
                    mutation["occurred_at"] = NOW


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_never_fails_and_a_refusal_stores_nothing(
    case: Any, sync_env: SyncEnv, fuzz_device: Device
) -> None:
    if case.operation.path == "/v1/sync/push":
        aim_at_our_device(sync_env, fuzz_device, case.body)
    if isinstance(case.query, dict) and "wait" in case.query:
        case.query["wait"] = 0  # a long poll waits by design; waiting proves nothing here
    before = counts(sync_env)
    response = case.call_and_validate(
        headers=fuzz_device.auth, checks=[not_a_server_error, response_schema_conformance]
    )
    after = counts(sync_env)
    if response.status_code >= 400:
        assert after == before, f"{response.status_code} but something was stored"
    elif case.operation.path == "/v1/sync/push" and "digests" in response.json():
        # Version 3's answer (compact): an applied change's digest is zeros if it made no event.
        digests = response.json()["digests"]
        made = sum(digests[at : at + 8] != NO_EVENT for at in range(0, len(digests), 8))
        assert after["journey_event"] - before["journey_event"] == made
    elif case.operation.path == "/v1/sync/push":
        receipts = response.json()["receipts"]
        made = sum(1 for r in receipts if r["outcome"] == "applied" and r.get("position"))
        # A refused or merged change leaves no event; an applied one exactly one.
        assert after["journey_event"] - before["journey_event"] == made
