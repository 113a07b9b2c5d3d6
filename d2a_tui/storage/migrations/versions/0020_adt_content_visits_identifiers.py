"""the ADT feed: duplicates by content, the visit a journey is about, identifiers besides the NHS number

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 22:40:00

A PAS that restarts reuses control ids for different messages: `adt_message.digest` (SHA-256 of
the message bar MSH-7 and MSH-10) tells a resend from a new message under an old id. The visit
number (PV1-19) of the inpatient admission applied to a journey says which later messages are
about that stay (an outpatient visit of the same person is not). `adt_identifier` keeps each
identifier a message carried beside the NHS number (the hospital's MRN), for the patient it was
matched to, so a merge naming the old record by its MRN finds it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("adt_message", sa.Column("digest", sa.String(64), nullable=True))
    op.add_column("adt_message", sa.Column("visit_number", sa.String(64), nullable=True))
    op.create_index("ix_adt_message_journey", "adt_message", ["journey_id", "visit_number"])
    op.create_table(
        "adt_identifier",
        sa.Column("authority", sa.String(64), primary_key=True),
        sa.Column("identifier", sa.String(64), primary_key=True),
        sa.Column("patient_id", sa.String(36), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("adt_identifier")
    op.drop_index("ix_adt_message_journey", table_name="adt_message")
    op.drop_column("adt_message", "visit_number")
    op.drop_column("adt_message", "digest")
