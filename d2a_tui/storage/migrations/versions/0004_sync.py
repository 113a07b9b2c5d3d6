"""sync: enrolled devices and receipts (server), outbox, cursor and conflicts (replica)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:14:36.102485
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the package alone does not show its `sql` types to mypy
from alembic import op

import d2a_tui.storage.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_conflict",
        sa.Column("mutation_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("journey_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("mutation", sa.JSON(), nullable=False),
        sa.Column("theirs", sa.JSON(), nullable=True),
        sa.Column("created_at", d2a_tui.storage.models.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", d2a_tui.storage.models.UTCDateTime(), nullable=True),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column(
            "resolution_mutation_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True
        ),
        sa.PrimaryKeyConstraint("mutation_id"),
    )
    op.create_table(
        "sync_outbox",
        sa.Column("mutation_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("client_seq", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("journey_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("local_payload", sa.JSON(), nullable=True),
        sa.Column("created_at", d2a_tui.storage.models.UTCDateTime(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("settled_at", d2a_tui.storage.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("mutation_id"),
        sa.UniqueConstraint("client_seq"),
    )
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_outbox_journey_id"), ["journey_id"], unique=False)
        batch_op.create_index("ix_sync_outbox_status_seq", ["status", "client_seq"], unique=False)

    op.create_table(
        "sync_receipt",
        sa.Column("mutation_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("client_seq", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("journey_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("journey_version", sa.Integer(), nullable=True),
        sa.Column("theirs", sa.JSON(), nullable=True),
        sa.Column("mutation", sa.JSON(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("received_at", d2a_tui.storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mutation_id"),
        sa.UniqueConstraint("device_id", "client_seq", name="uq_sync_receipt_seq"),
    )
    with op.batch_alter_table("sync_receipt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_receipt_journey_id"), ["journey_id"], unique=False
        )

    replica = op.create_table(
        "sync_replica",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("next_client_seq", sa.Integer(), nullable=False),
        sa.Column("last_success_at", d2a_tui.storage.models.UTCDateTime(), nullable=True),
        sa.Column("last_attempt_at", d2a_tui.storage.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # The replica's single row exists from the start, so the write path only ever updates it.
    op.bulk_insert(replica, [{"id": 1, "cursor": 0, "next_client_seq": 1}])
    op.create_table(
        "sync_device",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("enrol_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", d2a_tui.storage.models.UTCDateTime(), nullable=False),
        sa.Column("enrolled_at", d2a_tui.storage.models.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", d2a_tui.storage.models.UTCDateTime(), nullable=True),
        sa.Column("last_seen_at", d2a_tui.storage.models.UTCDateTime(), nullable=True),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enrol_hash"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("sync_device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_device_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sync_device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_device_user_id"))

    op.drop_table("sync_device")
    op.drop_table("sync_replica")
    with op.batch_alter_table("sync_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_receipt_journey_id"))

    op.drop_table("sync_receipt")
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_outbox_status_seq")
        batch_op.drop_index(batch_op.f("ix_sync_outbox_journey_id"))

    op.drop_table("sync_outbox")
    op.drop_table("sync_conflict")
