"""A real `d2a web` process on loopback, on a SQLite hub the test fills, for browsers and httpx."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from d2a_tui.domain.flow import load_flow
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class WebServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    key_url: str = ""  # the address `d2a web` printed, with this run's key (without sign-in)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def web_hub(tmp_path: Path) -> Iterator[Hub]:
    """A hub on the real clock: the served boards run in their own processes and read it too."""
    url = f"sqlite:///{tmp_path / 'web.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    hub = Hub(JourneyStore(engine, load_flow()), Actor("alice", "device-test"))
    yield hub
    hub.close()


@pytest.fixture
def start_web(tmp_path: Path) -> Iterator[Callable[..., WebServer]]:
    started: list[WebServer] = []

    def start(*arguments: str, scheme: str = "http") -> WebServer:
        port = free_port()
        log = tmp_path / f"web-{port}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "d2a_tui", "web", "--port", str(port), *arguments],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "TZ": "UTC"},
            )
        server = WebServer(f"{scheme}://127.0.0.1:{port}", process, log)
        started.append(server)
        deadline = time.monotonic() + 90  # generous: a loaded CI machine starts Python slowly
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"d2a web exited: {server.output()}")
            with socket.socket() as probe:
                listening = probe.connect_ex(("127.0.0.1", port)) == 0
            printed = re.search(r"Serving the board on (\S+)", server.output())
            if listening and printed:
                server.key_url = printed.group(1)
                return server
            time.sleep(0.1)
        raise AssertionError(f"d2a web did not listen within 90 s: {server.output()}")

    yield start
    for server in started:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
