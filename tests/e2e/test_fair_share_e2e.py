"""One client at its cap does not stop the others (issue 22, section 6), on a real `d2a serve`
with small caps: a device holding every request it may (long-poll pulls) is answered 429 for one
more at once, while another device's requests go through as if nothing were happening."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from d2a_tui.sync import admin
from tests.e2e.conftest import Hub, ServerProcess, cli_env

pytestmark = pytest.mark.e2e

PER_CLIENT = 2
WAIT = 15  # seconds each of the greedy client's pulls is held open


def device_token(hub: Hub, user: str, label: str) -> str:
    enrolled = hub.enrol(user, label)
    return admin.redeem(hub.engine, enrolled["enrolment_token"], label).token


def test_a_client_at_its_cap_gets_429_and_another_is_served_at_once(e2e_hub: Hub) -> None:
    greedy = device_token(e2e_hub, "nina", "greedy")
    other = device_token(e2e_hub, "cole", "other")
    server = ServerProcess(
        e2e_hub.server.database_url,
        e2e_hub.tmp / "fair.log",
        cli_env(e2e_hub.tmp / "fair"),
        extra=("--per-client", str(PER_CLIENT), "--max-connections", "50"),
    )
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=WAIT + 10) as http:
            assert http.get("/v1/health").json()["status"] == "ok"
            first = http.get(
                "/v1/sync/pull",
                params={"since": 0, "limit": 1},
                headers={"Authorization": f"Bearer {greedy}"},
            )
            since = first.json()["head"]  # at the head: a pull waits the whole `wait`

            def hold() -> int:
                with httpx.Client(base_url=server.url, timeout=WAIT + 10) as own:
                    answer = own.get(
                        "/v1/sync/pull",
                        params={"since": since, "wait": WAIT},
                        headers={"Authorization": f"Bearer {greedy}"},
                    )
                    return answer.status_code

            with ThreadPoolExecutor(PER_CLIENT) as pool:
                held = [pool.submit(hold) for _ in range(PER_CLIENT)]
                time.sleep(2)  # both pulls are in
                started = time.monotonic()
                one_more = http.get("/v1/me", headers={"Authorization": f"Bearer {greedy}"})
                assert one_more.status_code == 429
                assert one_more.json()["error"] == "too_many_requests"
                assert one_more.headers["retry-after"] == "1"
                for _ in range(5):  # the other device, as often as it likes
                    me = http.get("/v1/me", headers={"Authorization": f"Bearer {other}"})
                    assert me.status_code == 200
                assert time.monotonic() - started < 5  # not queued behind the held pulls
                assert http.get("/v1/health").status_code == 200
                assert all(not future.done() for future in held)  # still held meanwhile
                assert [future.result() for future in held] == [200] * PER_CLIENT
            # Its pulls answered, the greedy client is served again.
            again = http.get("/v1/me", headers={"Authorization": f"Bearer {greedy}"})
            assert again.status_code == 200
    finally:
        server.stop()
