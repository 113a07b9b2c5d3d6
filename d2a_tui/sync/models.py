"""Sync tables, on the same SQLModel metadata as the journey tables (migration 0004).

One schema everywhere: the server uses `sync_device` and `sync_receipt`; a replica uses
`sync_outbox`, `sync_replica` and `sync_conflict`. Creating all of them on both sides costs a few
empty tables and keeps `d2a db upgrade` the same command for every database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from d2a_tui.storage.models import UTCDateTime


def _utc(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


# --- server side ---------------------------------------------------------------------------------


class SyncDevice(SQLModel, table=True):
    """An enrolled terminal. Only SHA-256 hashes of its tokens are kept: a stolen database
    backup must not let anyone act as the device."""

    __tablename__ = "sync_device"
    id: str = Field(primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=64)
    label: str | None = Field(default=None, max_length=64)
    enrol_hash: str | None = Field(default=None, unique=True, max_length=64)
    token_hash: str | None = Field(default=None, unique=True, max_length=64)
    created_at: datetime = _utc()
    enrolled_at: datetime | None = _utc(nullable=True)
    revoked_at: datetime | None = _utc(nullable=True)
    last_seen_at: datetime | None = _utc(nullable=True)
    # When the device token stops working (None: enrolled before tokens expired; counts from
    # enrolled_at). Rotated by the device before then.
    token_expires_at: datetime | None = _utc(nullable=True)
    # The next client_seq the server will accept from this device: gap-free per device.
    next_seq: int = 1
    # The scope its last pull was answered in (sync/scope.py): a change means a reconcile.
    scope_key: str | None = Field(default=None, max_length=200)
    # A token the server made for a swap (its hash), until the device first uses it; the old
    # token keeps working till then, so a lost answer locks no one out (migration 0019).
    pending_hash: str | None = Field(default=None, unique=True, max_length=64)
    pending_expires_at: datetime | None = _utc(nullable=True)


class SyncReceipt(SQLModel, table=True):
    """What happened to one mutation, stored in the transaction that applied (or refused) it,
    so a retried push gets the same answer and nothing twice. Also the audit trail of refused
    and conflicting changes, which leave no journey event."""

    __tablename__ = "sync_receipt"
    __table_args__ = (UniqueConstraint("device_id", "client_seq", name="uq_sync_receipt_seq"),)
    mutation_id: str = Field(primary_key=True, max_length=36)
    device_id: str = Field(max_length=36)
    client_seq: int
    kind: str = Field(max_length=16)
    outcome: str = Field(max_length=16)  # applied | merged | conflict | rejected
    reason: str | None = Field(default=None, max_length=32)
    message: str | None = None
    journey_id: str | None = Field(default=None, index=True, max_length=36)
    position: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    journey_version: int | None = None
    theirs: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    mutation: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    actor: str = Field(max_length=64)
    received_at: datetime = _utc()


# --- replica side --------------------------------------------------------------------------------


class SyncOutbox(SQLModel, table=True):
    """A local change waiting for (or answered by) the server. Written in the same transaction
    as the local event, so a change is never shown without being queued, nor queued unshown."""

    __tablename__ = "sync_outbox"
    __table_args__ = (Index("ix_sync_outbox_status_seq", "status", "client_seq"),)
    mutation_id: str = Field(primary_key=True, max_length=36)
    client_seq: int = Field(unique=True)
    kind: str = Field(max_length=16)
    journey_id: str | None = Field(default=None, index=True, max_length=36)
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # A referral's local event payload: re-used as is when the journey is rebuilt before the
    # server has answered (it carries the patient the user typed).
    local_payload: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    created_at: datetime = _utc()
    status: str = Field(default="pending", max_length=16)  # pending | applied | merged | ...
    confirmed: bool = False  # the server's event for it has been pulled
    reason: str | None = Field(default=None, max_length=32)
    message: str | None = None
    settled_at: datetime | None = _utc(nullable=True)


class SyncReplica(SQLModel, table=True):
    """This replica's sync position: one row. The cursor moves in the transaction that stores
    the pulled events, so a crash can neither skip nor double-apply a page."""

    __tablename__ = "sync_replica"
    id: int = Field(default=1, primary_key=True)
    cursor: int = Field(default=0, sa_column=Column(BigInteger(), nullable=False))
    next_client_seq: int = 1
    last_success_at: datetime | None = _utc(nullable=True)
    last_attempt_at: datetime | None = _utc(nullable=True)
    last_error: str | None = None
    # The device's secrets, inside the database its passphrase encrypts, never in the login
    # file beside it (migration 0019): its token, a swapped-in token not yet confirmed, and the
    # idle lock's PIN hash (useless without the passphrase that opens this row).
    device_token: str | None = None
    pending_token: str | None = None
    pin_hash: str | None = None
    # The server's mark of the event at `cursor` (sync/marks.py): sent with each pull, so a
    # server restored from an older backup, whose log holds another event there, is noticed.
    log_mark: str | None = Field(default=None, max_length=32)
    # The last time this replica found the server's log was not the one it followed, and what
    # it did about it (shown by `d2a sync --status`).
    recovered_at: datetime | None = _utc(nullable=True)
    recovery: str | None = None
    # The server's clock minus this device's, in seconds, as measured at the last sync.
    clock_offset: float | None = None


class SyncConflict(SQLModel, table=True):
    """A change of ours the server did not apply (a conflict or a refusal), until the user
    decides. The decision is itself a mutation, so both stay in the server's audit trail."""

    __tablename__ = "sync_conflict"
    mutation_id: str = Field(primary_key=True, max_length=36)
    journey_id: str | None = Field(default=None, max_length=36)
    outcome: str = Field(max_length=16)  # conflict | rejected
    reason: str | None = Field(default=None, max_length=32)
    message: str | None = None
    mutation: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    theirs: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _utc()
    resolved_at: datetime | None = _utc(nullable=True)
    resolution: str | None = Field(default=None, max_length=16)  # mine | theirs | dismissed
    resolution_mutation_id: str | None = Field(default=None, max_length=36)


class SyncHeld(SQLModel, table=True):
    """A journey the server has sent to a device. When the device's scope no longer covers it,
    the server lists it in the pull's `forget`; the row goes once the device has pulled past
    `forget_after` (so it has stored that answer), and not before: a lost answer is re-sent."""

    __tablename__ = "sync_held"
    __table_args__ = (Index("ix_sync_held_forget", "device_id", "forget_after"),)
    device_id: str = Field(primary_key=True, max_length=36)
    journey_id: str = Field(primary_key=True, max_length=36)
    forget_after: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
