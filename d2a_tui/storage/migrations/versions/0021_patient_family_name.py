"""the patient's family name as the source gave it

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 22:40:00

A sheet's surname column and HL7's XPN family name say which part of a name is the family name;
the full name alone does not ("Ó Briain", "van der Berg"). The FHIR export sends `name.family`
only from this column, never by splitting the full name. Patients recorded before it have none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("patient", sa.Column("family_name", sa.String(length=100), nullable=True))


def downgrade() -> None:
    # SQLite drops a column in place (3.35+): a batch copy of `patient` would trip the journeys'
    # foreign keys.
    op.drop_column("patient", "family_name")
