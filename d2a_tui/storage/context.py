"""What the Hub's services see of it (`hub.reports`, `hub.capacity`, `hub.alerts`, a replica's
sync): a narrow interface rather than the `Hub` class, so the Hub can build its services without
them importing it back, and a service says exactly what it uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from d2a_tui.domain.calendar import HubCalendar
    from d2a_tui.domain.flow import Flow
    from d2a_tui.storage.journeys import Actor, JourneyStore

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, to the whole millisecond: a replica's change crosses the wire as the microseconds
    since the one before it (sync protocol version 3), and microseconds that are always zero
    cost gzip nearly nothing, where random ones cost two bytes a change. Nobody reads finer."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class HubContext(Protocol):
    """The hub's store, flow, acting user, calendar and clock. Read through the hub on every
    use, so a clock the hub is given later (a test's frozen one) is the one a service uses."""

    @property
    def store(self) -> JourneyStore: ...
    @property
    def flow(self) -> Flow: ...
    @property
    def actor(self) -> Actor: ...
    @property
    def calendar(self) -> HubCalendar: ...
    @property
    def clock(self) -> Clock: ...
