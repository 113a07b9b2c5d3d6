"""Alerts: every stuck journey, worst first, with why; acknowledging one is an audited event.

Worst first means: not snoozed before snoozed, red before amber, then the longest since the
discharge-ready date (the number that matters most), then the longest length of stay, then the
longest in its column. A snooze is capped (MAX_SNOOZE): a stuck patient nobody is looking at is a
clinical-safety hazard, so an acknowledgement can quieten an alert for a while, never forever.
"""

from __future__ import annotations

import builtins  # `list` in the class below is Alerts.list
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from d2a_tui.domain.errors import InvalidInput
from d2a_tui.domain.flow import parse_duration
from d2a_tui.domain.stuck import Level, los_band
from d2a_tui.storage.context import HubContext

if TYPE_CHECKING:
    from d2a_tui.domain.stuck import Stuck
    from d2a_tui.domain.views import Card, Change


class AlertsHub(HubContext, Protocol):
    """What alerts need of the hub besides its context: how stuck a card is, and the audited
    acknowledgement."""

    def stuck(self, card: Card, now: datetime | None = None) -> Stuck: ...
    def acknowledge(
        self, journey_id: str, reason: str, until: datetime | None = None
    ) -> Change: ...


MAX_SNOOZE = timedelta(days=7)
DEFAULT_SNOOZE = timedelta(hours=24)


@dataclass(frozen=True)
class Alert:
    card: Card
    level: Level
    reasons: tuple[str, ...]
    column_name: str
    days_ready: int | None
    los_days: int | None
    waited: timedelta
    snoozed_until: datetime | None

    @property
    def snoozed(self) -> bool:
        return self.snoozed_until is not None

    @property
    def los_band(self) -> str | None:
        return los_band(self.los_days) if self.los_days is not None else None

    def sort_key(self) -> tuple[Any, ...]:
        return (
            self.snoozed,
            -int(self.level),
            -(self.days_ready if self.days_ready is not None else -1),
            -(self.los_days if self.los_days is not None else -1),
            -self.waited.total_seconds(),
            self.card.journey_id,
        )

    def to_dict(self) -> dict[str, Any]:
        card = self.card
        return {
            "id": card.journey_id,
            "level": self.level.label,
            "reasons": list(self.reasons),
            "column": card.column,
            "column_name": self.column_name,
            "pathway": card.pathway,
            "name": card.name,
            "nhs_number": card.nhs_number,
            "ward": card.ward,
            "bed": card.bed,
            "assigned_to": card.assigned_to,
            "delay_reason": card.delay_reason,
            "days_since_ready": self.days_ready,
            "length_of_stay_days": self.los_days,
            "los_band": self.los_band,
            "hours_in_column": round(self.waited.total_seconds() / 3600, 1),
            "snoozed_until": self.snoozed_until,
            "version": card.version,
            "offer": None
            if card.offer is None
            else {
                "offer_id": card.offer.offer_id,
                "service": card.offer_service,
                "status": card.offer.status,
                "made_at": card.offer.made_at,
            },
        }


class Alerts:
    def __init__(self, hub: AlertsHub) -> None:
        self.hub = hub

    def list(self, *, include_snoozed: bool = True, red_only: bool = False) -> list[Alert]:
        hub = self.hub
        now = hub.clock()
        calendar = hub.calendar
        alerts = []
        for card in hub.store.open_cards():
            stuck = hub.stuck(card, now)
            if stuck.level is Level.OK or (red_only and stuck.level is not Level.RED):
                continue
            column = hub.flow.column(card.column)
            days_ready = los = None
            if column.in_hospital:
                if card.discharge_ready_date is not None:
                    days_ready = calendar.days_since(card.discharge_ready_date, now)
                if card.admitted_on is not None:
                    los = calendar.days_since(card.admitted_on, now)
            until = card.acknowledged_until
            snoozed_until = until if until is not None and until > now else None
            if snoozed_until and not include_snoozed:
                continue
            alerts.append(
                Alert(card, stuck.level, stuck.reasons, column.name, days_ready, los,
                      now - card.entered_column_at, snoozed_until)
            )  # fmt: skip
        alerts.sort(key=Alert.sort_key)
        return alerts

    def acknowledge(
        self,
        journey_id: str,
        reason: str,
        *,
        until: datetime | None = None,
        snooze: str | timedelta | None = None,
    ) -> Change:
        """Acknowledge an alert and snooze it until a time (default: for 24 hours)."""
        now = self.hub.clock()
        if not (reason or "").strip():
            raise InvalidInput("acknowledging an alert needs a reason")
        if until is None:
            if isinstance(snooze, str):
                try:
                    snooze = parse_duration(snooze)
                except ValueError as error:
                    raise InvalidInput(str(error)) from None
            until = now + (snooze or DEFAULT_SNOOZE)
        if until.tzinfo is None:
            raise InvalidInput("a snooze time needs a time zone")
        if until <= now:
            raise InvalidInput("a snooze must end in the future")
        if until - now > MAX_SNOOZE:
            raise InvalidInput(
                f"a snooze is at most {MAX_SNOOZE.days} days: a stuck patient must come back into view"
            )
        return self.hub.acknowledge(journey_id, reason.strip(), until)

    def newly_red(self, seen_red: set[str] | None) -> tuple[builtins.list[Alert], set[str]]:
        """Red, unsnoozed alerts not in `seen_red`, and the red set to remember for next time.

        The first call (seen_red None) reports nothing: what is red when a screen opens is on the
        screen already, only what turns red while it is open deserves a notification."""
        red = self.list(include_snoozed=False, red_only=True)
        now_red = {alert.card.journey_id for alert in red}
        if seen_red is None:
            return [], now_red
        return [alert for alert in red if alert.card.journey_id not in seen_red], now_red
