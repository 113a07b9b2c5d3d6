"""What every hub screen stands on: reads in workers, one way of meeting a lost database, the
board's banner, and writes through the app's one command runner.

A screen reads with `self.read(fetch, show)`: `fetch` runs in a thread and may take as long as
the database does; `show` runs on the UI thread with the result. A read that finds the database
gone puts up the banner on every hub screen (the last data stays on screen) and the screen reads
again when the database is back. Writes go through `self.app.command(...)`, which refuses while
the database is away and keeps the session's undo history.

Screens learn what the app offers from `HostApp` below, so no screen imports the app module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual.screen import Screen
from textual.widgets import Static
from textual.worker import get_current_worker

from d2a_tui.domain.errors import D2AError
from d2a_tui.services.hub import DatabaseUnavailable
from d2a_tui.widgets.literal import literal

T = TypeVar("T")
ResultT = TypeVar("ResultT")

if TYPE_CHECKING:
    from textual.app import App

    from d2a_tui.config import Settings
    from d2a_tui.domain.views import Card
    from d2a_tui.screens.history import UndoHistory
    from d2a_tui.services.hub import Hub

    class HostApp(App[int]):
        """The app as the screens see it (`d2a_tui.app.D2AApp` provides all of this)."""

        hub: Hub
        settings: Settings
        db_problem: str | None
        history: UndoHistory
        refused_because: str | None
        poll_interval: float
        tick_interval: float

        @property
        def privacy(self) -> str: ...
        def command(self, make: Callable[[], T], *, record: bool = True) -> T | None: ...
        def database_lost(self, problem: str) -> None: ...
        def database_back(self) -> None: ...
        def status_text(self) -> str: ...
        def apply_cards(self, cards: list[Card]) -> None: ...
        def poll_now(self) -> None: ...


class DatabaseBanner(Static):
    """The one outage banner: hidden while the database answers."""

    DEFAULT_CSS = """
    DatabaseBanner {
        display: none;
        height: auto;
        padding: 0 1;
        background: $error;
        color: $text;
        text-style: bold;
    }
    """

    def show_problem(self, problem: str | None, showing: str) -> None:
        self.display = problem is not None
        if problem is not None:
            self.update(
                literal(
                    f"⚠ Database unavailable — showing {showing} as last seen; changes are "
                    f"refused until it is back. Retrying… ({problem})"
                )
            )


class HubScreen(Screen[ResultT]):
    """A screen over the hub's data. Subclasses call `read` and `refresh_status`, and override
    `reload` (read everything again) when they show data."""

    app: HostApp
    SHOWING: ClassVar[str] = "this screen"  # in the banner: "showing <this> as last seen"
    # `-narrow` below 110 columns (the night team's 80-column thin clients): app.tcss lays
    # screens out to fit there without clipping.
    # Declared as Textual's Screen declares it (an instance variable to a type checker).
    HORIZONTAL_BREAKPOINTS: list[tuple[int, str]] | None = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012

    # --- the database coming and going ----------------------------------------------------------

    def banner(self) -> DatabaseBanner | None:
        found = self.query(DatabaseBanner)
        return found.first() if found else None

    def refresh_status(self) -> None:
        """The app's database state changed (or the screen just mounted): show it."""
        banner = self.banner()
        if banner is not None:
            banner.show_problem(self.app.db_problem, self.SHOWING)

    def database_back(self) -> None:
        """The database answers again: read what may have changed meanwhile."""
        self.refresh_status()
        self.reload()

    def reload(self) -> None:
        """Read the screen's data again (in a worker)."""

    def on_screen_resume(self) -> None:
        self.refresh_status()

    # --- reads ----------------------------------------------------------------------------------

    def read(
        self,
        fetch: Callable[[], T],
        show: Callable[[T], object],
        *,
        group: str = "read",
        failed: Callable[[Exception], object] | None = None,
    ) -> None:
        """Run `fetch` in a thread, then `show` its result on the UI thread. The newest read of
        a group wins: an older one still running is cancelled, so reads never pile up."""
        self.run_worker(
            partial(self._fetch_in_thread, fetch, show, failed),
            thread=True,
            exclusive=True,
            group=group,
            exit_on_error=False,
        )

    def _fetch_in_thread(
        self,
        fetch: Callable[[], Any],
        show: Callable[[Any], object],
        failed: Callable[[Exception], object] | None,
    ) -> None:
        try:
            result = fetch()
        except Exception as error:  # whatever happened, the screen stays; say what it was
            if not get_current_worker().is_cancelled:
                self._on_ui(self._read_failed, error, failed)
            return
        if not get_current_worker().is_cancelled:  # a newer read of the group replaced this one
            self._on_ui(self._read_done, result, show)

    def _on_ui(self, callback: Callable[..., object], *args: object) -> None:
        # RuntimeError: the app is closing and there is nothing left to show.
        with contextlib.suppress(RuntimeError):
            self.app.call_from_thread(partial(callback, *args))

    def _read_done(self, result: object, show: Callable[[Any], object]) -> None:
        if not self.is_attached:
            return
        if self.app.db_problem is not None:
            self.app.database_back()
        show(result)

    def _read_failed(self, error: Exception, failed: Callable[[Exception], object] | None) -> None:
        if not self.is_attached:
            return
        if isinstance(error, DatabaseUnavailable):
            self.app.database_lost(str(error))
        elif isinstance(error, D2AError):
            self.app.notify(str(error), title="Cannot show it", severity="warning", timeout=6)
        else:
            self.app.notify(
                f"Reading hit a problem ({type(error).__name__}); the last figures stay",
                severity="error",
            )
        if failed is not None:
            failed(error)

    # --- writes -----------------------------------------------------------------------------------

    def run_command(self, make: Callable[[], T], *, record: bool = True) -> T | None:
        """One write through the app's command runner: refused while the database is away,
        refusals said in a notification, nothing half-done."""
        return self.app.command(make, record=record)
