"""A new replica's first snapshot, written out as it is read, so the server's memory stays flat.

Built whole, a region year's snapshot (hundreds of thousands of events) cost the server its JSON,
its rows and its dicts at once: gigabytes as the hub grows. Streamed, the server holds the list of
journey ids the snapshot covers and one chunk of their events at a time. The body is the same
document (`SnapshotResponse`); its events come journey by journey, each in order, which is all a
replica needs (it integrates each journey's events in seq order).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine, select

from d2a_tui.storage.journeys import event_table

JOURNEYS_PER_CHUNK = 500


def snapshot_chunks(
    engine: Engine,
    journey_ids: list[str],
    top: int,
    event_json: Callable[[Any], dict[str, Any]],
    mark: str | None = None,
) -> Iterator[bytes]:
    """The snapshot's JSON in pieces: the events up to `top` of these journeys. A failure after
    the first piece cuts the body short, which the client takes as a failed request."""
    marked = f'"mark":{json.dumps(mark)},' if mark is not None else ""
    yield f'{{"head":{top},"journeys":{len(journey_ids)},{marked}"events":['.encode()
    first = True
    step = JOURNEYS_PER_CHUNK
    for start in range(0, len(journey_ids), step):
        chunk = journey_ids[start : start + step]
        with engine.connect() as connection:
            rows = connection.execute(
                select(event_table)
                .where(event_table.c.journey_id.in_(chunk), event_table.c.position <= top)
                .order_by(event_table.c.journey_id, event_table.c.seq)
            ).all()
        if not rows:
            continue
        text = ",".join(
            json.dumps(event_json(row), separators=(",", ":"), ensure_ascii=False) for row in rows
        )
        yield (text if first else "," + text).encode()
        first = False
    yield b"]}"
