"""a replica remembers which server log it follows

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 22:00:00

A server restored from an older backup hands out again the positions a replica has already
pulled past, for other events: a replica that trusted its cursor alone never fetched them. The
replica now keeps, with its cursor, the server's mark of the event at that position (`log_mark`),
and sends it with each pull: a server whose log holds another event there (or none) is not the
log the replica followed, and the replica recovers by itself. When it last did, and what it did,
is kept for the status line.

The handover selects a shift's changes by when the hub recorded them (a device 5 h fast, or 30 h
slow, lost its changes from the handover that selected by their claimed time): an index of
events by kind and recorded_at, as the one by kind and occurred_at.

The replica keeps the offset of its device's clock from the server's, measured at each sync from
the request's send and receive times (as NTP does), so `d2a sync --status` can say when the
device's clock is more than a few minutes out.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the package alone does not show its `sql` types to mypy
from alembic import op

import d2a_tui.storage.models

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_journey_event_kind_recorded"


def upgrade() -> None:
    with op.batch_alter_table("sync_replica", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("log_mark", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("recovered_at", d2a_tui.storage.models.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("recovery", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(sa.Column("clock_offset", sa.Float(), nullable=True))
    # The handover selects by when the hub recorded a change, not the time a device claimed.
    op.create_index(INDEX, "journey_event", ["kind", "recorded_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="journey_event")
    with op.batch_alter_table("sync_replica", schema=None) as batch_op:
        batch_op.drop_column("clock_offset")
        batch_op.drop_column("recovery")
        batch_op.drop_column("recovered_at")
        batch_op.drop_column("log_mark")
