"""The board's filter, saved views and export, as a mixin of the board screen.

`/` types a filter in the filter language (d2a_tui.domain.query); the header says what is
applied and how many journeys it leaves, or why what is typed does not parse (the board keeps
the last filter that did). `v` steps through the views saved with `d2a view save`, `esc`
clears, and `e` writes exactly what the board shows to a file (text, Markdown or HTML).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from d2a_tui.config import data_dir, saved_views
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.query import HELP, hint
from d2a_tui.services import printing as board_print
from d2a_tui.widgets.literal import literal

if TYPE_CHECKING:
    from d2a_tui.screens.base import HostApp, HubScreen
    from d2a_tui.widgets.board_column import BoardColumn
    from d2a_tui.widgets.board_model import BoardModel

    _BoardBase = HubScreen[None]  # to a type checker, the mixin is the screen it is mixed into
else:
    _BoardBase = object

FILTER_HELP = f"filter: {HELP}"

FILTER_BINDINGS: list[BindingType] = [
    Binding("slash", "filter", "Filter", id="board.filter"),
    Binding("escape", "clear_filter", "Clear filter", show=False, id="board.clear_filter"),
    Binding("v", "next_view", "Next saved view", show=False, id="board.next_view"),
    Binding("e", "export", "Export", show=False, id="board.export"),
]


class BoardFilter(_BoardBase):
    """Needs the board's `model`, `columns`, selection helpers and `app` (see BoardScreen)."""

    app: HostApp
    model: BoardModel | None
    columns: list[BoardColumn]
    selected: str | None
    active: int
    view_name: str | None = None  # the saved view applied, while the filter is still its own
    view_text = ""
    BINDINGS: ClassVar[list[BindingType]]

    if TYPE_CHECKING:  # BoardScreen's selection helpers

        def select(
            self, column_index: int, journey_id: str | None, *, scroll: bool = True
        ) -> None: ...
        def follow(self, journey_id: str, *, scroll: bool = True) -> None: ...
        def _index(self) -> int | None: ...
        def _reselect_near(self, index: int | None) -> None: ...
        def refresh_why(self) -> None: ...

    # --- typing a filter -----------------------------------------------------------------------

    def action_filter(self) -> None:
        search = self.query_one("#filter", Input)
        search.display = True
        # At once, not after what is queued (as `focus()` would): the keys typed after `/` are
        # the filter's.
        self.set_focus(search)

    _filter_pending: str | None = None

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "filter" or self.model is None:
            return
        # Filtering the whole board and drawing every column again is the dear part of a key;
        # typed in a burst, only the last text is applied: once the changes already queued
        # behind this one have been read.
        if self._filter_pending is None:
            self.call_later(self._apply_pending_filter)
        self._filter_pending = event.value

    def _apply_pending_filter(self) -> None:
        text, self._filter_pending = self._filter_pending, None
        if text is not None and self.model is not None and text != self.model.filter_text:
            self.apply_filter(text)

    def apply_filter(self, text: str) -> None:
        assert self.model is not None
        if self.view_name is not None and self.view_text != text:
            self.view_name = None  # edited: no longer the saved view
        index = self._index()
        self.model.set_filter(text)
        for column in self.columns:
            column.sync()
        active_id = self.columns[self.active].column.id
        if self.selected is not None and self.model.index_of(active_id, self.selected) is not None:
            self.select(self.active, self.selected)
        else:
            self._reselect_near(index)
        self.refresh_why()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            event.stop()
            self._apply_pending_filter()  # what was typed before Enter, before the board's keys
            self.set_focus(None)
            event.input.display = False  # the header says what is applied
            self.refresh_filter_bar()

    def on_key(self, event: events.Key) -> None:
        search = self.query_one("#filter", Input)
        if event.key == "escape" and search.has_focus:
            event.stop()
            self.action_clear_filter()

    def action_clear_filter(self) -> None:
        search = self.query_one("#filter", Input)
        self.view_name = None
        self._filter_pending = None
        with search.prevent(Input.Changed):
            search.value = ""
        search.display = False
        self.set_focus(None)
        if self.model is not None and self.model.filter_text:
            self.apply_filter("")
            if self.selected is not None:
                self.follow(self.selected)
        self.refresh_filter_bar()

    # --- the header ----------------------------------------------------------------------------

    def refresh_filter_bar(self) -> None:
        model = self.model
        if model is None or not self.columns:
            return
        bar = self.query_one("#filter-bar", Static)
        bar.display = bool(model.filter_text.strip())
        if not bar.display:
            return
        applied = str(model.query) or "nothing"
        label = f"View {self.view_name}" if self.view_name else "Filter"
        text = f"{label}: {applied} — {model.shown_count()} of {len(model.cards)} · esc clears"
        nudge = hint(model.query)
        if nudge:
            text += f" · {nudge}"
        if model.filter_error:
            text = f"⚠ {model.filter_error} · still showing {label.lower()}: {applied}"
        bar.set_class(model.filter_error is not None, "-error")
        bar.update(literal(text))

    # --- saved views ---------------------------------------------------------------------------

    def action_next_view(self) -> None:
        try:
            views = saved_views()
        except D2AError as error:
            self.app.notify(str(error), severity="error")
            return
        if not views:
            self.app.notify(
                "No saved views yet: d2a view save NAME 'red ready>1d' keeps one", timeout=5
            )
            return
        names = list(views)
        position = names.index(self.view_name) + 1 if self.view_name in views else 0
        if position >= len(names):  # after the last view, the whole board again
            self.action_clear_filter()
            self.app.notify("All open journeys", timeout=2)
            return
        name = names[position]
        search = self.query_one("#filter", Input)
        with search.prevent(Input.Changed):
            search.value = views[name]
        self.view_name, self.view_text = name, views[name]
        self.apply_filter(views[name])
        if self.model is not None and self.model.filter_error:
            self.app.notify(f"View {name}: {self.model.filter_error}", severity="error")

    # --- export --------------------------------------------------------------------------------

    def action_export(self) -> None:
        from d2a_tui.screens.pickers import TextPrompt

        if self.model is None:
            return
        stamp = self.app.hub.now().astimezone(self.app.hub.calendar.zone)
        default = data_dir() / "exports" / f"board-{stamp:%Y-%m-%d-%H%M}.txt"
        web = self.app.is_web

        def check(value: str) -> str | None:
            return None if value.strip() else "give a file name"

        # In a browser the file is the browser's download, never a path on the server's disk:
        # the person at the browser names the file, not where the server writes.
        self.app.push_screen(
            TextPrompt(
                "Download what the board shows as" if web else "Export what the board shows to",
                value=default.name if web else str(default),
                hint=".txt text (80 columns) · .md Markdown · .html a page · enter "
                + ("download" if web else "export")
                + " · esc cancel",
                check=check,
            ),
            self._export_to,
        )

    def _export_to(self, answer: str | None) -> None:
        model = self.model
        if answer is None or model is None:
            return
        path = Path(answer.strip()).expanduser()
        hub = self.app.hub
        exports = data_dir() / "exports"
        if path.parent == exports:  # d2a's own folder, offered by default: made when needed
            exports.mkdir(parents=True, exist_ok=True, mode=0o700)
        printed = board_print.build(
            (
                (column, [model.cards[j] for j in model.order[column.id]])
                for column in model.columns
            ),
            hub.stuck,
            model.now if model.now != datetime.min else hub.now(),
            hub.calendar,
            total_open=len(model.cards),
            filter_text=str(model.query),
            privacy=self.app.settings.privacy,
        )
        content = board_print.render(printed, board_print.format_for(path))
        if self.app.is_web:
            import io

            name = path.name or "board.txt"
            self.app.deliver_text(io.StringIO(content), save_filename=name)
            self.app.notify(f"{printed.shown} journeys: your browser downloads {name}", timeout=8)
            return
        try:
            written = board_print.write_private(path, content)
        except D2AError as error:
            self.app.notify(f"Could not write {path}: {error}", severity="error")
            return
        self.app.notify(f"Exported {printed.shown} journeys to {written}", timeout=8)
