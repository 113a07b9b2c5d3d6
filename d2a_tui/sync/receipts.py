"""What the server answers for each mutation of a push, and the checks that keep each one's
answer unique: a retry is answered from its stored receipt (and must be the same change), a new
mutation must bring a new id, and a refusal of a single change is a receipt, not an error, so
the rest of the batch goes on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from d2a_tui.domain.errors import D2AError
from d2a_tui.storage.journeys import event_table
from d2a_tui.storage.models import table_of
from d2a_tui.sync.models import SyncReceipt
from d2a_tui.sync.protocol import Mutation, Receipt, Theirs

receipt_table = table_of(SyncReceipt)


class PushRefused(D2AError):
    """The whole batch is refused before anything is applied (HTTP 4xx)."""

    def __init__(self, status: int, error: str, detail: str, expected_seq: int | None = None):
        self.status, self.error, self.detail, self.expected_seq = (
            status,
            error,
            detail,
            expected_seq,
        )
        super().__init__(detail)


def stored_receipts(
    connection: Connection, device_id: str, mutations: list[Mutation], expected: int
) -> dict[int, Receipt]:
    seen = [m for m in mutations if m.client_seq < expected]
    if not seen:
        return {}
    rows = connection.execute(
        select(receipt_table).where(
            receipt_table.c.device_id == device_id,
            receipt_table.c.client_seq.between(seen[0].client_seq, seen[-1].client_seq),
        )
    ).all()
    by_seq = {row.client_seq: row for row in rows}
    receipts: dict[int, Receipt] = {}
    for mutation in seen:
        row = by_seq.get(mutation.client_seq)
        if row is None or row.mutation_id != mutation.mutation_id:
            raise PushRefused(
                409,
                "seq_reused",
                f"client_seq {mutation.client_seq} was used by another mutation",
                expected_seq=expected,
            )
        if row.mutation != mutation.model_dump(mode="json"):
            # A retry must be the same change: answering a different body with the first
            # one's receipt would tell the client that something it never sent was done.
            raise PushRefused(
                409,
                "mutation_changed",
                f"mutation {mutation.mutation_id} was sent before with a different body",
                expected_seq=expected,
            )
        receipts[mutation.client_seq] = Receipt(
            mutation_id=row.mutation_id,
            client_seq=row.client_seq,
            outcome=row.outcome,
            reason=row.reason,
            message=row.message,
            journey_id=row.journey_id,
            position=row.position,
            journey_version=row.journey_version,
            theirs=Theirs(**row.theirs) if row.theirs else None,
        )
    return receipts


def refuse_reused_ids(connection: Connection, fresh: list[Mutation]) -> None:
    """A new mutation must have a new id: it becomes the event's id and the receipt's key,
    and an id already used (by this device, another one, or an event a pull showed) would
    otherwise reach the database as a duplicate key."""
    ids = [m.mutation_id for m in fresh]
    if len(set(ids)) != len(ids):
        raise PushRefused(409, "mutation_id_reused", "a batch uses one mutation id twice")
    if not ids:
        return
    used = (
        connection.execute(
            select(receipt_table.c.mutation_id).where(receipt_table.c.mutation_id.in_(ids)).limit(1)
        ).first()
        or connection.execute(
            select(event_table.c.event_id).where(event_table.c.event_id.in_(ids)).limit(1)
        ).first()
    )
    if used is not None:
        raise PushRefused(
            409, "mutation_id_reused", f"mutation id {used[0]} was used before: make a new one"
        )


def refused(mutation: Mutation, reason: str, message: str) -> Receipt:
    return Receipt(
        mutation_id=mutation.mutation_id,
        client_seq=mutation.client_seq,
        outcome="rejected",
        reason=reason,
        message=message,
        journey_id=getattr(mutation, "journey_id", None),
    )


def receipt_row(
    device_id: str, mutation: Mutation, receipt: Receipt, received_at: datetime
) -> dict[str, Any]:
    return {
        "mutation_id": mutation.mutation_id,
        "device_id": device_id,
        "client_seq": mutation.client_seq,
        "kind": mutation.kind,
        "outcome": receipt.outcome,
        "reason": receipt.reason,
        "message": receipt.message[:1000] if receipt.message else None,  # it may echo input
        "journey_id": receipt.journey_id,
        "position": receipt.position,
        "journey_version": receipt.journey_version,
        "theirs": receipt.theirs.model_dump(mode="json") if receipt.theirs else None,
        "mutation": mutation.model_dump(mode="json"),
        "actor": mutation.actor,
        "received_at": received_at,
    }
