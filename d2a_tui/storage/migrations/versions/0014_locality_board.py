"""indexes for one locality's board and reports in a database many localities share

Revision ID: 0014
Revises: 0009
Create Date: 2026-11-29 13:20:00

A national or regional deployment keeps every locality's journeys in one database, and a
locality's board asks for its open journeys only. The locality is the patient's: an index finds
that locality's patients without reading the others (the open journeys come from the board's
partial index, migration 0001's). A locality's reports read the summary table by metric,
locality and a range of days: a second covering index with the locality before the day reads
only that locality's rows (0005's, with the day first, stays for the reports across every
locality).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PATIENTS = "ix_patient_locality"
REPORTS = "ix_report_daily_metric_locality_day"
REPORT_KEY = ["metric", "locality", "day", "pathway", "key"]


def upgrade() -> None:
    op.create_index(PATIENTS, "patient", ["locality", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(REPORTS, "report_daily", REPORT_KEY, postgresql_include=["value"])
    else:
        op.create_index(REPORTS, "report_daily", [*REPORT_KEY, "value"])


def downgrade() -> None:
    op.drop_index(REPORTS, table_name="report_daily")
    op.drop_index(PATIENTS, table_name="patient")
