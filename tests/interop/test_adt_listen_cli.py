"""`d2a adt listen` as a process: it acknowledges, and its log names no patient."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import hl7
from hl7.mllp import open_hl7_connection

from tests.interop.hl7_samples import adt


async def _send(port: int, message: str) -> str:
    reader, writer = await open_hl7_connection("127.0.0.1", port, encoding="utf-8")
    writer.writemessage(hl7.parse(message))
    await writer.drain()
    reply = await asyncio.wait_for(reader.readmessage(), timeout=20)
    writer.close()
    return str(reply["MSA.F1"])


def test_listen_acks_and_logs_no_patient_identifier(sqlite_url: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "d2a_tui", "adt", "listen", "--port", "0", "--db", sqlite_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().split(":")[1].split()[0])
        message = adt("A01", "9434765919", name="EXAMPLE^EDNA", msg_id="LOG00001")
        assert asyncio.run(_send(port, message)) == "AA"
        line = process.stdout.readline()
        # A name whose escape sequences python-hl7 cannot decode: it logs the field's text.
        odd = adt("A08", "9434765919", name="O\\Zq\\BRIANNE^SIOBHAN", msg_id="LOG00002")
        asyncio.run(_send(port, odd))
        line += process.stdout.readline()
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert line.splitlines()[0] == "AA ADT^A01^ADT_A01 LOG00001"
    for identifier in ("9434765919", "5919", "EDNA", "EXAMPLE", "19380304", "BRIANNE", "SIOBHAN"):
        assert identifier not in line + err


def test_a_port_in_use_is_one_line(sqlite_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "d2a_tui", "adt", "listen", "--port", str(port), "--db", sqlite_url],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith(f"d2a: cannot listen on 127.0.0.1:{port}")
    assert len(done.stderr.strip().splitlines()) == 1


def test_listen_caps_its_connections(sqlite_url: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "d2a_tui", "adt", "listen", "--port", "0", "--db", sqlite_url,
         "--max-connections", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().split(":")[1].split()[0])

        async def over_the_cap() -> bytes:
            _, held = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.sleep(0.3)
            extra, _ = await asyncio.open_connection("127.0.0.1", port)
            try:
                return await asyncio.wait_for(extra.read(), timeout=10)
            finally:
                held.close()

        assert asyncio.run(over_the_cap()) == b""  # the second connection is closed at once
    finally:
        process.terminate()
        process.communicate(timeout=10)
