"""journeys, events, patients, users

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:01:08.355526
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the package alone does not show its `sql` types to mypy
from alembic import op

import d2a_tui.storage.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    counter = op.create_table(
        "counter",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(counter, [{"name": "events", "value": 0}])
    op.create_table(
        "organisation",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "patient",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("nhs_number", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("locality", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_nhs_number"), ["nhs_number"], unique=True)

    op.create_table(
        "app_user",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("organisation_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "journey",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("patient_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("column_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("pathway", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
        sa.Column("ward", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("bed", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("admitted_on", sa.Date(), nullable=True),
        sa.Column("referred_at", d2a_tui.storage.models.UTCDateTime(), nullable=False),
        sa.Column("entered_column_at", d2a_tui.storage.models.UTCDateTime(), nullable=False),
        sa.Column("discharge_ready_date", sa.Date(), nullable=True),
        sa.Column("expected_discharge_date", sa.Date(), nullable=True),
        sa.Column("delay_reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("delay_since", d2a_tui.storage.models.UTCDateTime(), nullable=True),
        sa.Column("assigned_to", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("destination", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("discharged_at", d2a_tui.storage.models.UTCDateTime(), nullable=True),
        sa.Column("closed_at", d2a_tui.storage.models.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_until", d2a_tui.storage.models.UTCDateTime(), nullable=True),
        sa.Column("notes", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", d2a_tui.storage.models.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("change_position", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("journey", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journey_change_position"), ["change_position"], unique=False
        )
        batch_op.create_index(
            "ix_journey_open_column",
            ["column_id"],
            unique=False,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.create_index(batch_op.f("ix_journey_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "journey_event",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("journey_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("occurred_at", d2a_tui.storage.models.UTCDateTime(), nullable=False),
        sa.Column("recorded_at", d2a_tui.storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journey.id"],
        ),
        sa.PrimaryKeyConstraint("position"),
        sa.UniqueConstraint("event_id"),
        sa.UniqueConstraint("journey_id", "seq", name="uq_journey_event_seq"),
    )
    with op.batch_alter_table("journey_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journey_event_journey_id"), ["journey_id"], unique=False
        )
        batch_op.create_index(
            "ix_journey_event_kind_occurred", ["kind", "occurred_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("journey_event", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_event_kind_occurred")
        batch_op.drop_index(batch_op.f("ix_journey_event_journey_id"))

    op.drop_table("journey_event")
    with op.batch_alter_table("journey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_patient_id"))
        batch_op.drop_index(
            "ix_journey_open_column",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_journey_change_position"))

    op.drop_table("journey")
    op.drop_table("app_user")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_nhs_number"))

    op.drop_table("patient")
    op.drop_table("organisation")
    op.drop_table("counter")
