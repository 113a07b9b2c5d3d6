"""The hub's tables, declared with SQLAlchemy Core. The `journey` table is a projection of
`journey_event`; only the command handlers in `journeys.py` write either, and always both in
one transaction.

Core `Table`s rather than SQLModel classes: nothing here is used as an ORM object (every
reader and writer goes through `table_of(...)` to Core statements), and SQLModel with pydantic
cost ~0.17 s of every `d2a board` start before its first paint (bench/startup.py). The names
are the tables' former class names, so `table_of(Journey)` reads as before. Each column is
what SQLModel made of its field: a `str` is a VARCHAR (of `max_length` where given), a field
without `| None` is NOT NULL, a Python default is the column's default.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


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


def table_of(model: Table | type[Any]) -> Table:
    """The SQLAlchemy table: a table here is itself; a SQLModel table class (the sync tables,
    sync/models.py) gives its `__table__`, which SQLModel's metaclass sets where a type checker
    cannot see it."""
    if isinstance(model, Table):
        return model
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


metadata = MetaData()


def _text(name: str, length: int | None = None, *foreign: ForeignKey, **kwargs: Any) -> Column[Any]:
    """A string column as SQLModel made one: NOT NULL unless said, VARCHAR(length)."""
    kwargs.setdefault("nullable", False)
    return Column(name, String(length), *foreign, **kwargs)


def _optional_text(name: str, length: int | None = None, *foreign: ForeignKey) -> Column[Any]:
    return Column(name, String(length), *foreign, nullable=True)


def _key(name: str, length: int, *foreign: ForeignKey) -> Column[Any]:
    return Column(name, String(length), *foreign, primary_key=True, nullable=False)


def _int(name: str, **kwargs: Any) -> Column[Any]:
    kwargs.setdefault("nullable", False)
    return Column(name, Integer(), **kwargs)


def _utc(name: str, nullable: bool = False, index: bool = False) -> Column[Any]:
    return Column(name, UTCDateTime(), nullable=nullable, index=index)


# BigInteger on PostgreSQL, but SQLite only treats a plain INTEGER primary key as the rowid.
EventPosition = BigInteger().with_variant(Integer(), "sqlite")


Organisation = Table(
    "organisation",
    metadata,
    _key("id", 64),
    _text("name"),
    _text("kind", 32, default="council"),
)


AppUser = Table(
    "app_user",
    metadata,
    _key("id", 64),
    _text("name"),
    _optional_text("organisation_id", None, ForeignKey("organisation.id")),
    _text("role", 32, default="coordinator"),
)


Patient = Table(
    "patient",
    metadata,
    _key("id", 36),
    _text("nhs_number", 10, unique=True, index=True),
    _text("name"),
    # The family name as the source gave it, apart (migration 0021); None when it gave one name.
    _optional_text("family_name", 100),
    Column("date_of_birth", Date(), nullable=False),
    _optional_text("locality", 64),
    # One locality's board in a database many share (migration 0014).
    Index("ix_patient_locality", "locality", "id"),
)


Journey = Table(
    "journey",
    metadata,
    _key("id", 36),
    _text("patient_id", 36, ForeignKey("patient.id"), index=True),
    _text("column_id", 32),
    _optional_text("pathway", 4),
    _optional_text("ward", 64),
    _optional_text("bed", 32),
    Column("admitted_on", Date(), nullable=True),
    _utc("referred_at"),
    _utc("entered_column_at"),
    Column("discharge_ready_date", Date(), nullable=True),
    Column("expected_discharge_date", Date(), nullable=True),
    _optional_text("delay_reason", 16),
    _utc("delay_since", nullable=True),
    _optional_text("assigned_to", 64),
    _optional_text("outcome", 32),
    _optional_text("destination", 32),
    _utc("discharged_at", nullable=True),
    _utc("left_hospital_at", nullable=True),  # migration 0015
    _utc("closed_at", nullable=True),
    _utc("acknowledged_until", nullable=True),
    _int("notes", default=0),
    _int("version", default=1),
    _utc("updated_at"),
    _text("updated_by", 64),
    Column("change_position", BigInteger(), nullable=False, index=True),
    _optional_text("locality", 64),  # the patient's, at referral
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


# Append-only. `position` is the hub-wide order in which events were committed.
JourneyEvent = Table(
    "journey_event",
    metadata,
    Column("position", EventPosition, primary_key=True, autoincrement=False),
    _text("event_id", 36, unique=True),
    _text("journey_id", 36, ForeignKey("journey.id"), index=True),
    _int("seq"),
    _text("kind", 32),
    Column("payload", JSON, nullable=False),
    _text("actor", 64),
    _text("device_id", 36),
    _utc("occurred_at"),
    _utc("recorded_at"),
    UniqueConstraint("journey_id", "seq", name="uq_journey_event_seq"),
    Index("ix_journey_event_kind_occurred", "kind", "occurred_at"),
    # The handover: what the hub recorded in a shift, whatever the devices' clocks claimed.
    Index("ix_journey_event_kind_recorded", "kind", "recorded_at"),
)


# Gap-free, commit-ordered counters. Taking the row lock serialises writers just long enough
# that a reader polling `position > N` can never skip an event committed late.
Counter = Table(
    "counter",
    metadata,
    _key("name", 32),
    Column("value", BigInteger(), nullable=False),
)


EVENTS_COUNTER = "events"


# A provider's service with capacity: a reablement team, a home-care agency, an
# intermediate-care unit, a community hospital ward, a care home.
Service = Table(
    "service",
    metadata,
    _key("id", 64),
    _text("name"),
    # reablement | home_care | intermediate_care | community_hospital | care_home
    _text("kind", 32),
    _text("pathway", 4),
    _text("unit", 16),  # beds | hours | packages
    _optional_text("organisation_id", None, ForeignKey("organisation.id")),
    _optional_text("locality", 64),
    Column("active", Boolean(), nullable=False, default=True),
)


# Append-only: a provider's statement of its capacity at a moment. The latest one counts.
CapacityReport = Table(
    "capacity_report",
    metadata,
    Column("id", EventPosition, primary_key=True, autoincrement=True),
    _text("report_id", 36, unique=True),
    _text("service_id", 64, ForeignKey("service.id")),
    _utc("reported_at"),
    _int("total"),
    _int("occupied"),
    _int("closed", default=0),  # vacancies closed to admissions
    _text("reported_by", 64),
    _text("device_id", 36),
    _optional_text("note"),
    Index("ix_capacity_report_service_time", "service_id", "reported_at"),
)


# --- reports (issue 4): summaries folded from the event log ------------------------------------


# How far the report summaries have folded the event log (the last `journey_event.position`).
# The summaries and this row change in one transaction, so a summary never holds half an event.
# `fold_version` names the fold's rules: when the code's rules change, the summaries are rebuilt.
ReportWatermark = Table(
    "report_watermark",
    metadata,
    _key("name", 32),
    Column("position", BigInteger(), nullable=False),
    _int("fold_version", default=0),
    _utc("updated_at", nullable=True),
)


# Per-day figures folded from the event log.
#
# Two kinds of metric share the table. A *count* (referrals, discharges, a length-of-stay
# histogram bucket) happened on `day`. A *level* (people who no longer meet the criteria to
# reside, people awaiting a pathway) is stored as +1/-1 changes on the day a state starts and
# ends, so the level at the end of day D is the sum of the rows with day <= D. Either way every
# row is a sum of small integers, which makes folding an event an upsert that adds.
ReportDaily = Table(
    "report_daily",
    metadata,
    _key("metric", 24),
    Column("day", Date(), primary_key=True, nullable=False),
    Column("locality", String(64), primary_key=True, nullable=False, default=""),
    Column("pathway", String(4), primary_key=True, nullable=False, default=""),
    Column("key", String(32), primary_key=True, nullable=False, default=""),
    Column("value", BigInteger(), nullable=False),
)


# What the fold needs to remember about each journey to fold its next event.
ReportJourney = Table(
    "report_journey",
    metadata,
    _key("journey_id", 36),
    Column("state", JSON, nullable=False),
)


# --- need-to-know and the audit (issue 12, migration 0012) --------------------------------------


# A locality the hub serves: the names a user may be given (`d2a server add-locality`).
HubLocality = Table("hub_locality", metadata, _key("name", 64))


# One row in a database `d2a serve` has run on: server administration acts on such a database
# only, never on a replica or a terminal's own hub (migration 0017).
ServerMark = Table(
    "server_mark",
    metadata,
    Column("id", Integer(), primary_key=True, nullable=False, default=1),
    _utc("first_served_at"),
)


# A locality a user serves. A coordinator, night or viewer user with none serves all.
UserLocality = Table(
    "user_locality",
    metadata,
    _key("user_id", 64, ForeignKey("app_user.id")),
    _key("locality", 64),
)


# One look at a journey (or a refused attempt): who, when, from which device, and why.
# Kept apart from `journey_event`, so that reading a record never changes its version; names
# no patient, only the journey's id.
AccessEvent = Table(
    "access_event",
    metadata,
    _key("id", 36),
    _utc("at"),
    _text("user_id", 64),
    _text("device_id", 36),
    _optional_text("journey_id", 36),
    _text("purpose", 32),  # the screen or command: journey_screen, show, export…
    _text("outcome", 16, default="allowed"),  # allowed | refused
    _optional_text("reason", 32),  # a refusal's reason code
    Index("ix_access_event_journey", "journey_id", "at"),
    Index("ix_access_event_user", "user_id", "at"),
    Index("ix_access_event_at", "at"),
)
