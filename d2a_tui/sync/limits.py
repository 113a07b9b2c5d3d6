"""Fair shares of the server: no one client can take every request slot.

uvicorn's `limit_concurrency` caps connections and requests in all (beyond it, 503), which keeps
the process alive but lets one client that holds many requests open (long-poll pulls, a stuck
script, a hostile device) starve every other. So each client also has its own cap on requests in
progress: one past it is answered at once with 429 and Retry-After, which the sync client already
backs off on, and every other client goes on as before.

A client is its bearer token when it sends one (a device, however many addresses it comes from)
and otherwise its address. Only a hash of the Authorization header is held, never the token.
The health check is never counted: a load balancer asking must always be answered.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

PER_CLIENT = 8  # requests in progress at once for one client (a replica uses one or two)
MAX_CONNECTIONS = 1000  # uvicorn's limit_concurrency: connections and requests in all
UNCOUNTED = frozenset({"/v1/health"})


class PerClientLimit:
    def __init__(self, app: ASGIApp, per_client: int = PER_CLIENT) -> None:
        self.app = app
        self.per_client = per_client
        self.in_progress: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNCOUNTED:
            await self.app(scope, receive, send)
            return
        client = _client_key(scope)
        if self.in_progress[client] >= self.per_client:
            refusal = JSONResponse(
                {
                    "error": "too_many_requests",
                    "detail": f"more than {self.per_client} requests at once from one client",
                },
                status_code=429,
                headers={"Retry-After": "1"},
            )
            await refusal(scope, receive, send)
            return
        self.in_progress[client] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress[client] -= 1
            if not self.in_progress[client]:
                del self.in_progress[client]


def _client_key(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return "token:" + hashlib.sha256(value).hexdigest()
    address = scope.get("client") or ("?", 0)
    return f"address:{address[0]}"
