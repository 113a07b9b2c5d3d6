"""interop: the ADT feed's processed messages and its exceptions queue

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-29 10:00:00

`adt_message` holds one row per applied HL7 message (sender + MSH-10 control id), written in the
same transaction as the message's events, so a resent message changes nothing. `adt_exception`
holds what needs a person: a date of birth that differs, a merge of two open journeys, a hospital
discharge while the journey waits in a hospital column, an admission of someone not yet referred.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import d2a_tui.storage.models

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = d2a_tui.storage.models.UTCDateTime
    op.create_table(
        "adt_message",
        sa.Column("sender", sa.String(180), primary_key=True),
        sa.Column("control_id", sa.String(199), primary_key=True),
        sa.Column("message_type", sa.String(16), nullable=False),
        sa.Column("received_at", utc(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("journey_id", sa.String(36), nullable=True),
    )
    op.create_table(
        "adt_exception",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("sender", sa.String(180), nullable=False),
        sa.Column("control_id", sa.String(199), nullable=False),
        sa.Column("message_type", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("nhs_number", sa.String(10), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("ward", sa.Text(), nullable=True),
        sa.Column("bed", sa.Text(), nullable=True),
        sa.Column("admitted_at", utc(), nullable=True),
        sa.Column("journey_id", sa.String(36), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("resolved_at", utc(), nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
    )
    op.create_index("ix_adt_exception_open", "adt_exception", ["resolved_at", "kind"])
    op.create_index("ix_adt_exception_nhs", "adt_exception", ["nhs_number"])


def downgrade() -> None:
    op.drop_table("adt_exception")
    op.drop_table("adt_message")
