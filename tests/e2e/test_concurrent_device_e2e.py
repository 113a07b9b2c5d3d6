"""Two requests from one device at the same moment (issue 24 §2): a retry after a timeout, the
board's sync beside `d2a sync`. Pulls, snapshots and pushes of one device, fired together at a
real server on PostgreSQL, are each answered as if alone: never a 5xx.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from d2a_tui.sync.limits import PER_CLIENT
from tests.e2e.conftest import Hub, RawDevice

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ROUNDS = 4
# As many requests at once as one device may have in progress: one more is answered 429 by
# the per-client cap (test_fair_share_e2e.py), before any of this is reached.
AT_ONCE = PER_CLIENT


def test_concurrent_pulls_snapshots_and_pushes_of_one_device_never_get_a_5xx(
    e2e_hub: Hub,
) -> None:
    url = e2e_hub.server.url
    writer = RawDevice(e2e_hub, "cole", url)
    statuses: Counter[int] = Counter()
    with httpx.Client(timeout=60) as client:
        for _ in range(ROUNDS):
            # New journeys nobody holds yet: every pull and snapshot below notes them as held
            # by the reader at the same moment.
            made = client.post(
                f"{url}/v1/sync/push", json=writer.referrals(20), headers=writer.auth
            )
            assert made.status_code == 200
            reader = RawDevice(e2e_hub, "nina", url)
            # One batch of the reader's own, sent several times at once (a retry racing the
            # first attempt): applied once, the others answered from its receipts.
            batch = reader.referrals(3)
            start = threading.Barrier(AT_ONCE)

            def fire(
                n: int,
                reader: RawDevice = reader,
                batch: Any = batch,
                start: threading.Barrier = start,
            ) -> int:
                start.wait()
                if n % 3 == 0:
                    answer = client.get(
                        f"{url}/v1/sync/pull", params={"since": 0}, headers=reader.auth
                    )
                elif n % 3 == 1:
                    answer = client.get(f"{url}/v1/sync/snapshot", headers=reader.auth)
                else:
                    answer = client.post(f"{url}/v1/sync/push", json=batch, headers=reader.auth)
                return answer.status_code

            with ThreadPoolExecutor(AT_ONCE) as pool:
                statuses.update(pool.map(fire, range(AT_ONCE)))
            assert e2e_hub.receipts(reader.device_id) == 3
    assert set(statuses) == {200}, f"answers: {dict(statuses)}"
