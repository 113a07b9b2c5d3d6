"""Waking long-polling pulls when the event log's head moves, in this process or another.

A pull that finds nothing new waits on `Waiters`. A push through this process wakes them
directly. On PostgreSQL every writer (another `d2a serve`, a terminal on the shared database, an
import) announces its new head with NOTIFY (`storage/event_log.py`); one `HeadListener` per
process holds a LISTEN connection and wakes the waiters, so a pull waiting on one server answers
a push to another within milliseconds. SQLite, or PostgreSQL while the listening connection is
down, falls back to looking again every `POLL_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg

from d2a_tui.storage.event_log import EVENTS_CHANNEL

log = logging.getLogger("d2a.sync.server")
# How often a waiting pull reads the head itself when no notification can reach it.
POLL_SECONDS = 1.0
# While listening, a look now and then all the same: a notification lost to a connection that
# died without saying so costs at most this long.
LISTENING_POLL_SECONDS = 10.0
# How long the listener waits in silence before checking that its connection is alive.
QUIET_CHECK_SECONDS = 30.0
RECONNECT_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


class Waiters:
    """Pulls waiting for the head to move. A pull takes a `ticket` *before* reading the head,
    so a wake-up that lands between its read and its wait is not lost."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self.listening = False
        self.closed = False
        # The highest head announced so far: a woken pull that is behind it needs no query to
        # learn there is news (a herd of pulls woken at once would each ask otherwise).
        self.head = 0

    @property
    def poll_seconds(self) -> float:
        return LISTENING_POLL_SECONDS if self.listening else POLL_SECONDS

    def ticket(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
        return self._event

    def notify(self, head: int | None = None) -> None:
        if head is not None and head > self.head:
            self.head = head
        event, self._event = self._event, None
        if event is not None:
            event.set()

    def close(self) -> None:
        """The server is stopping: every waiting pull answers now, and none waits again."""
        self.closed = True
        self.notify()

    async def wait(self, ticket: asyncio.Event, timeout: float) -> None:
        if self.closed or timeout <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ticket.wait(), timeout)


class HeadListener:
    """One LISTEN connection for the process, kept open by a background task; on every
    notification (and after every reconnection, when some may have been missed) it wakes the
    waiters."""

    def __init__(self, conninfo: str, waiters: Waiters, channel: str = EVENTS_CHANNEL) -> None:
        self.conninfo = conninfo
        self.waiters = waiters
        self.channel = channel
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="d2a-head-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.waiters.listening = False

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._listen()
            except Exception as error:  # whatever it was, listen again: pulls poll meanwhile
                # The driver's message names hosts and databases, never a patient; the type is
                # enough to act on.
                log.warning(
                    "listener lost its connection (%s); pulls poll meanwhile", type(error).__name__
                )
            failures = 0 if self.connected.is_set() else failures + 1
            self.waiters.listening = False
            self.connected.clear()
            await asyncio.sleep(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)])

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, connect_timeout=5, application_name="d2a listener"
        ) as connection:
            await connection.execute(f'LISTEN "{self.channel}"')
            self.waiters.listening = True
            self.connected.set()
            self.waiters.notify()  # whatever moved while nobody listened
            while True:
                async for notification in connection.notifies(timeout=QUIET_CHECK_SECONDS):
                    self.waiters.notify(
                        int(notification.payload) if notification.payload.isdigit() else None
                    )
                await connection.execute("SELECT 1")
