"""The quick actions on a selected journey, shared by the board and the journey screen.

Every action ends in one Hub command through the app's command runner, which refuses while the
database is away, turns errors into a notification that says why, and keeps the session's undo
history (`u` goes back step by step, `U` forward again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.binding import Binding, BindingType

from d2a_tui.domain.delays import DELAY_REASONS
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.outcomes import DESTINATIONS, OUTCOMES
from d2a_tui.domain.views import Card
from d2a_tui.screens.pickers import CLEAR, Choice, ChoiceScreen, TextPrompt, parse_user_date
from d2a_tui.services.hub import Change
from d2a_tui.widgets.card import done_words, who

if TYPE_CHECKING:
    from d2a_tui.screens.base import HostApp

NO_DESTINATION = "\x00none"

QUICK_BINDINGS: list[BindingType] = [
    Binding(
        "shift+left,H",
        "move_step(-1)",
        "Move left",
        show=False,
        id="card.move_left",
        tooltip="Move left: the previous step on the journey's own pathway",
    ),
    Binding(
        "shift+right,L",
        "move_step(1)",
        "Move",
        id="card.move_right",
        key_display="⇧←→",
        tooltip="Move right: the next step on the journey's own pathway",
    ),
    Binding("m", "move_to", "Move to…", id="card.move_to"),
    Binding("r", "delay", "Delay", id="card.delay"),
    Binding("n", "note", "Note", show=False, id="card.note"),
    Binding("d", "ready_date", "Ready date", show=False, id="card.ready_date"),
    Binding("a", "assign", "Assign to me", show=False, id="card.assign"),
    Binding("u", "undo", "Undo", id="card.undo"),
    Binding("U", "redo", "Redo", show=False, id="card.redo"),
]


class QuickActions:
    """Mixed into a Screen that has a selected journey."""

    # Screens list QUICK_BINDINGS in their own BINDINGS: Textual only merges DOMNode classes'.

    app: HostApp

    # --- what the screen provides --------------------------------------------------------------

    def selected_card(self) -> Card | None:
        raise NotImplementedError

    def show_change(self, change: Change) -> None:
        """After a change of ours: show it (the board selects the card where it now is)."""

    # --- helpers -------------------------------------------------------------------------------

    def _card_or_say(self) -> Card | None:
        card = self.selected_card()
        if card is None:
            self.app.notify("No journey selected", severity="warning")
        return card

    def _do(self, make: Any, *, record: bool = True, said: str | None = None) -> Change | None:
        change = self.app.command(make, record=record)
        if change is not None:
            self.show_change(change)
            if said:
                self.app.notify(said, timeout=3)
        return change

    # --- actions -------------------------------------------------------------------------------

    def action_move_step(self, step: int) -> None:
        card = self._card_or_say()
        if card is None:
            return
        flow = self.app.hub.flow
        target = flow.neighbour(card.column, step, card.pathway)
        if target is None:
            # A pathway is changed only by naming the column; at the board's edge say nothing.
            changes = flow.pathway_changes(card.column, step, card.pathway)
            if changes:
                names = ", ".join(column.name for column in changes)
                self.app.notify(
                    f"The next step would change the pathway ({names}): "
                    "press m and choose the column",
                    title="Not moved",
                    severity="warning",
                )
                return
            open_ids = [column.id for column in flow.open_columns]
            index = open_ids.index(card.column) + step if card.column in open_ids else -1
            if 0 <= index < len(open_ids):
                try:
                    flow.check_move(card.column, open_ids[index])
                except D2AError as error:
                    self.app.notify(str(error), title="Not moved", severity="warning")
            return
        self._move(card, target.id)

    def _move(self, card: Card, to: str) -> None:
        """Move the journey; a move that would leave an offer without its answer asks once what
        becomes of the offer (withdraw it, or leave it waiting), and Esc moves nothing."""
        hub = self.app.hub
        offer = card.offer
        if offer is None or not offer.is_open:
            self._do(lambda: hub.move(card.journey_id, to, base_version=card.version))
            return
        service = card.offer_service or offer.service_id
        column = hub.flow.column(to).name
        choices = [
            Choice("withdraw", f"Withdraw the offer to {service}, then move to {column}"),
            Choice("keep", f"Move to {column}; the offer to {service} keeps waiting"),
        ]

        def chosen(answer: str | None) -> None:
            if answer is None:
                return  # nothing moved, nothing withdrawn
            version = card.version
            if answer == "withdraw":
                withdrawn = self.app.command(lambda: hub.offers.withdraw(offer.offer_id))
                if withdrawn is None:
                    return  # refused, and said why: the card stays where it was
                version = withdrawn.card.version
            self._do(lambda: hub.move(card.journey_id, to, base_version=version))

        self.app.push_screen(
            ChoiceScreen(
                f"{who(card, self.app.privacy)} has an offer to {service} with no answer yet",
                choices,
                hint="↑↓ choose · enter do it · esc leave the journey where it is",
            ),
            chosen,
        )

    def action_move_to(self) -> None:
        card = self._card_or_say()
        if card is None:
            return
        flow = self.app.hub.flow
        source = flow.column(card.column)
        choices = [Choice(to, flow.column(to).name) for to in source.moves]
        if not choices:
            self.app.notify(
                f"From {source.name} a journey cannot move anywhere", severity="warning"
            )
            return

        def chosen(to: str | None) -> None:
            if to is None:
                return
            if "outcome" in flow.column(to).needs:
                self._ask_outcome(card, to)  # closing lapses an unanswered offer
            else:
                self._move(card, to)

        self.app.push_screen(
            ChoiceScreen(f"Move {who(card, self.app.privacy)} from {source.name} to…", choices),
            chosen,
        )

    def _ask_outcome(self, card: Card, to: str) -> None:
        outcomes = [Choice(code, text) for code, text in OUTCOMES.items()]

        def outcome_chosen(outcome: str | None) -> None:
            if outcome is None:
                return
            pathway = (card.pathway or "").upper()
            fitting = [d for d in DESTINATIONS if not pathway or d.pathway.startswith(pathway)]
            others = [d for d in DESTINATIONS if d not in fitting]
            destinations = [Choice(NO_DESTINATION, "Not recorded now")] + [
                Choice(d.code, f"{d.pathway}: {d.text}") for d in fitting + others
            ]

            def destination_chosen(destination: str | None) -> None:
                if destination is None:
                    return
                self._do(
                    lambda: self.app.hub.move(
                        card.journey_id,
                        to,
                        base_version=card.version,
                        outcome=outcome,
                        destination=None if destination == NO_DESTINATION else destination,
                    ),
                    said=f"Closed: {OUTCOMES[outcome]}",
                )

            self.app.push_screen(
                ChoiceScreen("Discharge destination (monthly sitrep)", destinations),
                destination_chosen,
            )

        self.app.push_screen(
            ChoiceScreen(f"Close the journey of {who(card, self.app.privacy)}: outcome", outcomes),
            outcome_chosen,
        )

    def action_delay(self) -> None:
        card = self._card_or_say()
        if card is None:
            return
        choices = [
            Choice(reason.code, f"{reason.code:<9} {reason.text}") for reason in DELAY_REASONS
        ]
        if card.delay_reason:
            choices.insert(0, Choice(CLEAR, f"Clear the delay reason ({card.delay_reason})"))

        def chosen(code: str | None) -> None:
            if code is None:
                return
            value = None if code == CLEAR else code
            self._do(
                lambda: self.app.hub.set_delay(card.journey_id, value, base_version=card.version),
                said=f"Delay reason {value}" if value else "Delay reason cleared",
            )

        self.app.push_screen(
            ChoiceScreen(
                f"Delay reason for {who(card, self.app.privacy)}",
                choices,
                current=card.delay_reason,
            ),
            chosen,
        )

    def action_note(self) -> None:
        card = self._card_or_say()
        if card is None:
            return

        def entered(text: str | None) -> None:
            if text is None:
                return
            self._do(lambda: self.app.hub.add_note(card.journey_id, text), said="Note added")

        self.app.push_screen(
            TextPrompt(
                f"Note on the journey of {who(card, self.app.privacy)}",
                placeholder="what happened, what is next",
                check=lambda text: None if text.strip() else "A note cannot be empty",
                max_length=2000,
            ),
            entered,
        )

    def action_ready_date(self) -> None:
        card = self._card_or_say()
        if card is None:
            return
        today = self.app.hub.now().date()

        def check(text: str) -> str | None:
            try:
                value = parse_user_date(text, today)
            except D2AError as error:
                return str(error)
            if value is not None and value > today:
                return "The discharge-ready date cannot be in the future"
            return None

        def entered(text: str | None) -> None:
            if text is None:
                return
            value = parse_user_date(text, today)
            self._do(
                lambda: self.app.hub.set_ready_date(
                    card.journey_id, value, base_version=card.version
                ),
                said=f"Discharge-ready date {value:%d %b %Y}"
                if value
                else "Discharge-ready date cleared: meets the criteria to reside",
            )

        current = card.discharge_ready_date
        self.app.push_screen(
            TextPrompt(
                f"Discharge-ready date for {who(card, self.app.privacy)}",
                value=current.strftime("%d/%m/%Y") if current else "",
                placeholder="23/11/2026, 2026-11-23 or today",
                hint="enter save · blank = meets the criteria to reside again · esc cancel",
                check=check,
            ),
            entered,
        )

    def action_assign(self) -> None:
        card = self._card_or_say()
        if card is None:
            return
        self._do(
            lambda: self.app.hub.assign(card.journey_id, base_version=card.version),
            said="Assigned to you",
        )

    def action_undo(self) -> None:
        history = self.app.history
        if not history.undo:
            self.app.notify("Nothing of yours to undo while the board is open", severity="warning")
            return
        last = history.undo[-1]
        change = self._do(lambda: self.app.hub.undo(last.event), record=False)
        if change is None:
            if self.app.refused_because != "unavailable":
                # The rules refuse it now (the journey changed since): it cannot come back, so
                # the next undo goes further back rather than stopping here for good.
                history.undo.pop()
            return
        history.undo.pop()
        history.redo.append(change)
        self.app.notify(f"Undid: {self._words(last)}", timeout=5)

    def action_redo(self) -> None:
        history = self.app.history
        if not history.redo:
            self.app.notify("Nothing to redo", severity="warning")
            return
        last = history.redo[-1]
        change = self._do(lambda: self.app.hub.undo(last.event), record=False)
        if change is None:
            if self.app.refused_because != "unavailable":
                history.redo.pop()
            return
        history.redo.pop()
        history.undo.append(change)
        self.app.notify(f"Redid: {self._words(change)}", timeout=5)

    def _words(self, change: Change) -> str:
        return done_words(change.event, change.card, self.app.hub.flow, self.app.privacy)
