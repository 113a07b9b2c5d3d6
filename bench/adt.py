"""ADT throughput: messages committed and acknowledged over a real MLLP socket (target >= 200/s).

    .venv/bin/python bench/adt.py [--messages 1000] [--runs 3] [--connections 1] [--postgres URL]

Each run starts a listener (`MllpListener`, as `d2a adt listen` runs it) on a fresh database with
200 referred journeys, then a sender sends a day's mix (admissions, transfers, discharges,
updates; 10 % of them for patients the hub does not follow, answered AE) one message at a time per
connection, waiting for each ACK as integration engines do. Throughput counts a message once its
ACK is back, which is after its commit. Medians of --runs, with the fastest run beside them, on
SQLite and on PostgreSQL. Synthetic patients; nothing identifying is printed. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import hl7
import psycopg
from hl7.mllp import open_hl7_connection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres
from d2a_tui.domain.flow import load_flow
from d2a_tui.domain.nhs_number import next_synthetic
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from tests.interop.hl7_samples import adt

TARGET = 200.0
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def day_of_messages(patients: list[str], strangers: list[str], count: int) -> list[str]:
    rng = random.Random(2026)
    messages = []
    for index in range(count):
        nhs = rng.choice(strangers) if rng.random() < 0.1 else rng.choice(patients)
        trigger = rng.choices(["A02", "A01", "A08", "A03"], weights=[6, 2, 1, 1])[0]
        messages.append(
            adt(trigger, nhs, dob="19410506", ward=f"WARD{rng.randint(1, 30)}",
                bed=f"B{rng.randint(1, 24)}", name=f"PERSON^SYNTHETIC{index % 3}",
                admitted="20261122100000", discharged="20261123091000", msg_id=f"B{index:07d}")
        )  # fmt: skip
    return messages


async def send(port: int, messages: list[str]) -> Counter[str]:
    reader, writer = await open_hl7_connection("127.0.0.1", port, encoding="utf-8")
    codes: Counter[str] = Counter()
    for message in messages:
        writer.writemessage(hl7.parse(message))
        await writer.drain()
        reply = await reader.readmessage()
        codes[str(reply["MSA.F1"])] += 1
    writer.close()
    return codes


# The floor: the same sender against a listener that answers every frame with a ready-made ACK
# at once, in its own process as the real one is. What is left of a message's time above it is
# d2a's: reading the message, its transaction, and its ACK.
_FLOOR_SERVER = """
import asyncio, sys
from hl7.mllp import start_hl7_server
ACK = b"MSH|^~\\\\&|D2A||||20261123093000||ACK|D2A1|P|2.5.1\\rMSA|AA|X"
async def answer(reader, writer):
    try:
        while True:
            await reader.readblock()
            writer.writeblock(ACK)
            await writer.drain()
    except Exception:
        writer.close()
async def main():
    server = await start_hl7_server(answer, host="127.0.0.1", port=0)
    print("listening on 127.0.0.1:%d" % server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


async def floor_run(messages: list[str], connections: int) -> float:
    server = subprocess.Popen(
        [sys.executable, "-c", _FLOOR_SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().rsplit(":", 1)[1])
        lanes = [messages[i::connections] for i in range(connections)]
        started = time.perf_counter()
        await asyncio.gather(*(send(port, lane) for lane in lanes))
        return len(messages) / (time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=10)


async def one_run(url: str, messages: int, connections: int) -> tuple[float, Counter[str]]:
    engine = make_engine(url)
    ensure_schema(engine)
    hub = Hub(JourneyStore(engine, load_flow()), Actor("bench", "bench"), lambda: NOW)
    patients = [next_synthetic(serial * 11)[1] for serial in range(1, 201)]
    for index, nhs in enumerate(patients):
        hub.refer(nhs, f"Synthetic Person {index}", "1941-05-06", admitted_on="2026-11-20")
    engine.dispose()
    strangers = [next_synthetic(serial * 11)[1] for serial in range(500, 520)]
    mix = day_of_messages(patients, strangers, messages)
    # The listener runs as `d2a adt listen` does, in its own process: the sender's parsing and
    # framing do not share its interpreter.
    listener = subprocess.Popen(
        [sys.executable, "-m", "d2a_tui", "adt", "listen", "--port", "0", "--db", url],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "D2A_USER": "bench"},
    )  # fmt: skip
    try:
        assert listener.stdout is not None
        first = listener.stdout.readline()
        port = int(first.split(":")[1].split()[0])
        threading.Thread(target=listener.stdout.read, daemon=True).start()  # drain its lines
        lanes = [mix[i::connections] for i in range(connections)]
        started = time.perf_counter()
        results = await asyncio.gather(*(send(port, lane) for lane in lanes))
        elapsed = time.perf_counter() - started
    finally:
        listener.terminate()
        listener.wait(timeout=10)
    return messages / elapsed, sum(results, Counter())


def commit_floor(url: str, count: int = 300) -> float:
    """PostgreSQL's own floor: one-row UPDATE + durable COMMIT, one after another on one
    connection, as the listener commits each message before its ACK."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS bench_floor (id int PRIMARY KEY, n int)")
        connection.execute("INSERT INTO bench_floor VALUES (1, 0) ON CONFLICT DO NOTHING")
        connection.commit()
        started = time.perf_counter()
        for _ in range(count):
            connection.execute("UPDATE bench_floor SET n = n + 1 WHERE id = 1")
            connection.commit()
        return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(
        f"# ADT over MLLP: {args.messages:,} messages, {args.connections} connection(s); "
        f"{platform.python_version()}, {platform.machine()}"
    )
    one = [next_synthetic(11)[1]]
    floor_mix = day_of_messages(one, one, args.messages)
    floors = [asyncio.run(floor_run(floor_mix, args.connections)) for _ in range(args.runs)]
    print(
        f"{'floor':<10} {statistics.median(floors):6.0f} msg/s: an empty MLLP round trip "
        f"(a listener that answers at once; fastest {max(floors):.0f})"
    )
    with tempfile.TemporaryDirectory() as folder:
        for backend in ("sqlite", "postgresql"):
            rates, floors, codes = [], [], Counter[str]()
            for run in range(args.runs):
                if backend == "sqlite":
                    url: str | None = f"sqlite:///{folder}/adt_{run}.db"
                else:
                    url = fresh_postgres(args.postgres, f"d2a_bench_adt_{run}")
                    if url is None:
                        print("postgresql: not reachable, skipped")
                        break
                if backend == "postgresql":
                    floors.append(commit_floor(url))
                rate, codes = asyncio.run(one_run(url, args.messages, args.connections))
                rates.append(rate)
            if floors:
                print(
                    f"{'pg floor':<10} {statistics.median(floors):6.0f} commits/s: a one-row "
                    "UPDATE and a durable COMMIT after another, on one connection"
                )
            if rates:
                print(
                    f"{backend:<10} {statistics.median(rates):6.0f} msg/s committed and acked "
                    f"(fastest {max(rates):.0f}; target >= {TARGET:.0f}); ACKs {dict(codes)}"
                )


if __name__ == "__main__":
    main()
