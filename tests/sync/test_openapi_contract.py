"""The OpenAPI document is the sync protocol's contract, so it changes only on purpose.

`openapi.json` beside this file is the document as served at /openapi.json, byte for byte in
the order FastAPI writes it (paths in the order the routes are added). Any change to a route, a
model, a status code or a tag shows here as a diff to review. After an intended change, rewrite
it with `D2A_WRITE_OPENAPI=1 pytest tests/sync/test_openapi_contract.py` and commit the diff
with the change.

The middleware's order is pinned too: it decides which refusal a request meets first (a client
over its share before its body is read). The reason codes of the refusals are
`test_refusals.py`'s.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from tests.sync.conftest import SyncEnv

CONTRACT = Path(__file__).with_name("openapi.json")


def _as_text(document: object) -> str:
    # Not sort_keys: the order of the paths and of their fields is part of what is pinned.
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


async def test_the_served_openapi_document_is_the_committed_contract(sync_env: SyncEnv) -> None:
    transport = httpx.ASGITransport(app=sync_env.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answer = await http.get("/openapi.json")
    assert answer.status_code == 200
    served = _as_text(answer.json())
    if os.environ.get("D2A_WRITE_OPENAPI") == "1":
        CONTRACT.write_text(served, encoding="utf-8")
        pytest.skip(f"rewrote {CONTRACT.name}: review the diff and commit it")
    assert served == CONTRACT.read_text(encoding="utf-8")


def test_the_middleware_runs_in_its_order(sync_env: SyncEnv) -> None:
    # Outermost first: the request log and its guard, the per-client share, the server's clock,
    # the drain, the body cap (with gunzip), and gzip of the answer innermost.
    stack = [getattr(m.cls, "__name__", repr(m.cls)) for m in sync_env.app.user_middleware]
    assert stack == [
        "InternalErrorGuard",
        "PerClientLimit",
        "ServerTime",
        "middleware",  # Lifecycle.middleware: RefuseWhileDraining
        "RequestBodyGuard",
        "GZipMiddleware",
    ]
