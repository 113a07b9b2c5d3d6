"""httpx transports for tests: the in-process app behind a synchronous client, and chaos.

The replica's client is synchronous (it runs in a worker thread or a CLI process), while
httpx.ASGITransport is asynchronous; `ASGISyncTransport` runs the app on its own event loop in
a thread and hands the raw (still gzipped) bytes back, so what is tested is what goes on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


class ASGISyncTransport(httpx.BaseTransport):
    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> tuple[int, httpx.Headers, bytes]:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self.inner.handle_async_request(forwarded)
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
            return response.status_code, response.headers, raw

        status, headers, raw = asyncio.run_coroutine_threadsafe(call(), self.loop).result(60)
        return httpx.Response(status, headers=headers, content=raw, request=request)

    def close(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


class DownTransport(httpx.BaseTransport):
    """A server that is not there."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


class Switch(httpx.BaseTransport):
    """Routes to `target`, which a test swaps: the server goes down, comes back, restarts."""

    def __init__(self, target: httpx.BaseTransport) -> None:
        self.target = target

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.target.handle_request(request)


FAULTS = ("drop_request", "drop_response", "duplicate", "error_5xx", "too_many", "replay_old")


@dataclass
class ChaosTransport(httpx.BaseTransport):
    """Injects the faults of a bad night's network in front of a real server.

    - drop_request: the request never arrives (nothing committed)
    - drop_response: the server commits, the answer is lost
    - duplicate: the request arrives twice (the second answer is the one returned)
    - error_5xx / too_many: a proxy answers 502 / 429 without asking the server
    - replay_old: an earlier request of this device arrives again, late (reordering)
    """

    inner: Callable[[], httpx.BaseTransport]
    rng: random.Random
    rate: float = 0.0
    log: list[str] = field(default_factory=list)
    _old: list[httpx.Request] = field(default_factory=list)

    def _forward(self, request: httpx.Request, body: bytes) -> httpx.Response:
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        return self.inner().handle_request(copy)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if self.rate and self.rng.random() < self.rate:
            fault = self.rng.choice(FAULTS)
            self.log.append(fault)
            if fault == "drop_request":
                raise httpx.ConnectError("dropped", request=request)
            if fault == "drop_response":
                self._forward(request, body)
                raise httpx.ReadTimeout("answer lost", request=request)
            if fault == "duplicate":
                self._forward(request, body)
            if fault == "error_5xx":
                return httpx.Response(502, request=request, content=b"bad gateway")
            if fault == "too_many":
                return httpx.Response(429, request=request, headers={"Retry-After": "0"})
            if fault == "replay_old" and self._old:
                late = self.rng.choice(self._old)
                with contextlib.suppress(Exception):
                    self._forward(late, late.content)
        if request.method == "POST":
            self._old.append(
                httpx.Request(request.method, request.url, headers=request.headers, content=body)
            )
            del self._old[:-5]
        return self._forward(request, body)
