"""The capacity desk: services, what providers report they have, and demand against it.

The Hub carries one as `hub.capacity`. Screens and the CLI call it and get plain views back.
Capacity is counted in *places* so that it can be set against people waiting: a bed or a package
is a place; care hours are turned into places at HOURS_PER_PLACE (a typical reablement package).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from d2a_tui.domain.errors import InvalidInput, NotAllowed
from d2a_tui.domain.services import CAPACITY_PATHWAYS
from d2a_tui.reports.capacity_store import (
    STALE_AFTER,
    CapacityStore,
    CapacityView,
    ServiceView,
)
from d2a_tui.reports.days import days_between

if TYPE_CHECKING:
    from d2a_tui.reports.service import Reports
    from d2a_tui.storage.context import HubContext

    class CapacityHost(HubContext, Protocol):
        """The hub as the desk sees it: its context and its reports (made when first asked)."""

        @property
        def reports(self) -> Reports: ...


HOURS_PER_PLACE = 10  # care hours a week in a typical reablement package
TREND_DAYS = 30


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    service: ServiceView
    latest: CapacityView | None
    age: timedelta | None
    stale: bool

    @property
    def places(self) -> int:
        return places(self.service.unit, self.latest.available) if self.latest else 0


@dataclass(frozen=True, slots=True)
class Gap:
    """Demand against capacity for one pathway, now. gap = available places - people awaiting:
    negative means more people waiting than places to offer."""

    pathway: str
    awaiting: int
    arriving_per_day: float  # people newly awaiting the pathway, average of the last 7 full days
    available: int | None  # places open to admissions (None: no service reports for it)
    services: int
    stale: int  # services whose latest report is stale (or missing)

    @property
    def gap(self) -> int | None:
        return None if self.available is None else self.available - self.awaiting


@dataclass(frozen=True, slots=True)
class GapDay:
    day: date
    awaiting: int
    available: int | None

    @property
    def gap(self) -> int | None:
        return None if self.available is None else self.available - self.awaiting


def places(unit: str, amount: int) -> int:
    return amount // HOURS_PER_PLACE if unit == "hours" else amount


class CapacityDesk:
    def __init__(self, hub: CapacityHost) -> None:
        self.hub = hub
        self.store = CapacityStore(hub.store.engine)

    # --- services and reports ------------------------------------------------------------------

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
        return self.store.add_service(
            name, kind=kind, pathway=pathway, unit=unit, service_id=service_id,
            organisation_id=organisation_id, organisation_name=organisation_name,
            locality=locality,
        )  # fmt: skip

    def services(self) -> list[ServiceView]:
        return self.store.services()

    def service(self, reference: str) -> ServiceView:
        return self.store.resolve(reference)

    def report(
        self,
        service: str,
        *,
        total: int,
        occupied: int,
        closed: int = 0,
        note: str | None = None,
    ) -> CapacityView:
        return self.store.add_report(
            self.store.resolve(service), total=total, occupied=occupied, closed=closed,
            reported_by=self.hub.actor.user, device_id=self.hub.actor.device_id,
            at=self.hub.clock(), note=note,
        )  # fmt: skip

    def update_vacancies(
        self, service: str, vacant: int, *, closed: int | None = None
    ) -> CapacityView:
        """The quick update: the provider says how many vacancies it has now. The total stands
        as last reported; vacancies closed to admissions stay closed, as far as they still fit."""
        view = self.store.resolve(service)
        latest = self.store.latest().get(view.id)
        if latest is None:
            raise NotAllowed(
                f"{view.name} has no capacity report yet: give its total and occupied first"
            )
        if not isinstance(vacant, int) or vacant < 0:
            raise InvalidInput(f"vacancies cannot be negative (got {vacant})")
        if vacant > latest.total:
            raise InvalidInput(
                f"{vacant} vacancies is more than the total of {latest.total} {view.unit}; "
                "update the total with a full report"
            )
        kept_closed = min(latest.closed, vacant) if closed is None else closed
        return self.report(
            view.id, total=latest.total, occupied=latest.total - vacant, closed=kept_closed
        )

    def history(self, service: str | None = None, *, days: int = 30) -> list[CapacityView]:
        since = self.hub.clock() - timedelta(days=days)
        service_id = self.store.resolve(service).id if service else None
        return self.store.history(service_id, since=since)

    def statuses(self) -> list[ServiceStatus]:
        now = self.hub.clock()
        latest = self.store.latest()
        out = []
        for service in self.store.services():
            report = latest.get(service.id)
            age = now - report.reported_at if report else None
            out.append(ServiceStatus(service, report, age, age is None or age > STALE_AFTER))
        return out

    # --- demand against capacity ---------------------------------------------------------------

    def places_by_pathway(self, statuses: list[ServiceStatus] | None = None) -> dict[str, int]:
        """Places open to admissions now, per pathway that has at least one capacity report."""
        places: dict[str, int] = {}
        for status in self.statuses() if statuses is None else statuses:
            if status.latest is not None:
                pathway = status.service.pathway
                places[pathway] = places.get(pathway, 0) + status.places
        return places

    def awaiting_now(self) -> dict[str, int]:
        """People in hospital waiting for each pathway now (from the live board)."""
        counts: dict[str, int] = {}
        for (column, pathway), count in self.store.open_by_column().items():
            if pathway and self.hub.flow.column(column).in_hospital:
                counts[pathway] = counts.get(pathway, 0) + count
        return counts

    def gap_by_pathway(self) -> dict[str, Gap]:
        """For the board's column headers and the dashboard: P1, P2 and P3."""
        today = self.hub.calendar.day(self.hub.clock())
        awaiting = self.awaiting_now()
        summary = self.hub.reports.current_summary()
        arrivals = summary.counts(
            "became_awaiting", today - timedelta(days=7), today - timedelta(days=1), locality=None
        )
        statuses = self.statuses()
        available = self.places_by_pathway(statuses)
        gaps = {}
        for pathway in CAPACITY_PATHWAYS:
            mine = [s for s in statuses if s.service.pathway == pathway]
            gaps[pathway] = Gap(
                pathway=pathway,
                awaiting=awaiting.get(pathway, 0),
                arriving_per_day=round(arrivals.get((pathway,), 0) / 7, 1),
                available=available.get(pathway),
                services=len(mine),
                stale=sum(1 for s in mine if s.stale),
            )
        return gaps

    def trend(self, days: int = TREND_DAYS) -> dict[str, list[GapDay]]:
        """Awaiting, available places and the gap at the end of each of the last `days` days."""
        today = self.hub.calendar.day(self.hub.clock())
        first = today - timedelta(days=days - 1)
        summary = self.hub.reports.current_summary()
        awaiting = summary.level_series("awaiting", first, today, locality=None)
        by_id = {s.id: s for s in self.store.services(include_inactive=True)}
        start = self.hub.calendar.end_of_day(first - timedelta(days=1))
        current = dict(self.store.latest(before=start))
        changes = self.store.reports_between(
            start, max(self.hub.calendar.end_of_day(today), self.hub.clock())
        )
        out: dict[str, list[GapDay]] = {p: [] for p in CAPACITY_PATHWAYS}
        index = 0
        for day in days_between(first, today):
            cutoff = self.hub.calendar.end_of_day(day)
            while index < len(changes) and changes[index].reported_at < cutoff:
                current[changes[index].service_id] = changes[index]
                index += 1
            for pathway in CAPACITY_PATHWAYS:
                reported = [
                    r for sid, r in current.items()
                    if sid in by_id and by_id[sid].pathway == pathway and by_id[sid].active
                ]  # fmt: skip
                available = (
                    sum(places(by_id[r.service_id].unit, r.available) for r in reported)
                    if reported
                    else None
                )
                out[pathway].append(GapDay(day, awaiting[day].get(pathway, 0), available))
        return out


def latest_report_at(status: ServiceStatus) -> datetime | None:
    return status.latest.reported_at if status.latest else None
