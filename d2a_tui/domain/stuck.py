"""Is a journey stuck, how badly, and why, at a given moment.

A stuck patient who is not flagged is a clinical-safety hazard, so every rule that can raise the
level is evaluated and all the reasons are kept, not just the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import IntEnum

from d2a_tui.domain.calendar import LONDON, HubCalendar
from d2a_tui.domain.flow import Column, Limits
from d2a_tui.domain.timefmt import humanise


class Level(IntEnum):
    OK = 0
    AMBER = 1
    RED = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Stuck:
    level: Level
    reasons: tuple[str, ...] = ()


OK = Stuck(Level.OK)


def los_band(length_of_stay_days: int) -> str | None:
    """The sitrep's length-of-stay cohort: stranded at 7+, 14+, super-stranded at 21+."""
    if length_of_stay_days >= 21:
        return "21+ super-stranded"
    if length_of_stay_days >= 14:
        return "14+"
    if length_of_stay_days >= 7:
        return "7+ stranded"
    return None


def assess(
    column: Column,
    limits: Limits,
    now: datetime,
    entered_column_at: datetime,
    discharge_ready_date: date | None = None,
    admitted_on: date | None = None,
    calendar: HubCalendar = LONDON,
) -> Stuck:
    """Days since ready and the length of stay are counted in `calendar`'s days (the hub's), by
    `HubCalendar.days_since`, the one function the board, alerts and dashboard use as well."""
    if column.is_closed:
        return OK
    level = Level.OK
    # Each reason with the level it raises: the worst come first, so a red journey's first
    # reason says why it is red, not that it also passed an amber threshold.
    found: list[tuple[Level, str]] = []

    waited = now - entered_column_at
    if column.red_after is not None and waited >= column.red_after:
        level = Level.RED
        found.append(
            (
                Level.RED,
                f"{humanise(waited)} in {column.name} (red after {humanise(column.red_after)})",
            )
        )
    elif column.amber_after is not None and waited >= column.amber_after:
        level = max(level, Level.AMBER)
        found.append(
            (
                Level.AMBER,
                f"{humanise(waited)} in {column.name} (amber after {humanise(column.amber_after)})",
            )
        )

    if column.in_hospital and discharge_ready_date is not None:
        days_ready = calendar.days_since(discharge_ready_date, now)
        if days_ready >= limits.ready_red_days:
            level = Level.RED
            found.append(
                (
                    Level.RED,
                    f"{days_ready} days since discharge-ready (red after {limits.ready_red_days})",
                )
            )
        elif days_ready >= limits.ready_amber_days:
            level = max(level, Level.AMBER)
            found.append(
                (
                    Level.AMBER,
                    f"{days_ready} days since discharge-ready "
                    f"(amber after {limits.ready_amber_days})",
                )
            )

    if column.in_hospital and admitted_on is not None:
        los = calendar.days_since(admitted_on, now)
        band = los_band(los)
        if los >= limits.los_red_days:
            level = Level.RED
            found.append((Level.RED, f"length of stay {los} days ({band})"))
        elif los >= limits.los_amber_days:
            level = max(level, Level.AMBER)
            found.append((Level.AMBER, f"length of stay {los} days ({band})"))
    found.sort(key=lambda pair: -pair[0])  # stable: the rules' own order within a level
    return Stuck(level, tuple(text for _, text in found))
