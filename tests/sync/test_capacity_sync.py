"""Capacity reported on an offline replica reaches the server through the outbox, exactly once,
and the server's latest report for a service is the one reported last, whatever the order of
arrival. On SQLite and PostgreSQL, against the real server app in-process."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from d2a_tui.domain.errors import InvalidInput, NotAllowed
from d2a_tui.services.hub import Hub
from d2a_tui.storage.models import CapacityReport, table_of
from d2a_tui.sync.client import SyncError
from tests.sync.conftest import SyncEnv
from tests.sync.transports import DownTransport

capacity_table = table_of(CapacityReport)


class LoseFirstAnswer(httpx.BaseTransport):
    """The first push is applied by the server, and its answer never comes back."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lost = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/push") and not self.lost:
            self.lost = True
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def with_service(env: SyncEnv, hub: Hub) -> None:
    for side in (env.direct(), hub):
        side.capacity.add_service(
            "Meadowbank Unit",
            kind="intermediate_care",
            pathway="P2",
            unit="beds",
            service_id="meadowbank",
        )


def server_reports(env: SyncEnv) -> list[tuple[int, str]]:
    with env.engine.connect() as connection:
        rows = connection.execute(
            select(capacity_table.c.occupied, capacity_table.c.report_id).order_by(
                capacity_table.c.reported_at
            )
        ).all()
    return [(row.occupied, row.report_id) for row in rows]


def test_capacity_reported_offline_reaches_the_server_exactly_once(
    any_sync_env: SyncEnv,
) -> None:
    env = any_sync_env
    env.user("cole", "coordinator")
    cole = env.replica("cole", role="coordinator")
    with_service(env, cole)
    assert env.switch is not None and env.transport is not None
    env.switch.target = DownTransport()
    first = cole.capacity.report("meadowbank", total=20, occupied=15)
    env.clock.advance(hours=2)
    second = cole.capacity.report("meadowbank", total=20, occupied=18, note="two discharges late")
    assert cole.sync.sync_status().pending == 2
    with pytest.raises(SyncError):
        cole.sync.sync_now(wait=True)

    env.switch.target = LoseFirstAnswer(env.transport)
    cole.sync.sync_now(wait=True)  # the lost answer is retried and answered from the receipts
    cole.sync.sync_now(wait=True)  # and a later sync sends nothing again
    assert cole.sync.sync_status().pending == 0
    assert server_reports(env) == [(15, first.report_id), (18, second.report_id)]
    latest = env.direct().capacity.statuses()[0].latest
    assert latest is not None and (latest.occupied, latest.note) == (18, "two discharges late")


def test_an_older_report_arriving_later_does_not_replace_the_latest(sync_env: SyncEnv) -> None:
    sync_env.user("cole", "coordinator")
    sync_env.user("ada", "coordinator")
    cole = sync_env.replica("cole", role="coordinator")
    ada = sync_env.replica("ada", role="coordinator")
    with_service(sync_env, cole)
    ada.capacity.add_service(
        "Meadowbank Unit", kind="intermediate_care", pathway="P2", unit="beds",
        service_id="meadowbank",
    )  # fmt: skip
    cole.capacity.report("meadowbank", total=20, occupied=12)  # made first, offline
    sync_env.clock.advance(hours=1)
    ada.capacity.report("meadowbank", total=20, occupied=19)  # made later, synced first
    ada.sync.sync_now(wait=True)
    cole.sync.sync_now(wait=True)
    latest = sync_env.direct().capacity.statuses()[0].latest
    assert latest is not None and latest.occupied == 19  # by reported time, not arrival
    with sync_env.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(capacity_table)).scalar() == 2


def test_a_role_that_may_not_report_capacity_is_refused_at_the_keyboard(
    sync_env: SyncEnv,
) -> None:
    sync_env.user("nina")  # night staff change journeys but do not report capacity
    nina = sync_env.replica("nina")
    with_service(sync_env, nina)
    with pytest.raises(NotAllowed, match="a night cannot report capacity"):
        nina.capacity.report("meadowbank", total=20, occupied=15)
    assert nina.sync.sync_status().pending == 0
    assert nina.capacity.statuses()[0].latest is None


def test_a_report_the_server_rejects_is_listed_and_no_longer_shown_here(
    sync_env: SyncEnv,
) -> None:
    sync_env.user("cole", "coordinator")
    cole = sync_env.replica("cole", role="coordinator")
    # A service this replica knows and the server does not: the server refuses the report.
    cole.capacity.add_service(
        "Only Here", kind="care_home", pathway="P3", unit="beds", service_id="only-here"
    )
    cole.capacity.report("only-here", total=10, occupied=4)
    cole.sync.sync_now(wait=True)
    [rejected] = cole.sync.conflicts()
    assert (rejected.outcome, rejected.reason, rejected.command) == (
        "rejected",
        "not_found",
        "capacity",
    )
    # Neither the report nor the service stays: a replica holds the server's list of services.
    assert cole.capacity.statuses() == []
    assert cole.sync.sync_status().pending == 0


@pytest.mark.parametrize(
    ("figures", "note", "message"),
    [
        ({"total": 10**9, "occupied": 1}, None, "total is at most 100,000"),
        ({"total": 20, "occupied": 15}, "n" * 1001, "the note is at most 1000 characters"),
        ({"total": 20, "occupied": 15}, "bell\x07", "control character"),
    ],
    ids=["a billion beds", "1001-char note", "control char"],
)
def test_a_report_the_wire_would_refuse_is_refused_at_the_keyboard(
    sync_env: SyncEnv, figures: dict[str, int], note: str | None, message: str
) -> None:
    sync_env.user("cole", "coordinator")
    cole = sync_env.replica("cole", role="coordinator")
    with_service(sync_env, cole)
    with pytest.raises(InvalidInput, match=message):
        cole.capacity.report("meadowbank", note=note, **figures)
    assert cole.sync.sync_status().pending == 0
