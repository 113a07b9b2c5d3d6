"""A board column: a header with its counts, and a body that draws only the cards in view.

The body is one Line API widget however many cards the column holds: `render_line` turns the
visible lines into strips on demand and caches them, so a column of thousands costs what a
screenful costs. Nothing here reads the database; it draws the `BoardModel` it is given.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from d2a_tui.domain.flow import Column
from d2a_tui.domain.stuck import Level
from d2a_tui.domain.timefmt import humanise
from d2a_tui.domain.views import Card
from d2a_tui.widgets.board_model import BoardModel
from d2a_tui.widgets.card import (
    CARD_HEIGHT,
    CARD_LINES,
    SYMBOLS,
    CardStyles,
    card_line,
    days_since_ready,
    offer_mark,
)
from d2a_tui.widgets.literal import NEWLINE, ContentPart, literal_content


def clock_words(card: Card, sub: int, now: datetime, in_hospital: bool) -> object:
    """What line `sub` of a card says that depends on the time (see `card_line`): the first
    line nothing, the second how long ago the hospital's discharge was, the third the card's
    age, its days since discharge-ready and its offer's wait."""
    if sub == 0:
        return None
    if sub == 1:
        left = card.left_hospital_at
        return humanise(now - left) if in_hospital and left is not None else None
    offer = (
        offer_mark(card.offer, card.offer_service or card.offer.service_id, now)
        if card.offer is not None
        else None
    )
    return (humanise(now - card.entered_column_at), days_since_ready(card, now), offer)


class CardClicked(Message):
    def __init__(self, column_id: str, journey_id: str, open_it: bool) -> None:
        super().__init__()
        self.column_id = column_id
        self.journey_id = journey_id
        self.open_it = open_it


class ColumnHeader(Static):
    DEFAULT_CSS = """
    ColumnHeader { height: 2; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    _shown: Content | None = None

    def show(self, column: Column, model: BoardModel) -> None:
        stats = model.stats(column.id)
        count = f"{stats.shown}/{stats.total}" if stats.shown != stats.total else str(stats.total)
        parts: list[ContentPart] = [
            (column.name, "bold"),
            f" {count}",
            NEWLINE,
            (f"{SYMBOLS[Level.RED]}{stats.red}", "$text-error"),
            " ",
            (f"{SYMBOLS[Level.AMBER]}{stats.amber}", "$text-warning"),
        ]
        if stats.oldest is not None:
            parts += [" ", (f"max {humanise(stats.oldest)}", "dim")]
        lines = 2
        if model.places:
            # Demand against capacity gets its own line on every column, so the cards of all
            # columns still start on the same row; it is there only once a service reports.
            lines = 3
            parts.append(NEWLINE)
            gap = model.gap(column.pathway) if column.in_hospital else None
            if gap is not None:
                tone = "$text-error" if gap < 0 else "$text-success"
                places = model.places[column.pathway or ""]
                parts += [(f"gap {gap:+d}", tone), " ", (f"{places} places", "dim")]
        text = literal_content(*parts)
        if text != self._shown:
            self._shown = text
            if self.styles.height is None or self.styles.height.value != lines:
                self.styles.height = lines  # rare: when the first capacity report arrives
                self.update(text)
            else:
                self.update(text, layout=False)  # a fixed box: no need to lay out the screen


class ColumnBody(ScrollView, can_focus=False):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "column-body--name",
        "column-body--dim",
        "column-body--amber",
        "column-body--red",
        "column-body--cursor",
    }
    DEFAULT_CSS = """
    ColumnBody {
        overflow-x: hidden;
        overflow-y: scroll;  /* always there, so a column filling up never re-lays the screen */
        scrollbar-size-vertical: 1;
        height: 1fr;
        & > .column-body--name { text-style: bold; }
        & > .column-body--dim { text-style: dim; }
        & > .column-body--amber { color: $text-warning; text-style: bold; }
        & > .column-body--red { color: $text-error; text-style: bold; }
        & > .column-body--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
    }
    """

    def __init__(self, column: Column, model: BoardModel, privacy: str) -> None:
        super().__init__()
        self.column = column
        self.model = model
        self.privacy = privacy
        self.cursor: int | None = None
        self._styles: tuple[CardStyles, CardStyles] | None = None
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(2048)

    # --- state the screen changes --------------------------------------------------------------

    def sync(self) -> None:
        """The column's cards changed: resize the scroll area and redraw what is in view."""
        size = Size(0, len(self.model.order[self.column.id]) * CARD_HEIGHT)
        if size != self.virtual_size:
            # Setting virtual_size directly lays out the whole screen (~100 ms on a full board)
            # though nothing outside this column moves: the column's own box is fixed, so only
            # its scrollbar and scroll limits need to follow.
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)
        self.refresh()

    def set_cursor(self, index: int | None) -> None:
        if index == self.cursor:
            return
        previous, self.cursor = self.cursor, index
        for row in (previous, index):
            if row is not None:
                self.refresh(self._card_region(row).translate((0, -int(self.scroll_offset.y))))

    def scroll_to_card(self, index: int) -> None:
        """Bring a card into view, scrolling whole cards so the column never shows half of one."""
        top = index * CARD_HEIGHT
        height = self.scrollable_content_region.height
        y = int(self.scroll_offset.y)
        if top < y or height < CARD_LINES:
            # Before the first layout the view has no height: putting the card at the top is
            # right, where "scroll until its bottom shows" would scroll past it.
            y = top
        elif top + CARD_LINES > y + height:
            y = -(-(top + CARD_HEIGHT - height) // CARD_HEIGHT) * CARD_HEIGHT
        if y != int(self.scroll_offset.y):
            self.scroll_to(y=y, animate=False, immediate=True)

    def _card_region(self, index: int) -> Region:
        return Region(0, index * CARD_HEIGHT, self.size.width, CARD_LINES)

    def card_at_screen_row(self, row: int) -> int:
        """The index of the card drawn at `row` lines below the top of this column's view."""
        return max(int(self.scroll_offset.y + row) // CARD_HEIGHT, 0)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._lines.clear()

    def on_resize(self, event: events.Resize) -> None:
        self._lines.clear()  # cached strips are as wide as the column was

    # --- drawing -------------------------------------------------------------------------------

    def _card_styles(self) -> tuple[CardStyles, CardStyles]:
        if self._styles is None:
            base = self.rich_style
            cursor = base + self.get_component_rich_style("column-body--cursor")

            def styles(ground: Style) -> CardStyles:
                amber = ground + self.get_component_rich_style("column-body--amber", partial=True)
                red = ground + self.get_component_rich_style("column-body--red", partial=True)
                as_ground = Style(reverse=bool(ground.reverse))
                return CardStyles(
                    base=ground,
                    name=ground + self.get_component_rich_style("column-body--name", partial=True),
                    dim=ground + self.get_component_rich_style("column-body--dim", partial=True),
                    amber=amber,
                    red=red,
                    amber_mark=amber + as_ground,
                    red_mark=red + as_ground,
                )

            self._styles = (styles(base), styles(cursor))
        return self._styles

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = int(self.scroll_offset.y) + y
        index, sub = divmod(line, CARD_HEIGHT)
        model = self.model
        order = model.order[self.column.id]
        plain, cursor = self._card_styles()
        if index >= len(order) or sub >= CARD_LINES:
            if line == 0 and not order:
                words = "no match" if model.query else "no journeys"
                return Strip([Segment(f"   {words}".ljust(width), plain.dim)], width)
            return Strip.blank(width, plain.base)
        journey_id = order[index]
        card = model.cards[journey_id]
        level = model.levels[journey_id]
        selected = index == self.cursor
        # The clock shows in a card only as a few words (its age, days since ready, the
        # offer's wait): those are in the key, not the time itself, so a tick of the clock
        # draws again only the lines whose words changed, not every line in view.
        clock = clock_words(card, sub, model.now, self.column.in_hospital)
        key = (journey_id, card.change_position, sub, width, level, selected, clock)
        strip = self._lines.get(key)
        if strip is None:
            segments = card_line(
                card,
                sub,
                level,
                model.now,
                width,
                cursor if selected else plain,
                self.privacy,
                self.column.in_hospital,
            )
            strip = Strip(segments, width)
            self._lines[key] = strip
        return strip

    def on_click(self, event: events.Click) -> None:
        index, sub = divmod(int(self.scroll_offset.y) + event.y, CARD_HEIGHT)
        order = self.model.order[self.column.id]
        if index < len(order) and sub < CARD_LINES:
            self.post_message(CardClicked(self.column.id, order[index], event.chain >= 2))


class BoardColumn(Vertical):
    """One flow column on the board: header and body, sized by the board's CSS."""

    DEFAULT_CSS = """
    BoardColumn { width: 26; height: 1fr; border-right: vkey $foreground 20%; }
    BoardColumn.-active > ColumnHeader { background: $primary; color: $text; }
    """

    def __init__(self, column: Column, model: BoardModel, privacy: str) -> None:
        super().__init__(id=f"column-{column.id}")
        self.column = column
        self.model = model
        self.header = ColumnHeader()
        self.body = ColumnBody(column, model, privacy)

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.body

    def sync(self) -> None:
        self.header.show(self.column, self.model)
        self.body.sync()
