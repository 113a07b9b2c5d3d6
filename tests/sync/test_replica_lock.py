"""A long sync holds the replica's write lock only for short transactions (issue 24 §2): a
change made on the laptop while it stores a big first snapshot waits for one of them, not for
the whole snapshot (which could pass SQLite's 15 s and fail with "database is locked")."""

from __future__ import annotations

import threading
import time

from tests.sync.conftest import SyncEnv, refer

JOURNEYS = 1200


def test_a_local_change_during_a_long_first_sync_waits_for_one_short_transaction(
    sync_env: SyncEnv,
) -> None:
    desk = sync_env.direct("day.coordinator")
    for serial in range(1, JOURNEYS + 1):
        refer(desk, serial)
    sync_env.user("nina")
    laptop = sync_env.replica("nina", "laptop")
    mine = refer(laptop, JOURNEYS + 1)  # made here before the first sync

    done = threading.Event()
    took: list[float] = []

    def first_sync() -> None:
        started = time.monotonic()
        laptop.sync.sync_now(wait=True)
        took.append(time.monotonic() - started)
        done.set()

    syncing = threading.Thread(target=first_sync)
    syncing.start()
    waits: list[float] = []
    time.sleep(0.3)  # the snapshot is being stored
    while not done.is_set():
        started = time.monotonic()
        laptop.add_note(mine, "rang the ward")
        waits.append(time.monotonic() - started)
        time.sleep(0.05)
    syncing.join()
    assert len(laptop.board()) == JOURNEYS + 1
    assert waits, "the sync ended before a change was tried"
    # The sync is long; no change made during it waited for more than a slice of it.
    assert took[0] > 1.0, f"the first sync took {took[0]:.2f} s: too short to tell"
    assert max(waits) < took[0] / 2, f"a change waited {max(waits):.2f} s of {took[0]:.2f} s"
