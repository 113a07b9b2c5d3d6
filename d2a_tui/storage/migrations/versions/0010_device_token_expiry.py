"""device tokens expire

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 13:20:00

A device token that never expires is a stolen laptop's key for ever. Each token now has an
expiry (90 days by default, `d2a serve --token-days`); a replica swaps its token for a new one
before then without anyone noticing. A device enrolled before this revision has no expiry
recorded: it counts from its enrolment.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import d2a_tui.storage.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_device", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_expires_at", d2a_tui.storage.models.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_device", schema=None) as batch_op:
        batch_op.drop_column("token_expires_at")
