"""SQLModel tables. The `journey` table is a projection of `journey_event`; only the command
handlers in `journeys.py` write either, and always both in one transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    Table,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every backend; read back as aware UTC.

    SQLite has no time zones, and one representation everywhere keeps SQLite and PostgreSQL
    byte-for-byte comparable in tests and in sync.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage; d2a stores aware UTC only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text, e.g. from a text() query
            value = datetime.fromisoformat(value)
        stored: datetime = value.replace(tzinfo=UTC)
        return stored


def table_of(model: type[SQLModel]) -> Table:
    """The SQLAlchemy table behind a SQLModel table class: its `__table__`, which SQLModel's
    metaclass sets where a type checker cannot see it."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


def _utc(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


# BigInteger on PostgreSQL, but SQLite only treats a plain INTEGER primary key as the rowid.
EventPosition = BigInteger().with_variant(Integer(), "sqlite")


class Organisation(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str
    kind: str = Field(default="council", max_length=32)


class AppUser(SQLModel, table=True):
    __tablename__ = "app_user"
    id: str = Field(primary_key=True, max_length=64)
    name: str
    organisation_id: str | None = Field(default=None, foreign_key="organisation.id")
    role: str = Field(default="coordinator", max_length=32)


class Patient(SQLModel, table=True):
    # One locality's board in a database many share (migration 0014).
    __table_args__ = (Index("ix_patient_locality", "locality", "id"),)
    id: str = Field(primary_key=True, max_length=36)
    nhs_number: str = Field(unique=True, index=True, max_length=10)
    name: str
    # The family name as the source gave it, apart (migration 0021); None when it gave one name.
    family_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date
    locality: str | None = Field(default=None, max_length=64)


class Journey(SQLModel, table=True):
    __table_args__ = (
        # The board reads only open journeys; a partial index keeps that cheap when a year of
        # closed journeys sits behind them.
        Index(
            "ix_journey_open_column",
            "column_id",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        # Finding anyone by ward, open or closed, whatever the case (migration 0006).
        Index("ix_journey_ward_lower", text("lower(ward)")),
        # One locality's board in a database many localities share (migration 0016).
        Index(
            "ix_journey_open_locality",
            "locality",
            "column_id",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )
    id: str = Field(primary_key=True, max_length=36)
    patient_id: str = Field(foreign_key="patient.id", index=True, max_length=36)
    column_id: str = Field(max_length=32)
    pathway: str | None = Field(default=None, max_length=4)
    ward: str | None = Field(default=None, max_length=64)
    bed: str | None = Field(default=None, max_length=32)
    admitted_on: date | None = None
    referred_at: datetime = _utc()
    entered_column_at: datetime = _utc()
    discharge_ready_date: date | None = None
    expected_discharge_date: date | None = None
    delay_reason: str | None = Field(default=None, max_length=16)
    delay_since: datetime | None = _utc(nullable=True)
    assigned_to: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=32)
    destination: str | None = Field(default=None, max_length=32)
    discharged_at: datetime | None = _utc(nullable=True)
    left_hospital_at: datetime | None = _utc(nullable=True)  # migration 0015
    closed_at: datetime | None = _utc(nullable=True)
    acknowledged_until: datetime | None = _utc(nullable=True)
    notes: int = 0
    version: int = 1
    updated_at: datetime = _utc()
    updated_by: str = Field(max_length=64)
    change_position: int = Field(sa_column=Column(BigInteger(), nullable=False, index=True))
    locality: str | None = Field(default=None, max_length=64)  # the patient's, at referral


class JourneyEvent(SQLModel, table=True):
    """Append-only. `position` is the hub-wide order in which events were committed."""

    __tablename__ = "journey_event"
    __table_args__ = (
        UniqueConstraint("journey_id", "seq", name="uq_journey_event_seq"),
        Index("ix_journey_event_kind_occurred", "kind", "occurred_at"),
        # The handover: what the hub recorded in a shift, whatever the devices' clocks claimed.
        Index("ix_journey_event_kind_recorded", "kind", "recorded_at"),
    )
    position: int = Field(sa_column=Column(EventPosition, primary_key=True, autoincrement=False))
    event_id: str = Field(unique=True, max_length=36)
    journey_id: str = Field(foreign_key="journey.id", index=True, max_length=36)
    seq: int
    kind: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    actor: str = Field(max_length=64)
    device_id: str = Field(max_length=36)
    occurred_at: datetime = _utc()
    recorded_at: datetime = _utc()


class Counter(SQLModel, table=True):
    """Gap-free, commit-ordered counters. Taking the row lock serialises writers just long
    enough that a reader polling `position > N` can never skip an event committed late."""

    name: str = Field(primary_key=True, max_length=32)
    value: int = Field(sa_column=Column(BigInteger(), nullable=False))


EVENTS_COUNTER = "events"


class Service(SQLModel, table=True):
    """A provider's service with capacity: a reablement team, a home-care agency, an
    intermediate-care unit, a community hospital ward, a care home."""

    id: str = Field(primary_key=True, max_length=64)
    name: str
    kind: str = Field(
        max_length=32
    )  # reablement | home_care | intermediate_care | community_hospital | care_home
    pathway: str = Field(max_length=4)
    unit: str = Field(max_length=16)  # beds | hours | packages
    organisation_id: str | None = Field(default=None, foreign_key="organisation.id")
    locality: str | None = Field(default=None, max_length=64)
    active: bool = True


class CapacityReport(SQLModel, table=True):
    """Append-only: a provider's statement of its capacity at a moment. The latest one counts."""

    __tablename__ = "capacity_report"
    __table_args__ = (Index("ix_capacity_report_service_time", "service_id", "reported_at"),)
    id: int | None = Field(
        default=None, sa_column=Column(EventPosition, primary_key=True, autoincrement=True)
    )
    report_id: str = Field(unique=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", max_length=64)
    reported_at: datetime = _utc()
    total: int
    occupied: int
    closed: int = 0  # vacancies closed to admissions
    reported_by: str = Field(max_length=64)
    device_id: str = Field(max_length=36)
    note: str | None = None


# --- reports (issue 4): summaries folded from the event log ------------------------------------


class ReportWatermark(SQLModel, table=True):
    """How far the report summaries have folded the event log (the last `journey_event.position`).

    The summaries and this row change in one transaction, so a summary never holds half an event.
    `fold_version` names the fold's rules: when the code's rules change, the summaries are rebuilt.
    """

    __tablename__ = "report_watermark"
    name: str = Field(primary_key=True, max_length=32)
    position: int = Field(sa_column=Column(BigInteger(), nullable=False))
    fold_version: int = 0
    updated_at: datetime | None = _utc(nullable=True)


class ReportDaily(SQLModel, table=True):
    """Per-day figures folded from the event log.

    Two kinds of metric share the table. A *count* (referrals, discharges, a length-of-stay
    histogram bucket) happened on `day`. A *level* (people who no longer meet the criteria to
    reside, people awaiting a pathway) is stored as +1/-1 changes on the day a state starts and
    ends, so the level at the end of day D is the sum of the rows with day <= D. Either way every
    row is a sum of small integers, which makes folding an event an upsert that adds.
    """

    __tablename__ = "report_daily"
    metric: str = Field(primary_key=True, max_length=24)
    day: date = Field(primary_key=True)
    locality: str = Field(primary_key=True, max_length=64, default="")
    pathway: str = Field(primary_key=True, max_length=4, default="")
    key: str = Field(primary_key=True, max_length=32, default="")
    value: int = Field(sa_column=Column(BigInteger(), nullable=False))


class ReportJourney(SQLModel, table=True):
    """What the fold needs to remember about each journey to fold its next event."""

    __tablename__ = "report_journey"
    journey_id: str = Field(primary_key=True, max_length=36)
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# --- need-to-know and the audit (issue 12, migration 0012) --------------------------------------


class HubLocality(SQLModel, table=True):
    """A locality the hub serves: the names a user may be given (`d2a server add-locality`)."""

    __tablename__ = "hub_locality"
    name: str = Field(primary_key=True, max_length=64)


class ServerMark(SQLModel, table=True):
    """One row in a database `d2a serve` has run on: server administration acts on such a
    database only, never on a replica or a terminal's own hub (migration 0017)."""

    __tablename__ = "server_mark"
    id: int = Field(default=1, primary_key=True)
    first_served_at: datetime = _utc()


class UserLocality(SQLModel, table=True):
    """A locality a user serves. A coordinator, night or viewer user with none serves all."""

    __tablename__ = "user_locality"
    user_id: str = Field(primary_key=True, foreign_key="app_user.id", max_length=64)
    locality: str = Field(primary_key=True, max_length=64)


class AccessEvent(SQLModel, table=True):
    """One look at a journey (or a refused attempt): who, when, from which device, and why.

    Kept apart from `journey_event`, so that reading a record never changes its version; names
    no patient, only the journey's id."""

    __tablename__ = "access_event"
    __table_args__ = (
        Index("ix_access_event_journey", "journey_id", "at"),
        Index("ix_access_event_user", "user_id", "at"),
        Index("ix_access_event_at", "at"),
    )
    id: str = Field(primary_key=True, max_length=36)
    at: datetime = _utc()
    user_id: str = Field(max_length=64)
    device_id: str = Field(max_length=36)
    journey_id: str | None = Field(default=None, max_length=36)
    purpose: str = Field(max_length=32)  # the screen or command: journey_screen, show, export…
    outcome: str = Field(default="allowed", max_length=16)  # allowed | refused
    reason: str | None = Field(default=None, max_length=32)  # a refusal's reason code
