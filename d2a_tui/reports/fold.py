"""The fold from journey events to per-day report figures. Pure: no SQL, no clock.

For each journey the fold remembers a small *cursor* (where the journey is, its pathway, its
discharge-ready date, delay reason, admission date, and since when that has been so). Each event
that changes any of these ends the current *span* and starts a new one. A span contributes to
*level* metrics on the days it covers, recorded as +1 on its first day and -1 on the day it
ends, so that the level at the end of day D is the sum of changes on days <= D. An event can also
add *counts* on its day (a referral, a discharge, a length-of-stay histogram bucket).

Days are the hub's local days (the `HubCalendar` from the settings), and "at the end of day D" is
what the sitrep means by a snapshot.

Order: a journey's events are folded in the order they *happened*, not the order they reached the
log, so an event synced late lands on the day it happened whatever was recorded in between. Its
time is its `occurred_at` (for a discharge-ready date entered late, the start of that date: the
figures for a past day are as now known), with three floors: its own `recorded_at` (a device whose
clock runs ahead cannot place an event after it was received), the referral (nothing happens to a
journey before it exists), and the previous change *of the same thing* in log order (the column,
the discharge-ready date, the delay reason), so that the last value of each is the one the board
shows. When such an event sorts before what is already folded, the journey is folded again from its
log (`replay`), taking back what the earlier order counted.

A discharge-ready date in the future (or an admission 7 days ago for the stranded cohort) simply
makes the span's first counted day later: no event is needed on that day.

Metrics (pathway is the journey's pathway at the time; key as noted):
- levels: `awaiting` (in hospital, pathway set), `on` (in the community on a pathway),
  `nctr` (in hospital, no longer meets the criteria to reside; key = delay reason),
  `nctr_los7|14|21` (the same, length of stay at least 7/14/21 days; key = delay reason) and
  `nctr_los7|14|21_rd` (the sum of their discharge-ready dates as day ordinals, for bed days lost);
- counts: `referrals`, `deaths` (key = "hospital" or "community"; a death is never a
  discharge), `los_death` (key = whole days from admission to a death in hospital),
  `moves` (key = "from>to:hours", the whole hours spent in the source column, whole days beyond
  48 hours), `became_awaiting` (demand arriving for a pathway), `discharges`
  (key = destination code, "" when not yet recorded), `nctr_discharges`, `los_hospital`
  (key = whole days from admission to discharge), `ready_wait` (key = whole days from the
  discharge-ready date to discharge), `los_stage` (key = whole days spent in the community on the
  pathway, counted when that stage ends).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from d2a_tui.domain.calendar import LONDON, HubCalendar

# Bump when the rules below change: stored summaries of an older fold are rebuilt from the log.
# 2: the hub's calendar from the settings; events in the order they happened; a reopen into
# hospital resumes the stay; deaths are not discharges; moves between columns.
# 3: an admission date recorded by the ADT feed moves the length-of-stay cohorts.
# 4: as now known, the hospital's admission date holds for the whole stay (a correction or a
# cancel changes it from the referral on), and the hospital's record of leaving (A03) is the
# discharge time whenever the hub moves the card; a death it records is a death.
FOLD_VERSION = 4
COHORTS = (7, 14, 21)

DeltaKey = tuple[str, date, str, str, str]  # metric, day, locality, pathway, key
Deltas = dict[DeltaKey, int]
Cursor = dict[str, Any]
# A row of the log as the fold needs it: kind, payload, occurred_at, recorded_at (None: unknown).
LogEvent = tuple[str, dict[str, Any], datetime, datetime | None]

# What each kind changes; two changes of the same thing keep their log order (see above).
GROUP = {
    "moved": "col", "closed": "col", "reopened": "col",
    "ready_date_set": "ready", "delay_set": "delay", "delay_cleared": "delay",
    "admission_recorded": "adm",
}  # fmt: skip

# Events that change nothing a report counts: folding them would only churn spans.
_IGNORED = frozenset(
    {"note_added", "note_retracted", "assigned", "ward_set", "expected_date_set",
     "alert_acknowledged"}
)  # fmt: skip


# Kinds that change what the figures hold for the whole stay, not from their own time on: a
# journey with one of them is folded again from its log (`replay`), which reads their last word
# first.
REPLAYED = frozenset({"admission_recorded", "hospital_discharge_recorded"})
_UNSET: Any = object()


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _levels(c: Cursor) -> list[tuple[str, str, str, date | None, int]]:
    """The level metrics the cursor's state holds: (metric, pathway, key, floor, value).

    A level counts from max(the span's first day, floor): floor is the discharge-ready date, or
    the day the length of stay reaches a cohort, or None when only the span's start matters."""
    if c["closed"]:
        return []
    pathway = c["pw"] or ""
    out: list[tuple[str, str, str, date | None, int]] = []
    if c["pw"]:
        out.append(("awaiting" if c["hosp"] else "on", pathway, "", None, 1))
    ready = _d(c["ready"])
    if c["hosp"] and ready is not None:
        reason = c["reason"] or ""
        out.append(("nctr", pathway, reason, ready, 1))
        admitted = _d(c["adm"]) or ready
        ordinal = ready.toordinal()
        for days in COHORTS:
            floor = max(ready, admitted + timedelta(days=days))
            out.append((_COHORT[days], pathway, reason, floor, 1))
            out.append((_COHORT_RD[days], pathway, "", floor, ordinal))
    return out


def _lkey(level: tuple[str, str, str, date | None, int]) -> str:
    metric, pathway, key, floor, value = level
    return f"{metric}|{pathway}|{key}|{floor.isoformat() if floor else ''}|{value}"


def _left(cursor: Cursor) -> date | None:
    """The day the hospital says the stay ended, when a discharge just counted took it."""
    dis = cursor.get("dis")
    return date.fromisoformat(dis["day"]) if dis and dis.get("pas") else None


_COHORT = {days: f"nctr_los{days}" for days in COHORTS}
_COHORT_RD = {days: f"nctr_los{days}_rd" for days in COHORTS}


class Folder:
    """Folds events into `deltas`. `in_hospital(column_id)` says whether a referral's first
    column is on a ward (it is in any sensible flow; unknown columns count as hospital)."""

    def __init__(self, in_hospital: Callable[[str], bool], calendar: HubCalendar = LONDON) -> None:
        self.in_hospital = in_hospital
        self.deltas: Deltas = {}
        self.zone = calendar.zone
        # While replaying a journey: the admission date and the hospital's discharge as now known.
        self._adm: Any = _UNSET
        self._pas: dict[str, Any] | None = None

    def _day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    # --- ordering ------------------------------------------------------------------------------

    def effective(
        self,
        cursor: Cursor | None,
        kind: str,
        payload: dict[str, Any],
        occurred_at: datetime,
        recorded_at: datetime | None,
    ) -> datetime:
        """When the event counts as having happened (see the module docstring)."""
        at = occurred_at if recorded_at is None or occurred_at <= recorded_at else recorded_at
        if cursor is None or kind == "referred":
            return at
        if kind == "ready_date_set" and payload.get("date"):
            # A discharge-ready date entered late is read as now known: from the date itself.
            start = datetime.combine(date.fromisoformat(payload["date"]), time.min, self.zone)
            if start < at:
                at = start
        floors = [cursor.get("ref"), (cursor.get("g") or {}).get(GROUP.get(kind, ""))]
        for floor in floors:
            if floor:
                moment = datetime.fromisoformat(floor)
                if moment > at:
                    at = moment
        return at

    def is_late(
        self,
        cursor: Cursor | None,
        kind: str,
        payload: dict[str, Any],
        occurred_at: datetime,
        recorded_at: datetime | None,
    ) -> bool:
        """True when the event happened before what the cursor already holds: the journey
        must be folded again from its log (`replay`) rather than appended to."""
        if cursor is not None and kind in REPLAYED:
            return True
        if cursor is None or kind not in GROUP:
            return False
        since = datetime.fromisoformat(cursor["since"])
        return self.effective(cursor, kind, payload, occurred_at, recorded_at) < since

    def replay(self, events: list[LogEvent]) -> Cursor | None:
        """Fold one journey's events (in log order) into `deltas`, in the order they happened.

        What holds for the whole stay is read first, as now known: the last admission date the
        hospital gave (an A11 restores the one before), and its last word on the discharge (an
        A13 takes an A03 back)."""
        self._adm, self._pas = _UNSET, None
        for kind, payload, _, _ in events:
            if kind == "admission_recorded":
                self._adm = payload.get("admitted_on")
            elif kind == "hospital_discharge_recorded":
                at_text = payload.get("at")
                self._pas = {"at": at_text, "died": bool(payload.get("died"))} if at_text else None
        try:
            return self._replay(events)
        finally:
            self._adm, self._pas = _UNSET, None

    def _replay(self, events: list[LogEvent]) -> Cursor | None:
        placed: list[tuple[datetime, int, str, dict[str, Any]]] = []
        shadow: Cursor | None = None
        for index, (kind, payload, occurred_at, recorded_at) in enumerate(events):
            at = self.effective(shadow, kind, payload, occurred_at, recorded_at)
            if kind == "referred":
                shadow = {"ref": at.isoformat(), "g": {}}
            elif shadow is not None and kind in GROUP:
                shadow["g"][GROUP[kind]] = at.isoformat()
            placed.append((at, index, kind, payload))
        placed.sort(key=lambda item: (item[0], item[1]))
        cursor: Cursor | None = None
        for at, _, kind, payload in placed:
            cursor = self._fold_at(cursor, kind, payload, at)
        if cursor is not None and shadow is not None:
            cursor["ref"], cursor["g"] = shadow["ref"], dict(shadow["g"])
        return cursor

    def _add(self, metric: str, day: date, locality: str, pathway: str, key: str, v: int) -> None:
        k = (metric, day, locality, pathway, key)
        self.deltas[k] = self.deltas.get(k, 0) + v

    def _span(self, old: Cursor, new: Cursor, day: date) -> None:
        """End the old span and start the new one on `day`.

        A level held by both spans with the same floor would get -v and +v on the same day
        (the old span's last counted day and the new one's first are both max(day, floor)), so
        it is skipped: most events change one level, not all of them."""
        before, after = _levels(old), _levels(new)
        common = set(before) & set(after)
        deltas = self.deltas
        old_day, loc = date.fromisoformat(old["day"]), old["loc"]
        started = dict(old.get("lv") or {})
        left = _left(new)
        for level in before:
            if level in common:
                continue
            metric, pathway, key, floor, value = level
            first = old_day if floor is None or floor < old_day else floor
            end = day if day > first else first
            if left is not None and old["hosp"] and not new["hosp"]:
                # The hospital's record of leaving ends the ward's figures on its day, when
                # that is before the hub moved the card (never before the level began).
                began = date.fromisoformat(started.get(_lkey(level)) or first.isoformat())
                end = max(min(end, left), began)
            k = (metric, end, loc, pathway, key)
            deltas[k] = deltas.get(k, 0) - value
            started.pop(_lkey(level), None)
        for level in after:
            if level in common:
                continue
            metric, pathway, key, floor, value = level
            begin = day if floor is None or floor < day else floor
            k = (metric, begin, loc, pathway, key)
            deltas[k] = deltas.get(k, 0) + value
            started[_lkey(level)] = begin.isoformat()
        new["lv"] = started

    def _open(self, c: Cursor) -> None:
        day = date.fromisoformat(c["day"])
        started: dict[str, str] = {}
        for level in _levels(c):
            metric, pathway, key, floor, value = level
            begin = day if floor is None or floor < day else floor
            self._add(metric, begin, c["loc"], pathway, key, value)
            started[_lkey(level)] = begin.isoformat()
        c["lv"] = started

    def fold(
        self,
        cursor: Cursor | None,
        kind: str,
        payload: dict[str, Any],
        occurred_at: datetime,
        recorded_at: datetime | None = None,
    ) -> Cursor | None:
        """The journey's cursor after appending the event (which must not be `is_late`);
        deltas accumulate on `self.deltas`."""
        if cursor is not None and kind != "referred" and kind not in GROUP:
            return cursor
        at = self.effective(cursor, kind, payload, occurred_at, recorded_at)
        new = self._fold_at(cursor, kind, payload, at)
        if new is not None and kind in GROUP and new is not cursor:
            new["g"] = {**(new.get("g") or {}), GROUP[kind]: at.isoformat()}
        return new

    def _fold_at(
        self, cursor: Cursor | None, kind: str, payload: dict[str, Any], at: datetime
    ) -> Cursor | None:
        if kind == "referred":
            return self._refer(payload, at)
        if cursor is None or kind in _IGNORED:
            return cursor  # an event of a journey whose referral is not in the log: nothing to add
        since = datetime.fromisoformat(cursor["since"])
        if at >= since:
            day = self._day(at)
        else:  # never after `effective` and `replay`; kept so that a span cannot run backwards
            at, day = since, date.fromisoformat(cursor["day"])
        new = dict(cursor)
        if kind in ("moved", "closed", "reopened"):
            self._transition(cursor, payload, at, day)
            new["ent"] = at.isoformat()
            self._move(cursor, new, kind, payload, day)
        elif kind == "ready_date_set":
            new["ready"] = payload.get("date")
        elif kind == "delay_set":
            new["reason"] = payload.get("code")
        elif kind == "delay_cleared":
            new["reason"] = None
        elif kind == "hospital_discharge_recorded":
            if not self._pas_death(cursor, new, payload, day):
                return cursor
        elif kind == "admission_recorded":
            # In a replay the stay's admission is already the last one given (see `replay`).
            if self._adm is _UNSET:
                new["adm"] = payload.get("admitted_on") or cursor["adm"]
        else:
            return cursor
        new["since"] = at.isoformat()
        new["day"] = day.isoformat()
        self._span(cursor, new, day)
        self._stage(cursor, new, day, undischarged=bool(payload.get("undischarged")))
        if new["hosp"] and not new["closed"] and new["pw"]:
            was = cursor["hosp"] and not cursor["closed"] and cursor["pw"] == new["pw"]
            if not was:
                self._add("became_awaiting", day, new["loc"], new["pw"], "", 1)
        return new

    def _pas_death(self, old: Cursor, new: Cursor, payload: dict[str, Any], day: date) -> bool:
        """A death the hospital recorded, still its last word (no A13 took it back): a death in
        hospital on its day, whether or not the hub has closed the journey yet."""
        pas = self._pas
        if not (pas and pas["died"] and payload.get("at") == pas["at"]):
            return False
        if not old["hosp"] or old["closed"]:
            return False
        ready = _d(old["ready"])
        admitted = _d(old["adm"]) or day
        dis = {
            "day": day.isoformat(), "pw": old["pw"] or "", "dest": None,
            "los": max((day - admitted).days, 0), "wait": None, "nctr": False, "died": True,
            "was_nctr": ready is not None and ready <= day, "pas": False,
        }  # fmt: skip
        self._discharge(old["loc"], dis, 1)
        new["dis"], new["hosp"], new["pas_died"] = dis, False, True
        return True

    def _refer(self, payload: dict[str, Any], at: datetime) -> Cursor:
        day = self._day(at)
        column = payload.get("column") or ""
        cursor: Cursor = {
            "loc": (payload.get("patient") or {}).get("locality") or "",
            "col": column,
            "pw": payload.get("pathway"),
            "hosp": self.in_hospital(column),
            "closed": False,
            "ready": payload.get("discharge_ready_date"),
            "reason": None,
            "adm": (self._adm if self._adm is not _UNSET and self._adm else None)
            or payload.get("admitted_on")
            or day.isoformat(),
            "pas": self._pas,
            "since": at.isoformat(),
            "day": day.isoformat(),  # the local day of `since`, kept to save recomputing it
            "ent": at.isoformat(),  # when the journey entered its column
            "ref": at.isoformat(),
            "g": {},
            "stage": None,
            "dis": None,
            "death": None,
        }
        self._add("referrals", day, cursor["loc"], cursor["pw"] or "", "", 1)
        if cursor["hosp"] and cursor["pw"]:
            self._add("became_awaiting", day, cursor["loc"], cursor["pw"], "", 1)
        self._open(cursor)
        return cursor

    def _move(
        self, old: Cursor, new: Cursor, kind: str, payload: dict[str, Any], day: date
    ) -> None:
        new["col"] = payload.get("to", old["col"])
        if "pathway" in payload:
            new["pw"] = payload["pathway"]
        if kind == "closed":
            new["closed"] = True
        elif kind == "reopened":
            new["closed"] = False
        loc = old["loc"]
        # A death the hospital recorded is a death whatever column the hub moves the card to.
        died = (kind == "closed" and payload.get("outcome") == "died") or bool(
            payload.get("discharged") and old["hosp"] and (old.get("pas") or {}).get("died")
        )
        # A reopen into a hospital column resumes the same stay (the same admission), whatever
        # the event says: the close it reverses was a mistake, so its discharge never happened.
        resumed = kind == "reopened" and self.in_hospital(new["col"])
        if old.get("death"):
            # A reopened death never happened either.
            death = old["death"]
            self._add("deaths", date.fromisoformat(death["day"]), loc, death["pw"], death["at"], -1)
            new["death"] = None
        # A stay resumed by a reopen recorded before reopens said so is discharged by the next
        # move out of hospital, whatever that move's own flag says.
        leaves = old.get("resumed") and not self.in_hospital(new["col"])
        if (payload.get("discharged") or leaves) and old["hosp"]:
            new["resumed"] = False
            new["hosp"] = False
            pas = old.get("pas")
            left = self._day(datetime.fromisoformat(pas["at"])) if pas else None
            # The hospital's record of leaving wins for the time (never before the referral).
            early = left is not None and left < day
            if early:
                assert left is not None
                day = max(left, self._day(datetime.fromisoformat(old["ref"])))
            pathway = new["pw"] or ""
            admitted = _d(old["adm"]) or day
            ready = _d(old["ready"])
            nctr = ready is not None and ready <= day and not died
            dis = {
                "day": day.isoformat(),
                "pw": pathway,
                "dest": None if died else payload.get("destination"),
                "los": max((day - admitted).days, 0),
                "wait": (day - ready).days if nctr and ready else None,
                "nctr": nctr,
                "died": died,
                "was_nctr": died and ready is not None and ready <= day,
                "pas": early,
            }
            self._discharge(loc, dis, 1)
            new["dis"] = dis
        elif (payload.get("undischarged") or resumed) and not old["hosp"]:
            # An undone discharge never happened: take back everything it counted.
            new["hosp"] = True
            new["resumed"] = resumed and not payload.get("undischarged")
            if old["dis"]:
                self._discharge(loc, old["dis"], -1)
            new["dis"] = None
            if old.get("shut"):
                self._fill_gap(old["shut"], loc, day)
        elif died and not old.get("pas_died"):
            # A death after discharge, in the community: its own line, never a discharge.
            new["death"] = {"day": day.isoformat(), "pw": new["pw"] or "", "at": "community"}
            self._add("deaths", day, loc, new["pw"] or "", "community", 1)
        # What the journey held when it was closed from a ward, so that a reopen into hospital
        # can count the days between as the hospital days they were.
        new["shut"] = None
        if kind == "closed" and old["hosp"]:
            kept = {name: old[name] for name in ("pw", "hosp", "ready", "reason", "adm")}
            new["shut"] = {**kept, "closed": False, "day": day.isoformat()}
        destination = payload.get("destination")
        dis = new["dis"]
        if kind == "closed" and destination and dis and not dis["dest"] and not dis.get("died"):
            # The destination is often known only when the community stage ends; the discharge
            # moves to its category on the day it happened.
            when = date.fromisoformat(dis["day"])
            self._add("discharges", when, loc, dis["pw"], "", -1)
            self._add("discharges", when, loc, dis["pw"], destination, 1)
            new["dis"] = {**dis, "dest": destination}

    def _fill_gap(self, shut: Cursor, loc: str, day: date) -> None:
        """The levels a ward stay held, from the day it was closed by mistake to `day`."""
        start = date.fromisoformat(shut["day"])
        for metric, pathway, key, floor, value in _levels(shut):
            first = start if floor is None or floor < start else floor
            if day > first:
                self._add(metric, first, loc, pathway, key, value)
                self._add(metric, day, loc, pathway, key, -value)

    def _transition(self, old: Cursor, payload: dict[str, Any], at: datetime, day: date) -> None:
        """A move between columns, with the whole hours spent in the one it left."""
        target = payload.get("to", old["col"])
        if target == old["col"]:
            return
        entered = datetime.fromisoformat(old.get("ent") or old["since"])
        hours = max(int((at - entered).total_seconds() // 3600), 0)
        if hours >= 48:  # beyond two days, whole days are enough and keep the summaries small
            hours -= hours % 24
        key = f"{old['col']}>{target}:{hours}"
        self._add("moves", day, old["loc"], old["pw"] or "", key, 1)

    def _discharge(self, loc: str, dis: dict[str, Any], sign: int) -> None:
        day = date.fromisoformat(dis["day"])
        pathway = dis["pw"]
        if dis.get("died"):
            # Deaths are not discharges: their own line and their own length-of-stay row.
            self._add("deaths", day, loc, pathway, "hospital", sign)
            if dis.get("was_nctr"):
                self._add("deaths_nctr", day, loc, pathway, "hospital", sign)
            self._add("los_death", day, loc, pathway, str(dis["los"]), sign)
            return
        self._add("discharges", day, loc, pathway, dis["dest"] or "", sign)
        self._add("los_hospital", day, loc, pathway, str(dis["los"]), sign)
        if dis["nctr"]:
            self._add("nctr_discharges", day, loc, pathway, "", sign)
            self._add("ready_wait", day, loc, pathway, str(dis["wait"]), sign)

    def _stage(self, old: Cursor, new: Cursor, day: date, *, undischarged: bool) -> None:
        """Community stages: time on P1 at home, in a P2 bed, ... counted when each ends."""
        in_stage = not new["hosp"] and not new["closed"] and bool(new["pw"])
        stage = old.get("stage")
        if stage and (not in_stage or stage["pw"] != new["pw"]):
            if not undischarged:
                started = self._day(datetime.fromisoformat(stage["since"]))
                days = max((day - started).days, 0)
                self._add("los_stage", day, old["loc"], stage["pw"], str(days), 1)
            stage = None
        if in_stage and stage is None:
            stage = {"pw": new["pw"], "since": new["since"]}
        new["stage"] = stage
