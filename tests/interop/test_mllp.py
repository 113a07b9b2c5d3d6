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
from d2a_tui.interop.adt import AdtFeed
from d2a_tui.interop.mllp import MllpListener
from d2a_tui.services.hub import Hub
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


async def frames(port: int, payload: bytes, count: int) -> list[bytes]:
    """Write raw bytes on one connection and read `count` ACK frames back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        return [
            await asyncio.wait_for(reader.readuntil(b"\x1c\r"), timeout=10) for _ in range(count)
        ]
    finally:
        writer.close()


async def closed(reader: asyncio.StreamReader) -> bool:
    """The listener closed the connection (a reset, when it left bytes unread)."""
    try:
        return await asyncio.wait_for(reader.read(), timeout=5) == b""
    except ConnectionResetError:
        return True


def msa(reply: bytes) -> tuple[str, str]:
    parsed = hl7.parse(reply.strip(b"\x0b\x1c\r").decode())
    return str(parsed["MSA.F1"]), str(parsed["MSA.F2"])


async def test_frames_ending_fs_cr_lf_are_each_acknowledged_and_none_is_lost(
    hub: Hub, port: int
) -> None:
    refer_someone(hub, nhs_number=EDNA)
    # Integration engines often end a frame FS CR LF: the LF is not the start of the next frame.
    payload = b"".join(
        b"\x0b"
        + adt("A02", EDNA, dob=DOB, ward=f"W{i}", msg_id=f"LF{i:06d}").encode()
        + b"\x1c\r\n"
        for i in range(3)
    )
    replies = await frames(port, payload, 3)
    assert [msa(r) for r in replies] == [("AA", f"LF{i:06d}") for i in range(3)]


async def test_bytes_before_a_frame_and_a_broken_frame_never_cost_the_next_good_one(
    hub: Hub, port: int
) -> None:
    journey = refer_someone(hub, nhs_number=EDNA)
    good = adt("A02", EDNA, dob=DOB, ward="WARD5", msg_id="GOOD0001").encode()
    broken = adt("A02", EDNA, dob=DOB, ward="WARD4", msg_id="HALF0001").encode()
    # Noise outside any frame, then a frame the sender abandoned mid-way (a new VT), then a
    # whole frame: the one answer is the whole frame's AA.
    payload = b"garbage\x1c\r\n" + b"\x0b" + broken[:40] + b"\x0b" + good + b"\x1c\r"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    reply = await asyncio.wait_for(reader.readuntil(b"\x1c\r"), timeout=10)
    assert msa(reply) == ("AA", "GOOD0001")
    # Nothing else is answered: the next read waits.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readuntil(b"\x1c\r"), timeout=0.5)
    writer.close()
    assert hub.store.card(journey).ward == "WARD5"


async def test_a_frame_over_the_limit_gets_one_AR_naming_it_and_the_next_frame_its_own_ACK(
    hub: Hub, port: int
) -> None:
    refer_someone(hub, nhs_number=EDNA)
    big = adt("A02", EDNA, dob=DOB, msg_id="HUGE0001") + "\rNTE|1||" + "x" * 1_100_000
    after = adt("A02", EDNA, dob=DOB, msg_id="NEXT0001")
    payload = b"\x0b" + big.encode() + b"\x1c\r" + b"\x0b" + after.encode() + b"\x1c\r"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    first = await asyncio.wait_for(reader.readuntil(b"\x1c\r"), timeout=10)
    second = await asyncio.wait_for(reader.readuntil(b"\x1c\r"), timeout=10)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readuntil(b"\x1c\r"), timeout=0.5)
    writer.close()
    assert msa(first) == ("AR", "HUGE0001")
    assert b"over the limit" in first
    assert msa(second) == ("AA", "NEXT0001")


async def test_every_ack_has_its_own_control_id(hub: Hub, port: int) -> None:
    # The hub's clock is frozen: ids made from the time alone would all be one.
    payload = (
        b"".join(
            b"\x0b" + adt("A05", EDNA, msg_id=f"REJ{i:05d}").encode() + b"\x1c\r" for i in range(20)
        )
        + b"\x0bnot HL7 at all\x1c\r\x0bnor this\x1c\r"
    )
    replies = await frames(port, payload, 22)
    ids = [str(hl7.parse(r.strip(b"\x0b\x1c\r").decode())["MSH.F10"]) for r in replies]
    assert len(set(ids)) == 22
    assert all(len(i) <= 20 for i in ids)  # MSH-10 is ST(20) in v2.3-v2.5


async def test_connections_over_the_cap_are_closed_and_those_within_carry_on(hub: Hub) -> None:
    refer_someone(hub, nhs_number=EDNA)
    listener = MllpListener(
        AdtFeed(hub.store, hub.calendar, "adt-device", hub.clock), max_connections=3
    )
    port = await listener.start("127.0.0.1", 0)
    try:
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        await asyncio.sleep(0.1)
        extra_reader, _ = await asyncio.open_connection("127.0.0.1", port)
        assert await closed(extra_reader)  # closed at once
        reader, writer = held[0]
        writer.write(b"\x0b" + adt("A02", EDNA, dob=DOB, msg_id="CAP00001").encode() + b"\x1c\r")
        await writer.drain()
        assert msa(await asyncio.wait_for(reader.readuntil(b"\x1c\r"), 10)) == ("AA", "CAP00001")
        for _, w in held:
            w.close()
        await asyncio.sleep(0.2)
        # With the slots free again, a new sender is served.
        assert await send(port, [adt("A02", EDNA, dob=DOB, msg_id="CAP00002")]) == [
            ("AA", "CAP00002")
        ]
    finally:
        await listener.close()


async def test_unfinished_frames_past_the_memory_cap_close_their_connection_not_others(
    hub: Hub,
) -> None:
    refer_someone(hub, nhs_number=EDNA)
    listener = MllpListener(
        AdtFeed(hub.store, hub.calendar, "adt-device", hub.clock), max_buffered=1_500_000
    )
    port = await listener.start("127.0.0.1", 0)
    try:
        hogs = []
        for _ in range(2):  # two unfinished 900 KB frames: the second passes the cap
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x0bMSH|^~\\&|" + b"x" * 900_000)
            await writer.drain()
            hogs.append((reader, writer))
            await asyncio.sleep(0.3)
        assert await closed(hogs[1][0])
        assert await send(port, [adt("A02", EDNA, dob=DOB, msg_id="MEM00001")]) == [
            ("AA", "MEM00001")
        ]
        for _, w in hogs:
            w.close()
    finally:
        await listener.close()


async def test_an_unfinished_frame_left_idle_closes_its_connection(hub: Hub) -> None:
    listener = MllpListener(
        AdtFeed(hub.store, hub.calendar, "adt-device", hub.clock), frame_timeout=0.3
    )
    port = await listener.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x0bMSH|^~\\&|half a message")
        await writer.drain()
        assert await closed(reader)
        writer.close()
    finally:
        await listener.close()


async def test_a_900_kb_message_does_not_hold_up_another_connections_message(
    hub: Hub, port: int
) -> None:
    refer_someone(hub, nhs_number=EDNA)
    # A PV1 with 100,000 repetitions of a field d2a never reads (as a broken engine might send).
    big = adt("A02", EDNA, dob=DOB, msg_id="BIG00001").replace(
        "C456^CONSULTANT^COLIN", "~".join(["C456^CONSULTANT^COLIN"] * 40_000)
    )
    assert 800_000 < len(big) < 1_000_000
    small = adt("A02", EDNA, dob=DOB, msg_id="SMALL001")
    loop = asyncio.get_running_loop()
    started = loop.time()
    # Sent as raw bytes: parsing it with python-hl7 in this process would block this loop.
    big_task = asyncio.create_task(frames(port, b"\x0b" + big.encode() + b"\x1c\r", 1))
    await asyncio.sleep(0.05)
    small_at = loop.time()
    assert await send(port, [small]) == [("AA", "SMALL001")]
    waited = loop.time() - small_at
    assert [msa(reply) for reply in await big_task] == [("AA", "BIG00001")]
    assert waited < 1.0, f"the small message waited {waited:.2f} s"
    assert loop.time() - started < 5


async def test_a_batch_in_one_frame_is_applied_message_by_message_with_an_ack_each(
    hub: Hub, port: int
) -> None:
    journey = refer_someone(hub, nhs_number=EDNA)
    one = adt("A02", EDNA, dob=DOB, ward="WARD6", msg_id="BAT00001")
    two = adt("A02", EDNA, dob=DOB, ward="WARD8", msg_id="BAT00002")
    batch = "\r".join(
        ["FHS|^~\\&|PAS|RXX01|D2A|HUB|20261123010000", "BHS|^~\\&|PAS|RXX01|D2A|HUB",
         one, two, "BTS|2", "FTS|1"]
    )  # fmt: skip
    [reply] = await frames(port, b"\x0b" + batch.encode() + b"\x1c\r", 1)
    segments = reply.strip(b"\x0b\x1c\r").decode().split("\r")
    assert segments[0].startswith("BHS|") and segments[-1] == "BTS|2"
    assert [s.split("|")[1:3] for s in segments if s.startswith("MSA")] == [
        ["AA", "BAT00001"], ["AA", "BAT00002"]
    ]  # fmt: skip
    assert hub.store.card(journey).ward == "WARD8"
