"""Protocol version 2 on the wire: compact push answers, and how a replica knows its own events.

A night's 1,000 offline changes used to cross a slow link three times: up in the push, down again
as 1,000 receipts (each with a random mutation id), and down a third time when the pull sent the
device's own events back. Version 2 answers a push with ranges of the device's own client_seq
that were applied, each with its event's journey version and a short digest of its payload;
only the other answers are spelled out. A replica that holds an event with that id, version and
payload confirms it there and then, and pulls with `mine=skip`; what it could not confirm (another
device changed the journey in between) it fetches whole after the pull.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from d2a_tui.storage.journeys import event_table
from d2a_tui.sync.protocol import CompactReceipts, PushResponse, Receipt

NO_EVENT = "0" * 8


def payload_digest(payload: dict[str, Any]) -> str:
    """8 hex digits of the payload's SHA-256, over canonical JSON: the same on SQLite and
    PostgreSQL (JSONB reorders keys) and on both sides of the wire."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def event_digests(connection: Connection, event_ids: Iterable[str]) -> dict[str, str]:
    wanted = list(event_ids)
    if not wanted:
        return {}
    rows = connection.execute(
        select(event_table.c.event_id, event_table.c.payload).where(
            event_table.c.event_id.in_(wanted)
        )
    )
    return {row.event_id: payload_digest(row.payload) for row in rows}


def compact(
    receipts: Sequence[Receipt], digests: dict[str, str], next_seq: int, head: int
) -> dict[str, Any]:
    """The version-2 body for a push's receipts (in client_seq order)."""
    ranges: list[list[int]] = []
    versions: list[int] = []
    marks: list[str] = []
    exceptions: list[dict[str, Any]] = []
    for receipt in receipts:
        if receipt.outcome != "applied":
            exceptions.append(receipt.model_dump(mode="json", exclude_none=True))
            continue
        if ranges and ranges[-1][1] == receipt.client_seq - 1:
            ranges[-1][1] = receipt.client_seq
        else:
            ranges.append([receipt.client_seq, receipt.client_seq])
        versions.append(receipt.journey_version or 0)
        marks.append(digests.get(receipt.mutation_id, NO_EVENT))
    return {
        "applied": ranges,
        "versions": versions,
        "digests": "".join(marks),
        "exceptions": exceptions,
        "next_seq": next_seq,
        "head": head,
    }


def expand(body: dict[str, Any], batch: Sequence[dict[str, Any]]) -> PushResponse:
    """A push answer, either version, as whole receipts; `batch` is what was pushed (it names the
    mutation behind each client_seq)."""
    if "receipts" in body:
        return PushResponse.model_validate(body)
    answer = CompactReceipts.model_validate(body)
    ids = {mutation["client_seq"]: mutation["mutation_id"] for mutation in batch}
    receipts = [Receipt.model_validate(receipt) for receipt in answer.exceptions]
    index = 0
    for first, last in answer.applied:
        for seq in range(first, last + 1):
            if seq not in ids:
                raise ValueError(f"the answer names client_seq {seq}, which was not pushed")
            digest = answer.digests[index * 8 : index * 8 + 8]
            receipts.append(
                Receipt(
                    mutation_id=ids[seq],
                    client_seq=seq,
                    outcome="applied",
                    journey_version=answer.versions[index] or None,
                    digest=None if digest == NO_EVENT else digest,
                )
            )
            index += 1
    receipts.sort(key=lambda receipt: receipt.client_seq)
    return PushResponse(receipts=receipts, next_seq=answer.next_seq, head=answer.head)
