"""`d2a import`: a hub's caseload sheet brought in as journeys, with their real dates.

Planning reads the sheet and the database and decides, row by row, what would be created, what
updated and what cannot be taken (with the row number and the reason); it writes nothing. Applying
runs every planned command through the one write path (`UnitOfWork.execute`) in ONE transaction,
so an import is all or nothing, and a plan with any refused row is not applied at all.

A row is matched to a journey by NHS number and admission date, so running the same file again
finds every journey as the sheet says and changes nothing. A new journey's events carry the dates
the sheet gives (referred on, discharge-ready date, in its column since), so lengths of stay, days
since discharge-ready and the sitrep are right from the first day. Changes to a journey that is
already on the board are made now, as any hub member's change would be.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select

from d2a_tui.domain import nhs_number
from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import D2AError, InvalidInput
from d2a_tui.domain.events import JourneyState, apply
from d2a_tui.domain.flow import Column, Flow
from d2a_tui.domain.handler import Command, handle
from d2a_tui.domain.limits import check_event_fields, check_text
from d2a_tui.interop.batch import batched_unit_of_work
from d2a_tui.interop.sheet import Sheet, SheetRow
from d2a_tui.interop.values import (
    parse_delay_reason,
    parse_pathway,
    parse_sheet_date,
    text_value,
)
from d2a_tui.storage.journeys import (
    Actor,
    JourneyStore,
    journey_table,
    patient_table,
    state_from_row,
)

_IN_BATCH = 500
_T = TypeVar("_T")
# The write path's limit a sheet's column is held to, where the column is a part of a payload key.
_LIMIT_KEY = {"forename": "name", "surname": "name"}


@dataclass(frozen=True, slots=True)
class Step:
    command: str
    args: dict[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class RowPlan:
    row: int
    action: str  # "create", "update" or "unchanged"
    nhs_number: str
    journey_id: str | None
    column: str
    steps: tuple[Step, ...]
    detail: str


@dataclass(frozen=True, slots=True)
class Refusal:
    row: int
    reason: str


@dataclass
class ImportPlan:
    rows: list[RowPlan] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    blank_rows: list[int] = field(default_factory=list)

    def of(self, action: str) -> list[RowPlan]:
        return [row for row in self.rows if row.action == action]

    @property
    def events(self) -> int:
        return sum(len(row.steps) for row in self.rows)


@dataclass(frozen=True, slots=True)
class _Row:
    number: int
    nhs: str
    name: str
    family: str | None  # the surname column, as the sheet gives it
    born: date
    admitted: date
    referred: date
    ward: str | None
    bed: str | None
    pathway: str | None
    column: Column | None
    since: date | None
    ready: date | None
    expected: date | None
    delay: str | None
    locality: str | None


@dataclass(frozen=True, slots=True)
class _Existing:
    state: JourneyState
    date_of_birth: date


class Planner:
    def __init__(self, store: JourneyStore, calendar: HubCalendar, now: datetime) -> None:
        self.store = store
        self.flow: Flow = store.flow
        self.calendar = calendar
        self.now = now
        self.today = calendar.day(now)
        self._columns = {_words(c.id): c for c in self.flow.columns} | {
            _words(c.name): c for c in self.flow.columns
        }
        self._sheet: Sheet | None = None

    def plan(self, sheet: Sheet) -> ImportPlan:
        self._sheet = sheet
        plan = ImportPlan(blank_rows=list(sheet.blank_rows))
        parsed: list[_Row] = []
        for raw in sheet.rows:
            try:
                parsed.append(self._parse(raw))
            except D2AError as error:
                plan.refused.append(Refusal(raw.number, str(error)))
        by_person: dict[str, list[_Row]] = defaultdict(list)
        for row in parsed:
            by_person[row.nhs].append(row)
        existing = self._existing(list(by_person))
        for nhs, rows in by_person.items():
            if len(rows) > 1:
                numbers = ", ".join(str(r.number) for r in rows)
                for row in rows:
                    plan.refused.append(
                        Refusal(
                            row.number,
                            f"{self._label('nhs_number')} …{nhs[-4:]} is on rows {numbers}: "
                            "keep one row per person",
                        )
                    )
                continue
            try:
                planned, state = self._plan_row(rows[0], existing.get(nhs, []))
                self._rehearse(planned, state)
                plan.rows.append(planned)
            except D2AError as error:
                plan.refused.append(Refusal(rows[0].number, str(error)))
        plan.rows.sort(key=lambda r: r.row)
        plan.refused.sort(key=lambda r: r.row)
        return plan

    # --- one row -------------------------------------------------------------------------------

    def _label(self, name: str) -> str:
        """The sheet's own header for a field, as a refusal names it."""
        return f'"{self._sheet.header(name)}"' if self._sheet else name.replace("_", " ")

    def _text(self, values: dict[str, Any], name: str) -> str | None:
        """A text cell within the limits the write path holds every text to (length, no control
        characters), refused in the sheet's words before anything would be written."""
        text = text_value(values.get(name))
        if text is not None:
            check_text(_LIMIT_KEY.get(name, name), text, self._label(name))
        return text

    def _parse(self, raw: SheetRow) -> _Row:
        if raw.problem:
            raise InvalidInput(raw.problem)
        v = raw.values
        try:
            nhs = nhs_number.normalise(text_value(v.get("nhs_number")) or "")
        except InvalidInput as error:
            raise InvalidInput(f"{self._label('nhs_number')}: {error}") from None
        forename, surname = self._text(v, "forename"), self._text(v, "surname")
        name = self._text(v, "name") or " ".join(part for part in (forename, surname) if part)
        if not name:
            raise InvalidInput(f"{self._label('name' if 'name' in v else 'surname')} is empty")
        check_text("name", name, self._label("name" if "name" in v else "surname"))
        born = self._past(v, "date_of_birth", required=True)
        admitted = self._past(v, "admitted_on", required=True)
        assert born is not None and admitted is not None
        if admitted < born:
            raise InvalidInput(
                f"{self._label('admitted_on')} {admitted} is before the "
                f"{self._label('date_of_birth')} {born}"
            )
        since = self._past(v, "column_since")
        referred = self._past(v, "referred_on") or since or admitted
        if referred < admitted:
            raise InvalidInput(
                f"{self._label('referred_on')} {referred} is before the "
                f"{self._label('admitted_on')} {admitted}"
            )
        if since is not None and since < referred:
            raise InvalidInput(
                f"{self._label('column_since')} {since} is before the referral on {referred}"
            )
        ready = self._past(v, "discharge_ready_date")
        if ready is not None and ready < admitted:
            raise InvalidInput(
                f"{self._label('discharge_ready_date')} {ready} is before the "
                f"{self._label('admitted_on')} {admitted}"
            )
        pathway = self._field("pathway", lambda: parse_pathway(v.get("pathway")))
        column = self._field("column", lambda: self._column(v.get("column"), pathway))
        if column is not None and column.pathway and pathway and column.pathway != pathway:
            raise InvalidInput(
                f"{self._label('column')} {column.name} is {column.pathway}, but "
                f"{self._label('pathway')} says {pathway}"
            )
        delay = self._field("delay_reason", lambda: parse_delay_reason(v.get("delay_reason")))
        expected = parse_sheet_date(
            v.get("expected_discharge_date"), self._label("expected_discharge_date")
        )
        return _Row(
            number=raw.number,
            nhs=nhs,
            name=name,
            family=surname,
            born=born,
            admitted=admitted,
            referred=referred,
            ward=self._text(v, "ward"),
            bed=self._text(v, "bed"),
            pathway=pathway or (column.pathway if column else None),
            column=column,
            since=since,
            ready=ready,
            expected=expected,
            delay=delay.code if delay else None,
            locality=self._text(v, "locality"),
        )

    def _field(self, name: str, read: Callable[[], _T]) -> _T:
        try:
            return read()
        except InvalidInput as error:
            raise InvalidInput(f"{self._label(name)}: {error}") from None

    def _past(self, values: dict[str, Any], key: str, *, required: bool = False) -> date | None:
        label = self._label(key)
        value = parse_sheet_date(values.get(key), label)
        if value is None:
            if required:
                raise InvalidInput(f"{label} is empty")
            return None
        if value > self.today:
            raise InvalidInput(f"{label} {value:%d/%m/%Y} is in the future")
        return value

    def _column(self, value: Any, pathway: str | None) -> Column | None:
        text = text_value(value)
        if text is None:
            return None
        column = self._columns.get(_words(text))
        if column is None:
            known = ", ".join(c.name for c in self.flow.open_columns)
            raise InvalidInput(f"column {text!r} is not on the board; columns: {known}")
        if column.is_closed:
            raise InvalidInput("the journey is closed: import brings in the open caseload only")
        return column

    def _rehearse(self, planned: RowPlan, state: JourneyState | None) -> None:
        """Every step through the domain's own rules and the write path's field limits, on a
        copy of the journey: a row the real run would refuse is refused here, dry run or not.
        (What needs the database, the person's other journeys, was judged by `_plan_row`.)"""
        for step in planned.steps:
            args = step.args
            if step.command == "refer":
                args = {**args, "patient": {**args["patient"], "id": "rehearsal"}}
            journey_id = state.id if state else "rehearsal"
            command = Command(step.command, args, journey_id, "rehearsal", "import", step.at)
            for event in handle(self.flow, state, command, self.calendar.day(step.at)):
                check_event_fields(event.payload, "import", step.at, self.now)
                state = apply(state, event)

    def _plan_row(
        self, row: _Row, journeys: list[_Existing]
    ) -> tuple[RowPlan, JourneyState | None]:
        same_stay = [j for j in journeys if j.state.admitted_on == row.admitted]
        for journey in journeys:
            if journey.date_of_birth != row.born:
                raise InvalidInput(
                    f"NHS number …{row.nhs[-4:]} is on record with a different date of birth"
                )
        if same_stay:
            return self._update(row, same_stay[-1].state), same_stay[-1].state
        open_ = [j.state for j in journeys if j.state.closed_at is None]
        if open_:
            other = open_[0]
            raise InvalidInput(
                f"NHS number …{row.nhs[-4:]} already has an open journey {other.id[:8]} "
                f"admitted {other.admitted_on or 'on an unknown date'}, not {row.admitted}"
            )
        return self._create(row), None

    def _target(self, row: _Row) -> Column:
        if row.column is not None:
            return row.column
        if row.pathway:
            for column in self.flow.open_columns:
                if column.in_hospital and column.pathway == row.pathway:
                    return column
        return self.flow.entry

    def _create(self, row: _Row) -> RowPlan:
        target = self._target(row)
        referred_at = self._moment(row.referred, floor=None)
        ready_in_referral = row.ready if row.ready and row.ready <= row.referred else None
        refer = Step(
            "refer",
            {
                "patient": {
                    "nhs_number": row.nhs,
                    "name": row.name,
                    **({"family_name": row.family} if row.family else {}),
                    "date_of_birth": row.born.isoformat(),
                    "locality": row.locality,
                },
                "ward": row.ward,
                "bed": row.bed,
                "pathway": row.pathway,
                "admitted_on": row.admitted.isoformat(),
                "discharge_ready_date": _iso(ready_in_referral),
                "expected_discharge_date": _iso(row.expected),
            },
            referred_at,
        )
        timed: list[tuple[datetime, int, Step]] = []
        moved_at = self._moment(row.since or row.referred, floor=referred_at)
        for order, column in enumerate(self._path(self.flow.entry, target)):
            timed.append((moved_at, order, Step("move", {"to": column.id}, moved_at)))
        if row.ready and ready_in_referral is None:
            at = self._moment(row.ready, floor=referred_at)
            timed.append((at, -1, Step("set_ready_date", {"date": row.ready.isoformat()}, at)))
        timed.sort(key=lambda item: (item[0], item[1]))
        steps = [refer, *(step for _, _, step in timed)]
        if row.delay:
            # When the delay began is not in a sheet; it holds from the journey's latest known step.
            steps.append(Step("set_delay", {"code": row.delay}, steps[-1].at))
        return RowPlan(
            row.number, "create", row.nhs, None, target.id, tuple(steps), _describe(row, target)
        )

    def _update(self, row: _Row, state: JourneyState) -> RowPlan:
        column = self.flow.column(state.column)
        if state.closed_at is not None:
            return RowPlan(row.number, "unchanged", row.nhs, state.id, state.column, (),
                           "closed on the board since; left alone")  # fmt: skip
        now, steps, changes = self.now, [], []
        if row.column is not None and row.column.id != state.column:
            for target in self._path(column, row.column):
                steps.append(Step("move", {"to": target.id}, now))
            changes.append(f"{column.name} → {row.column.name}")
        ward = row.ward if row.ward is not None else state.ward
        bed = row.bed if row.bed is not None else state.bed
        if (ward, bed) != (state.ward, state.bed):
            steps.append(Step("set_ward", {"ward": ward, "bed": bed}, now))
            changes.append(f"ward {ward or '-'} {bed or ''}".rstrip())
        if row.ready is not None and row.ready != state.discharge_ready_date:
            steps.append(Step("set_ready_date", {"date": row.ready.isoformat()}, now))
            changes.append(f"ready {row.ready}")
        if row.expected is not None and row.expected != state.expected_discharge_date:
            steps.append(Step("set_expected_date", {"date": row.expected.isoformat()}, now))
            changes.append(f"expected {row.expected}")
        if row.delay is not None and row.delay != state.delay_reason:
            steps.append(Step("set_delay", {"code": row.delay}, now))
            changes.append(f"delay {row.delay}")
        action = "update" if steps else "unchanged"
        detail = ", ".join(changes) if changes else "as on the board"
        to = row.column.id if row.column else state.column
        return RowPlan(row.number, action, row.nhs, state.id, to, tuple(steps), detail)

    def _moment(self, day: date, *, floor: datetime | None) -> datetime:
        """Midday on `day` in the hub's time zone (a date in a sheet has no time, and midday is on
        that day in every zone a hub works in), never later than now nor before `floor`."""
        at = min(self.calendar.start_of_day(day) + timedelta(hours=12), self.now)
        return max(at, floor) if floor is not None else at

    def _path(self, start: Column, target: Column) -> list[Column]:
        """The shortest run of allowed moves from `start` to `target`, never through closed."""
        if start.id == target.id:
            return []
        previous: dict[str, str] = {start.id: ""}
        queue = [start.id]
        while queue:
            current = queue.pop(0)
            for nxt in self.flow.column(current).moves:
                if nxt in previous or self.flow.column(nxt).is_closed:
                    continue
                previous[nxt] = current
                if nxt == target.id:
                    path = [nxt]
                    while previous[path[-1]] != start.id:
                        path.append(previous[path[-1]])
                    return [self.flow.column(c) for c in reversed(path)]
                queue.append(nxt)
        raise InvalidInput(f"no allowed moves lead from {start.name} to {target.name}")

    def _existing(self, numbers: Sequence[str]) -> dict[str, list[_Existing]]:
        found: dict[str, list[_Existing]] = defaultdict(list)
        query = select(
            journey_table, patient_table.c.nhs_number, patient_table.c.date_of_birth.label("born")
        ).join(patient_table, patient_table.c.id == journey_table.c.patient_id)
        with self.store.engine.connect() as connection:
            for start in range(0, len(numbers), _IN_BATCH):
                batch = numbers[start : start + _IN_BATCH]
                rows = connection.execute(
                    query.where(patient_table.c.nhs_number.in_(batch)).order_by(
                        journey_table.c.referred_at
                    )
                )
                for row in rows:
                    found[row.nhs_number].append(_Existing(state_from_row(row), row.born))
        return found


def apply_import(store: JourneyStore, plan: ImportPlan, actor: Actor, recorded_at: datetime) -> int:
    """Every planned step in one transaction; the number of events written. Refuses a plan with
    refused rows: an import is all or nothing."""
    if plan.refused:
        raise InvalidInput(
            f"{len(plan.refused)} row(s) cannot be imported (see above); nothing was imported"
        )
    written = 0
    with batched_unit_of_work(store) as work:
        work.prefetch([row.nhs_number for row in plan.rows if row.action == "create"])
        for row in plan.rows:
            journey_id = row.journey_id
            for step in row.steps:
                try:
                    applied = work.execute(
                        step.command, step.args, actor, step.at,
                        journey_id=journey_id, recorded_at=recorded_at, sink=work.batch,
                    )  # fmt: skip
                except D2AError as error:
                    raise D2AError(f"row {row.row}: {error}; nothing was imported") from None
                journey_id = applied.state.id
                written += 1
    return written


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _describe(row: _Row, target: Column) -> str:
    parts = [f"→ {target.name}", f"admitted {row.admitted}", f"referred {row.referred}"]
    if row.ready:
        parts.append(f"ready {row.ready}")
    if row.delay:
        parts.append(f"delay {row.delay}")
    return ", ".join(parts)
