"""an index for finding journeys by ward

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 10:20:00

`d2a find` and the board's `f` look journeys up by ward across every journey the hub has had,
open and closed, ignoring case ("ward 7" finds "Ward 7"). An expression index on lower(ward)
answers that from the index on both backends; without it the find scanned the journey table (a
region year: half a million rows). NHS numbers and journey ids had their indexes already.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_journey_ward_lower"


def upgrade() -> None:
    op.create_index(INDEX, "journey", [sa.text("lower(ward)")])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="journey")
