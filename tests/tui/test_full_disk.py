"""A full disk under the running board: the refused change is one message saying the disk is
full, the board and the database keep what they had, and the same key works once space is freed
(issue 10 §9). The disk is a real small tmpfs where the test may mount one (tests/small_disk.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from d2a_tui.domain.flow import load_flow
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore, event_table
from tests.conftest import FrozenClock, refer_someone
from tests.small_disk import SmallDisk, small_disk  # noqa: F401
from tests.tui.conftest import make_app, shown_ids, wait_for


@pytest.fixture
def disk_hub(small_disk: SmallDisk) -> Iterator[Hub]:  # noqa: F811
    hub = Hub(
        JourneyStore(make_engine(small_disk.url), load_flow()), Actor("alice", "a"), FrozenClock()
    )
    yield hub
    hub.close()


def stored_events(hub: Hub) -> int:
    with hub.store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(event_table)).scalar_one())


async def test_a_full_disk_refuses_the_move_in_one_message_and_the_key_works_once_freed(
    disk_hub: Hub,
    small_disk: SmallDisk,  # noqa: F811
) -> None:
    journey = refer_someone(disk_hub, 1)
    app = make_app(disk_hub, poll=0.1)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        assert shown_ids(app, "referred") == [journey]
        before = stored_events(disk_hub)

        small_disk.fill()
        await pilot.press("shift+right")  # move the selected card to Triage
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert len(said) == 1, said
        assert "disk is full" in said[0] and "nothing was saved" in said[0]
        assert "\n" not in said[0]
        assert shown_ids(app, "referred") == [journey]
        assert disk_hub.journey(journey).card.column == "referred"
        assert stored_events(disk_hub) == before

        small_disk.free()
        await pilot.press("shift+right")
        assert await wait_for(pilot, lambda: shown_ids(app, "triage") == [journey])
        assert disk_hub.journey(journey).card.column == "triage"
        assert stored_events(disk_hub) == before + 1
