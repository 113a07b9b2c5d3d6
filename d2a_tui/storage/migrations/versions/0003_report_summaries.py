"""report summaries folded from the event log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00

`report_daily` holds per-day counts and level changes, `report_journey` the fold's memory of each
journey, `report_watermark` the last event position folded. All three are derived data: dropping
them and folding the log again gives the same figures.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the package alone does not show its `sql` types to mypy
from alembic import op

import d2a_tui.storage.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_watermark",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("fold_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", d2a_tui.storage.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "report_daily",
        sa.Column("metric", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("locality", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("pathway", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        # (metric, day) leads so that "this metric over these days" is one index range.
        sa.PrimaryKeyConstraint("metric", "day", "locality", "pathway", "key"),
    )
    op.create_table(
        "report_journey",
        sa.Column("journey_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("journey_id"),
    )


def downgrade() -> None:
    op.drop_table("report_journey")
    op.drop_table("report_daily")
    op.drop_table("report_watermark")
