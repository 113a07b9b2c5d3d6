"""What the board shows, without Textual: open cards by column, filtered and sorted, and stuck levels.

Kept apart from the widgets so the patching rules (apply only newer versions, drop closed
journeys, re-sort only the columns that changed) are plain code, and the widgets only draw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import InvalidInput
from d2a_tui.domain.flow import Column, Flow
from d2a_tui.domain.query import EVERYTHING, Context, Query, check_values, parse
from d2a_tui.domain.stuck import Level, Stuck
from d2a_tui.domain.views import Card

Assess = Callable[[Card, datetime], Stuck]
Assessed = dict[str, tuple[int, Level]]  # journey id -> (the card's change position, its level)


def assess_all(assess: Assess, cards: Iterable[Card], now: datetime) -> Assessed:
    """Every card's level at `now`: the dear part of moving the clock on (a region's board is
    thousands of cards), kept apart so it can run in a thread."""
    return {card.journey_id: (card.change_position, assess(card, now).level) for card in cards}


SORTS: tuple[tuple[str, str], ...] = (
    ("wait", "longest wait"),
    ("ready", "longest since discharge-ready"),
    ("stuck", "most stuck"),
    ("name", "name"),
)


@dataclass(frozen=True, slots=True)
class ColumnStats:
    shown: int
    total: int
    amber: int
    red: int
    oldest: timedelta | None


class BoardModel:
    def __init__(
        self, flow: Flow, assess: Assess, me: str, calendar: HubCalendar | None = None
    ) -> None:
        self.flow = flow
        self.calendar = calendar or HubCalendar()
        self.columns: tuple[Column, ...] = flow.open_columns
        self._assess = assess
        self.me = me
        self.now = datetime.min
        self.cards: dict[str, Card] = {}
        self.levels: dict[str, Level] = {}
        self.members: dict[str, dict[str, Card]] = {column.id: {} for column in self.columns}
        self.order: dict[str, list[str]] = {column.id: [] for column in self.columns}
        self._index: dict[str, dict[str, int]] = {column.id: {} for column in self.columns}
        self.filter_text = ""  # as typed
        self.query: Query = EVERYTHING  # the last filter that parsed: what the board applies
        self.filter_error: str | None = None  # why what is typed does not parse, if it does not
        self._column_names = {column.id: column.name for column in flow.columns}
        self.sort = SORTS[0][0]
        # Places open to admissions per pathway (capacity reports), set by the screen; with
        # `awaiting` they give the demand-against-capacity gap the dashboard shows too.
        self.places: dict[str, int] = {}
        self.awaiting: dict[str, int] = {}

    # --- loading and patching ------------------------------------------------------------------

    def load(self, cards: Iterable[Card], now: datetime) -> None:
        self.now = now
        self.cards = {}
        self.levels = {}
        self.members = {column.id: {} for column in self.columns}
        self.awaiting = {}
        for card in cards:
            self._put(card)
        self._reorder(self.members)

    def patch(self, cards: Iterable[Card]) -> set[str]:
        """Apply newer versions of cards; closed ones leave. Returns the columns that changed."""
        touched: set[str] = set()
        for card in cards:
            old = self.cards.get(card.journey_id)
            if old is not None and old.change_position > card.change_position:
                continue  # an older read racing a newer one: keep what we have
            if old is not None:
                self._count_awaiting(old, -1)
                self.members[old.column].pop(card.journey_id, None)
                touched.add(old.column)
                del self.cards[card.journey_id]
            if card.is_open and card.column in self.members:
                self._put(card)
                touched.add(card.column)
        self._reorder(touched)
        return touched

    def retime(self, now: datetime, assessed: Assessed | None = None) -> None:
        """Move the clock on: levels and ages change, the cards do not. `assessed` (from
        `assess_all`, run off the UI thread) gives the levels at `now` of the cards as they
        were; a card patched since is assessed again here."""
        self.now = now
        for journey_id, card in self.cards.items():
            known = assessed.get(journey_id) if assessed is not None else None
            if known is not None and known[0] == card.change_position:
                self.levels[journey_id] = known[1]
            else:
                self.levels[journey_id] = self._assess(card, now).level
        self._reorder(self.members)

    def _put(self, card: Card) -> None:
        journey_id = card.journey_id
        self.cards[journey_id] = card
        self.members[card.column][journey_id] = card
        self.levels[journey_id] = self._assess(card, self.now).level
        self._count_awaiting(card, 1)

    def _count_awaiting(self, card: Card, step: int) -> None:
        # As the capacity desk counts it: in hospital, with a pathway proposed or decided.
        if card.pathway and self.flow.column(card.column).in_hospital:
            self.awaiting[card.pathway] = self.awaiting.get(card.pathway, 0) + step

    def gap(self, pathway: str | None) -> int | None:
        """Places open minus people awaiting; None where no service reports for the pathway."""
        if pathway is None or pathway not in self.places:
            return None
        return self.places[pathway] - self.awaiting.get(pathway, 0)

    # --- filter and sort -----------------------------------------------------------------------

    def set_filter(self, text: str) -> str | None:
        """Filter by `text` (the filter language); on a term that does not parse, keep the last
        good filter and return why, so typing `provider:"Re` does not empty the board."""
        self.filter_text = text
        try:
            query = parse(text)
            # A delay code or column the hub does not know says so, as on the command line.
            check_values(query, self._column_names or {})
        except InvalidInput as error:
            self.filter_error = str(error)
            return self.filter_error
        self.filter_error = None
        self.query = query
        self._reorder(self.members)
        return None

    def shown_count(self) -> int:
        return sum(len(order) for order in self.order.values())

    def cycle_sort(self) -> str:
        keys = [key for key, _ in SORTS]
        self.sort = keys[(keys.index(self.sort) + 1) % len(keys)]
        self._reorder(self.members)
        return dict(SORTS)[self.sort]

    def context(self) -> Context:
        return Context(self.now, self.calendar, self.me, self._column_names)

    def matches(self, journey_id: str, context: Context | None = None) -> bool:
        if not self.query:
            return True
        return self.query.matches(
            self.cards[journey_id], self.levels[journey_id], context or self.context()
        )

    def _sort_key(self) -> Callable[[Card], tuple[object, ...]]:
        levels = self.levels
        far = datetime.max.date()
        if self.sort == "ready":
            return lambda c: (c.discharge_ready_date or far, c.entered_column_at, c.journey_id)
        if self.sort == "stuck":
            return lambda c: (-levels[c.journey_id], c.entered_column_at, c.journey_id)
        if self.sort == "name":
            return lambda c: (c.name.lower(), c.journey_id)
        return lambda c: (c.entered_column_at, c.journey_id)

    def _reorder(self, column_ids: Iterable[str]) -> None:
        key = self._sort_key()
        context = self.context()
        for column_id in column_ids:
            members: Iterable[Card] = self.members[column_id].values()
            if self.query:
                members = [card for card in members if self.matches(card.journey_id, context)]
            ids = [card.journey_id for card in sorted(members, key=key)]
            self.order[column_id] = ids
            self._index[column_id] = {journey_id: i for i, journey_id in enumerate(ids)}

    # --- questions the screen asks -------------------------------------------------------------

    def index_of(self, column_id: str, journey_id: str | None) -> int | None:
        if journey_id is None:
            return None
        return self._index[column_id].get(journey_id)

    def stats(self, column_id: str) -> ColumnStats:
        shown = self.order[column_id]
        amber = red = 0
        oldest: datetime | None = None
        for journey_id in shown:
            level = self.levels[journey_id]
            if level is Level.RED:
                red += 1
            elif level is Level.AMBER:
                amber += 1
            entered = self.cards[journey_id].entered_column_at
            if oldest is None or entered < oldest:
                oldest = entered
        return ColumnStats(
            shown=len(shown),
            total=len(self.members[column_id]),
            amber=amber,
            red=red,
            oldest=None if oldest is None else self.now - oldest,
        )

    def column_position(self, column_id: str) -> int | None:
        for i, column in enumerate(self.columns):
            if column.id == column_id:
                return i
        return None
