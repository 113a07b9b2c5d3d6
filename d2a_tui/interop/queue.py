"""The ADT exceptions queue, read for the CLI and the board."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from d2a_tui.interop.tables import adt_exception

_SHOWN = (
    "id", "kind", "created_at", "sender", "control_id", "message_type", "reason", "nhs_number",
    "name", "date_of_birth", "ward", "bed", "admitted_at", "journey_id", "resolved_at",
    "resolved_by", "resolution",
)  # fmt: skip


def waiting_count(engine: Engine) -> int:
    """How many entries wait for a person (an indexed count: the board asks every few seconds)."""
    query = (
        select(func.count()).select_from(adt_exception).where(adt_exception.c.resolved_at.is_(None))
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def exception_rows(engine: Engine, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """Oldest first; the raw message stays in the database, for the person resolving it."""
    query = select(*(adt_exception.c[name] for name in _SHOWN)).order_by(adt_exception.c.created_at)
    if not include_resolved:
        query = query.where(adt_exception.c.resolved_at.is_(None))
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
