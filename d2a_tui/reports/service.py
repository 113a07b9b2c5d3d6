"""The reports facade the Hub carries as `hub.reports`: the sitrep, lengths of stay, flow, and
the figures behind the operational and strategic dashboards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from d2a_tui.domain.errors import InvalidInput
from d2a_tui.domain.flow import PATHWAYS
from d2a_tui.domain.stuck import Level, assess
from d2a_tui.reports import moves, open_now, period, sitrep
from d2a_tui.reports.open_now import OpenJourney
from d2a_tui.reports.summary import Summary
from d2a_tui.reports.tables import Report, Table

if TYPE_CHECKING:
    from d2a_tui.storage.context import HubContext

MAX_PERIOD_DAYS = 3 * 366
# The planning split for people 65+ (DOMAIN.md): share of discharges by pathway.
PLANNING_SPLIT = {"P0": ">= 50%", "P1": "<= 45%", "P2": "<= 4%", "P3": "<= 1%"}
PLANNING_LIMIT = {"P0": (50.0, None), "P1": (None, 45.0), "P2": (None, 4.0), "P3": (None, 1.0)}


@dataclass(frozen=True)
class ColumnCount:
    column: str
    name: str
    total: int
    amber: int
    red: int


@dataclass(frozen=True)
class Wait:
    journey_id: str
    who: str
    column: str
    pathway: str | None
    days_ready: int | None
    waited: timedelta
    delay_reason: str | None


@dataclass(frozen=True)
class Operational:
    at: datetime
    columns: tuple[ColumnCount, ...]
    nctr: dict[str, int]  # in hospital now and no longer meeting the criteria to reside
    discharged_today: dict[str, int]
    oldest: tuple[Wait, ...]

    @property
    def stuck(self) -> tuple[int, int]:
        return sum(c.amber for c in self.columns), sum(c.red for c in self.columns)


@dataclass(frozen=True)
class Strategic:
    first: date
    last: date
    flow: tuple[period.FlowDay, ...]
    stages: dict[str, period.Spread]
    delay_days: dict[str, int]  # NCTR patient-days in the period, by delay reason code ("" none)
    shares: dict[str, float]  # % of discharges by pathway
    discharges: dict[str, int] = field(default_factory=dict)
    # Moves between columns in the period, busiest first (where flow blocks).
    transitions: tuple[moves.Transition, ...] = ()


class Reports:
    def __init__(self, hub: HubContext) -> None:
        self.hub = hub
        self.calendar = hub.calendar
        self.summary = Summary(hub.store.engine, hub.flow, hub.calendar)

    def today(self) -> date:
        return self.calendar.day(self.hub.clock())

    def current_summary(self, as_known_at: datetime | None = None) -> Summary:
        """The summaries, after folding any events committed since they were last read; as
        they stood with only what had been recorded by `as_known_at`, if given."""
        self.summary.catch_up()
        if as_known_at is not None:
            return self.summary.as_known_at(as_known_at)
        return self.summary

    def known_at(self, value: str | datetime | None) -> datetime | None:
        """`--as-known-at`: an ISO timestamp (hub-local when it has no offset), or a date,
        meaning the end of that hub day."""
        if value is None or value == "":
            return None
        now = self.hub.clock()
        if isinstance(value, datetime):
            moment = value
        else:
            text = str(value).strip()
            try:
                moment = datetime.fromisoformat(text)
                day = moment.date() if len(text) == 10 else None
            except ValueError:
                day = self.calendar.parse_date(text, "--as-known-at", now=now)
            if day is not None:  # a date: what was known by the end of that day
                if day > self.calendar.day(now):
                    raise InvalidInput(f"--as-known-at {value} is in the future")
                return min(self.calendar.end_of_day(day), now)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.calendar.zone)
        if moment > now:
            raise InvalidInput(f"--as-known-at {value} is in the future")
        return moment

    # --- validation ----------------------------------------------------------------------------

    def _day(self, value: str | date | None, what: str) -> date:
        day = self.calendar.parse_date(value or "today", what, now=self.hub.clock())
        if day > self.today():
            raise InvalidInput(f"{what} {day} is in the future: figures exist up to today")
        return day

    def _period(self, first: str | date | None, last: str | date | None) -> tuple[date, date]:
        end = self._day(last, "--to date")
        start = (
            self.calendar.parse_date(first, "--from date", now=self.hub.clock())
            if first not in (None, "")
            else end - timedelta(days=29)
        )
        if start > end:
            raise InvalidInput(f"--from {start} is after --to {end}")
        if (end - start).days + 1 > MAX_PERIOD_DAYS:
            raise InvalidInput(f"a period is at most {MAX_PERIOD_DAYS} days")
        return start, end

    def _locality(self, locality: str | None) -> str | None:
        if not locality:
            return None
        known = self.current_summary().localities()
        for name in known:
            if name.lower() == locality.strip().lower():
                return name
        raise InvalidInput(f"unknown locality {locality!r}; known: {', '.join(known) or 'none'}")

    # --- reports -------------------------------------------------------------------------------

    def sitrep(
        self,
        day: str | date | None = None,
        *,
        week: bool = False,
        month: bool = False,
        locality: str | None = None,
        as_known_at: str | datetime | None = None,
    ) -> Report:
        when = self._day(day, "sitrep date")
        place = self._locality(locality)
        known = self.known_at(as_known_at)
        summary = self.current_summary(known)
        tables: list[Table] = [
            sitrep.daily_table(summary, when, place),
            sitrep.deaths_table(summary, when, place),
        ]
        if week:
            tables.extend(sitrep.weekly_tables(summary, when, place))
            tables.append(sitrep.grouped_delays_table(summary, when, place))
        if month:
            tables.append(sitrep.monthly_table(summary, when, place))
            tables.append(sitrep.delayed_days_table(summary, when, place))
        return Report(
            "sitrep",
            f"Discharge sitrep as at the end of {when:%A %d %B %Y}"
            + (f", {place}" if place else "")
            + self._known_title(known),
            {"date": when, "week": week, "month": month, "locality": place, "as_known_at": known},
            tuple(tables),
            self.hub.clock(),
        )

    def los(
        self,
        first: str | date | None = None,
        last: str | date | None = None,
        *,
        locality: str | None = None,
        as_known_at: str | datetime | None = None,
    ) -> Report:
        start, end = self._period(first, last)
        place = self._locality(locality)
        known = self.known_at(as_known_at)
        tables = period.los_tables(self.current_summary(known), start, end, place)
        return Report(
            "los",
            f"Length of stay, {start:%d %b %Y} to {end:%d %b %Y}"
            + (f", {place}" if place else "")
            + self._known_title(known),
            {"from": start, "to": end, "locality": place, "as_known_at": known},
            tables,
            self.hub.clock(),
        )

    def flow(
        self,
        first: str | date | None = None,
        last: str | date | None = None,
        *,
        locality: str | None = None,
        as_known_at: str | datetime | None = None,
    ) -> Report:
        start, end = self._period(first, last)
        place = self._locality(locality)
        known = self.known_at(as_known_at)
        tables = [period.flow_table(self.current_summary(known), start, end, place)]
        return Report(
            "flow",
            f"Flow, {start:%d %b %Y} to {end:%d %b %Y}"
            + (f", {place}" if place else "")
            + self._known_title(known),
            {"from": start, "to": end, "locality": place, "as_known_at": known},
            tuple(tables),
            self.hub.clock(),
        )

    def transitions(
        self,
        first: str | date | None = None,
        last: str | date | None = None,
        *,
        locality: str | None = None,
        as_known_at: str | datetime | None = None,
    ) -> Report:
        """Moves between columns in the period, and the time spent before each."""
        start, end = self._period(first, last)
        place = self._locality(locality)
        known = self.known_at(as_known_at)
        summary = self.current_summary(known)
        return Report(
            "transitions",
            f"Moves between columns, {start:%d %b %Y} to {end:%d %b %Y}"
            + (f", {place}" if place else "")
            + self._known_title(known),
            {"from": start, "to": end, "locality": place, "as_known_at": known},
            moves.transition_tables(summary, self.hub.flow, start, end, place),
            self.hub.clock(),
        )

    def _known_title(self, known: datetime | None) -> str:
        if known is None:
            return ""
        local = known.astimezone(self.calendar.zone)
        return f", as known at {local:%d %b %Y %H:%M}"

    # --- dashboards ----------------------------------------------------------------------------

    def operational(self, oldest: int = 10) -> Operational:
        hub = self.hub
        flow = hub.flow
        now = hub.clock()
        today = self.calendar.day(now)
        counts: dict[str, list[int]] = {c.id: [0, 0, 0] for c in flow.open_columns}
        nctr: dict[str, int] = {}
        waits: list[tuple[tuple[int, float], OpenJourney, int | None]] = []
        for journey in open_now.open_journeys(hub.store.engine):
            column = flow.column(journey.column)
            # What `Hub.stuck` decides for a card, from the few columns read here.
            level = assess(
                column, flow.limits, now, journey.entered_column_at,
                journey.discharge_ready_date, journey.admitted_on, self.calendar,
            ).level  # fmt: skip
            bucket = counts.setdefault(journey.column, [0, 0, 0])
            bucket[0] += 1
            bucket[1] += level is Level.AMBER
            bucket[2] += level is Level.RED
            days_ready = None
            if column.in_hospital and journey.discharge_ready_date is not None:
                days_ready = self.calendar.days_since(journey.discharge_ready_date, now)
                if days_ready >= 0:
                    key = journey.pathway or ""
                    nctr[key] = nctr.get(key, 0) + 1
            if column.in_hospital:
                waited = (now - journey.entered_column_at).total_seconds()
                waits.append(
                    ((days_ready if days_ready is not None else -1, waited), journey, days_ready)
                )
        waits.sort(key=lambda item: item[0], reverse=True)
        shown = waits[:oldest]
        who = open_now.names(hub.store.engine, (journey.journey_id for _, journey, _ in shown))
        summary = self.current_summary()
        discharged = {
            key[0]: value
            for key, value in summary.counts("discharges", today, today, locality=None).items()
        }
        return Operational(
            at=now,
            columns=tuple(
                ColumnCount(cid, flow.column(cid).name, *values) for cid, values in counts.items()
            ),
            nctr=nctr,
            discharged_today=discharged,
            oldest=tuple(
                Wait(
                    journey.journey_id,
                    who.get(journey.journey_id, ""),
                    flow.column(journey.column).name,
                    journey.pathway,
                    days_ready,
                    now - journey.entered_column_at,
                    journey.delay_reason,
                )
                for _, journey, days_ready in shown
            ),
        )

    def strategic(self, days: int = 30, *, last: date | None = None) -> Strategic:
        if days < 1 or days > MAX_PERIOD_DAYS:
            raise InvalidInput(f"a period is 1 to {MAX_PERIOD_DAYS} days")
        end = last or self.today()
        start = end - timedelta(days=days - 1)
        summary = self.current_summary()
        flow = period.flow_days(summary, start, end, None)
        stages = period.stage_spreads(summary, start, end, None)
        by_reason = summary.level_series("nctr", start, end, by="key", locality=None)
        delay_days: dict[str, int] = {}
        for values in by_reason.values():
            for code, count in values.items():
                delay_days[code] = delay_days.get(code, 0) + count
        discharges: dict[str, int] = {}
        for item in flow:
            for pathway, count in item.discharges.items():
                discharges[pathway] = discharges.get(pathway, 0) + count
        total = sum(discharges.get(p, 0) for p in PATHWAYS)
        shares = {p: (100.0 * discharges.get(p, 0) / total if total else 0.0) for p in PATHWAYS}
        found = moves.transitions(summary, start, end, None)
        found.sort(key=lambda t: (-t.count, t.source, t.target))
        return Strategic(
            start, end, tuple(flow), stages, delay_days, shares, discharges, tuple(found)
        )

    def rebuild(self) -> int:
        """Empty the summaries and fold the whole log again (after a flow file changes)."""
        self.summary.invalidate()
        return self.summary.catch_up()
