"""The fold from journey events to per-day report figures. Pure: no SQL, no clock.

For each journey the fold remembers a small *cursor* (where the journey is, its pathway, its
discharge-ready date, delay reason, admission date, and since when that has been so). Each event
that changes any of these ends the current *span* and starts a new one. A span contributes to
*level* metrics on the days it covers, recorded as +1 on its first day and -1 on the day it
ends, so that the level at the end of day D is the sum of changes on days <= D. An event can also
add *counts* on its day (a referral, a discharge, a length-of-stay histogram bucket).

Days are the hub's local days, and "at the end of day D" is what the sitrep means by a snapshot.
A discharge-ready date in the future (or an admission 7 days ago for the stranded cohort) simply
makes the span's first counted day later: no event is needed on that day.

Metrics (pathway is the journey's pathway at the time; key as noted):
- levels: `awaiting` (in hospital, pathway set), `on` (in the community on a pathway),
  `nctr` (in hospital, no longer meets the criteria to reside; key = delay reason),
  `nctr_los7|14|21` (the same, length of stay at least 7/14/21 days; key = delay reason) and
  `nctr_los7|14|21_rd` (the sum of their discharge-ready dates as day ordinals, for bed days lost);
- counts: `referrals`, `became_awaiting` (demand arriving for a pathway), `discharges`
  (key = destination code, "" when not yet recorded), `nctr_discharges`, `los_hospital`
  (key = whole days from admission to discharge), `ready_wait` (key = whole days from the
  discharge-ready date to discharge), `los_stage` (key = whole days spent in the community on the
  pathway, counted when that stage ends).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from d2a_tui.reports.days import hub_zone

# Bump when the rules below change: stored summaries of an older fold are rebuilt from the log.
FOLD_VERSION = 2  # 2: an admission date recorded by the ADT feed moves the LoS cohorts
COHORTS = (7, 14, 21)

DeltaKey = tuple[str, date, str, str, str]  # metric, day, locality, pathway, key
Deltas = dict[DeltaKey, int]
Cursor = dict[str, Any]

# Events that change nothing a report counts: folding them would only churn spans.
_IGNORED = frozenset(
    {"note_added", "note_retracted", "assigned", "ward_set", "expected_date_set",
     "alert_acknowledged"}
)  # fmt: skip


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


_COHORT = {days: f"nctr_los{days}" for days in COHORTS}
_COHORT_RD = {days: f"nctr_los{days}_rd" for days in COHORTS}


class Folder:
    """Folds events into `deltas`. `in_hospital(column_id)` says whether a referral's first
    column is on a ward (it is in any sensible flow; unknown columns count as hospital)."""

    def __init__(self, in_hospital: Callable[[str], bool]) -> None:
        self.in_hospital = in_hospital
        self.deltas: Deltas = {}
        self.zone = hub_zone()

    def _day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

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
        for level in before:
            if level in common:
                continue
            metric, pathway, key, floor, value = level
            first = old_day if floor is None or floor < old_day else floor
            k = (metric, day if day > first else first, loc, pathway, key)
            deltas[k] = deltas.get(k, 0) - value
        for level in after:
            if level in common:
                continue
            metric, pathway, key, floor, value = level
            k = (metric, day if floor is None or floor < day else floor, loc, pathway, key)
            deltas[k] = deltas.get(k, 0) + value

    def _open(self, c: Cursor) -> None:
        day = date.fromisoformat(c["day"])
        for metric, pathway, key, floor, value in _levels(c):
            self._add(
                metric,
                day if floor is None or floor < day else floor,
                c["loc"],
                pathway,
                key,
                value,
            )

    def fold(
        self, cursor: Cursor | None, kind: str, payload: dict[str, Any], occurred_at: datetime
    ) -> Cursor | None:
        """The journey's cursor after the event; deltas accumulate on `self.deltas`."""
        if kind == "referred":
            return self._refer(payload, occurred_at)
        if cursor is None or kind in _IGNORED:
            return cursor  # an event of a journey whose referral is not in the log: nothing to add
        # A device with a slow clock can stamp an event before the previous one; a span cannot
        # run backwards, so the later of the two is used.
        since = datetime.fromisoformat(cursor["since"])
        if occurred_at >= since:
            at, day = occurred_at, self._day(occurred_at)
        else:
            at, day = since, date.fromisoformat(cursor["day"])
        new = dict(cursor)
        if kind in ("moved", "closed", "reopened"):
            self._move(cursor, new, kind, payload, day)
        elif kind == "ready_date_set":
            new["ready"] = payload.get("date")
        elif kind == "delay_set":
            new["reason"] = payload.get("code")
        elif kind == "delay_cleared":
            new["reason"] = None
        elif kind == "admission_recorded":
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
            "adm": payload.get("admitted_on") or day.isoformat(),
            "since": at.isoformat(),
            "day": day.isoformat(),  # the local day of `since`, kept to save recomputing it
            "stage": None,
            "dis": None,
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
        if payload.get("discharged") and old["hosp"]:
            new["hosp"] = False
            pathway = new["pw"] or ""
            admitted = _d(old["adm"]) or day
            ready = _d(old["ready"])
            nctr = ready is not None and ready <= day
            dis = {
                "day": day.isoformat(),
                "pw": pathway,
                "dest": payload.get("destination"),
                "los": max((day - admitted).days, 0),
                "wait": (day - ready).days if nctr and ready else None,
                "nctr": nctr,
            }
            self._discharge(loc, dis, 1)
            new["dis"] = dis
        elif payload.get("undischarged") and not old["hosp"]:
            # An undone discharge never happened: take back everything it counted.
            new["hosp"] = True
            if old["dis"]:
                self._discharge(loc, old["dis"], -1)
            new["dis"] = None
        destination = payload.get("destination")
        dis = new["dis"]
        if kind == "closed" and destination and dis and not dis["dest"]:
            # The destination is often known only when the community stage ends; the discharge
            # moves to its category on the day it happened.
            when = date.fromisoformat(dis["day"])
            self._add("discharges", when, loc, dis["pw"], "", -1)
            self._add("discharges", when, loc, dis["pw"], destination, 1)
            new["dis"] = {**dis, "dest": destination}

    def _discharge(self, loc: str, dis: dict[str, Any], sign: int) -> None:
        day = date.fromisoformat(dis["day"])
        pathway = dis["pw"]
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
