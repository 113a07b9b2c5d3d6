"""The first sync's snapshot from a big hub: the server's peak memory while it sends it. Not a test.

    .venv/bin/python bench/snapshot.py postgresql://postgres@127.0.0.1:5432/d2a_bench_region_365d

Starts a real `d2a serve` on the database, enrols a device, and reads one full snapshot (every
event of the open journeys and of those closed in the last 30 days), discarding it as it arrives.
Prints the server's peak RSS (VmHWM) before and after, the snapshot's size and its time.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from d2a_tui.domain.errors import D2AError
from d2a_tui.storage.db import make_engine
from d2a_tui.sync import admin


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    url = sys.argv[1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = make_engine(url)
    with contextlib.suppress(D2AError):
        admin.add_user(engine, "Bench Night", "night", None, "bench.snapshot")
    _, enrol_token = admin.enrol_device(engine, "bench.snapshot")
    engine.dispose()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "D2A_DATA_DIR": home, "D2A_CONFIG": f"{home}/none"}
        server = subprocess.Popen(
            [sys.executable, "-m", "d2a_tui", "serve", "--db", url, "--port", str(port),
             "--log-level", "warning"],
            env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                        break
                time.sleep(0.1)
            token = httpx.post(f"{base}/v1/devices/enrol", json={"token": enrol_token}).json()
            before = peak_mb(server.pid)
            started = time.perf_counter()
            size = 0
            headers = {"Authorization": f"Bearer {token['token']}", "Accept-Encoding": "gzip"}
            with httpx.stream(
                "GET", f"{base}/v1/sync/snapshot", headers=headers, timeout=600
            ) as answer:
                answer.raise_for_status()
                for chunk in answer.iter_raw():
                    size += len(chunk)
            seconds = time.perf_counter() - started
            after = peak_mb(server.pid)
        finally:
            server.terminate()
            server.wait(10)
    print(
        f"snapshot of {url.rsplit('/', 1)[-1]}: {size / 1e6:.1f} MB gzip in {seconds:.1f} s; "
        f"server peak RSS {before:.0f} MB before, {after:.0f} MB after "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
