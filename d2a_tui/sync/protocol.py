"""The wire contract between a replica and the central API: pydantic models, shared by both sides.

The server's OpenAPI document is generated from these, so the document and the code cannot drift.
Field names are short but whole words: bodies are gzipped, and repeated keys cost almost nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from d2a_tui.domain.commands import COMMANDS
from d2a_tui.domain.limits import MAX_LENGTH, MAX_PLACES

# Version 2 (issue 15, a night's sync on a slow link): the push answer is compact (ranges of the
# device's own client_seq applied, only the exceptions spelled out) and a pull may leave out the
# device's own events (`mine=skip`). A version-1 client gets version-1 answers, unchanged.
PROTOCOL_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
MAX_BATCH = 500
MAX_BODY_BYTES = 4 * 1024 * 1024  # after decompression
MAX_PULL_LIMIT = 1000
MAX_WAIT_SECONDS = 60

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
Uuid = Annotated[str, Field(pattern=UUID_PATTERN, min_length=36, max_length=36)]
UserId = Annotated[str, Field(min_length=1, max_length=64)]
# Every domain command, and undo; the OpenAPI document lists them as an enum.
Command = Literal[(*COMMANDS, "undo")]  # type: ignore[valid-type]  # built from COMMANDS: pydantic reads it at run time, mypy wants the values written out; the assert below keeps them in step
# The journey fields a change depends on. A replica sends what it saw; the server applies the
# change only if the journey still looks like that (see `sync/rules.py`).
SeenField = Literal[
    "column",
    "delay_reason",
    "discharge_ready_date",
    "expected_discharge_date",
    "ward",
    "bed",
    "assigned_to",
]
Outcome = Literal["applied", "merged", "conflict", "rejected"]

assert set(COMMANDS) | {"undo"} == set(Command.__args__), "protocol Command out of date"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _MutationBase(_Strict):
    mutation_id: Uuid = Field(description="UUIDv7, the idempotency key; also the event's id")
    client_seq: int = Field(ge=1, description="gap-free per device, from 1")
    actor: UserId = Field(description="the user who made the change; must be the device's user")
    occurred_at: AwareDatetime = Field(description="when the user made it, on the device's clock")


class CommandMutation(_MutationBase):
    """A journey command, as the user gave it, with what the user saw when giving it."""

    kind: Literal["command"]
    command: Command
    journey_id: Uuid | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    seen: dict[SeenField, Any] = Field(default_factory=dict)
    want: dict[SeenField, Any] = Field(default_factory=dict)
    undo_event_id: Uuid | None = None
    resolves: Uuid | None = Field(
        default=None, description="the conflicting mutation this one re-applies"
    )


class ResolveMutation(_MutationBase):
    """The user kept the other change: nothing changes on the journey, but the decision is
    recorded, so the audit trail shows both the conflict and how it ended."""

    kind: Literal["resolve"]
    resolves: Uuid
    decision: Literal["keep_theirs", "dismiss"]


class CapacityMutation(_MutationBase):
    """A provider's capacity report for one of its services."""

    kind: Literal["capacity"]
    report_id: Uuid
    service_id: Annotated[str, Field(min_length=1, max_length=64)]
    total: int = Field(ge=0, le=MAX_PLACES)
    occupied: int = Field(ge=0, le=MAX_PLACES)
    closed: int = Field(default=0, ge=0, le=MAX_PLACES)
    note: Annotated[str, Field(max_length=MAX_LENGTH["note"])] | None = None


class AccessMutation(_MutationBase):
    """A look at a journey on a replica (its screen, `d2a show`, an export): the audit's record,
    queued and synced like a change, though it changes nothing."""

    kind: Literal["access"]
    journey_id: Uuid
    purpose: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]


Mutation = Annotated[
    CommandMutation | ResolveMutation | CapacityMutation | AccessMutation,
    Field(discriminator="kind"),
]
MUTATION_KINDS = ("command", "resolve", "capacity", "access")


class PushRequest(_Strict):
    schema_version: int = Field(
        description=f"protocol version; this server knows {SUPPORTED_VERSIONS}"
    )
    device_id: Uuid
    mutations: list[Mutation] = Field(max_length=MAX_BATCH)


class Theirs(BaseModel):
    """The change a conflicting mutation ran into: who, when, and how the journey looks now."""

    actor: str | None = None
    at: datetime | None = None
    kind: str | None = None
    version: int | None = None
    values: dict[str, Any] = Field(default_factory=dict)


class Receipt(BaseModel):
    mutation_id: str
    client_seq: int
    outcome: Outcome
    reason: str | None = Field(
        default=None,
        description=(
            "machine-readable, for refusals: a rule (not_allowed, not_found, invalid_input, "
            "forbidden, out_of_scope, changed_since, wrong_journey, duplicate_report, "
            "patient_mismatch) or a "
            "field limit (too_long, control_characters, date_out_of_range, bad_timestamp, "
            "future_timestamp, unknown_field, bad_field)"
        ),
    )
    message: str | None = None
    journey_id: str | None = None
    position: int | None = Field(default=None, description="server_seq of the event it made")
    journey_version: int | None = None
    theirs: Theirs | None = None
    digest: str | None = Field(
        default=None,
        description="version 2: the first 8 hex digits of the SHA-256 of the event's payload",
    )


class PushResponse(BaseModel):
    receipts: list[Receipt]
    next_seq: int = Field(description="the client_seq the server expects next from this device")
    head: int = Field(description="the newest server_seq")


class CompactReceipts(BaseModel):
    """The version-2 answer to a push. Most mutations of a night are simply applied, so those are
    given as ranges of client_seq, each with the journey version and payload digest of the event it
    made (a replica holding that very event need not pull it back); every other answer (merged,
    conflict, rejected) is a whole receipt in `exceptions`."""

    applied: list[tuple[int, int]] = Field(description="[first, last] client_seq ranges applied")
    versions: list[int] = Field(
        description="per applied mutation, in client_seq order: its event's journey version (0: none)"
    )
    digests: str = Field(description="per applied mutation: 8 hex digits (00000000: no event)")
    exceptions: list[Receipt]
    next_seq: int
    head: int


class PulledEvent(BaseModel):
    position: int
    event_id: str
    journey_id: str
    seq: int
    kind: str
    payload: dict[str, Any]
    actor: str
    device_id: str
    occurred_at: datetime
    recorded_at: datetime


class PullResponse(BaseModel):
    events: list[PulledEvent]
    next: int = Field(description="pass as `since` next time")
    has_more: bool
    head: int
    forget: list[str] = Field(
        default_factory=list,
        description="journeys this device may no longer hold: remove them, their events and "
        "their patients (sent again until the device pulls past this answer)",
    )
    fetch: list[str] = Field(
        default_factory=list,
        description="journeys newly in this device's scope: fetch each with snapshot?journey_id=",
    )
    mark: str | None = Field(
        None,
        description="the mark of the event at `next`: send it back as `mark` with `since=next`",
    )


class SnapshotResponse(BaseModel):
    """Every event of the journeys a new replica needs, as of `head`: pull from `head` after."""

    events: list[PulledEvent]
    head: int
    journeys: int
    mark: str | None = Field(None, description="the mark of the event at `head` (see pull)")


class SyncOrganisation(BaseModel):
    id: str
    name: str
    kind: str


class SyncService(BaseModel):
    id: str
    name: str
    kind: str
    pathway: str
    unit: str
    organisation_id: str | None = None
    locality: str | None = None
    active: bool = True


class ServicesResponse(BaseModel):
    """`/v1/sync/services`: every service this device may hold (a provider's own organisation's;
    the hub's roles those of their localities), with their organisations. The replica replaces
    its own list with it; the ETag lets an unchanged list answer 304."""

    organisations: list[SyncOrganisation]
    services: list[SyncService]


class Health(BaseModel):
    status: Literal["ok"]
    schema_revision: str
    protocol_versions: list[int]
    time: datetime


class Ready(BaseModel):
    """`/v1/ready`: this process may be sent work (the database answers, its schema is this
    server's). Otherwise a 503 with reason `database_unavailable`, `schema_mismatch` or
    `shutting_down`."""

    status: Literal["ready"]
    schema_revision: str


class Me(BaseModel):
    user_id: str
    name: str
    role: str
    organisation_id: str | None
    device_id: str
    token_expires_at: datetime | None = None


class EnrolRequest(_Strict):
    token: Annotated[str, Field(min_length=16, max_length=200)]
    label: Annotated[str, Field(max_length=64)] | None = None
    # A replica logging in again (its old device revoked or expired) with changes still in its
    # outbox: the new device's sequence starts where those changes are numbered.
    first_seq: Annotated[int, Field(ge=1, le=2**53)] | None = None


class RotateRequest(_Strict):
    """Nothing to say: the server makes the new token (a device may not choose its own)."""


class RotateResponse(BaseModel):
    token: str = Field(
        description="the new device token, made by the server: it replaces the old one the "
        "first time it is used; until then the old one still works"
    )
    token_expires_at: datetime


class EnrolResponse(BaseModel):
    device_id: str
    token: str = Field(description="the device token: keep it secret; it is shown once")
    user_id: str
    name: str
    role: str
    token_expires_at: datetime | None = None


class ErrorBody(BaseModel):
    """The one shape of every 4xx (and 503) the API answers; nothing was stored."""

    error: str = Field(
        description=(
            "machine-readable reason, e.g. seq_gap, seq_reused, mutation_changed, "
            "mutation_id_reused, invalid_payload, body_too_large, not_found, no_token, "
            "not_in_scope"
        )
    )
    detail: str
    expected_seq: int | None = None
    errors: list[dict[str, Any]] | None = None
