"""The report summaries: folding new events into them, and reading them.

Why they stay right: the summaries are a deterministic fold of `journey_event` in `position`
order. `position` is gap-free and commit-ordered (the event counter's row lock), so "every event
after the watermark" never skips one committed late. Each chunk of events is folded in ONE
transaction that first locks the watermark row, then adds the chunk's changes and moves the
watermark: a summary never holds half a chunk, and two terminals catching up at once queue on the
lock instead of counting an event twice. Every read first folds whatever the log has beyond the
watermark, so a report always covers every committed event, whichever process wrote it (the hub,
the sync server, the seed's bulk COPY). If the fold's rules change (`FOLD_VERSION`), the summaries
are emptied and rebuilt from the log.

An event that happened before what a journey's summary already holds (a late sync) makes that
journey be folded again from its log: what the old order counted is taken back and the new order
counted, in the same transaction. "As known at T" (`as_known_at`) reads the same summaries with an
overlay: for each journey with anything recorded after T, minus its fold from the whole log plus
its fold from what had been recorded by T.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from typing import Any, overload

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError

from d2a_tui.domain.calendar import LONDON, HubCalendar
from d2a_tui.domain.flow import Flow
from d2a_tui.reports.fold import FOLD_VERSION, GROUP, Cursor, Deltas, Folder, LogEvent
from d2a_tui.storage.db import DatabaseUnavailable, safe_url
from d2a_tui.storage.models import (
    JourneyEvent,
    ReportDaily,
    ReportJourney,
    ReportWatermark,
    table_of,
)

daily = table_of(ReportDaily)
cursors = table_of(ReportJourney)
watermark = table_of(ReportWatermark)
events = table_of(JourneyEvent)

WATERMARK = "daily"
CHUNK_EVENTS = 20_000
_IN_BATCH = 800  # ids per IN (...) list: well under SQLite's variable limit


class Summary:
    def __init__(
        self,
        engine: Engine,
        flow: Flow,
        calendar: HubCalendar = LONDON,
        overlay: Deltas | None = None,
        known_at: datetime | None = None,
    ) -> None:
        self.engine = engine
        self.flow = flow
        self.calendar = calendar
        # As known at `known_at`: changes to add to what the table holds (see the docstring).
        self.overlay = overlay or {}
        self.known_at = known_at

    # --- folding -------------------------------------------------------------------------------

    def _in_hospital(self, column_id: str) -> bool:
        try:
            return self.flow.column(column_id).in_hospital
        except Exception:  # a column since removed from the flow file: referrals come from wards
            return True

    def _translated(self) -> AbstractContextManager[None]:
        return translated(self.engine)

    def behind(self) -> bool:
        with self._translated(), self.engine.connect() as connection:
            head = connection.execute(select(func.max(events.c.position))).scalar() or 0
            row = connection.execute(
                select(watermark.c.position, watermark.c.fold_version).where(
                    watermark.c.name == WATERMARK
                )
            ).first()
        if row is None:
            return True
        return row.fold_version != FOLD_VERSION or row.position < head

    def catch_up(self, *, chunk: int = CHUNK_EVENTS) -> int:
        """Fold every event after the watermark; returns how many were folded."""
        if not self.behind():
            return 0
        folded = 0
        with self._translated():
            while True:
                with self.engine.begin() as connection:
                    count = self._fold_chunk(connection, chunk)
                if count == 0:
                    return folded
                folded += count

    def invalidate(self) -> None:
        """Make the next catch-up empty the summaries and fold the whole log again."""
        with self._translated(), self.engine.begin() as connection:
            self._lock_watermark(connection)
            connection.execute(
                update(watermark).where(watermark.c.name == WATERMARK).values(fold_version=-1)
            )

    def _lock_watermark(self, connection: Connection) -> tuple[int, int]:
        # An UPDATE first: it takes the row lock on PostgreSQL and the write lock on SQLite
        # before anything is read, so the position read next cannot be stale.
        statement = (
            update(watermark)
            .where(watermark.c.name == WATERMARK)
            .values(position=watermark.c.position)
            .returning(watermark.c.position, watermark.c.fold_version)
        )
        row = connection.execute(statement).first()
        if row is None:
            connection.execute(
                _insert(connection)(watermark)
                .values(name=WATERMARK, position=0, fold_version=FOLD_VERSION)
                .on_conflict_do_nothing()
            )
            row = connection.execute(statement).one()
        return row.position, row.fold_version

    def _fold_chunk(self, connection: Connection, chunk: int) -> int:
        position, version = self._lock_watermark(connection)
        if version != FOLD_VERSION:
            connection.execute(delete(daily))
            connection.execute(delete(cursors))
            position = 0
        rows = connection.execute(
            select(
                events.c.position,
                events.c.journey_id,
                events.c.kind,
                events.c.payload,
                events.c.occurred_at,
                events.c.recorded_at,
            )
            .where(events.c.position > position)
            .order_by(events.c.position)
            .limit(chunk)
        ).all()
        if not rows:
            if version != FOLD_VERSION:
                self._set_watermark(connection, 0)
            return 0
        ids = list({row.journey_id for row in rows})
        state: dict[str, Cursor | None] = {}
        for start in range(0, len(ids), _IN_BATCH):
            batch = ids[start : start + _IN_BATCH]
            for found in connection.execute(
                select(cursors.c.journey_id, cursors.c.state).where(cursors.c.journey_id.in_(batch))
            ):
                state[found.journey_id] = found.state
        existing = set(state)
        folder = self.folder()
        late = self._late_journeys(folder, rows, state)
        for row in rows:
            if row.journey_id not in late:
                state[row.journey_id] = folder.fold(
                    state.get(row.journey_id), row.kind, row.payload, _utc(row.occurred_at),
                    _utc(row.recorded_at),
                )  # fmt: skip
        if late:
            last = rows[-1].position
            logs = self._logs(connection, late, events.c.position <= last)
            taken_back = self.folder()
            for journey_id, log in logs.items():
                old = [event for at, event in log if at <= position]
                taken_back.replay(old)
                state[journey_id] = folder.replay([event for _, event in log])
            for key, value in taken_back.deltas.items():
                folder.deltas[key] = folder.deltas.get(key, 0) - value
        self._write_deltas(connection, folder.deltas)
        changed = [(jid, value) for jid, value in state.items() if value is not None]
        self._write_cursors(connection, changed, existing)
        self._set_watermark(connection, rows[-1].position)
        return len(rows)

    def folder(self) -> Folder:
        return Folder(self._in_hospital, self.calendar)

    @staticmethod
    def _late_journeys(
        folder: Folder, rows: Sequence[Any], state: dict[str, Cursor | None]
    ) -> set[str]:
        """Journeys with an event in `rows` that happened before what is folded before it."""
        late: set[str] = set()
        shadow: dict[str, Cursor | None] = {}
        for row in rows:
            jid = row.journey_id
            if jid in late:
                continue
            cursor = shadow[jid] if jid in shadow else state.get(jid)
            occurred, recorded = _utc(row.occurred_at), _utc(row.recorded_at)
            if folder.is_late(cursor, row.kind, row.payload, occurred, recorded):
                late.add(jid)
                continue
            if row.kind == "referred":
                at = occurred if recorded is None or occurred <= recorded else recorded
                shadow[jid] = {"since": at.isoformat(), "ref": at.isoformat(), "g": {}}
            elif cursor is not None and row.kind in GROUP:
                at = folder.effective(cursor, row.kind, row.payload, occurred, recorded).isoformat()
                marks = {**(cursor.get("g") or {}), GROUP[row.kind]: at}
                shadow[jid] = {"since": at, "ref": cursor.get("ref"), "g": marks}
        return late

    def _logs(
        self, connection: Connection, journey_ids: Iterable[str], *conditions: Any
    ) -> dict[str, list[tuple[int, LogEvent]]]:
        """Each journey's events in log order, with their positions."""
        out: dict[str, list[tuple[int, LogEvent]]] = {}
        ids = list(journey_ids)
        for start in range(0, len(ids), _IN_BATCH):
            query = (
                select(
                    events.c.journey_id,
                    events.c.position,
                    events.c.kind,
                    events.c.payload,
                    events.c.occurred_at,
                    events.c.recorded_at,
                )
                .where(events.c.journey_id.in_(ids[start : start + _IN_BATCH]), *conditions)
                .order_by(events.c.position)
            )
            for row in connection.execute(query):
                out.setdefault(row.journey_id, []).append(
                    (row.position, (row.kind, row.payload, _utc(row.occurred_at),
                                    _utc(row.recorded_at)))
                )  # fmt: skip
        return out

    def as_known_at(self, moment: datetime) -> Summary:
        """The summaries as they stood with only what had been recorded by `moment`."""
        self.catch_up()
        with self._translated(), self.engine.connect() as connection:
            head = (
                connection.execute(
                    select(watermark.c.position).where(watermark.c.name == WATERMARK)
                ).scalar()
                or 0
            )
            touched = (
                connection.execute(
                    select(events.c.journey_id)
                    .where(events.c.recorded_at > moment, events.c.position <= head)
                    .distinct()
                )
                .scalars()
                .all()
            )
            logs = self._logs(connection, touched, events.c.position <= head)
        now_known, then_known = self.folder(), self.folder()
        for log in logs.values():
            everything = [event for _, event in log]
            now_known.replay(everything)
            recorded = [e for e in everything if e[3] is None or e[3] <= moment]
            then_known.replay(recorded)
        overlay = dict(then_known.deltas)
        for key, value in now_known.deltas.items():
            overlay[key] = overlay.get(key, 0) - value
        overlay = {key: value for key, value in overlay.items() if value}
        return Summary(self.engine, self.flow, self.calendar, overlay, moment)

    def _set_watermark(self, connection: Connection, position: int) -> None:
        connection.execute(
            update(watermark)
            .where(watermark.c.name == WATERMARK)
            .values(position=position, fold_version=FOLD_VERSION, updated_at=datetime.now(UTC))
        )

    def _write_deltas(self, connection: Connection, deltas: Deltas) -> None:
        rows = [
            {"metric": m, "day": d, "locality": loc, "pathway": p, "key": k, "value": v}
            for (m, d, loc, p, k), v in deltas.items()
            if v != 0
        ]
        if not rows:
            return
        statement = _insert(connection)(daily)
        statement = statement.on_conflict_do_update(
            index_elements=["metric", "day", "locality", "pathway", "key"],
            set_={"value": daily.c.value + statement.excluded.value},
        )
        for start in range(0, len(rows), 5000):
            connection.execute(statement, rows[start : start + 5000])

    def _write_cursors(
        self, connection: Connection, changed: list[tuple[str, Cursor]], existing: set[str]
    ) -> None:
        inserts = [{"journey_id": j, "state": s} for j, s in changed if j not in existing]
        updates = [{"jid": j, "state": s} for j, s in changed if j in existing]
        for start in range(0, len(inserts), 5000):
            connection.execute(cursors.insert(), inserts[start : start + 5000])
        if updates:
            from sqlalchemy import bindparam

            statement = (
                update(cursors)
                .where(cursors.c.journey_id == bindparam("jid"))
                .values(state=bindparam("state"))
            )
            for start in range(0, len(updates), 5000):
                connection.execute(statement, updates[start : start + 5000])

    # --- reading -------------------------------------------------------------------------------

    def level_at(
        self, metric: str, day: date, *, by: Iterable[str] = ("pathway",), locality: str | None
    ) -> dict[tuple[str, ...], int]:
        """A level metric at the end of `day`, summed by the given columns."""
        group = [daily.c[name] for name in by]
        query = (
            select(*group, func.sum(daily.c.value))
            .where(daily.c.metric == metric, daily.c.day <= day)
            .group_by(*group)
        )
        if locality:
            query = query.where(daily.c.locality == locality)
        return self._overlaid(self._pairs(query), metric, None, day, tuple(by), locality)

    def counts(
        self,
        metric: str,
        first: date,
        last: date,
        *,
        by: Iterable[str] = ("pathway",),
        locality: str | None,
    ) -> dict[tuple[Any, ...], int]:
        """A metric's rows with first <= day <= last, summed by the given columns."""
        group = [daily.c[name] for name in by]
        query = (
            select(*group, func.sum(daily.c.value))
            .where(daily.c.metric == metric, daily.c.day >= first, daily.c.day <= last)
            .group_by(*group)
        )
        if locality:
            query = query.where(daily.c.locality == locality)
        return self._overlaid(self._pairs(query), metric, first, last, tuple(by), locality)

    def _overlaid(
        self,
        found: dict[tuple[Any, ...], int],
        metric: str,
        first: date | None,
        last: date,
        by: tuple[str, ...],
        locality: str | None,
    ) -> dict[tuple[Any, ...], int]:
        if not self.overlay:
            return found
        out = {tuple(_as_date(v) if name == "day" else v for name, v in zip(by, key,
                                                                           strict=True)): value
               for key, value in found.items()}  # fmt: skip
        position = {"metric": 0, "day": 1, "locality": 2, "pathway": 3, "key": 4}
        for delta_key, value in self.overlay.items():
            if delta_key[0] != metric or delta_key[1] > last:
                continue
            if first is not None and delta_key[1] < first:
                continue
            if locality and delta_key[2] != locality:
                continue
            group = tuple(delta_key[position[name]] for name in by)
            out[group] = out.get(group, 0) + value
        return {key: value for key, value in out.items() if value}

    def level_series(
        self, metric: str, first: date, last: date, *, by: str = "pathway", locality: str | None
    ) -> dict[date, dict[str, int]]:
        """A level metric at the end of each day from first to last, by one column."""
        from datetime import timedelta

        base = self.level_at(metric, first - timedelta(days=1), by=(by,), locality=locality)
        changes = self.counts(metric, first, last, by=("day", by), locality=locality)
        running: dict[str, int] = defaultdict(int, {k[0]: v for k, v in base.items()})
        per_day: dict[date, dict[str, int]] = defaultdict(dict)
        for (day, value_key), value in changes.items():
            per_day[_as_date(day)][value_key] = value
        series: dict[date, dict[str, int]] = {}
        day = first
        while day <= last:
            for value_key, value in per_day.get(day, {}).items():
                running[value_key] += value
            series[day] = {k: v for k, v in running.items() if v}
            day += timedelta(days=1)
        return series

    def localities(self) -> list[str]:
        query = select(daily.c.locality).where(daily.c.metric == "referrals").distinct()
        with self._translated(), self.engine.connect() as connection:
            return sorted(value for value in connection.execute(query).scalars() if value)

    def _pairs(self, query: Any) -> dict[tuple[Any, ...], int]:
        with self._translated(), self.engine.connect() as connection:
            return {tuple(row[:-1]): int(row[-1] or 0) for row in connection.execute(query)}


@contextmanager
def translated(engine: Engine) -> Iterator[None]:
    """A lost database becomes DatabaseUnavailable, which the screens and the CLI show."""
    try:
        yield
    except (OperationalError, DBAPIError) as error:
        first = str(getattr(error, "orig", error)).strip().splitlines()
        raise DatabaseUnavailable(
            f"database {safe_url(str(engine.url))} is unavailable: "
            f"{first[0] if first else type(error).__name__}"
        ) from None


@overload
def _utc(value: datetime) -> datetime: ...
@overload
def _utc(value: datetime | None) -> datetime | None: ...
def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for what was stored as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _insert(connection: Connection) -> Any:
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
