"""What a replica shows about its sync: its state, and the changes the server did not apply.

A change the server refused outright ("rejected", e.g. a field over its limit sent by an older
client) is listed beside conflicts, with what it was and the server's reason, and never stops
the rest of the outbox: the server answers per change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from d2a_tui.domain.errors import NotFound
from d2a_tui.storage.models import table_of
from d2a_tui.sync.models import SyncConflict

conflict_table = table_of(SyncConflict)


@dataclass(frozen=True, slots=True)
class ReplicaState:
    cursor: int
    pending: int
    unconfirmed: int
    conflicts: int
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    recovered_at: datetime | None = None
    recovery: str | None = None
    clock_offset: float | None = None


@dataclass(frozen=True, slots=True)
class ConflictView:
    """A change of ours the server did not apply, as the conflicts screen shows it."""

    mutation_id: str
    journey_id: str | None
    outcome: str
    reason: str | None
    message: str | None
    command: str
    args: dict[str, Any]
    seen: dict[str, Any]
    want: dict[str, Any]
    actor: str
    occurred_at: datetime
    theirs_actor: str | None
    theirs_at: datetime | None
    theirs_kind: str | None
    theirs_values: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def conflicts(engine: Engine, include_resolved: bool = False) -> list[ConflictView]:
    query = select(conflict_table).order_by(conflict_table.c.created_at)
    if not include_resolved:
        query = query.where(conflict_table.c.resolved_at.is_(None))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    views = []
    for row in rows:
        body, theirs = row.mutation, row.theirs or {}
        views.append(
            ConflictView(
                mutation_id=row.mutation_id,
                journey_id=row.journey_id,
                outcome=row.outcome,
                reason=row.reason,
                message=row.message,
                command=body.get("command", body.get("kind", "?")),
                args=body.get("args", {}),
                seen=body.get("seen", {}),
                want=body.get("want", {}),
                actor=body.get("actor", "?"),
                occurred_at=_dt(body.get("occurred_at")) or row.created_at,
                theirs_actor=theirs.get("actor"),
                theirs_at=_dt(theirs.get("at")),
                theirs_kind=theirs.get("kind"),
                theirs_values=theirs.get("values", {}),
                created_at=row.created_at,
                resolved_at=row.resolved_at,
                resolution=row.resolution,
            )
        )
    return views


def conflict(engine: Engine, mutation_id: str) -> ConflictView:
    for view in conflicts(engine, include_resolved=True):
        if view.mutation_id == mutation_id or view.mutation_id.startswith(mutation_id):
            return view
    raise NotFound(f"no conflict {mutation_id}")
