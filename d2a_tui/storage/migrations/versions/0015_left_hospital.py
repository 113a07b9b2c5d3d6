"""the hospital's own discharge time on the journey row

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 17:30:00

When the hospital's ADT feed says a person has left (A03) while their journey still waits in one
of the hospital's columns, the board flags the card until the hub moves or closes it. The time
the feed gave is kept on the journey row as `left_hospital_at`, apart from `discharged_at` (set
by the hub's move, and what the figures count). Journeys the feed has already discharged get it
from their own events, replayed by the domain's rules, so an existing database shows the same
flags as one that had the column from the start.
"""

from collections.abc import Sequence
from itertools import groupby

import sqlalchemy as sa
from alembic import op

import d2a_tui.storage.models
from d2a_tui.domain.events import EventKind, ReplayError, replay
from d2a_tui.storage.event_log import event_from_row

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS = sa.table(
    "journey_event",
    sa.column("event_id", sa.String()),
    sa.column("journey_id", sa.String()),
    sa.column("seq", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("payload", sa.JSON()),
    sa.column("actor", sa.String()),
    sa.column("occurred_at", d2a_tui.storage.models.UTCDateTime()),
)
_JOURNEYS = sa.table(
    "journey",
    sa.column("id", sa.String()),
    sa.column("left_hospital_at", d2a_tui.storage.models.UTCDateTime()),
)


def upgrade() -> None:
    # A plain ALTER TABLE on both backends: SQLite's batch mode would copy the journey table,
    # which its foreign keys and its expression index (0006) do not survive.
    op.add_column(
        "journey",
        sa.Column("left_hospital_at", d2a_tui.storage.models.UTCDateTime(), nullable=True),
    )
    connection = op.get_bind()
    discharged = (
        sa.select(_EVENTS.c.journey_id)
        .where(_EVENTS.c.kind == str(EventKind.HOSPITAL_DISCHARGE_RECORDED))
        .distinct()
        .scalar_subquery()
    )
    rows = connection.execute(
        sa.select(_EVENTS)
        .where(_EVENTS.c.journey_id.in_(discharged))
        .order_by(_EVENTS.c.journey_id, _EVENTS.c.seq)
    )
    updates = []
    for journey_id, events in groupby(rows, key=lambda row: row.journey_id):
        try:
            state = replay([event_from_row(row) for row in events])
        except (ReplayError, ValueError, KeyError):
            continue  # a history that does not replay keeps no flag rather than a wrong one
        if state.left_hospital_at is not None:
            updates.append({"_id": journey_id, "left_hospital_at": state.left_hospital_at})
    if updates:
        connection.execute(_JOURNEYS.update().where(_JOURNEYS.c.id == sa.bindparam("_id")), updates)


def downgrade() -> None:
    op.drop_column("journey", "left_hospital_at")  # SQLite 3.35 and later drop a column in place
