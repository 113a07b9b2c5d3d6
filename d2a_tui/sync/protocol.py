"""The wire contract between a replica and the central API: pydantic models, shared by both sides.

The server's OpenAPI document is generated from these, so the document and the code cannot drift.
Field names are short but whole words: bodies are gzipped, and repeated keys cost almost nothing.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    TypeAdapter,
    model_validator,
)

from d2a_tui.domain.commands import COMMANDS
from d2a_tui.domain.limits import MAX_LENGTH, MAX_PLACES

# Version 2 (issue 15, a night's sync on a slow link): the push answer is compact (ranges of the
# device's own client_seq applied, only the exceptions spelled out) and a pull may leave out the
# device's own events (`mine=skip`). A version-1 client gets version-1 answers, unchanged.
# Version 3 (issue 25): the same push, in fewer bytes (`PushRequestV3`); answered as version 2.
PROTOCOL_VERSION = 3
SUPPORTED_VERSIONS = (1, 2, 3)
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


# What each kind of mutation says, apart from its id, number, time and journey: shared by the
# version-1/2 mutations and the version-3 changes, which name those four differently.
class _CommandFields(_Strict):
    kind: Literal["command"]
    command: Command
    args: dict[str, Any] = Field(default_factory=dict)
    seen: dict[SeenField, Any] = Field(default_factory=dict)
    want: dict[SeenField, Any] = Field(default_factory=dict)
    undo_event_id: Uuid | None = None
    resolves: Uuid | None = Field(
        default=None, description="the conflicting mutation this one re-applies"
    )


class _ResolveFields(_Strict):
    kind: Literal["resolve"]
    resolves: Uuid
    decision: Literal["keep_theirs", "dismiss"]


class _CapacityFields(_Strict):
    kind: Literal["capacity"]
    report_id: Uuid
    service_id: Annotated[str, Field(min_length=1, max_length=64)]
    total: int = Field(ge=0, le=MAX_PLACES)
    occupied: int = Field(ge=0, le=MAX_PLACES)
    closed: int = Field(default=0, ge=0, le=MAX_PLACES)
    note: Annotated[str, Field(max_length=MAX_LENGTH["note"])] | None = None


class _AccessFields(_Strict):
    kind: Literal["access"]
    purpose: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]


class CommandMutation(_MutationBase, _CommandFields):
    """A journey command, as the user gave it, with what the user saw when giving it."""

    journey_id: Uuid | None = None


class ResolveMutation(_MutationBase, _ResolveFields):
    """The user kept the other change: nothing changes on the journey, but the decision is
    recorded, so the audit trail shows both the conflict and how it ended."""


class CapacityMutation(_MutationBase, _CapacityFields):
    """A provider's capacity report for one of its services."""


class AccessMutation(_MutationBase, _AccessFields):
    """A look at a journey on a replica (its screen, `d2a show`, an export): the audit's record,
    queued and synced like a change, though it changes nothing."""

    journey_id: Uuid


Mutation = Annotated[
    CommandMutation | ResolveMutation | CapacityMutation | AccessMutation,
    Field(discriminator="kind"),
]
MUTATION_KINDS = ("command", "resolve", "capacity", "access")
_MUTATION: TypeAdapter[Mutation] = TypeAdapter(Mutation)


class PushRequest(_Strict):
    schema_version: int = Field(
        description=f"protocol version; this server knows {SUPPORTED_VERSIONS}"
    )
    device_id: Uuid
    mutations: list[Mutation] = Field(max_length=MAX_BATCH)


# --- version 3: the same push in fewer bytes --------------------------------------------------
#
# A night's batch names a few hundred journeys, each by a random id that gzip cannot shrink
# (16 bytes of entropy, ~20 on the wire as text), and most of them more than once; each change's
# time had microseconds and a date that repeat nothing. Version 3 sends each journey id once per
# batch, as raw bytes (`journeys`: base64 of the ids' 16 bytes each, in order of first use), and
# each change names its journey by its index there; a change's time is the microseconds since the
# one before it (the first: since `started_us`), exact, so the server stores the same instant as
# before; client_seq is implied (the batch is consecutive from `first_seq`, as it had to be).
# The server turns a version-3 body back into version-2 mutations before anything else reads it,
# so exactly-once, receipts, ordering and conflicts are the same code as before.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_JOURNEY_BYTES = 16
# Times a datetime can hold (year 1 to 9999): anything else is no time at all (a 422); a time
# that is merely implausible is refused per change, by the ingest, as in version 2.
_FIRST_US = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _MICROSECOND
_LAST_US = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - _EPOCH) // _MICROSECOND


class _ChangeBase(_Strict):
    mutation_id: Uuid = Field(description="UUIDv7, the idempotency key; also the event's id")
    actor: UserId = Field(description="the user who made the change; must be the device's user")
    elapsed_us: int = Field(
        ge=_FIRST_US - _LAST_US,
        le=_LAST_US - _FIRST_US,
        description="when the user made it: microseconds after the change before it in the batch "
        "(the first: after `started_us`); negative if the device's clock went back",
    )


class CommandChange(_ChangeBase, _CommandFields):
    """Version 3's CommandMutation."""

    journey: int | None = Field(default=None, ge=0, description="an index into `journeys`")


class ResolveChange(_ChangeBase, _ResolveFields):
    """Version 3's ResolveMutation."""


class CapacityChange(_ChangeBase, _CapacityFields):
    """Version 3's CapacityMutation."""


class AccessChange(_ChangeBase, _AccessFields):
    """Version 3's AccessMutation."""

    journey: int = Field(ge=0, description="an index into `journeys`")


Change = Annotated[
    CommandChange | ResolveChange | CapacityChange | AccessChange,
    Field(discriminator="kind"),
]
_CHANGE_ONLY = {"elapsed_us", "journey"}


class PushRequestV3(_Strict):
    """A push in version 3: see the note above `_ChangeBase` in `sync/protocol.py`."""

    schema_version: Literal[3]
    device_id: Uuid
    first_seq: int = Field(ge=1, le=2**53, description="the first change's client_seq")
    started_us: int = Field(
        ge=_FIRST_US, le=_LAST_US, description="microseconds since 1970-01-01T00:00Z"
    )
    journeys: str = Field(
        max_length=-(-MAX_BATCH * _JOURNEY_BYTES // 3) * 4,
        description="base64 of the journey ids' 16 bytes each, in order of first use",
    )
    # `mutations` on the wire, like version 2's, so a batch too large is refused the same way.
    changes: list[Change] = Field(alias="mutations", max_length=MAX_BATCH)
    _mutations: list[Mutation] = PrivateAttr(default_factory=list)

    @property
    def mutations(self) -> list[Mutation]:
        """The batch as version-2 mutations: what the server applies."""
        return self._mutations

    @model_validator(mode="after")
    def _expand(self) -> PushRequestV3:
        try:
            raw = base64.b64decode(self.journeys, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("journeys is not base64") from None
        if len(raw) % _JOURNEY_BYTES:
            raise ValueError("journeys is not a whole number of 16-byte ids")
        journeys = [
            str(uuid.UUID(bytes=raw[at : at + _JOURNEY_BYTES]))
            for at in range(0, len(raw), _JOURNEY_BYTES)
        ]
        at_us = self.started_us
        mutations: list[Mutation] = []
        for index, change in enumerate(self.changes):
            at_us += change.elapsed_us
            if not _FIRST_US <= at_us <= _LAST_US:
                raise ValueError(f"change {index}: its time is beyond any date")
            fields = change.model_dump(exclude=_CHANGE_ONLY)
            journey = getattr(change, "journey", None)
            if journey is not None:
                if journey >= len(journeys):
                    raise ValueError(f"change {index}: journey {journey} is not in journeys")
                fields["journey_id"] = journeys[journey]
            fields["client_seq"] = self.first_seq + index
            fields["occurred_at"] = _EPOCH + at_us * _MICROSECOND
            mutations.append(_MUTATION.validate_python(fields))
        self._mutations = mutations
        return self


def _push_version(body: Any) -> str:
    version = body.get("schema_version") if isinstance(body, dict) else None
    if isinstance(body, PushRequestV3) or version == 3:
        return "v3"
    return "v1"


PushBody = Annotated[
    Annotated[PushRequest, Tag("v1")] | Annotated[PushRequestV3, Tag("v3")],
    Discriminator(_push_version),
]


def _canonical_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def encode_push(device_id: str, mutations: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """A batch of version-2 mutations (as the outbox holds them) as a version-3 body, or None
    when version 3 cannot carry it exactly (a time not in UTC, client_seq not consecutive): it
    then goes as version 2, as it would have before."""
    journeys: dict[str, int] = {}
    changes: list[dict[str, Any]] = []
    before_us: int | None = None
    for index, mutation in enumerate(mutations):
        if mutation["client_seq"] != mutations[0]["client_seq"] + index:
            return None
        occurred = datetime.fromisoformat(mutation["occurred_at"])
        if occurred.utcoffset() != timedelta(0):
            # A retry of a change first sent as version 2 must be the same change to the byte
            # (its stored copy is compared), offset included.
            return None
        at_us = (occurred - _EPOCH) // _MICROSECOND
        change = {
            key: value
            for key, value in mutation.items()
            if key not in ("client_seq", "occurred_at", "journey_id")
        }
        change["elapsed_us"] = 0 if before_us is None else at_us - before_us
        if before_us is None:
            started_us = at_us
        before_us = at_us
        journey_id = mutation.get("journey_id")
        if journey_id is not None:
            if not _canonical_uuid(journey_id):
                return None  # not an id the server takes: version 2 refuses it as it was
            change["journey"] = journeys.setdefault(journey_id, len(journeys))
        changes.append(change)
    if not changes:
        return None
    raw = b"".join(uuid.UUID(journey_id).bytes for journey_id in journeys)
    return {
        "schema_version": 3,
        "device_id": device_id,
        "first_seq": mutations[0]["client_seq"],
        "started_us": started_us,
        "journeys": base64.b64encode(raw).decode("ascii"),
        "mutations": changes,
    }


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
