"""The audit of every look: access records, and `d2a audit`'s answer to "who looked at whom and
what did they change", from the access records and the journeys' events together.

Access records name the user, the device, the journey's id and the purpose (a screen or a
command), never a patient: a record of looks must not become another copy of the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from d2a_tui.domain.ids import uuid7
from d2a_tui.storage.journeys import event_table
from d2a_tui.storage.models import AccessEvent, table_of

access_table = table_of(AccessEvent)
PURPOSES = (
    "journey_screen",  # the TUI's journey screen
    "show",  # `d2a show`
    "export",  # an export that names people (FHIR, a printed board, a CSV with names)
    "snapshot",  # the server sent a journey to a device on request
    "pull",
    "push",
    "refer",  # a referral refused for scope: guessing at who is on record
)


def record(
    connection: Connection,
    *,
    user_id: str,
    device_id: str,
    journey_id: str | None,
    purpose: str,
    at: datetime,
    outcome: str = "allowed",
    reason: str | None = None,
    access_id: str | None = None,
) -> str:
    access_id = access_id or uuid7()
    connection.execute(
        access_table.insert().values(
            id=access_id,
            at=at,
            user_id=user_id,
            device_id=device_id,
            journey_id=journey_id,
            purpose=purpose[:32],
            outcome=outcome,
            reason=reason,
        )
    )
    return access_id


def record_reads(
    connection: Connection,
    *,
    user_id: str,
    device_id: str,
    journeys: Iterable[str],
    purpose: str,
    at: datetime,
) -> None:
    """One access record per journey a read sent (a pull's page, a snapshot): the server's own
    record of what left it, whatever the device later reports."""
    rows = [
        {
            "id": uuid7(),
            "at": at,
            "user_id": user_id,
            "device_id": device_id,
            "journey_id": journey_id,
            "purpose": purpose,
            "outcome": "allowed",
            "reason": None,
        }
        for journey_id in sorted(set(journeys))
    ]
    if rows:
        connection.execute(access_table.insert(), rows)


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One line of an audit: a look (`looked`, or `refused`) or a change (the event's kind)."""

    at: datetime
    user: str
    device: str
    journey_id: str | None
    action: str  # looked | refused | an event kind (referred, moved, …)
    detail: str  # the purpose of a look, the reason of a refusal, "" for a change

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["at"] = self.at.isoformat()
        return values


def audit(
    engine: Engine,
    *,
    journey: str | None = None,
    user: str | None = None,
    first: datetime | None = None,
    last: datetime | None = None,
) -> list[AuditLine]:
    """Looks and changes, oldest first, narrowed by journey, user and time (any combination)."""
    looks = select(access_table)
    changes = select(
        event_table.c.occurred_at,
        event_table.c.actor,
        event_table.c.device_id,
        event_table.c.journey_id,
        event_table.c.kind,
    )
    if journey is not None:
        looks = looks.where(access_table.c.journey_id == journey)
        changes = changes.where(event_table.c.journey_id == journey)
    if user is not None:
        looks = looks.where(access_table.c.user_id == user)
        changes = changes.where(event_table.c.actor == user)
    if first is not None:
        looks = looks.where(access_table.c.at >= first)
        changes = changes.where(event_table.c.occurred_at >= first)
    if last is not None:
        looks = looks.where(access_table.c.at < last)
        changes = changes.where(event_table.c.occurred_at < last)
    with engine.connect() as connection:
        lines = [
            AuditLine(
                row.at,
                row.user_id,
                row.device_id,
                row.journey_id,
                "looked" if row.outcome == "allowed" else "refused",
                row.purpose if row.outcome == "allowed" else f"{row.purpose}: {row.reason}",
            )
            for row in connection.execute(looks)
        ]
        lines += [
            AuditLine(row.occurred_at, row.actor, row.device_id, row.journey_id, row.kind, "")
            for row in connection.execute(changes)
        ]
    return sorted(lines, key=lambda line: (line.at, line.action != "looked"))
