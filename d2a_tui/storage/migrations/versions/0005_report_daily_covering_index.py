"""a covering index for the report summaries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 11:00:00

Every report reads `report_daily` as "this metric over these days, summed by some columns". The
primary key finds those rows, but each one then costs a visit to the table for its `value`, and
the rows of one metric are spread over the whole table (the fold writes all metrics of a day
together). With `value` in an index the read is an index-only scan: on a region year it halves
the sitrep, length-of-stay and flow reads on both backends (bench/reports.py). PostgreSQL carries
`value` as an INCLUDE column; SQLite has no INCLUDE, so it is the index's last key column.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_report_daily_metric_day_value"
KEY = ["metric", "day", "locality", "pathway", "key"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(INDEX, "report_daily", KEY, postgresql_include=["value"])
    else:
        op.create_index(INDEX, "report_daily", [*KEY, "value"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="report_daily")
