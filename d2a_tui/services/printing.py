"""The board on paper and in other tools: plain text that fits 80 columns and pages, Markdown,
and one self-contained HTML file for the bed meeting's screen.

The same `PrintedBoard` feeds all three, so they cannot disagree: `d2a board --print` builds it
from the open journeys and a filter, the board's `e` key from exactly what the board shows.
A person is named as the board names them (initials with `privacy = "initials"`), with the last
four digits of the NHS number, as on a card.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from rich.cells import cell_len, set_cell_size

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.cells import markdown_text
from d2a_tui.domain.display import shown, terminal_text
from d2a_tui.domain.flow import Column
from d2a_tui.domain.query import Context, check_values, parse
from d2a_tui.domain.stuck import Level, Stuck
from d2a_tui.domain.timefmt import humanise
from d2a_tui.domain.views import Card
from d2a_tui.storage.context import HubContext


class BoardHub(HubContext, Protocol):
    """What printing the board needs of the Hub: its open cards and how stuck each is."""

    def now(self) -> datetime: ...
    def board(self) -> list[Card]: ...
    def stuck(self, card: Card, now: datetime | None = None) -> Stuck: ...


FORMATS = ("text", "markdown", "html")
SUFFIXES = {"text": ".txt", "markdown": ".md", "html": ".html"}
SYMBOLS = {Level.OK: "○", Level.AMBER: "▲", Level.RED: "■"}
PAGE_WIDTH = 80
PAGE_LINES = 60  # an A4 page in 10-point monospace, with room for the printer's margins


@dataclass(frozen=True, slots=True)
class PrintRow:
    level: Level
    name: str
    nhs_tail: str
    ward_bed: str
    pathway: str
    delay: str
    in_column: str
    ready: str  # "+4d" days since discharge-ready, or ""
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PrintColumn:
    name: str
    rows: tuple[PrintRow, ...]

    def count(self, level: Level) -> int:
        return sum(1 for row in self.rows if row.level is level)

    @property
    def heading(self) -> str:
        counts = [f"{len(self.rows)}"]
        for level in (Level.RED, Level.AMBER):
            if self.count(level):
                counts.append(f"{self.count(level)} {level.label}")
        return f"{self.name} ({', '.join(counts)})"


@dataclass(frozen=True, slots=True)
class PrintedBoard:
    title: str
    generated: str  # when, in the hub's time zone
    filter_text: str
    total_open: int
    columns: tuple[PrintColumn, ...]

    @property
    def shown(self) -> int:
        return sum(len(column.rows) for column in self.columns)

    @property
    def empty(self) -> str:
        """One line for the columns with nobody in them, instead of a heading each."""
        names = [column.name for column in self.columns if not column.rows]
        return f"No journeys in {', '.join(names)}." if names else ""

    @property
    def summary(self) -> str:
        if self.filter_text:
            return f"filter: {self.filter_text} · {self.shown} of {self.total_open} open journeys"
        return f"{self.total_open} open journeys"


def build(
    groups: Iterable[tuple[Column, Sequence[Card]]],
    assess: Callable[[Card, datetime], Stuck],
    now: datetime,
    calendar: HubCalendar,
    *,
    total_open: int,
    filter_text: str = "",
    privacy: str = "names",
    title: str = "d2a board",
) -> PrintedBoard:
    """The board to print from columns of cards, each already in the order to print them."""
    columns = []
    for column, cards in groups:
        rows = []
        for card in cards:
            stuck = assess(card, now)
            ready = card.discharge_ready_date
            rows.append(
                PrintRow(
                    level=stuck.level,
                    # Shown before the layout, so the columns line up whatever a value holds.
                    name=shown(card.initials if privacy == "initials" else card.name),
                    nhs_tail=card.nhs_number[-4:],
                    ward_bed=shown("/".join(part for part in (card.ward, card.bed) if part)),
                    pathway=card.pathway or "",
                    delay=card.delay_reason or "",
                    in_column=humanise(now - card.entered_column_at),
                    ready="" if ready is None else f"+{calendar.days_since(ready, now)}d",
                    reasons=stuck.reasons,
                )
            )
        columns.append(PrintColumn(column.name, tuple(rows)))
    generated = now.astimezone(calendar.zone).strftime("%d %b %Y %H:%M")
    return PrintedBoard(
        title, f"{generated} ({calendar.timezone})", filter_text, total_open, tuple(columns)
    )


def from_hub(hub: BoardHub, where: str = "", *, privacy: str = "names") -> PrintedBoard:
    """The open journeys matching `where` (the filter language), longest wait first in each
    column, as `d2a board --print` prints them."""
    now = hub.now()
    query = parse(where)
    flow = hub.flow
    context = Context(now, hub.calendar, hub.actor.user, {c.id: c.name for c in flow.columns})
    check_values(query, context.column_names or {})
    by_column: dict[str, list[Card]] = {column.id: [] for column in flow.open_columns}
    cards = hub.board()
    for card in cards:
        if card.column in by_column and query.matches(card, hub.stuck(card, now).level, context):
            by_column[card.column].append(card)
    groups = [
        (column, sorted(by_column[column.id], key=lambda c: (c.entered_column_at, c.journey_id)))
        for column in flow.open_columns
    ]
    return build(
        groups,
        hub.stuck,
        now,
        hub.calendar,
        total_open=len(cards),
        filter_text=str(query),
        privacy=privacy,
    )


def render(board: PrintedBoard, form: str) -> str:
    """The board in `form`; whatever a card holds is shown as on the screen (no terminal control,
    no bidirectional override), as a file is read with `cat` or `less` as often as printed."""
    if form == "text":
        return terminal_text(render_text(board))
    if form == "markdown":
        return terminal_text(render_markdown(board))
    if form == "html":
        return terminal_text(render_html(board))
    raise ValueError(f"unknown format {form!r}")


# --- plain text: 80 columns, pages ----------------------------------------------------------------

# (heading, width, right-aligned); the widths and their single spaces add up to 80.
_TEXT_COLUMNS = (
    ("", 1, False),
    ("name", 27, False),
    ("NHS", 4, False),
    ("ward/bed", 16, False),
    ("path", 4, False),
    ("delay", 9, False),
    ("in col", 7, True),
    ("ready", 5, True),
)


def _fit(text: str, width: int, right: bool = False) -> str:
    """`text` in exactly `width` terminal cells (a wide character takes two), cut with …"""
    if cell_len(text) > width:
        text = set_cell_size(text, width - 1) + "…"
    padding = " " * (width - cell_len(text))
    return padding + text if right else text + padding


def _text_line(cells: Sequence[str]) -> str:
    return " ".join(
        _fit(cell, width, right)
        for cell, (_, width, right) in zip(cells, _TEXT_COLUMNS, strict=True)
    ).rstrip()


def render_text(board: PrintedBoard, width: int = PAGE_WIDTH, page_lines: int = PAGE_LINES) -> str:
    """Pages of at most `page_lines` lines, each headed by the title and its number, split by
    form feeds; a column that runs on to the next page repeats its heading, "(continued)"."""
    table_heading = _text_line([heading for heading, _, _ in _TEXT_COLUMNS])
    body: list[tuple[str, str | None]] = []  # (line, the column it belongs to, for run-ons)
    for line in textwrap.wrap(board.empty, width):
        body.append((line, None))
    for column in board.columns:
        if not column.rows:
            continue
        body.append(("", None))
        body.append((_fit(column.heading, width).rstrip(), None))
        body.append((table_heading, column.name))
        for row in column.rows:
            cells = [SYMBOLS[row.level], row.name, row.nhs_tail, row.ward_bed, row.pathway,
                     row.delay, row.in_column, row.ready]  # fmt: skip
            body.append((_text_line(cells), column.name))
    legend = f"{SYMBOLS[Level.OK]} ok  {SYMBOLS[Level.AMBER]} amber  {SYMBOLS[Level.RED]} red"
    key = ["", f"{legend} · ready: days since discharge-ready"]

    head_lines = 3  # title, summary, rule
    # A page's body never passes per_page lines, leaving 2 spare: the key to the symbols goes
    # there on the last page rather than alone on a page of its own.
    per_page = max(page_lines - head_lines - len(key), 5)
    pages: list[list[str]] = []
    current: list[str] = []
    for line, column_name in body:
        if len(current) >= per_page:
            pages.append(current)
            current = []
            if column_name is not None:
                current += [f"{column_name} (continued)", table_heading]
        if not current and not line:
            continue  # no blank line at the top of a page
        current.append(line)
    pages.append(current + key)
    out: list[str] = []
    for number, lines in enumerate(pages, start=1):
        title = f"{board.title} · {board.generated}"
        page = f"page {number} of {len(pages)}"
        header = [
            _fit(title, width - len(page) - 1) + " " + page,
            _fit(board.summary, width).rstrip(),
            "─" * width,
        ]
        out.append("\n".join(header + lines))
    return "\n\f".join(out) + "\n"


# --- Markdown ----------------------------------------------------------------------------------


def _md(text: str) -> str:
    # Every punctuation mark escaped: a name or a note is shown as itself, never as a link, an
    # image fetched from elsewhere, emphasis or raw HTML (domain/cells.py).
    return markdown_text(text)


def render_markdown(board: PrintedBoard) -> str:
    lines = [f"# {_md(board.title)}", "", f"{_md(board.generated)} · {_md(board.summary)}"]
    if board.empty:
        lines += ["", _md(board.empty)]
    for column in board.columns:
        if not column.rows:
            continue
        lines += ["", f"## {_md(column.heading)}", ""]
        lines.append("| | name | NHS | ward/bed | path | delay | in column | ready | why |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for row in column.rows:
            cells = [f"{SYMBOLS[row.level]} {row.level.label}", row.name, row.nhs_tail,
                     row.ward_bed, row.pathway, row.delay, row.in_column, row.ready,
                     "; ".join(row.reasons)]  # fmt: skip
            lines.append("| " + " | ".join(_md(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


# --- HTML --------------------------------------------------------------------------------------

_CSS = """
body { font: 16px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #111; background: #fff; }
h1 { font-size: 1.6rem; margin: 0; } .meta { color: #444; margin: .2rem 0 1rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid #111; margin: 1.5rem 0 .4rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #ccc; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
tr.red td:first-child { background: #b00020; color: #fff; font-weight: bold; }
tr.amber td:first-child { background: #ffb300; color: #000; font-weight: bold; }
.why { color: #444; font-size: .9rem; }
@media print { body { margin: 0; font-size: 11px; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def render_html(board: PrintedBoard) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(board.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(board.title)}</h1>",
        f'<p class="meta">{e(board.generated)} · {e(board.summary)}</p>',
    ]
    if board.empty:
        parts.append(f"<p>{e(board.empty)}</p>")
    for column in board.columns:
        if not column.rows:
            continue
        parts.append(f"<section><h2>{e(column.heading)}</h2>")
        parts.append(
            "<table><thead><tr><th>state</th><th>name</th><th>NHS</th><th>ward/bed</th>"
            "<th>path</th><th>delay</th><th>in column</th><th>ready</th><th>why</th></tr>"
            "</thead><tbody>"
        )
        for row in column.rows:
            parts.append(
                f'<tr class="{row.level.label}"><td>{SYMBOLS[row.level]} {row.level.label}</td>'
                f"<td>{e(row.name)}</td><td>{e(row.nhs_tail)}</td><td>{e(row.ward_bed)}</td>"
                f"<td>{e(row.pathway)}</td><td>{e(row.delay)}</td>"
                f'<td class="num">{e(row.in_column)}</td><td class="num">{e(row.ready)}</td>'
                f'<td class="why">{e("; ".join(row.reasons))}</td></tr>'
            )
        parts.append("</tbody></table></section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# --- files ---------------------------------------------------------------------------------------


def format_for(path: Path) -> str:
    """The format a file name asks for: .md Markdown, .html/.htm HTML, anything else text."""
    suffix = path.suffix.lower()
    if suffix == ".md":
        return "markdown"
    if suffix in (".html", ".htm"):
        return "html"
    return "text"


def write_private(path: Path, content: str) -> Path:
    """Write a file holding patient data readable by its owner only (0600), whatever the umask;
    an existing file is replaced whole, never left half-written, and never through a link."""
    from d2a_tui.storage.files import write_private as write

    return write(path, content)
