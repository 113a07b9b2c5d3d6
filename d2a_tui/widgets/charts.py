"""Charts drawn in plain terminal cells: stacked day bars, day lines and labelled bars.

Every chart takes the keyboard: ←/→ (or ↑/↓ on a bar chart) move a cursor and the line under the
chart gives the exact numbers at the cursor, so nobody has to read a value off a bar. They draw
with block characters and the theme's colours, so they work in 16 colours and over SSH.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from rich.cells import set_cell_size
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from d2a_tui.domain.display import shown

# One colour per series, from the 16 ANSI colours so that `ansi-dark` and friends keep them.
SERIES_STYLES = ("cyan", "green", "yellow", "magenta", "blue", "red", "bright_black")
SPARKS = "▁▂▃▄▅▆▇█"
# And one glyph per series, so the series read apart without colour (NO_COLOR, a vt100, a
# colour-blind reader): a fill for stacked columns, a mark for lines. The legend shows them.
STACK_GLYPHS = ("█", "▒", "▓", "░", "▚", "▞", "#")
LINE_GLYPHS = ("•", "○", "×", "+", "◆", "▲", "*")


def spark(values: Sequence[float | None]) -> str:
    """A one-line sparkline; a missing value is a gap."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = (high - low) or 1
    return "".join(
        " " if v is None else SPARKS[min(int((v - low) / span * (len(SPARKS) - 1)), 7)]
        for v in values
    )


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]


class TimeChart(Widget, can_focus=True):
    """Series over days: `stacked` columns (counts that add up) or `lines` (levels)."""

    DEFAULT_CSS = """
    TimeChart { height: 12; padding: 0 1; }
    TimeChart:focus { background: $boost; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "move(-1)", "Earlier", show=False),
        Binding("right,l", "move(1)", "Later", show=False),
        Binding("home", "move(-100000)", "First", show=False),
        Binding("end", "move(100000)", "Last", show=False),
    ]
    cursor: reactive[int] = reactive(-1)

    def __init__(
        self,
        title: str,
        *,
        mode: str = "stacked",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.title = title
        self.mode = mode
        self.days: tuple[date, ...] = ()
        self.series: tuple[Series, ...] = ()

    def set_data(self, days: Sequence[date], series: Sequence[Series]) -> None:
        self.days, self.series = tuple(days), tuple(series)
        self.cursor = len(self.days) - 1
        self.refresh()

    def action_move(self, step: int) -> None:
        if self.days:
            self.cursor = max(0, min(len(self.days) - 1, self.cursor + step))

    def values_at(self, index: int) -> dict[str, float]:
        return {s.name: s.values[index] for s in self.series}

    def describe(self, index: int | None = None) -> str:
        """The exact numbers at a day: what the status line shows and what a screen reader gets."""
        if not self.days:
            return "no data"
        index = self.cursor if index is None else index
        parts = [f"{name} {_num(value)}" for name, value in self.values_at(index).items()]
        total = sum(self.values_at(index).values())
        return f"{self.days[index]:%a %d %b}: " + " · ".join(parts) + f" · total {_num(total)}"

    def _columns(self, width: int) -> list[tuple[int, int]]:
        """Which day indexes each screen column shows: one day each, or buckets when they do not fit."""
        n = len(self.days)
        per = max(1, -(-n // max(width, 1)))
        return [(start, min(start + per, n)) for start in range(0, n, per)]

    def render(self) -> Text:
        width = max(self.size.width - 8, 4)
        height = max(self.size.height - 3, 3)
        text = Text(shown(self.title), style="bold")
        if not self.days or not self.series:
            return text + Text("\nno data yet")
        columns = self._columns(width)

        def value(series: Series, span: tuple[int, int]) -> float:
            chunk = series.values[span[0] : span[1]]
            # Counts add up over a bucket; a level is its average.
            return sum(chunk) if self.mode == "stacked" else sum(chunk) / len(chunk)

        grid = [[value(s, span) for span in columns] for s in self.series]
        if self.mode == "stacked":
            peak = max((sum(col) for col in zip(*grid, strict=True)), default=0)
        else:
            peak = max((max(row) for row in grid), default=0)
        # Each row stands for a round amount (1, 2 or 5 times a power of ten), so the scale
        # reads 20, 40, 60… rather than 16.1, 32.2…; with fewer people than rows, the top is a
        # round number and only the rows at whole numbers are labelled.
        top = _round_step(peak / height) * height if peak > height else _round_step(peak)
        cursor_col = next(
            (i for i, (a, b) in enumerate(columns) if a <= self.cursor < b), len(columns) - 1
        )
        rows: list[Text] = []
        for level in range(height, 0, -1):
            amount = top * level / height
            label = _num(amount) if float(amount).is_integer() else ""
            line = Text(f"{label:>6} ", style="dim")
            for col in range(len(columns)):
                char, style = " ", ""
                if self.mode == "stacked":
                    floor = 0.0
                    for index, series_values in enumerate(grid):
                        ceiling = floor + series_values[col] / top * height
                        if floor < level - 0.5 < ceiling:
                            char, style = _glyph(STACK_GLYPHS, index), _style(index)
                        floor = ceiling
                else:
                    for index, series_values in enumerate(grid):
                        if round(series_values[col] / top * (height - 1)) + 1 == level:
                            char, style = _glyph(LINE_GLYPHS, index), _style(index)
                if col == cursor_col and self.has_focus:
                    style = f"{style} reverse".strip()
                    char = char if char != " " else "│"
                line.append(char, style=style)
            rows.append(line)
        axis = Text(" " * 7)
        first, last = self.days[0], self.days[-1]
        label = f"{first:%d %b}"
        end = f"{last:%d %b}"
        axis.append(label + " " * max(len(columns) - len(label) - len(end), 1) + end, style="dim")
        legend = Text(" " * 7)
        glyphs = STACK_GLYPHS if self.mode == "stacked" else LINE_GLYPHS
        for index, series in enumerate(self.series):
            legend.append(_glyph(glyphs, index) * 2, style=_style(index))
            legend.append(" " + shown(series.name) + "  ")
        status = Text(" " * 7 + shown(self.describe()), style="bold" if self.has_focus else "")
        return Text("\n").join([text, *rows, axis, legend, status])

    def watch_cursor(self) -> None:
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    detail: str = ""  # shown at the cursor, e.g. "84.8% of discharges (plan ≥ 50%)"
    style: str = "cyan"


class BarChart(Widget, can_focus=True):
    """Labelled horizontal bars with their numbers; ↑/↓ pick a bar and show its detail."""

    DEFAULT_CSS = """
    BarChart { height: auto; padding: 0 1; }
    BarChart:focus { background: $boost; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
    ]
    cursor: reactive[int] = reactive(0)

    def __init__(self, title: str, *, label_width: int = 24, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.label_width = label_width
        self.bars: tuple[Bar, ...] = ()

    def set_data(self, bars: Sequence[Bar]) -> None:
        self.bars = tuple(bars)
        self.cursor = min(self.cursor, max(len(self.bars) - 1, 0))
        self.refresh(layout=True)

    def action_move(self, step: int) -> None:
        if self.bars:
            self.cursor = max(0, min(len(self.bars) - 1, self.cursor + step))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.bars) + 2 if self.bars else 2

    def render(self) -> Text:
        text = Text(shown(self.title), style="bold")
        if not self.bars:
            return text + Text("\nno data yet")
        top = max((bar.value for bar in self.bars), default=0) or 1
        room = max(self.size.width - self.label_width - 12, 4)
        for index, bar in enumerate(self.bars):
            label = set_cell_size(shown(bar.label), self.label_width)
            eighths = round(bar.value / top * room * 8)
            full, part = divmod(eighths, 8)
            line = Text("\n")
            selected = index == self.cursor and self.has_focus
            line.append(label + " ", style="reverse" if selected else "")
            line.append("█" * full + (" ▏▎▍▌▋▊▉"[part] if part else ""), style=bar.style)
            line.append(f" {_num(bar.value)}")
            text.append_text(line)
        current = self.bars[self.cursor]
        detail = current.detail or f"{current.label}: {_num(current.value)}"
        text.append("\n" + shown(detail), style="bold" if self.has_focus else "dim")
        return text

    def watch_cursor(self) -> None:
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


def _glyph(glyphs: tuple[str, ...], index: int) -> str:
    return glyphs[index % len(glyphs)]


def _style(index: int) -> str:
    return SERIES_STYLES[index % len(SERIES_STYLES)]


def _round_step(raw: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that is at least `raw` (and at least 1:
    the charts count people)."""
    if raw <= 1:
        return 1
    power = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if power < 10 else (1, 2, 2.5, 5, 10)  # 2.5 only where it is whole
    return next(m * power for m in steps if m * power >= raw)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
