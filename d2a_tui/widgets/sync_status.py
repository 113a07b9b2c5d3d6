"""The sync status of a replica, one line: link state, last good sync, changes waiting to go,
unresolved conflicts. Shown only when the Hub is a replica (it has a `hub.sync`).

Reading the status is a few small queries on the local SQLite file, but it is still disk: it is
read in a thread, and the next read is scheduled only once the last has been shown, so reads never
pile up behind a slow disk. The same widget runs "sync now", so whichever screen shows it can.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Protocol

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.timefmt import humanise
from d2a_tui.widgets.literal import literal

if TYPE_CHECKING:
    from d2a_tui.services.hub import Hub

# A symbol for each state, so that a monochrome terminal says as much as a colour one.
STATE_WORDS: dict[str, str] = {
    "online": "✓ online",
    "offline": "✗ offline",
    "syncing": "↻ syncing",
    "refused": "✗ refused",
}
READ_EVERY = 1.0  # seconds between reads of the status
COMPACT_BELOW = 120  # terminal columns under which the line is shortened, to leave room


# The shapes the replica Hub hands over (its SyncStatus and SyncReport), named here rather than
# imported: widgets stay clear of the sync client and its HTTP library.
# Read-only members: the replica's are frozen dataclasses.
class SyncStatus(Protocol):
    @property
    def state(self) -> str: ...
    @property
    def pending(self) -> int: ...
    @property
    def last_success(self) -> datetime | None: ...
    @property
    def conflicts(self) -> int: ...
    @property
    def message(self) -> str | None: ...
    @property
    def server(self) -> str | None: ...


class SyncReport(Protocol):
    @property
    def pushed(self) -> int: ...
    @property
    def pulled(self) -> int: ...
    @property
    def outcomes(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class Unreadable:
    """What is shown when the status itself cannot be read."""

    message: str
    state: str = "offline"
    pending: int = 0
    last_success: datetime | None = None
    conflicts: int = 0
    server: str | None = None


def is_replica(hub: Hub) -> bool:
    return getattr(hub, "sync", None) is not None


def since(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never synced"
    gone = now - moment
    if gone < timedelta(minutes=1):
        return "synced just now"
    return f"synced {humanise(gone)} ago"


def status_line(status: SyncStatus | Unreadable, now: datetime, *, compact: bool = False) -> Text:
    """E.g. "✓ online · synced 2m ago · 3 pending · ⚠ 2 conflicts — C"; `compact` (narrow
    terminals) says "✓ synced 2m ago · 3 pending · ⚠ 2 — C", and drops the time when offline."""
    line = Text(" ")
    state = STATE_WORDS.get(status.state, status.state)
    if compact and status.state == "online":
        line.append(f"✓ {since(status.last_success, now)}", style="bold")
    else:
        line.append(state, style="bold")
        if not compact:
            line.append(f" · {since(status.last_success, now)}")
    line.append(f" · {status.pending} pending")
    if getattr(status, "plain_http", False):
        line.append(" · ")
        line.append("⚠ plain http", style="bold reverse")
    if status.conflicts:
        plural = "" if status.conflicts == 1 else "s"
        words = (
            f"⚠ {status.conflicts} — C" if compact else f"⚠ {status.conflicts} conflict{plural} — C"
        )
        line.append(" · ")
        line.append(words, style="bold reverse")
    line.append(" ")
    return line


def report_words(report: SyncReport) -> str:
    words = f"sent {report.pushed}, received {report.pulled}"
    conflicts = report.outcomes.get("conflict", 0)
    refused = report.outcomes.get("rejected", 0)
    if conflicts or refused:
        words += f"; {conflicts + refused} not applied by the server — press C to resolve"
    return words


class SyncStatusBar(Static):
    DEFAULT_CSS = """
    SyncStatusBar {
        width: auto;
        height: 1;
        background: $boost;
        color: $text;
    }
    SyncStatusBar.-offline, SyncStatusBar.-refused {
        background: $warning;
        color: $text;
    }
    SyncStatusBar.-syncing {
        background: $accent;
        color: $text;
    }
    /* Added by the app on screens that do not place it themselves. */
    SyncStatusBar.-docked {
        dock: top;
        width: 100%;
        text-align: right;
    }
    """

    class ConflictsChanged(Message):
        """The number of unresolved conflicts moved: a conflicts list should look again."""

        def __init__(self, conflicts: int) -> None:
            super().__init__()
            self.conflicts = conflicts

    def __init__(
        self,
        hub: Hub,
        *,
        every: float = READ_EVERY,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__("", id=id, classes=classes)
        self.hub = hub
        self.every = every
        self.status: SyncStatus | Unreadable | None = None
        self.shown_conflicts: int | None = None
        self.syncing = False

    def on_mount(self) -> None:
        # The first read here, so the line is never drawn empty; the rest in a thread.
        self._read_done(self._current(), chained=True)

    # --- reading -------------------------------------------------------------------------------

    def _current(self) -> SyncStatus | Unreadable:
        try:
            return self.hub.replica_sync().sync_status()
        except Exception as error:  # a locked or vanished file: say so, keep reading
            return Unreadable(f"cannot read the sync state: {error}")

    def read(self, chained: bool = True) -> None:
        self._read(chained)

    @work(thread=True, group="sync-status", exit_on_error=False)
    def _read(self, chained: bool) -> None:
        self._from_thread(self._read_done, self._current(), chained)

    def _from_thread(self, callback: Callable[..., object], *args: object) -> None:
        # RuntimeError: the app is closing, and there is nothing left to show.
        with contextlib.suppress(RuntimeError):
            self.app.call_from_thread(partial(callback, *args))

    def _read_done(self, status: SyncStatus | Unreadable, chained: bool) -> None:
        self.show(status)
        if chained and self.is_attached:
            self.set_timer(self.every, self.read)

    def show(self, status: SyncStatus | Unreadable) -> None:
        if self.syncing and status.state != "syncing":
            status = replace(status, state="syncing")  # type: ignore[type-var]  # mypy cannot replace() in a union of dataclasses; both have `state`
        before = self.shown_conflicts
        self.status, self.shown_conflicts = status, status.conflicts
        for state in STATE_WORDS:
            self.set_class(status.state == state, f"-{state}")
        self.tooltip = literal(status.message or status.server or "")
        compact = self.app.size.width < COMPACT_BELOW
        self.update(literal(status_line(status, self.hub.now(), compact=compact)))
        if before is not None and status.conflicts != before:
            self.post_message(self.ConflictsChanged(status.conflicts))
        if before is not None and status.conflicts > before:
            self.app.notify(
                "A change made here ran into someone else's. Press C to see it and decide.",
                title="Sync conflict",
                severity="warning",
                timeout=8,
            )

    # --- sync now ------------------------------------------------------------------------------

    def sync_now(self, after: Callable[[], object] | None = None) -> None:
        """Push and pull now; say how it went. `after` runs on success (the board looks again)."""
        self.syncing = True
        if self.status is not None:
            self.show(self.status)
        self._sync(after)

    @work(thread=True, group="sync-now", exclusive=True, exit_on_error=False)
    def _sync(self, after: Callable[[], object] | None) -> None:
        try:
            report: SyncReport = self.hub.replica_sync().sync_now(wait=True)
        except D2AError as error:
            self._from_thread(self._sync_failed, str(error))
            return
        except Exception as error:  # the board stays up whatever the network did
            self._from_thread(self._sync_failed, f"{type(error).__name__}: {error}")
            return
        self._from_thread(self._sync_done, report, after)

    def _sync_done(self, report: SyncReport, after: Callable[[], object] | None) -> None:
        self.syncing = False
        self.app.notify(f"Synced: {report_words(report)}", title="Synced", timeout=4)
        self.read(chained=False)
        if after is not None:
            after()

    def _sync_failed(self, problem: str) -> None:
        self.syncing = False
        waiting = self.status.pending if self.status is not None else 0
        waiting_words = f" {waiting} change(s) waiting to send." if waiting else ""
        self.app.notify(
            f"Could not sync: {problem}.{waiting_words}",
            title="Sync failed",
            severity="error",
            timeout=10,
        )
        self.read(chained=False)
