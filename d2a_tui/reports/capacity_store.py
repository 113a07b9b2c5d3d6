"""Services and their capacity reports in the database. Capacity reports are append-only: a
correction is a new report, so the history of what each provider said, and who said it, stays."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from d2a_tui.domain.errors import InvalidInput, NotAllowed, NotFound
from d2a_tui.domain.ids import uuid7
from d2a_tui.domain.limits import check_text
from d2a_tui.domain.services import CAPACITY_PATHWAYS, KINDS, UNITS, find_organisation
from d2a_tui.domain.services import organisation_id as canonical_organisation
from d2a_tui.storage.db import DatabaseUnavailable, safe_url
from d2a_tui.storage.models import CapacityReport, Journey, Organisation, Service, table_of

services = table_of(Service)
journeys = table_of(Journey)
reports = table_of(CapacityReport)
organisations = table_of(Organisation)

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ServiceView:
    id: str
    name: str
    kind: str
    pathway: str
    unit: str
    organisation_id: str | None
    locality: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class CapacityView:
    report_id: str
    service_id: str
    reported_at: datetime
    total: int
    occupied: int
    closed: int
    reported_by: str
    note: str | None

    @property
    def vacant(self) -> int:
        return self.total - self.occupied

    @property
    def available(self) -> int:
        """Vacancies open to admissions: what the hub can actually use."""
        return max(self.vacant - self.closed, 0)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")[:64]


def check_figures(total: int, occupied: int, closed: int) -> None:
    for name, value in (("total", total), ("occupied", occupied), ("closed", closed)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(f"{name} must be a whole number, got {value!r}")
        if value < 0:
            raise InvalidInput(f"{name} cannot be negative (got {value})")
    if occupied > total:
        raise InvalidInput(f"occupied ({occupied}) cannot be more than the total ({total})")
    if closed > total - occupied:
        raise InvalidInput(
            f"closed vacancies ({closed}) cannot be more than the vacancies ({total - occupied})"
        )


def _service(row: Any) -> ServiceView:
    return ServiceView(
        row.id, row.name, row.kind, row.pathway, row.unit, row.organisation_id, row.locality,
        bool(row.active),
    )  # fmt: skip


def _report(row: Any) -> CapacityView:
    return CapacityView(
        row.report_id, row.service_id, row.reported_at, row.total, row.occupied, row.closed,
        row.reported_by, row.note,
    )  # fmt: skip


class CapacityStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[Connection]:
        try:
            if write:
                with self.engine.begin() as connection:
                    yield connection
            else:
                with self.engine.connect() as connection:
                    yield connection
        except IntegrityError as error:
            raise NotAllowed(
                f"not saved: it clashes with what is stored ({_brief(error)})"
            ) from None
        except (OperationalError, DBAPIError) as error:
            raise DatabaseUnavailable(
                f"database {safe_url(str(self.engine.url))} is unavailable: {_brief(error)}; "
                "nothing was saved"
            ) from None

    # --- services ------------------------------------------------------------------------------

    def add_service(
        self,
        name: str,
        *,
        kind: str,
        pathway: str,
        unit: str,
        service_id: str | None = None,
        organisation_id: str | None = None,
        organisation_name: str | None = None,
        locality: str | None = None,
    ) -> ServiceView:
        name = (name or "").strip()
        if not name:
            raise InvalidInput("a service needs a name")
        # A service's name is on every screen and listing: the field limits of every text.
        check_text("name", name, "a service's name")
        if organisation_name:
            check_text("name", organisation_name, "an organisation's name")
        service_id = (service_id or slug(name)).strip().lower()
        if not _ID.match(service_id):
            raise InvalidInput(
                f"service id {service_id!r} must be lower-case letters, digits, - and _"
            )
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        pathway = (pathway or "").strip().upper()
        if pathway not in CAPACITY_PATHWAYS:
            raise InvalidInput(
                f"pathway must be one of {', '.join(CAPACITY_PATHWAYS)}, got {pathway!r}"
            )
        if unit not in UNITS:
            raise InvalidInput(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
        with self._connect(write=True) as connection:
            if connection.execute(select(services.c.id).where(services.c.id == service_id)).first():
                raise NotAllowed(f"there is already a service {service_id!r}")
            if organisation_id:
                # The one rule for an organisation's id (domain.services), as `server add-user`.
                rows = connection.execute(select(organisations.c.id, organisations.c.name)).all()
                typed = organisation_id
                found = find_organisation([(row.id, row.name) for row in rows], typed)
                if found is None and not organisation_name:
                    ids = ", ".join(sorted(row.id for row in rows)) or "none"
                    raise NotFound(
                        f"unknown organisation {typed!r} (known: {ids}): to create it, give its "
                        f'name too: --org {canonical_organisation(typed)} --org-name "…"'
                    )
                if found is None:
                    found = canonical_organisation(typed)
                    if not found:
                        raise InvalidInput(f"organisation id {typed!r} has no letters or digits")
                    connection.execute(
                        organisations.insert().values(
                            id=found, name=organisation_name, kind="provider"
                        )
                    )
                organisation_id = found
            values: dict[str, Any] = {
                "id": service_id, "name": name, "kind": kind, "pathway": pathway, "unit": unit,
                "organisation_id": organisation_id or None, "locality": locality, "active": True,
            }  # fmt: skip
            connection.execute(services.insert().values(**values))
        return ServiceView(**values)

    def services(self, *, include_inactive: bool = False) -> list[ServiceView]:
        query = select(services).order_by(services.c.pathway, services.c.name)
        if not include_inactive:
            query = query.where(services.c.active.is_(True))
        with self._connect() as connection:
            return [_service(row) for row in connection.execute(query)]

    def resolve(self, reference: str) -> ServiceView:
        """A service by id, or by an unambiguous start of its id or name."""
        wanted = (reference or "").strip().lower()
        every = self.services(include_inactive=True)
        exact = [s for s in every if s.id == wanted or s.name.lower() == wanted]
        matches = exact or [
            s for s in every if s.id.startswith(wanted) or s.name.lower().startswith(wanted)
        ]
        if wanted and len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidInput(
                f"service {reference!r} is ambiguous: {', '.join(s.id for s in matches[:6])}"
            )
        known = ", ".join(s.id for s in every[:12]) or "none yet (add one with `d2a service add`)"
        raise NotFound(f"no service {reference!r}; services: {known}")

    # --- capacity reports ----------------------------------------------------------------------

    def add_report(
        self,
        service: ServiceView,
        *,
        total: int,
        occupied: int,
        closed: int,
        reported_by: str,
        device_id: str,
        at: datetime,
        note: str | None = None,
    ) -> CapacityView:
        check_figures(total, occupied, closed)
        if not service.active:
            raise NotAllowed(f"service {service.id} is no longer active")
        view = CapacityView(uuid7(), service.id, at, total, occupied, closed, reported_by, note)
        with self._connect(write=True) as connection:
            connection.execute(
                reports.insert().values(
                    report_id=view.report_id, service_id=view.service_id,
                    reported_at=view.reported_at, total=total, occupied=occupied, closed=closed,
                    reported_by=reported_by, device_id=device_id, note=note,
                )
            )  # fmt: skip
        return view

    def latest(self, before: datetime | None = None) -> dict[str, CapacityView]:
        """Each service's latest report (made before `before`, if given)."""
        ranked = select(
            reports,
            func.row_number()
            .over(
                partition_by=reports.c.service_id,
                order_by=(reports.c.reported_at.desc(), reports.c.id.desc()),
            )
            .label("rank"),
        )
        if before is not None:
            ranked = ranked.where(reports.c.reported_at < before)
        sub = ranked.subquery()
        with self._connect() as connection:
            rows = connection.execute(select(sub).where(sub.c.rank == 1)).all()
        return {row.service_id: _report(row) for row in rows}

    def history(
        self, service_id: str | None = None, *, since: datetime | None = None, limit: int = 500
    ) -> list[CapacityView]:
        query = select(reports).order_by(reports.c.reported_at.desc(), reports.c.id.desc())
        if service_id:
            query = query.where(reports.c.service_id == service_id)
        if since:
            query = query.where(reports.c.reported_at >= since)
        with self._connect() as connection:
            return [_report(row) for row in connection.execute(query.limit(limit))]

    def reports_between(self, start: datetime, end: datetime) -> list[CapacityView]:
        query = (
            select(reports)
            .where(reports.c.reported_at >= start, reports.c.reported_at < end)
            .order_by(reports.c.reported_at, reports.c.id)
        )
        with self._connect() as connection:
            return [_report(row) for row in connection.execute(query)]

    # --- demand --------------------------------------------------------------------------------

    def open_by_column(self) -> dict[tuple[str, str], int]:
        """Open journeys with a pathway, counted by (column, pathway). Counting in the database
        rather than loading every open card: on a region that is ~5,000 cards, whose loading
        costs ~150 ms, against a few ms for the count (bench/reports.py)."""
        query = (
            select(journeys.c.column_id, journeys.c.pathway, func.count())
            .where(journeys.c.closed_at.is_(None), journeys.c.pathway.is_not(None))
            .group_by(journeys.c.column_id, journeys.c.pathway)
        )
        with self._connect() as connection:
            return {(row[0], row[1]): int(row[2]) for row in connection.execute(query)}


def _brief(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


STALE_AFTER = timedelta(hours=24)
