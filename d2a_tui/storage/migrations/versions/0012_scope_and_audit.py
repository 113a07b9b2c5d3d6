"""need-to-know and the audit: users' localities, the localities a hub serves, every look at a
journey, and what each device holds

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-29 13:00:00

`hub_locality` names the localities users may be given. `user_locality` lists the localities a
user serves (a coordinator, night or viewer user with none serves every locality). `access_event`
records who opened which journey, from which device and why, apart from the journey's events so
that reading a record never changes its version. `sync_held` is the server's list of journeys it
has sent to each device, so that when a scope shrinks it can tell the device what to forget;
`sync_device.scope_key` the scope its last pull was answered in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import d2a_tui.storage.models

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = d2a_tui.storage.models.UTCDateTime
    op.create_table("hub_locality", sa.Column("name", sa.String(64), primary_key=True))
    op.create_table(
        "user_locality",
        sa.Column("user_id", sa.String(64), sa.ForeignKey("app_user.id"), primary_key=True),
        sa.Column("locality", sa.String(64), primary_key=True),
    )
    op.create_table(
        "access_event",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("at", utc(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("journey_id", sa.String(36), nullable=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
    )
    op.create_index("ix_access_event_journey", "access_event", ["journey_id", "at"])
    op.create_index("ix_access_event_user", "access_event", ["user_id", "at"])
    op.create_index("ix_access_event_at", "access_event", ["at"])
    op.create_table(
        "sync_held",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("journey_id", sa.String(36), primary_key=True),
        sa.Column("forget_after", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_sync_held_forget", "sync_held", ["device_id", "forget_after"])
    op.add_column("sync_device", sa.Column("scope_key", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_device") as batch:
        batch.drop_column("scope_key")
    op.drop_index("ix_sync_held_forget", table_name="sync_held")
    op.drop_table("sync_held")
    op.drop_index("ix_access_event_at", table_name="access_event")
    op.drop_index("ix_access_event_user", table_name="access_event")
    op.drop_index("ix_access_event_journey", table_name="access_event")
    op.drop_table("access_event")
    op.drop_table("user_locality")
    op.drop_table("hub_locality")
