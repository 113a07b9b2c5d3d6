"""services and capacity reports

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:06:59.700735
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the package alone does not show its `sql` types to mypy
from alembic import op

import d2a_tui.storage.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "service",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("pathway", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("organisation_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("locality", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "capacity_report",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("report_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reported_at", d2a_tui.storage.models.UTCDateTime(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("occupied", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("reported_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id"),
    )
    with op.batch_alter_table("capacity_report", schema=None) as batch_op:
        batch_op.create_index(
            "ix_capacity_report_service_time", ["service_id", "reported_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("capacity_report", schema=None) as batch_op:
        batch_op.drop_index("ix_capacity_report_service_time")

    op.drop_table("capacity_report")
    op.drop_table("service")
