"""The sync API serves no browsable pages (issue 22, section 4): /docs and /redoc would load
scripts from a CDN into a page on the server's own origin, and nobody syncs with them. The
OpenAPI document, the contract, stays."""

from __future__ import annotations

import httpx

from tests.sync.conftest import SyncEnv


async def test_docs_and_redoc_are_not_served(sync_env: SyncEnv) -> None:
    transport = httpx.ASGITransport(app=sync_env.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            assert (await http.get(page)).status_code == 404, page
        assert (await http.get("/openapi.json")).status_code == 200
