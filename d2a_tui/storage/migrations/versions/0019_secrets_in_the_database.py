"""the device's secrets inside the replica; the server makes every token

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-04 22:40:00

A replica's device token, the token a swap is waiting on, and the idle lock's PIN hash were kept
in `sync-login.json` beside the database: with the disk alone, a thief of an encrypted replica
could pull the whole scope with the token and guess a short PIN offline. They now live in the
replica's one `sync_replica` row, inside the database the passphrase encrypts (`d2a login` and
the first unlock after this revision move them out of the file).

On the server, a token swap no longer takes a token the device chose: the server makes it and
keeps its hash as `pending_hash` until the device first uses it, so an answer lost on the way
leaves the old token working and nothing locked out.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import d2a_tui.storage.models

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_replica", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_token", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("pending_token", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("pin_hash", sa.String(), nullable=True))
    with op.batch_alter_table("sync_device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("pending_expires_at", d2a_tui.storage.models.UTCDateTime(), nullable=True)
        )
        batch_op.create_unique_constraint("uq_sync_device_pending_hash", ["pending_hash"])


def downgrade() -> None:
    with op.batch_alter_table("sync_device", schema=None) as batch_op:
        batch_op.drop_constraint("uq_sync_device_pending_hash", type_="unique")
        batch_op.drop_column("pending_expires_at")
        batch_op.drop_column("pending_hash")
    with op.batch_alter_table("sync_replica", schema=None) as batch_op:
        batch_op.drop_column("pin_hash")
        batch_op.drop_column("pending_token")
        batch_op.drop_column("device_token")
