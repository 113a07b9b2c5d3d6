"""Which log a replica follows: the server's mark of the event at the replica's cursor.

A cursor alone says "I have everything up to position N". After the server's database is restored
from an older backup, positions above the backup's head are handed out again, to other events,
and a replica that trusted its cursor would never fetch them. So every answer that moves a cursor
carries the mark of the event at that position, and every pull sends it back: the server compares
it with the event it holds there now. Positions are gap-free and event ids are random, so a log
that went back in time holds another event at the position (or none yet) and the marks differ.
Two servers over one database, a restart, or a failover agree, as the mark is read from the log.

The mark is a digest of the event's id, not the id: it names nothing a reader could look up.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, select

from d2a_tui.storage.journeys import event_table


def mark_of(event_id: str) -> str:
    return hashlib.sha256(f"d2a-log-mark:{event_id}".encode()).hexdigest()[:24]


def mark_at(connection: Connection, position: int) -> str | None:
    """The mark of the event at `position`, None at 0 (no event) or where the log holds none."""
    if position <= 0:
        return None
    event_id = connection.execute(
        select(event_table.c.event_id).where(event_table.c.position == position)
    ).scalar()
    return None if event_id is None else mark_of(event_id)
