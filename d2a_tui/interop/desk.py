"""The ADT exceptions queue as the board and the CLI act on it: list, resolve, refer."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select, update

from d2a_tui.domain.errors import InvalidInput, NotFound
from d2a_tui.interop.queue import admission_rows, exception_rows, settle, waiting_count
from d2a_tui.interop.tables import adt_exception
from d2a_tui.storage.context import HubContext

if TYPE_CHECKING:
    from d2a_tui.domain.views import Change


class AdtHub(HubContext, Protocol):
    """What the exceptions queue needs of the Hub: the time, and a referral for an admission."""

    def now(self) -> datetime: ...
    def refer(
        self,
        nhs_number: str,
        name: str,
        date_of_birth: date | str,
        *,
        ward: str | None = None,
        bed: str | None = None,
        pathway: str | None = None,
        admitted_on: date | str | None = None,
    ) -> Change: ...


class AdtDesk:
    def __init__(self, hub: AdtHub) -> None:
        self.hub = hub

    def settle(self) -> int:
        """Resolve the exceptions the hub has dealt with on the board (see `queue.settle`)."""
        return settle(self.hub.store.engine, self.hub.store.flow, self.hub.now())

    def exceptions(self, *, include_resolved: bool = False) -> list[dict[str, Any]]:
        self.settle()
        return exception_rows(self.hub.store.engine, include_resolved=include_resolved)

    def admissions(self, **filters: Any) -> list[dict[str, Any]]:
        self.settle()
        return admission_rows(self.hub.store.engine, **filters)

    def waiting(self) -> int:
        self.settle()
        return waiting_count(self.hub.store.engine)

    def find(self, reference: str) -> Any:
        """An exception by its id, or the id's first or last characters (at least 4)."""
        key = reference.strip().lower()
        if len(key) < 4:
            raise InvalidInput("give at least 4 characters of the exception id")
        with self.hub.store.engine.connect() as connection:
            rows = connection.execute(
                select(adt_exception)
                .where(adt_exception.c.id.like(f"{key}%") | adt_exception.c.id.like(f"%{key}"))
                .limit(2)
            ).all()
        if not rows:
            raise NotFound(f"no ADT exception {reference}")
        if len(rows) > 1:
            raise InvalidInput(f"exception {reference!r} is ambiguous; give more of its id")
        return rows[0]

    def resolve(self, exception_id: str, note: str) -> None:
        if not note.strip():
            raise InvalidInput("say what was done: the note is kept with the exception")
        with self.hub.store.engine.begin() as connection:
            done = connection.execute(
                update(adt_exception)
                .where(adt_exception.c.id == exception_id, adt_exception.c.resolved_at.is_(None))
                .values(
                    resolved_at=self.hub.now(), resolved_by=self.hub.actor.user, resolution=note
                )
            )
            if done.rowcount != 1:
                raise InvalidInput("that exception is resolved already")

    def refer(self, exception_id: str, pathway: str | None = None) -> str:
        """Refer the person an `admitted` entry holds, with the feed's admission and ward; the
        entry is resolved naming the new journey. Returns the journey id."""
        row = self.find(exception_id)
        if row.kind != "admitted" or row.resolved_at is not None:
            raise InvalidInput("only a waiting 'admitted' entry can be referred")
        if not (row.nhs_number and row.name and row.date_of_birth):
            raise InvalidInput("the admission lacks an NHS number, name or date of birth")
        admitted = self.hub.calendar.day(row.admitted_at) if row.admitted_at else None
        change = self.hub.refer(
            row.nhs_number, row.name, row.date_of_birth, ward=row.ward, bed=row.bed,
            pathway=pathway, admitted_on=admitted,
        )  # fmt: skip
        self.resolve(row.id, f"referred as journey {change.card.journey_id[:8]}")
        return str(change.card.journey_id)
