"""The interop tables (migration 0009): what the ADT feed has processed, and what it holds for a
person. Written only in the transaction that writes the message's events, so a message is
recorded as processed exactly when its events are committed."""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, MetaData, String, Table, Text

from d2a_tui.storage.models import UTCDateTime

metadata = MetaData()

# One row per applied message, by sender and MSH-10 control id: a resent message is answered
# from here and changes nothing. No patient identifier is kept in it.
adt_message = Table(
    "adt_message",
    metadata,
    Column("sender", String(180), primary_key=True),
    Column("control_id", String(199), primary_key=True),
    Column("message_type", String(16), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),  # applied, pending, held, ignored
    Column("detail", Text, nullable=True),
    Column("journey_id", String(36), nullable=True),
    # Migration 0020: the content's SHA-256 (bar MSH-7 and MSH-10), to tell a resend from a new
    # message under a reused control id; the PV1-19 visit number of what was applied.
    Column("digest", String(64), nullable=True),
    Column("visit_number", String(64), nullable=True),
    Index("ix_adt_message_journey", "journey_id", "visit_number"),
)

# Identifiers messages carried beside the NHS number (the hospital's MRN, by its assigning
# authority), for the patient each was matched to (migration 0020).
adt_identifier = Table(
    "adt_identifier",
    metadata,
    Column("authority", String(64), primary_key=True),
    Column("identifier", String(64), primary_key=True),
    Column("patient_id", String(36), nullable=False),
)

# Messages the feed will not guess about (a date of birth that differs, a merge of two open
# journeys), hospital discharges the hub must act on, and admissions of people not yet referred.
adt_exception = Table(
    "adt_exception",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),  # mismatch, discharged, merge, admitted
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sender", String(180), nullable=False),
    Column("control_id", String(199), nullable=False),
    Column("message_type", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("nhs_number", String(10), nullable=True),
    Column("name", Text, nullable=True),
    Column("date_of_birth", Date, nullable=True),
    Column("ward", Text, nullable=True),
    Column("bed", Text, nullable=True),
    Column("admitted_at", UTCDateTime(), nullable=True),
    Column("journey_id", String(36), nullable=True),
    Column("message", Text, nullable=False),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Column("resolved_by", String(64), nullable=True),
    Column("resolution", Text, nullable=True),
    Index("ix_adt_exception_open", "resolved_at", "kind"),
    Index("ix_adt_exception_nhs", "nhs_number"),
)
