"""the mark of a server's database

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 22:00:00

`d2a server add-user` and the other administration commands act on the server's database only:
one `d2a serve` has run on (it writes this one row when it starts). A database that already has
enrolled devices was a server's before the mark existed, and is marked here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import d2a_tui.storage.models

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "server_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_served_at", d2a_tui.storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO server_mark (id, first_served_at) "
        "SELECT 1, created_at FROM sync_device ORDER BY created_at LIMIT 1"
    )


def downgrade() -> None:
    op.drop_table("server_mark")
