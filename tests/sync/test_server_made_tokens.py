"""A device may not rotate to a token it chooses (issue 22, section 3): the server makes every
token. A swap's new token replaces the old one the first time it is used; until then the old
one still works, so an answer lost on the way locks no one out."""

from __future__ import annotations

import httpx

from d2a_tui.sync import admin
from tests.sync.conftest import SyncEnv


def client(env: SyncEnv) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=env.app), base_url="http://t")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_the_device_chose_is_refused_and_never_works(any_sync_env: SyncEnv) -> None:
    any_sync_env.user("nina")
    _, token = any_sync_env.token("nina")
    chosen = "d2a_" + "a" * 43  # a token the thief knows, for a device they will give back
    async with client(any_sync_env) as http:
        asked = await http.post(
            "/v1/devices/rotate",
            json={"token_hash": admin.token_hash(chosen)},
            headers=bearer(token),
        )
        assert asked.status_code == 422
        assert (await http.get("/v1/me", headers=bearer(chosen))).status_code == 401
        assert (await http.get("/v1/me", headers=bearer(token))).status_code == 200


async def test_the_server_makes_the_new_token_and_the_old_ends_at_its_first_use(
    any_sync_env: SyncEnv,
) -> None:
    any_sync_env.user("nina")
    _, token = any_sync_env.token("nina")
    async with client(any_sync_env) as http:
        first = await http.post("/v1/devices/rotate", json={}, headers=bearer(token))
        assert first.status_code == 200
        lost = first.json()["token"]  # an answer that never arrived
        again = await http.post("/v1/devices/rotate", json={}, headers=bearer(token))
        new = again.json()["token"]
        assert new.startswith("d2a_") and new not in (token, lost)
        # The old token still works until the new one is used; the lost one never will.
        assert (await http.get("/v1/me", headers=bearer(token))).status_code == 200
        assert (await http.get("/v1/me", headers=bearer(lost))).status_code == 401
        assert (await http.get("/v1/me", headers=bearer(new))).status_code == 200
        assert (await http.get("/v1/me", headers=bearer(token))).status_code == 401
        assert (await http.get("/v1/me", headers=bearer(new))).status_code == 200
