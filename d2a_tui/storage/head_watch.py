"""Hearing the event log's head move on PostgreSQL, for a terminal on the shared database.

Every writer announces its new head with NOTIFY (`event_log.EVENTS_CHANNEL`). A board that
listens fetches what changed as soon as it is told, rather than at its next poll; it keeps
polling all the same, so a lost connection costs it nothing but speed. SQLite has no such
channel (and one writer at a time): there is nothing to watch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import Engine

from d2a_tui.storage.event_log import EVENTS_CHANNEL

# How often the watching thread looks up from waiting to see whether it should stop.
STOP_CHECK_SECONDS = 0.5
RECONNECT_SECONDS = 5.0


class HeadWatch:
    """A daemon thread with one LISTEN connection, calling `heard(head)` for each announcement
    (from that thread: the caller hands the work to its own)."""

    def __init__(self, conninfo: str, heard: Callable[[int], None]) -> None:
        self.conninfo = conninfo
        self.heard = heard
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="d2a-head-watch", daemon=True)

    def start(self) -> HeadWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end after `stop`; whether it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        # Imported here, on PostgreSQL only: a SQLite board asks for a watch as it opens, and
        # the driver is a twentieth of a second of its start that it never uses.
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self.conninfo,
                    autocommit=True,
                    connect_timeout=5,
                    application_name="d2a board",
                ) as connection:
                    connection.execute(f'LISTEN "{EVENTS_CHANNEL}"')
                    self.listening.set()
                    while not self._stop.is_set():
                        for note in connection.notifies(timeout=STOP_CHECK_SECONDS):
                            if note.payload.isdigit():
                                self.heard(int(note.payload))
            except Exception:
                pass
            self.listening.clear()
            self._stop.wait(RECONNECT_SECONDS)


def listen_conninfo(engine: Engine) -> str | None:
    """The psycopg connection string for the engine's PostgreSQL database; None for SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def watch_head(engine: Engine, heard: Callable[[int], None]) -> HeadWatch | None:
    """Start watching the engine's database; None where there is no channel (SQLite)."""
    conninfo = listen_conninfo(engine)
    return None if conninfo is None else HeadWatch(conninfo, heard).start()
