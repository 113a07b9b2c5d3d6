"""The one place a journey's data leaves the server: every event of a pull or a snapshot, and
every receipt of a push, passes through here on its way out and is cut to the reader's view by
the domain's allow-list (`domain/need_to_know.py`). Nothing else in the server writes a payload
or a journey's values into an answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from d2a_tui.domain import need_to_know
from d2a_tui.sync.protocol import Receipt
from d2a_tui.sync.scope import Reader, Scope


def events(events: list[dict[str, Any]], who: Reader, scope: Scope) -> list[dict[str, Any]]:
    """Events (in the wire's shape) as the reader may see them: each payload rebuilt from the
    allow-list, so a key nobody listed never leaves, whatever the reader's role."""
    for event in events:
        event["kind"], event["payload"] = need_to_know.cut(
            event["kind"], event["payload"] or {}, who.view, scope.own_offers
        )
    return events


def receipts(receipts: Iterable[Receipt], role: str | None) -> list[Receipt]:
    """A push's receipts as the pusher may see them. A conflict names the journey's current
    values and the kind of change it ran into: only fields and kinds the role may read leave
    (a provider never learns a delay reason through a conflict)."""
    view = need_to_know.view_of(role)
    answered: list[Receipt] = []
    for receipt in receipts:
        theirs = receipt.theirs
        if theirs is not None:
            kind = (
                theirs.kind
                if theirs.kind and need_to_know.visible_kind(view, theirs.kind)
                else None
            )
            theirs = theirs.model_copy(
                update={"values": need_to_know.journey_values(view, theirs.values), "kind": kind}
            )
            receipt = receipt.model_copy(update={"theirs": theirs})
        answered.append(receipt)
    return answered
