"""`d2a adt listen` on a real MLLP socket: ACKs after commit, bursts, duplicates, broken frames."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import hl7
import pytest
from hl7.mllp import open_hl7_connection

from d2a_tui.domain.events import EventKind
from d2a_tui.domain.nhs_number import next_synthetic
from d2a_tui.hub import Hub
from d2a_tui.interop.adt import AdtFeed
from d2a_tui.interop.mllp import MllpListener
from tests.conftest import refer_someone
from tests.interop.hl7_samples import adt

EDNA = "9434765919"
DOB = "19410506"  # refer_someone's date of birth


@pytest.fixture
async def port(hub: Hub) -> AsyncIterator[int]:
    listener = MllpListener(AdtFeed(hub.store, hub.calendar, "adt-device", hub.clock))
    yield await listener.start("127.0.0.1", 0)
    await listener.close()


async def send(port: int, messages: list[str]) -> list[tuple[str, str]]:
    """Send each message and wait for its ACK, as an integration engine does: (MSA-1, MSA-2)."""
    reader, writer = await open_hl7_connection("127.0.0.1", port, encoding="utf-8")
    acks = []
    try:
        for message in messages:
            writer.writemessage(hl7.parse(message))
            await writer.drain()
            reply = await asyncio.wait_for(reader.readmessage(), timeout=30)
            acks.append((str(reply["MSA.F1"]), str(reply["MSA.F2"])))
    finally:
        writer.close()
    return acks


async def test_a_burst_of_1000_messages_on_four_connections_is_all_acknowledged_once(
    hub: Hub, port: int
) -> None:
    patients = [next_synthetic(serial * 11)[1] for serial in range(1, 41)]
    journeys = {nhs: refer_someone(hub, nhs_number=nhs) for nhs in patients}
    position = hub.head_position()
    # 1,000 transfers, 250 per connection, each patient's moves on one connection (in order);
    # then 100 of them sent again.
    lanes: list[list[str]] = [[] for _ in range(4)]
    for index in range(1000):
        nhs = patients[index % 40]
        lane = lanes[(index % 40) % 4]
        lane.append(
            adt(
                "A02",
                nhs,
                dob=DOB,
                ward=f"WARD{index}",
                bed=f"B{index % 7}",
                msg_id=f"BURST{index:05d}",
            )
        )
    resent = [message for lane in lanes for message in lane[:25]]
    results = await asyncio.gather(*(send(port, lane) for lane in lanes))
    acks = [ack for lane in results for ack in lane]
    assert Counter(code for code, _ in acks) == {"AA": 1000}
    assert len({control for _, control in acks}) == 1000
    again = await send(port, resent)
    assert Counter(code for code, _ in again) == {"AA": 100}
    events = [e for j in journeys.values() for e in hub.store.events(j)]
    assert Counter(e.kind for e in events)[EventKind.WARD_SET] == 1000
    # The board sees every journey changed, each at its last message's ward.
    changed = {card.journey_id: card.ward for card in hub.changes_since(position)}
    assert changed == {journeys[nhs]: f"WARD{960 + i}" for i, nhs in enumerate(patients)}


async def test_a_truncated_frame_applies_nothing_and_the_next_connection_works(
    hub: Hub, port: int
) -> None:
    journey = refer_someone(hub, nhs_number=EDNA)
    head = hub.head_position()
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    whole = adt("A02", EDNA, dob=DOB, ward="WARD9", msg_id="CUT00001").encode()
    writer.write(b"\x0b" + whole[: len(whole) // 2])  # the connection drops mid-message
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.2)
    assert hub.head_position() == head
    assert await send(port, [adt("A02", EDNA, dob=DOB, ward="WARD9", msg_id="CUT00001")]) == [
        ("AA", "CUT00001")
    ]
    assert hub.store.card(journey).ward == "WARD9"


async def test_bytes_outside_a_frame_are_rejected_and_the_connection_carries_on(
    hub: Hub, port: int
) -> None:
    refer_someone(hub, nhs_number=EDNA)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"garbage without a start block\x1c\r")
    writer.write(b"\x0b" + adt("A02", EDNA, dob=DOB, msg_id="AFTER001").encode() + b"\x1c\r")
    await writer.drain()
    first = await asyncio.wait_for(reader.readuntil(b"\x1c\r"), timeout=10)
    second = await asyncio.wait_for(reader.readuntil(b"\x1c\r"), timeout=10)
    writer.close()
    assert b"MSA|AR||not an MLLP frame" in first
    assert b"MSA|AA|AFTER001|" in second
