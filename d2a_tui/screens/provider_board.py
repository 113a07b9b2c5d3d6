"""The provider board: what `d2a board` opens for a provider user.

A provider sees its services' offers — waiting for its answer (oldest first, with the offer
clock), accepted (by start date, those starting within the week marked) — and its services'
capacity. Keys answer the selected offer: `a` accept (with the start date), `d` decline (with a
coded reason), `n` ask the hub a question; `v` updates a service's vacancies. Every answer is a
journey command through the app's command runner, so a replica queues it for the server, which
judges it again.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.offers import DECLINE_REASONS, offer_level
from d2a_tui.domain.stuck import Level
from d2a_tui.domain.timefmt import humanise
from d2a_tui.screens.base import DatabaseBanner, HubScreen
from d2a_tui.screens.pickers import Choice, ChoiceScreen, TextPrompt, parse_user_date
from d2a_tui.widgets.card import who
from d2a_tui.widgets.literal import cell, literal

LEVEL_STYLE = {Level.OK: "", Level.AMBER: "yellow", Level.RED: "bold red"}
OFFER_COLUMNS = ("Offer", "Person", "Path", "Service", "State", "Start", "Ready")
CAPACITY_COLUMNS = ("Service", "Path", "Unit", "Vacant", "Available", "Reported")
# Seconds between reads of the capacity when no event moved: another terminal's vacancies are
# report rows, not events, so the head does not say they changed.
CAPACITY_EVERY = 10.0


class ProviderBoardScreen(HubScreen[None]):
    SHOWING = "your offers"
    AUTO_FOCUS = "#provider-offers"
    DEFAULT_CSS = """
    ProviderBoardScreen { layout: vertical; }
    ProviderBoardScreen #provider-title { height: 1; padding: 0 1; text-style: bold; }
    ProviderBoardScreen #provider-offers { height: 1fr; }
    ProviderBoardScreen #provider-capacity { height: auto; max-height: 8; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "Accept", id="provider.accept"),
        Binding("d", "decline", "Decline", id="provider.decline"),
        Binding("n", "ask", "Ask the hub", id="provider.ask"),
        Binding("v", "vacancies", "Vacancies", id="provider.vacancies"),
        Binding("r", "reload", "Refresh", show=False, id="provider.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__(id="provider-board")
        self.view: Any = None
        self.offer_ids: list[str] = []
        self.position = -1  # the event log's head when the view was read
        self.capacity_read_at = 0.0  # (monotonic) capacity reports are rows, not events

    def compose(self) -> ComposeResult:
        yield DatabaseBanner()
        yield Static("Your offers", id="provider-title")
        offers: DataTable[Text] = DataTable(
            id="provider-offers", cursor_type="row", zebra_stripes=True
        )
        offers.add_columns(*OFFER_COLUMNS)
        yield offers
        capacity: DataTable[Text] = DataTable(
            id="provider-capacity", cursor_type="row", show_cursor=False
        )
        capacity.add_columns(*CAPACITY_COLUMNS)
        yield capacity
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.refresh_status()
        self.reload()
        # Live as the hub's board is: clocks move with the clock (no database read), and what
        # others do (a new offer, a withdrawal, a sync) is read within the poll interval.
        self.set_interval(self.app.tick_interval, self.tick)
        self.set_timer(self.app.poll_interval, self.poll)

    def reload(self) -> None:
        self.read(self._read_view, self._show_read, group="provider")

    def _read_view(self, head: int | None = None) -> tuple[int, Any]:
        hub = self.app.hub
        head = hub.head_position() if head is None else head
        self.capacity_read_at = time.monotonic()
        return head, hub.offers.provider_view()

    def _show_read(self, read: tuple[int, Any]) -> None:
        self.position = read[0]
        self.show(read[1])

    # --- live -----------------------------------------------------------------------------------

    def poll(self) -> None:
        self.read(self._changed, self._polled, group="provider-poll", failed=self._poll_failed)

    def _changed(self) -> tuple[int, Any] | None:
        """In a worker: the view again if the event log moved (or the capacity is due)."""
        head = self.app.hub.head_position()
        due = time.monotonic() - self.capacity_read_at >= CAPACITY_EVERY
        if head == self.position and not due:
            return None
        return self._read_view(head)

    def _polled(self, read: tuple[int, Any] | None) -> None:
        if read is not None:
            self._show_read(read)
        self._next_poll()

    def _poll_failed(self, error: Exception) -> None:
        self._next_poll(backoff=True)

    def _next_poll(self, backoff: bool = False) -> None:
        if self.is_attached:
            self.set_timer(self.app.poll_interval * (3 if backoff else 1), self.poll)

    def tick(self) -> None:
        """The offers' clocks and levels move on from the clock, without reading anything."""
        if self.view is not None:
            self.show(self.view)

    def show(self, view: Any) -> None:
        self.view = view
        now = self.app.hub.now()
        rules = self.app.hub.flow.offers
        soon = {v.offer.offer_id for v in view.starting_soon}
        title = self.query_one("#provider-title", Static)
        title.update(
            literal(
                f"Your offers{f' ({view.organisation})' if view.organisation else ''}: "
                f"{len(view.waiting)} waiting for your answer, {len(view.accepted)} accepted, "
                f"{len(soon)} starting this week"
            )
        )
        table = self.query_one("#provider-offers", DataTable)
        keep = table.cursor_row
        table.clear()
        self.offer_ids = []
        for item in [*view.waiting, *view.accepted]:
            offer, card = item.offer, item.card
            if offer.is_open:
                state = Text(
                    f"waiting {humanise(now - offer.made_at)}",
                    style=LEVEL_STYLE[offer_level(offer, now, rules)],
                )
                if offer.questions:
                    state.append(f" · {len(offer.questions)} asked", style="dim")
            else:
                state = Text("starting soon" if offer.offer_id in soon else "accepted")
            table.add_row(
                cell(offer.short_id),
                cell(who(card, self.app.privacy)),
                cell(card.pathway or "-"),
                cell(item.service_name),
                state,
                cell(offer.start.strftime("%a %d %b") if offer.start else "-"),
                cell(
                    card.discharge_ready_date.strftime("%d %b")
                    if card.discharge_ready_date
                    else "-"
                ),
            )
            self.offer_ids.append(offer.offer_id)
        if self.offer_ids:
            table.move_cursor(row=min(keep, len(self.offer_ids) - 1))
        capacity = self.query_one("#provider-capacity", DataTable)
        capacity.clear()
        for status in view.statuses:
            latest = status.latest
            capacity.add_row(
                cell(status.service.name),
                cell(status.service.pathway),
                cell(status.service.unit),
                cell(latest.vacant if latest else "-"),
                cell(latest.available if latest else "-"),
                cell(humanise(status.age) + " ago" if status.age is not None else "never"),
            )

    # --- answering -------------------------------------------------------------------------------

    def _selected(self, *, waiting: bool = True) -> str | None:
        table = self.query_one("#provider-offers", DataTable)
        if not self.offer_ids:
            self.app.notify("No offer selected", severity="warning")
            return None
        offer_id = self.offer_ids[min(table.cursor_row, len(self.offer_ids) - 1)]
        if waiting and offer_id not in {v.offer.offer_id for v in self.view.waiting}:
            self.app.notify("That offer is answered already", severity="warning")
            return None
        return offer_id

    def _answer(self, make: Any, said: str) -> None:
        if self.run_command(make, record=False) is not None:
            self.app.notify(said, timeout=3)
            self.reload()

    def action_accept(self) -> None:
        offer_id = self._selected()
        if offer_id is None:
            return
        hub = self.app.hub
        today = hub.calendar.day(hub.now())

        def check(text: str) -> str | None:
            try:
                return None if parse_user_date(text, today) else "type the start date"
            except D2AError as error:  # a typed date that is not one: say so under the box
                return str(error)

        def typed(text: str | None) -> None:
            if text is None:
                return
            start = parse_user_date(text, today)
            assert start is not None
            self._answer(
                lambda: hub.offers.accept(offer_id, start), f"Accepted, starting {start:%d %b}"
            )

        self.app.push_screen(
            TextPrompt(
                "Start date: today, YYYY-MM-DD or DD/MM/YYYY",
                placeholder="e.g. 26/11/2026",
                check=check,
            ),
            typed,
        )

    def action_decline(self) -> None:
        offer_id = self._selected()
        if offer_id is None:
            return
        hub = self.app.hub

        def reason_chosen(code: str | None) -> None:
            if code is None:
                return
            if code != "other":
                self._answer(lambda: hub.offers.decline(offer_id, code), "Declined")
                return

            def typed(text: str | None) -> None:
                if text is not None:
                    self._answer(lambda: hub.offers.decline(offer_id, code, text), "Declined")

            self.app.push_screen(
                TextPrompt("Why (for the hub)?", check=lambda t: None if t.strip() else "say why"),
                typed,
            )

        self.app.push_screen(
            ChoiceScreen(
                "Decline: the reason",
                [Choice(code, text) for code, text in DECLINE_REASONS.items()],
            ),
            reason_chosen,
        )

    def action_ask(self) -> None:
        offer_id = self._selected()
        if offer_id is None:
            return
        hub = self.app.hub

        def typed(text: str | None) -> None:
            if text is not None:
                self._answer(lambda: hub.offers.ask(offer_id, text), "Question sent to the hub")

        self.app.push_screen(
            TextPrompt(
                "Your question to the hub", check=lambda t: None if t.strip() else "ask something"
            ),
            typed,
        )

    def action_vacancies(self) -> None:
        statuses = self.view.statuses if self.view is not None else []
        if not statuses:
            self.app.notify("No services of yours to update", severity="warning")
            return
        hub = self.app.hub

        def service_chosen(service_id: str | None) -> None:
            if service_id is None:
                return
            status = next(s for s in statuses if s.service.id == service_id)

            def check(text: str) -> str | None:
                return None if text.strip().isdigit() else "a whole number of vacancies"

            def save(make: Any) -> None:
                if self.run_command(make, record=False):
                    self.app.notify("Vacancies updated", timeout=3)
                    self.reload()

            if status.latest is not None:

                def typed(text: str | None) -> None:
                    if text is not None:
                        save(lambda: hub.capacity.update_vacancies(service_id, int(text)))

                self.app.push_screen(TextPrompt("Vacancies now", check=check), typed)
                return

            # A new partner's first report: the total first (it stands for the quick updates
            # after), then the vacancies in it.
            unit = status.service.unit

            def total_typed(total_text: str | None) -> None:
                if total_text is None:
                    return
                total = int(total_text)

                def within(text: str) -> str | None:
                    problem = check(text)
                    if problem is None and int(text) > total:
                        return f"at most the {total} {unit} in all"
                    return problem

                def vacant_typed(text: str | None) -> None:
                    if text is not None:
                        vacant = int(text)
                        save(
                            lambda: hub.capacity.report(
                                service_id, total=total, occupied=total - vacant
                            )
                        )

                self.app.push_screen(TextPrompt("Vacancies now", check=within), vacant_typed)

            self.app.push_screen(
                TextPrompt(
                    f"{status.service.name}: {unit} in all (the first report)",
                    check=lambda t: None if t.strip().isdigit() else f"a whole number of {unit}",
                ),
                total_typed,
            )

        if len(statuses) == 1:
            service_chosen(statuses[0].service.id)
            return
        self.app.push_screen(
            ChoiceScreen(
                "Update vacancies of…",
                [Choice(s.service.id, s.service.name) for s in statuses],
            ),
            service_chosen,
        )

    def action_reload(self) -> None:
        self.reload()
