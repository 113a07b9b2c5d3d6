"""What the sync server spends on a request of its own, in process. Not a test: it prints figures.

    .venv/bin/python bench/server_requests.py [--requests 300] [--rounds 7]

Each endpoint is called --requests times per round through httpx's ASGI transport (no socket),
on SQLite, by one enrolled device: /v1/health (no database), /v1/me (the token checked),
an idle /v1/sync/pull (the token, the head and the scope read; 304 with its ETag). Printed per
request: the CPU time of the whole process (worker threads included; steadier than the wall
clock on a shared machine) and the wall time, medians of the rounds. The floor beside them is a
bare FastAPI route answering a constant through the same transport, measured in the same run:
what the framework and the transport cost before any of d2a's middleware, dependencies or work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.sync import admin
from d2a_tui.sync.server import create_app


async def per_request(
    app: Any, path: str, headers: dict[str, str], requests: int, rounds: int
) -> tuple[float, float]:
    """(CPU µs, wall µs) per request, medians of the rounds."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        for _ in range(30):  # warm: the first calls build caches
            await http.get(path, headers=headers)
        cpu, wall = [], []
        for _ in range(rounds):
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            for _ in range(requests):
                answer = await http.get(path, headers=headers)
            cpu.append((time.process_time() - cpu_start) / requests * 1e6)
            wall.append((time.perf_counter() - wall_start) / requests * 1e6)
            if answer.status_code not in (200, 304):
                raise SystemExit(f"{path}: {answer.status_code} {answer.text}")
    return statistics.median(cpu), statistics.median(wall)


async def run(requests: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/server.db")
        ensure_schema(engine)
        admin.add_user(engine, "Bench Night", "night", None, "bench.night")
        _, enrol_token = admin.enrol_device(engine, "bench.night")
        app = create_app(engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            enrolled = await http.post(
                "/v1/devices/enrol", json={"token": enrol_token, "label": "bench"}
            )
            token = enrolled.json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            idle = await http.get("/v1/sync/pull", headers=auth)
            pull_headers = {**auth, "If-None-Match": idle.headers["etag"]}

        bare = FastAPI()

        @bare.get("/constant")
        def constant() -> dict[str, int]:
            return {"ok": 1}

        floor = await per_request(bare, "/constant", {}, requests, rounds)
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"{'endpoint':22s} {'CPU µs':>8s} {'wall µs':>8s}   floor CPU/wall µs")
        for path, headers in (
            ("/v1/health", {}),
            ("/v1/me", auth),
            ("/v1/sync/pull", pull_headers),
        ):
            cpu, wall = await per_request(app, path, headers, requests, rounds)
            print(f"{path:22s} {cpu:8.0f} {wall:8.0f}   {floor[0]:.0f}/{floor[1]:.0f}")
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    asyncio.run(run(options.requests, options.rounds))


if __name__ == "__main__":
    main()
