"""The board: the hub's home screen, one column per flow column, kept live from the database.

Live without reloading: a worker reads the event counter (one row) about once a second and,
only when it moved, fetches the journeys that changed since and patches those cards in place.
Clocks tick from `hub.now()` every few seconds without touching the database.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, HorizontalScroll
from textual.timer import Timer
from textual.widgets import Footer, Static

from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.stuck import Level
from d2a_tui.domain.timefmt import humanise
from d2a_tui.domain.views import Card
from d2a_tui.screens.actions import QUICK_BINDINGS, QuickActions
from d2a_tui.screens.base import DatabaseBanner, HubScreen
from d2a_tui.screens.board_filter import FILTER_BINDINGS, FILTER_HELP, BoardFilter
from d2a_tui.screens.offer_picker import OFFER_BINDINGS, OfferActions
from d2a_tui.services.hub import Change
from d2a_tui.widgets.board_column import BoardColumn, CardClicked
from d2a_tui.widgets.board_model import SORTS, Assessed, BoardModel, assess_all
from d2a_tui.widgets.card import CARD_HEIGHT, SYMBOLS, who
from d2a_tui.widgets.keys import TextInput
from d2a_tui.widgets.literal import literal
from d2a_tui.widgets.sync_status import SyncStatusBar, is_replica

if TYPE_CHECKING:
    from d2a_tui.screens.base import HostApp

# Screens other parts of d2a provide; imported only when asked for, so the board never waits on them.
OTHER_SCREENS: dict[str, tuple[str, str, str]] = {
    "capacity": ("d2a_tui.screens.capacity", "CapacityScreen", "Capacity"),
    "dashboard": ("d2a_tui.screens.dashboard", "DashboardScreen", "The dashboard"),
    "alerts": ("d2a_tui.screens.alerts", "AlertsScreen", "Alerts"),
    "conflicts": ("d2a_tui.screens.conflicts", "ConflictsScreen", "Conflicts"),
    "find": ("d2a_tui.screens.find", "FindScreen", "Find"),
    "handover": ("d2a_tui.screens.handover", "HandoverScreen", "Handover"),
    "adt": ("d2a_tui.screens.adt_exceptions", "AdtExceptionsScreen", "ADT exceptions"),
}

MIN_COLUMN_WIDTH = 20
PLACES_EVERY = 30.0  # seconds between reads of the capacity reports behind the headers' gap
ADT_EVERY = 3.0  # seconds between counts of the ADT entries waiting for a person (an indexed count)
HEARD_PAUSE = 0.05  # seconds from hearing another terminal's change to fetching it (and its burst)


class BoardScroll(HorizontalScroll, can_focus=False):
    """Holds the columns; scrolls sideways when they do not all fit (80 columns, many columns)."""


class BoardScreen(BoardFilter, QuickActions, OfferActions, HubScreen[None]):
    app: HostApp
    SHOWING = "the board"
    AUTO_FOCUS = ""  # keys belong to the board, not to the hidden filter box

    BINDINGS: ClassVar[list[BindingType]] = [
        # Also an app binding; repeated here so the footer shows it first, where 80 columns reach.
        Binding("question_mark", "app.help", "Keys", id="app.help", key_display="?"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="board.down"),
        Binding("up,k", "cursor(-1)", "Up", show=False, id="board.up"),
        Binding("left,h", "column(-1)", "Column left", show=False, id="board.left"),
        Binding("right,l", "column(1)", "Column right", show=False, id="board.right"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="board.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="board.page_up"),
        Binding("home,g", "edge(-1)", "First card", show=False, id="board.first"),
        Binding("end,G", "edge(1)", "Last card", show=False, id="board.last"),
        # Enter opens, as everywhere: the footer's room goes to keys nobody could guess.
        Binding("enter", "open", "Open", show=False, id="board.open"),
        Binding("N", "refer", "Refer", id="board.refer"),
        *FILTER_BINDINGS,
        Binding("s", "sort", "Sort", show=False, id="board.sort"),
        Binding("ctrl+r", "reload", "Reload board", show=False, id="board.reload"),
        *QUICK_BINDINGS,
        *OFFER_BINDINGS,
        Binding("c", "open_screen('capacity')", "Capacity", show=False, id="board.capacity"),
        Binding("D", "open_screen('dashboard')", "Dashboard", show=False, id="board.dashboard"),
        Binding(
            "exclamation_mark", "open_screen('alerts')", "Alerts", show=False, id="board.alerts"
        ),
        # In the footer on a replica, where they matter (and nowhere on a shared database).
        Binding("S", "sync", "Sync", id="board.sync"),
        Binding("C", "open_screen('conflicts')", "Conflicts", id="board.conflicts"),
        Binding("f", "open_screen('find')", "Find", show=False, id="board.find"),
        Binding("O", "open_screen('handover')", "Handover", show=False, id="board.handover"),
        Binding("x", "open_screen('adt')", "ADT exceptions", show=False, id="board.adt"),
    ]

    def __init__(self) -> None:
        super().__init__(id="board")
        self.model: BoardModel | None = None
        self.columns: list[BoardColumn] = []
        self.active = 0  # index of the active column
        self.selected: str | None = None  # journey id under the cursor
        self.position = 0  # the event counter the board has caught up with
        self.loaded = False
        self._status_shown = ""
        # What the event counter does not tell of, read every so often: capacity reports, and
        # the ADT entries waiting for a person (an admission of someone not yet referred, or a
        # held message, moves no journey either). When each was last read, by what it is.
        self._read_at: dict[str, float] = {}
        self.adt_waiting = 0

    # --- building ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = self.app
        self.model = BoardModel(app.hub.flow, app.hub.stuck, app.hub.actor.user, app.hub.calendar)
        self.columns = [
            BoardColumn(column, self.model, app.settings.privacy) for column in self.model.columns
        ]
        yield DatabaseBanner(id="banner")
        search = TextInput(placeholder=FILTER_HELP, id="filter", compact=True)
        search.cursor_blink = False
        yield search
        yield Static("", id="filter-bar")
        with BoardScroll(id="columns"):
            yield from self.columns
        self._size_columns()  # before the first layout, so the screen is laid out once
        with Horizontal(id="statusbar"):
            yield Static("", id="why")
            if is_replica(app.hub):
                yield SyncStatusBar(app.hub, id="sync-status")
            yield Static("", id="status")
        # The palette is on ctrl+p and in `?`: at 80 columns its hint would push keys off.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.load()
        self.set_interval(self.app.tick_interval, self.tick)
        self.set_timer(self.app.poll_interval, self.poll)
        # On PostgreSQL another terminal's change is heard at once (NOTIFY); the poll stays.
        self._heard_timer: Timer | None = None
        watch = getattr(self.app.hub, "watch_head", None)
        self._head_watch = watch(self._heard) if watch is not None else None

    def on_unmount(self) -> None:
        if self._head_watch is not None:
            self._head_watch.stop()

    def _heard(self, head: int) -> None:
        # From the watching thread. A burst of changes is fetched once, a moment after it starts.
        if head != self.position:
            self._from_thread(self._fetch_soon)

    def _fetch_soon(self) -> None:
        if self._heard_timer is None:
            self._heard_timer = self.set_timer(HEARD_PAUSE, self._fetch_heard)

    def _fetch_heard(self) -> None:
        self._heard_timer = None
        self.poll_now()

    def load(self) -> None:
        """Read the whole board once: at start, on ctrl+r, and when the counter goes backwards."""
        hub = self.app.hub
        try:
            # The counter first: a change landing between the two reads is fetched again, not lost.
            position = hub.head_position()
            cards = hub.board()
            places = self._read_places()
            self.adt_waiting = self._read_adt_waiting() or 0
        except D2AError as error:
            self.app.database_lost(str(error))
            self.refresh_status()
            return
        self.show_board(position, cards, places)

    def _due(self, what: str, every: float, force: bool) -> bool:
        now = time.monotonic()
        if not force and now - self._read_at.get(what, -every) < every:
            return False
        self._read_at[what] = now
        return True

    def _read_places(self, *, force: bool = True) -> dict[str, int] | None:
        """The capacity behind the headers' gap, if it is time to look again (else None)."""
        if not self._due("places", PLACES_EVERY, force):
            return None
        return self.app.hub.capacity.places_by_pathway()

    def _read_adt_waiting(self, *, force: bool = True) -> int | None:
        """How many ADT entries wait for a person, if it is time to count again (else None)."""
        if not self._due("adt", ADT_EVERY, force):
            return None
        from d2a_tui.interop.desk import AdtDesk

        return AdtDesk(self.app.hub).waiting()

    def on_screen_resume(self) -> None:
        # (HubScreen's handler runs too: Textual calls each class's.) Back from the capacity screen, say: the user may just have reported vacancies; back from `x`, resolved entries.
        self._read_at.clear()
        if self.loaded:
            self.poll_now()

    def database_back(self) -> None:
        # The poll that found the database back is already fetching what changed meanwhile.
        self.refresh_status()

    def show_board(
        self, position: int, cards: Iterable[Card], places: dict[str, int] | None = None
    ) -> None:
        assert self.model is not None
        self.position = position
        if places is not None:
            self.model.places = places
        self.model.load(cards, self.app.hub.now())
        self.loaded = True
        for column in self.columns:
            column.sync()
        if self.selected not in self.model.cards:
            self.selected = None
        if self.selected is None:
            first = next((i for i, c in enumerate(self.model.columns) if self.model.order[c.id]), 0)
            order = self.model.order[self.model.columns[first].id]
            self.select(first, order[0] if order else None)
        else:
            self.follow(self.selected)
        self.refresh_status()

    def on_resize(self, event: events.Resize) -> None:
        self._size_columns()

    def _size_columns(self) -> None:
        """Share the width out; below MIN_COLUMN_WIDTH each, the board scrolls sideways instead."""
        if not self.columns:
            return
        total = self.size.width or self.app.size.width
        count = len(self.columns)
        width = max(total // count, MIN_COLUMN_WIDTH)
        spare = total - width * count if width * count <= total else 0
        for i, column in enumerate(self.columns):
            wanted = width + (1 if i < spare else 0)
            if column.styles.width is None or column.styles.width.value != wanted:
                column.styles.width = wanted

    # --- selection -----------------------------------------------------------------------------

    @property
    def active_column(self) -> BoardColumn:
        return self.columns[self.active]

    def selected_card(self) -> Card | None:
        if self.model is None or self.selected is None:
            return None
        return self.model.cards.get(self.selected)

    def select(self, column_index: int, journey_id: str | None, *, scroll: bool = True) -> None:
        assert self.model is not None
        old = self.active_column
        self.active = column_index
        new = self.active_column
        if old is not new:
            old.body.set_cursor(None)
            old.remove_class("-active")
        new.add_class("-active")
        self.selected = journey_id
        index = self.model.index_of(new.column.id, journey_id)
        new.body.set_cursor(index)
        if scroll:
            if index is not None:
                new.body.scroll_to_card(index)
            self.query_one(BoardScroll).scroll_to_widget(new, animate=False, immediate=True)
        self.refresh_why()

    def follow(self, journey_id: str, *, scroll: bool = True) -> None:
        """Put the selection on a journey wherever it now is (if it is shown)."""
        assert self.model is not None
        card = self.model.cards.get(journey_id)
        if card is None:
            return
        position = self.model.column_position(card.column)
        if position is not None and self.model.index_of(card.column, journey_id) is not None:
            self.select(position, journey_id, scroll=scroll)

    def _order(self) -> list[str]:
        assert self.model is not None
        return self.model.order[self.active_column.column.id]

    def _index(self) -> int | None:
        assert self.model is not None
        return self.model.index_of(self.active_column.column.id, self.selected)

    def action_cursor(self, step: int) -> None:
        order = self._order()
        if not order:
            return
        index = self._index()
        target = 0 if index is None else max(0, min(len(order) - 1, index + step))
        self.select(self.active, order[target])

    def action_page(self, step: int) -> None:
        per_page = max(self.active_column.body.size.height // CARD_HEIGHT, 1)
        self.action_cursor(step * per_page)

    def action_edge(self, step: int) -> None:
        order = self._order()
        if order:
            self.select(self.active, order[-1] if step > 0 else order[0])

    def action_column(self, step: int) -> None:
        assert self.model is not None
        target = self.active + step
        if not 0 <= target < len(self.columns):
            return
        # Land on the card drawn at the same height on screen, which is where the eye is.
        here = self.active_column.body
        index = self._index()
        row = 0 if index is None else index * CARD_HEIGHT - int(here.scroll_offset.y)
        there = self.columns[target]
        order = self.model.order[there.column.id]
        if not order:
            self.select(target, None)
            return
        landing = min(there.body.card_at_screen_row(max(row, 0)), len(order) - 1)
        self.select(target, order[landing])

    def on_card_clicked(self, message: CardClicked) -> None:
        assert self.model is not None
        position = self.model.column_position(message.column_id)
        if position is not None:
            self.select(position, message.journey_id, scroll=False)
            if message.open_it:
                self.action_open()

    # --- live updates --------------------------------------------------------------------------

    def patch(self, cards: Iterable[Card], *, follow: str | None = None) -> None:
        """Apply changed journeys (ours or anyone's) without moving the user's view."""
        model = self.model
        if model is None or not self.loaded:
            return
        selected, column = self.selected, self.active_column
        index_before = self._index()
        offset = None
        if index_before is not None:
            offset = index_before * CARD_HEIGHT - int(column.body.scroll_offset.y)
        touched = model.patch(cards)
        for board_column in self.columns:
            if board_column.column.id in touched:
                board_column.sync()
        if follow is not None and follow in model.cards:
            self.follow(follow)
        elif selected is not None and selected in model.cards:
            card = model.cards[selected]
            if card.column == column.column.id and offset is not None:
                index = model.index_of(card.column, selected)
                if index is not None:
                    # Keep the selected card at the same height on screen as cards come and go.
                    column.body.scroll_to(
                        y=max(index * CARD_HEIGHT - offset, 0), animate=False, immediate=True
                    )
                    self.select(self.active, selected, scroll=False)
                else:
                    self._reselect_near(index_before)
            else:
                self.follow(selected)
        else:
            self._reselect_near(index_before)
        self.refresh_status()

    def _reselect_near(self, index: int | None) -> None:
        """The selected journey left (closed, or filtered out): take its neighbour's place."""
        order = self._order()
        if not order:
            self.select(self.active, None, scroll=False)
            return
        landing = min(index or 0, len(order) - 1)
        self.select(self.active, order[landing])

    def poll(self) -> None:
        self._fetch(chained=True)

    def poll_now(self) -> None:
        """Look now (after a conflict, a sync) without starting a second polling chain."""
        self._fetch(chained=False)

    @work(thread=True, group="poll", exit_on_error=False)
    def _fetch(self, chained: bool, full: bool = False) -> None:
        hub = self.app.hub
        position, loaded = self.position, self.loaded
        try:
            head = hub.head_position()
            if full or not loaded or head < position:
                result: tuple[str, int, list[Card]] = ("load", head, hub.board())
            elif head == position:
                result = ("same", head, [])
            else:
                result = ("patch", head, hub.changes_since(position))
            places = self._read_places(force=not loaded)
            waiting = self._read_adt_waiting(force=not loaded)
        except Exception as error:  # keep polling whatever happened; say what it was
            self._from_thread(self._poll_failed, error, chained)
            return
        self._from_thread(self._poll_done, *result, chained, places, waiting)

    def _from_thread(
        self, callback: Callable[..., object], *args: object, **kwargs: object
    ) -> None:
        # RuntimeError: the app is closing, and there is nothing left to update.
        with contextlib.suppress(RuntimeError):
            self.app.call_from_thread(partial(callback, *args, **kwargs))

    def _poll_done(
        self,
        kind: str,
        head: int,
        cards: list[Card],
        chained: bool,
        places: dict[str, int] | None = None,
        adt_waiting: int | None = None,
    ) -> None:
        if self.app.db_problem is not None:
            self.app.database_back()
        if adt_waiting is not None and adt_waiting != self.adt_waiting:
            self.adt_waiting = adt_waiting
            self.refresh_status()
        if kind == "load":
            self.show_board(head, cards, places)
        elif kind == "patch":
            self.position = max(self.position, head)
            self.patch(cards)
        model = self.model
        if places is not None and model is not None and places != model.places and kind != "load":
            model.places = places
            for column in self.columns:
                column.sync()
        if chained:
            self._next_poll()

    def _poll_failed(self, error: Exception, chained: bool) -> None:
        if isinstance(error, D2AError):
            self.app.database_lost(str(error))
        else:
            self.app.notify(
                f"Live updates hit a problem ({type(error).__name__}); still trying",
                severity="error",
            )
        if chained:
            self._next_poll(backoff=True)

    def _next_poll(self, backoff: bool = False) -> None:
        if self.is_attached:
            interval = self.app.poll_interval * (3 if backoff else 1)
            self.set_timer(interval, self.poll)

    def tick(self) -> None:
        """Clocks move on: ages, levels and headers, from the clock, not the database. Every
        card's level is worked out in a thread (on a region's board, more than a frame's
        time); the board takes the new levels when they are ready."""
        if self.model is None or not self.loaded:
            return
        cards, now = list(self.model.cards.values()), self.app.hub.now()
        self.run_worker(
            partial(self._assess_in_thread, cards, now),
            thread=True,
            group="tick",
            exclusive=True,
            exit_on_error=False,
        )

    def _assess_in_thread(self, cards: list[Card], now: datetime) -> None:
        assessed = assess_all(self.app.hub.stuck, cards, now)
        self._from_thread(self._retimed, now, assessed)

    def _retimed(self, now: datetime, assessed: Assessed) -> None:
        if self.model is None or not self.is_attached:
            return
        before = self._red()
        self.model.retime(now, assessed)
        for column in self.columns:
            column.sync()
        if self.selected is not None:
            self.select(self.active, self.selected, scroll=False)
        self._announce_red(self._red() - before)
        self.refresh_status()

    def _red(self) -> set[str]:
        assert self.model is not None
        return {j for j, level in self.model.levels.items() if level is Level.RED}

    def _announce_red(self, journey_ids: set[str]) -> None:
        """A journey turning red as the clock moves on is news; one already acknowledged
        (snoozed from the alerts screen) is not."""
        assert self.model is not None
        now = self.model.now
        cards = [
            card
            for card in (self.model.cards[j] for j in journey_ids)
            if card.acknowledged_until is None or card.acknowledged_until <= now
        ]
        if not cards:
            return
        cards.sort(key=lambda card: card.entered_column_at)
        privacy = self.app.settings.privacy
        for card in cards[:3]:
            reasons = self.app.hub.stuck(card, now).reasons
            self.app.notify(
                f"{who(card, privacy)} turned red: {reasons[0] if reasons else 'stuck'}",
                title="Stuck",
                severity="error",
                timeout=10,
            )
        if len(cards) > 3:
            self.app.notify(
                f"and {len(cards) - 3} more turned red (! lists them)", severity="error"
            )
        if self.app.settings.bell:
            self.app.bell()

    def show_change(self, change: Change) -> None:
        # The app has patched the board already; the selection follows our journey.
        if change.card.is_open:
            self.follow(change.card.journey_id)

    # --- status --------------------------------------------------------------------------------

    def refresh_status(self) -> None:
        if not self.columns:
            return
        status = self.app.status_text()
        if self.adt_waiting:
            # The feed informs, the hub decides: what waits for a person is in sight, not only
            # behind `x`.
            status = f" ADT: {self.adt_waiting} waiting (x) ·{status}"
        if status != self._status_shown:  # its width may change: only then lay out again
            self._status_shown = status
            self.query_one("#status", Static).update(literal(status))
        self.query_one(DatabaseBanner).show_problem(self.app.db_problem, self.SHOWING)
        self.refresh_why()

    def refresh_why(self) -> None:
        if not self.columns or self.model is None:
            return
        model = self.model
        parts = [f"{len(model.cards)} open", f"sort: {dict(SORTS)[model.sort]}"]
        self.refresh_filter_bar()
        card = self.selected_card()
        if card is not None:
            stuck = self.app.hub.stuck(card, model.now)
            if stuck.reasons:
                parts.append(f"{SYMBOLS[stuck.level]} {'; '.join(stuck.reasons)}")
            else:
                parts.append(
                    f"{SYMBOLS[stuck.level]} {who(card, self.app.settings.privacy)}: "
                    f"{humanise(model.now - card.entered_column_at)} in column"
                )
        self.query_one("#why", Static).update(literal(" · ".join(parts)), layout=False)

    # --- sort ---------------------------------------------------------------------------------

    def action_sort(self) -> None:
        if self.model is None:
            return
        label = self.model.cycle_sort()
        for column in self.columns:
            column.sync()
        if self.selected is not None:
            self.select(self.active, self.selected)
        self.app.notify(f"Sorted by {label}", timeout=2)

    def action_reload(self) -> None:
        self._fetch(chained=False, full=True)  # in the worker, like every read of the board

    # --- other screens -------------------------------------------------------------------------

    def action_open(self) -> None:
        card = self.selected_card()
        if card is None:
            return
        from d2a_tui.screens.journey import JourneyScreen

        self.app.push_screen(JourneyScreen(card.journey_id))

    def action_refer(self) -> None:
        from d2a_tui.screens.referral import ReferralScreen

        def referred(change: Change | None) -> None:
            if change is not None:
                self.patch([change.card], follow=change.card.journey_id)

        self.app.push_screen(ReferralScreen(), referred)

    def action_open_screen(self, name: str) -> None:
        module_name, class_name, label = OTHER_SCREENS[name]
        try:
            screen_class = getattr(importlib.import_module(module_name), class_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            self.app.notify(f"{label} is not available yet", severity="warning")
            return
        except AttributeError:
            self.app.notify(f"{label} is not available yet", severity="warning")
            return
        self.app.push_screen(screen_class(self.app.hub))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sync" or (action == "open_screen" and parameters == ("conflicts",)):
            return is_replica(self.app.hub)
        return True

    def action_sync(self) -> None:
        bars = self.query(SyncStatusBar)
        if not bars:
            self.app.notify("Not a replica: nothing to sync", timeout=3)
            return
        bars.first().sync_now(after=self.poll_now)
