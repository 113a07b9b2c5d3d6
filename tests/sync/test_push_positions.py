"""A push runs through the one command path with its positions handed out behind the counter
lock: a mutation the field limits refuse, in the middle of a batch, takes no position."""

from __future__ import annotations

from d2a_tui.storage.journeys import JourneyStore
from tests.sync.conftest import SyncEnv
from tests.sync.test_protocol import Device
from tests.sync.test_refusals import push, receipt_of, referred


async def test_a_change_refused_by_the_limits_mid_batch_leaves_no_gap_in_the_positions(
    any_sync_env: SyncEnv,
) -> None:
    store = JourneyStore(any_sync_env.engine, any_sync_env.flow)
    device = Device(any_sync_env, "nina")
    journey = await referred(any_sync_env, device)
    referral_position = store.head_position()
    # The rules take the note (it is not empty, nor too long); the limits refuse its bell.
    batch = [
        device.mutation("add_note", journey, args={"text": "first"}),
        device.mutation("add_note", journey, args={"text": "ring \x07 the bell"}),
        device.mutation("add_note", journey, args={"text": "third"}),
    ]
    answer = await push(any_sync_env, device, *batch)
    receipts = [receipt_of(answer, index) for index in range(3)]
    assert [(r["outcome"], r.get("reason")) for r in receipts] == [
        ("applied", None),
        ("rejected", "control_characters"),
        ("applied", None),
    ]
    assert [receipts[0]["position"], receipts[2]["position"]] == [
        referral_position + 1,
        referral_position + 2,
    ]
    assert store.head_position() == referral_position + 2
    assert [e.payload.get("text") for e in store.events(journey)] == [
        None,
        "first",
        "third",
    ]
