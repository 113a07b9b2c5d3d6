"""The conflicts screen (`C` from the board): changes made here that the server could not apply
because someone else changed the journey first, and the decision on each.

`m` re-applies mine on the journey as it is now, `t` keeps theirs; either way a new mutation goes
to the server, so the decision is in the audit trail beside the conflict. After a long time
offline there may be hundreds, listed grouped by journey: `T` keeps theirs for every conflict of
the selected journey, `K` for every one of the selected change's kind, `X` for all of them (each
pressed twice: the first press says how many). A re-apply the rules
refuse now (the flow forbids the move from where the journey has since gone) leaves the conflict
listed and says why. `a` shows the resolved ones too; Enter opens the journey.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from d2a_tui.domain.errors import D2AError
from d2a_tui.widgets.card import who
from d2a_tui.widgets.literal import NEWLINE_TEXT, literal
from d2a_tui.widgets.sync_status import SyncStatusBar, is_replica

if TYPE_CHECKING:
    from d2a_tui.screens.base import HostApp
    from d2a_tui.services.hub import Hub

RESOLUTION_WORDS = {
    "mine": "✓ re-applied mine",
    "theirs": "✓ kept theirs",
    "dismissed": "✓ dismissed",
}


class ConflictsScreen(Screen[None]):
    app: HostApp

    DEFAULT_CSS = """
    ConflictsScreen { layout: vertical; }
    ConflictsScreen #conflicts-title { height: 1; padding: 0 1; text-style: bold; }
    ConflictsScreen #conflicts { height: 1fr; }
    ConflictsScreen #conflict-detail { height: auto; max-height: 6; padding: 0 1; }
    ConflictsScreen #conflicts-statusbar { height: 1; }
    ConflictsScreen #conflicts-hint { width: 1fr; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="conflicts.back"),
        Binding("m", "resolve('mine')", "Re-apply mine", id="conflicts.mine"),
        Binding("t", "resolve('theirs')", "Keep theirs", id="conflicts.theirs"),
        # Priority: the list's own Enter would otherwise take the key and hide it from the footer.
        Binding("enter", "open", "Journey", id="conflicts.open", priority=True),
        Binding(
            "T", "bulk('journey')", "Theirs: journey", show=False, id="conflicts.theirs_journey"
        ),
        Binding("K", "bulk('kind')", "Theirs: kind", show=False, id="conflicts.theirs_kind"),
        Binding("X", "bulk('all')", "Theirs: all", show=False, id="conflicts.theirs_all"),
        # (the bulk keys are named in the title: the footer has no room for them at 120 columns)
        Binding("a", "toggle_resolved", "Resolved too", id="conflicts.resolved"),
        Binding("S", "sync", "Sync now", id="conflicts.sync"),
        Binding("r", "reload", "Refresh", show=False, id="conflicts.refresh"),
    ]

    def __init__(self, hub: Hub) -> None:
        super().__init__(id="conflicts-screen")
        self.hub = hub
        self.show_resolved = False
        self.views: list[Any] = []
        # A bulk decision waiting for its second press: (which, journey, kind, how many).
        self.armed: tuple[str, str | None, str | None, int] | None = None

    def compose(self) -> ComposeResult:
        yield Static("Conflicts", id="conflicts-title")
        yield OptionList(id="conflicts")
        yield Static("", id="conflict-detail")
        with Horizontal(id="conflicts-statusbar"):
            yield Static("", id="conflicts-hint")
            if is_replica(self.hub):
                yield SyncStatusBar(self.hub, id="sync-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#conflicts", OptionList).focus()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.reload()  # back from the journey: the journey may have moved since

    # --- what is listed ------------------------------------------------------------------------

    def _who(self, journey_id: str | None) -> str | None:
        if not journey_id:
            return None
        try:
            card = self.hub.card(journey_id)  # the card alone, not the whole timeline
        except D2AError:
            return None  # e.g. a referral the server refused: the journey never existed there
        return who(card, getattr(self.app, "privacy", "names"))

    def _words(self, view: Any) -> str:
        return str(self.hub.replica_sync().describe_conflict(view, who=self._who(view.journey_id)))

    def reload(self) -> None:
        options = self.query_one("#conflicts", OptionList)
        title = self.query_one("#conflicts-title", Static)
        if not is_replica(self.hub):
            self.views = []
            options.clear_options()
            title.update(literal("Conflicts"))
            self.query_one("#conflict-detail", Static).update(
                literal(
                    "This machine writes straight to the shared database, so its changes never "
                    "conflict later: a clash is refused at once, when it is made."
                )
            )
            return
        selected = self._selected()
        keep = selected.mutation_id if selected is not None else None
        self.views = list(self.hub.replica_sync().conflicts(include_resolved=self.show_resolved))
        options.clear_options()
        for view in self.views:
            line = Text()
            if view.resolved_at is not None:
                mark = RESOLUTION_WORDS.get(view.resolution or "", "✓ resolved")
                line.append(f"{mark}  ", style="dim")
            elif view.outcome == "rejected":
                line.append("✗ rejected  ", style="bold")
            else:
                line.append("⚠ ", style="bold")
            line.append_text(literal(self._words(view)))
            options.add_option(Option(line, id=view.mutation_id))
        open_count = sum(1 for view in self.views if view.resolved_at is None)
        journeys = len({view.journey_id for view in self.views if view.resolved_at is None})
        if not self.show_resolved:
            title.update(
                literal(
                    f"Conflicts: {open_count} to decide on {journeys} "
                    f"{'journey' if journeys == 1 else 'journeys'} "
                    "(T/K/X: keep theirs for the journey/kind/all · a: show resolved too)"
                )
            )
        else:
            title.update(
                literal(
                    f"Conflicts: {open_count} to decide, {len(self.views) - open_count} resolved "
                    "(a: hide resolved)"
                )
            )
        if self.views:
            ids = [view.mutation_id for view in self.views]
            options.highlighted = ids.index(keep) if keep in ids else 0
        self._show_detail()

    def _selected(self) -> Any | None:
        if not self.is_mounted or not self.views:
            return None
        index = self.query_one("#conflicts", OptionList).highlighted
        if index is None:
            return None
        return self.views[min(index, len(self.views) - 1)]

    def _show_detail(self) -> None:
        detail = self.query_one("#conflict-detail", Static)
        view = self._selected()
        if view is None:
            detail.update(literal("Nothing to decide: every change made here reached the server."))
            return
        if view.resolved_at is not None:
            when = view.resolved_at.astimezone().strftime("%d %b %H:%M")
            detail.update(
                literal(f"Decided {when}: {RESOLUTION_WORDS.get(view.resolution or '', '')}")
            )
            return
        if view.outcome == "conflict":
            detail.update(
                literal(
                    "m: make your change again on the journey as it is now · "
                    "t: leave it as the other person left it"
                )
            )
        else:
            detail.update(
                literal(
                    f"Rejected by the server ({view.reason}): {view.message or view.reason}",
                    NEWLINE_TEXT,
                    f"The change was: {self.hub.replica_sync().what_it_was(view)}",
                    NEWLINE_TEXT,
                    "t dismisses it; it cannot be re-applied (the rest of your changes went through)",
                )
            )

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_detail()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_open()

    def on_sync_status_bar_conflicts_changed(self, event: SyncStatusBar.ConflictsChanged) -> None:
        self.reload()  # a sync brought new conflicts in, or another screen decided one

    # --- decisions -----------------------------------------------------------------------------

    def action_resolve(self, keep: str) -> None:
        view = self._selected()
        if view is None:
            return
        if view.resolved_at is not None:
            self.notify("That one is decided already", timeout=3)
            return
        try:
            change = self.hub.replica_sync().resolve_conflict(view.mutation_id, keep)
        except D2AError as error:
            self.notify(
                f"{error}. The conflict stays listed: keep theirs to close it.",
                title="Not re-applied" if keep == "mine" else "Not done",
                severity="warning",
                timeout=8,
            )
            return
        if change is not None:
            self.app.apply_cards([change.card])
            self.notify("Your change is made again; it goes to the server next sync", timeout=4)
        else:
            self.notify("Kept theirs; your decision goes to the server next sync", timeout=4)
        self.reload()
        for bar in self.query(SyncStatusBar):
            bar.read(chained=False)

    def action_bulk(self, which: str) -> None:
        """Keep theirs for many at once; the first press says how many, the second does it."""
        if not is_replica(self.hub):
            return
        view = self._selected()
        if which != "all" and (view is None or view.resolved_at is not None):
            self.notify("Select an undecided conflict first", timeout=3)
            return
        journey = view.journey_id if which == "journey" and view is not None else None
        kind = view.command if which == "kind" and view is not None else None
        count = len(self.hub.replica_sync().to_decide(journey, kind))
        if not count:
            self.notify("Nothing to decide", timeout=3)
            return
        if self.armed != (which, journey, kind, count):
            self.armed = (which, journey, kind, count)
            what = {"journey": "this journey's", "kind": f"every {kind}", "all": "every"}[which]
            key = {"journey": "T", "kind": "K", "all": "X"}[which]
            self.notify(
                f"Press {key} again to keep theirs for {what} conflict ({count})",
                title="Keep theirs in bulk?",
                timeout=6,
            )
            return
        self.armed = None
        try:
            decided = self.hub.replica_sync().keep_theirs_for(journey, kind)
        except D2AError as error:
            self.notify(str(error), title="Not done", severity="warning", timeout=8)
            return
        self.notify(
            f"Kept theirs for {decided}; the decisions go to the server next sync", timeout=4
        )
        self.reload()
        for bar in self.query(SyncStatusBar):
            bar.read(chained=False)

    def action_open(self) -> None:
        view = self._selected()
        if view is None or not view.journey_id:
            return
        from d2a_tui.screens.journey import JourneyScreen

        try:
            self.hub.journey(view.journey_id)
        except D2AError:
            self.notify("That journey is not on this machine", severity="warning", timeout=4)
            return
        self.app.push_screen(JourneyScreen(view.journey_id))

    def action_toggle_resolved(self) -> None:
        self.show_resolved = not self.show_resolved
        self.reload()

    def action_sync(self) -> None:
        bars = self.query(SyncStatusBar)
        if not bars:
            self.notify("Not a replica: nothing to sync", timeout=3)
            return
        bars.first().sync_now(after=self.reload)

    def action_reload(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.dismiss()
