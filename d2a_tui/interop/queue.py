"""What the ADT feed holds for the hub, read for the CLI and the board.

Two lists in one table. The **exceptions** need a person: a date of birth that differs, a merge of
two open journeys, a hospital discharge while the journey waits in a hospital column, a discharge
cancelled after the hub closed the journey, a death the hospital recorded (close as died). The
**admissions** list is the feed of inpatient
admissions of people not yet referred: the hub refers from it, filtered by ward or day; it is
not work waiting, and the board's "ADT: n waiting" does not count it.

An exception about a journey the hub has since dealt with resolves itself (`settle`), naming
what the hub did: a discharge the hub has moved out of hospital or closed, a death whose journey
the hub has closed, a cancelled discharge whose journey the hub has reopened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update

from d2a_tui.domain.flow import Flow
from d2a_tui.interop.tables import adt_exception
from d2a_tui.storage.journeys import journey_table, patient_table

_SHOWN = (
    "id", "kind", "created_at", "sender", "control_id", "message_type", "reason", "nhs_number",
    "name", "date_of_birth", "ward", "bed", "admitted_at", "journey_id", "resolved_at",
    "resolved_by", "resolution",
)  # fmt: skip
ADMITTED = "admitted"
SETTLED_BY = "d2a"


def waiting_count(engine: Engine) -> int:
    """How many exceptions wait for a person (an indexed count: the board asks every few
    seconds); admissions of people not referred are a list to refer from, not work waiting."""
    query = (
        select(func.count())
        .select_from(adt_exception)
        .where(adt_exception.c.resolved_at.is_(None), adt_exception.c.kind != ADMITTED)
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def settle(engine: Engine, flow: Flow, now: datetime) -> int:
    """Resolve the exceptions the hub has dealt with on the board; how many."""
    hospital = [column.id for column in flow.columns if column.in_hospital]
    open_entries = select(adt_exception.c.id, adt_exception.c.kind, journey_table.c.column_id,
                          journey_table.c.closed_at).join(
        journey_table, journey_table.c.id == adt_exception.c.journey_id
    ).where(
        adt_exception.c.resolved_at.is_(None),
        or_(
            and_(
                adt_exception.c.kind == "discharged",
                or_(journey_table.c.closed_at.is_not(None),
                    journey_table.c.column_id.not_in(hospital)),
            ),
            and_(adt_exception.c.kind == "reopen", journey_table.c.closed_at.is_(None)),
            and_(adt_exception.c.kind == "died", journey_table.c.closed_at.is_not(None)),
        ),
    )  # fmt: skip
    # An admission on the list whose person the hub has since referred another way (from the
    # board, an import) is taken off it, naming the journey.
    referred = (
        select(adt_exception.c.id, journey_table.c.id.label("journey_id"))
        .join(patient_table, patient_table.c.nhs_number == adt_exception.c.nhs_number)
        .join(journey_table, journey_table.c.patient_id == patient_table.c.id)
        .where(
            adt_exception.c.kind == ADMITTED,
            adt_exception.c.resolved_at.is_(None),
            journey_table.c.closed_at.is_(None),
        )
    )
    done = 0
    with engine.begin() as connection:
        for found in connection.execute(referred).all():
            done += connection.execute(
                update(adt_exception)
                .where(adt_exception.c.id == found.id, adt_exception.c.resolved_at.is_(None))
                .values(
                    resolved_at=now, resolved_by=SETTLED_BY,
                    resolution=f"referred as journey {found.journey_id[:8]}",
                )
            ).rowcount  # fmt: skip
        for row in connection.execute(open_entries).all():
            column = flow.column(row.column_id).name
            if row.kind == "reopen":
                what = f"the hub reopened the journey ({column})"
            elif row.closed_at is not None:
                what = "the hub closed the journey"
            else:
                what = f"the hub moved the journey to {column}"
            done += connection.execute(
                update(adt_exception)
                .where(adt_exception.c.id == row.id, adt_exception.c.resolved_at.is_(None))
                .values(resolved_at=now, resolved_by=SETTLED_BY, resolution=what)
            ).rowcount
    return done


def exception_rows(engine: Engine, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """Oldest first; the raw message stays in the database, for the person resolving it."""
    query = (
        select(*(adt_exception.c[name] for name in _SHOWN))
        .where(adt_exception.c.kind != ADMITTED)
        .order_by(adt_exception.c.created_at)
    )
    if not include_resolved:
        query = query.where(adt_exception.c.resolved_at.is_(None))
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def admission_rows(
    engine: Engine,
    *,
    ward: str | None = None,
    since: datetime | None = None,
    include_done: bool = False,
) -> list[dict[str, Any]]:
    """Admissions of people not yet referred, newest admission first, by ward (any case) and
    admitted since a time."""
    query = (
        select(*(adt_exception.c[name] for name in _SHOWN))
        .where(adt_exception.c.kind == ADMITTED)
        .order_by(adt_exception.c.admitted_at.desc())
    )
    if not include_done:
        query = query.where(adt_exception.c.resolved_at.is_(None))
    if ward:
        query = query.where(func.lower(adt_exception.c.ward) == ward.strip().lower())
    if since is not None:
        query = query.where(adt_exception.c.admitted_at >= since)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
