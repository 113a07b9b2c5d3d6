"""`o` on the board: offer the selected person to a service on their pathway.

The picker lists the services of the card's pathway with the vacancies each last reported, most
first, so the hub offers where there is room; choosing one makes the offer (one event, through
the app's command runner like every other change).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.binding import Binding, BindingType

from d2a_tui.domain.errors import D2AError
from d2a_tui.screens.pickers import Choice, ChoiceScreen
from d2a_tui.widgets.card import who

if TYPE_CHECKING:
    from d2a_tui.domain.views import Card
    from d2a_tui.screens.base import HostApp
    from d2a_tui.services.offers import ServiceChoice

OFFER_BINDINGS: list[BindingType] = [
    Binding(
        "o",
        "offer",
        "Offer to a service",
        show=False,
        id="card.offer",
        tooltip="Offer the person to a service on their pathway",
    ),
]


def choice_label(choice: ServiceChoice) -> str:
    if choice.available is None:
        room = "no capacity report"
    else:
        room = (
            f"{choice.available} {choice.unit} free" if choice.unit else f"{choice.available} free"
        )
    offered = " · offered, waiting" if choice.open_offer else ""
    return f"{choice.service.name} · {room}{offered}"


class OfferActions:
    """Mixed into the board, beside the quick actions."""

    app: HostApp

    def selected_card(self) -> Card | None:
        raise NotImplementedError

    def show_change(self, change: Any) -> None:
        """After a change of ours (the board patches the card)."""

    def action_offer(self) -> None:
        card = self.selected_card()
        if card is None:
            self.app.notify("No journey selected", severity="warning")
            return
        try:
            choices = self.app.hub.offers.choices(card.journey_id)
        except D2AError as error:
            self.app.notify(str(error), title="Cannot offer", severity="warning")
            return
        if not choices:
            self.app.notify(
                f"No active {card.pathway} service: add one with `d2a service add`",
                title="Cannot offer",
                severity="warning",
            )
            return
        person = who(card, self.app.privacy)

        def chosen(service_id: str | None) -> None:
            if service_id is None:
                return
            change = self.app.command(
                lambda: self.app.hub.offers.make(card.journey_id, service_id), record=False
            )
            if change is not None:
                self.show_change(change)
                name = next(c.service.name for c in choices if c.service.id == service_id)
                self.app.notify(f"Offered {person} to {name}", timeout=3)

        self.app.push_screen(
            ChoiceScreen(
                f"Offer {person} ({card.pathway}) to…",
                [Choice(c.service.id, choice_label(c)) for c in choices],
            ),
            chosen,
        )
