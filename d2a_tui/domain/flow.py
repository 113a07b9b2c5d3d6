"""The flow: the board's columns, the moves between them and when a card turns amber or red.

Loaded from a TOML file so that a locality can describe its own hub without code. A bad file is
refused with the line and the problem, because a silently wrong flow would hide stuck patients.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from d2a_tui.domain.errors import D2AError, NotAllowed, NotFound

PATHWAYS = ("P0", "P1", "P2", "P3")
LOCATIONS = ("hospital", "community", "closed")
NEEDS = ("outcome",)
_DURATION = re.compile(r"^\s*(?:(\d+)w)?\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*$")


class FlowError(D2AError):
    """The flow file cannot be used; the message names the file, the line and the problem."""


@dataclass(frozen=True, slots=True)
class Column:
    id: str
    name: str
    location: str
    pathway: str | None
    amber_after: timedelta | None
    red_after: timedelta | None
    moves: tuple[str, ...]
    needs: tuple[str, ...]

    @property
    def in_hospital(self) -> bool:
        return self.location == "hospital"

    @property
    def is_closed(self) -> bool:
        return self.location == "closed"


@dataclass(frozen=True, slots=True)
class Limits:
    ready_amber_days: int = 1
    ready_red_days: int = 3
    los_amber_days: int = 14
    los_red_days: int = 21


@dataclass(frozen=True, slots=True)
class OfferRules:
    """The flow file's `[offers]` table: when an unanswered offer turns amber and red, and the
    column an accepted offer moves the card to (None: accepting moves nothing, the default)."""

    amber_after: timedelta = timedelta(hours=2)
    red_after: timedelta = timedelta(hours=4)
    accept_moves_to: str | None = None


@dataclass(frozen=True)
class Flow:
    name: str
    columns: tuple[Column, ...]
    limits: Limits
    offers: OfferRules = OfferRules()
    _by_id: dict[str, Column] = field(init=False, repr=False, compare=False)
    _order: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {column.id: column for column in self.columns})
        object.__setattr__(self, "_order", {column.id: i for i, column in enumerate(self.columns)})

    def column(self, column_id: str) -> Column:
        try:
            return self._by_id[column_id]
        except KeyError:
            known = ", ".join(column.id for column in self.columns)
            raise NotFound(f"unknown column {column_id!r}; columns: {known}") from None

    def resolve(self, typed: str) -> str:
        """The id of the column `typed` names, by its id or its name as the board shows it,
        case and surrounding spaces aside (`await_p1`, `"Awaiting P1"`); else one line listing
        both."""
        wanted = " ".join(typed.split()).lower()
        for column in self.columns:
            if wanted in (column.id.lower(), " ".join(column.name.split()).lower()):
                return column.id
        raise NotFound(f"unknown column {typed!r}; columns: {self.known_columns()}")

    def known_columns(self) -> str:
        return ", ".join(f"{column.id} ({column.name})" for column in self.columns)

    def position(self, column_id: str) -> int:
        return self._order[column_id]

    @property
    def entry(self) -> Column:
        """Where a new referral lands."""
        return self.columns[0]

    @property
    def closed(self) -> Column:
        return next(column for column in self.columns if column.is_closed)

    @property
    def open_columns(self) -> tuple[Column, ...]:
        return tuple(column for column in self.columns if not column.is_closed)

    def can_move(self, from_id: str, to_id: str) -> bool:
        return to_id in self.column(from_id).moves

    def check_move(self, from_id: str, to_id: str) -> None:
        source, target = self.column(from_id), self.column(to_id)
        if from_id == to_id:
            raise NotAllowed(f"the journey is already in {source.name}")
        if to_id not in source.moves:
            allowed = ", ".join(self.column(c).name for c in source.moves) or "nowhere"
            raise NotAllowed(
                f"{source.name} → {target.name} is not an allowed move; "
                f"from {source.name} a journey can move to: {allowed}"
            )

    def neighbour(self, from_id: str, step: int, pathway: str | None = None) -> Column | None:
        """The next (+1) or previous (-1) step on the journey's own pathway: the nearest column
        in board order that is an allowed move and keeps the pathway, or None.

        `pathway` is the journey's pathway (the source column's when it has one). A column of
        another pathway is never a one-key move, nor is choosing a first pathway: changing
        someone's pathway is a decision, made by naming the column (`m`, `d2a move`). The closed
        column is skipped too: closing needs an outcome.
        """
        source = self.column(from_id)
        keep = source.pathway or pathway
        for candidate in self._beside(source, step):
            if candidate.pathway is None or candidate.pathway == keep:
                return candidate
        return None

    def pathway_changes(self, from_id: str, step: int, pathway: str | None = None) -> list[Column]:
        """The allowed one-step moves in that direction that `neighbour` refuses because they
        would change (or choose) the journey's pathway: what to say when nothing moved."""
        source = self.column(from_id)
        keep = source.pathway or pathway
        return [
            candidate
            for candidate in self._beside(source, step)
            if candidate.pathway is not None and candidate.pathway != keep
        ]

    def _beside(self, source: Column, step: int) -> list[Column]:
        """Allowed moves needing nothing, nearest first, on one side of `source` in board order."""
        index = self.position(source.id) + step
        found = []
        while 0 <= index < len(self.columns):
            candidate = self.columns[index]
            if candidate.id in source.moves and not candidate.needs:
                found.append(candidate)
            index += step
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "limits": {
                "ready_amber_days": self.limits.ready_amber_days,
                "ready_red_days": self.limits.ready_red_days,
                "los_amber_days": self.limits.los_amber_days,
                "los_red_days": self.limits.los_red_days,
            },
            "columns": [
                {
                    "id": column.id,
                    "name": column.name,
                    "pathway": column.pathway,
                    "location": column.location,
                    "amber_hours": _hours(column.amber_after),
                    "red_hours": _hours(column.red_after),
                    "moves": list(column.moves),
                    "needs": list(column.needs),
                }
                for column in self.columns
            ],
        }


def _hours(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds() / 3600


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text) if isinstance(text, str) and text.strip() else None
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration like 30m, 4h, 2d, 1d12h or 6w")
    weeks, days, hours, minutes = (int(group or 0) for group in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)


def default_flow_path() -> Path:
    return Path(str(resources.files("d2a_tui.domain").joinpath("default_flow.toml")))


def load_flow(path: Path | str | None = None) -> Flow:
    source = Path(path) if path else default_flow_path()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise FlowError(f"cannot read flow file {source}: {error.strerror}") from None
    return parse_flow(text, str(source))


def parse_flow(text: str, filename: str = "<flow>") -> Flow:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise FlowError(f"{filename}: not valid TOML: {error}") from None
    return _FlowReader(text, filename).read(data)


class _FlowReader:
    """Turns parsed TOML into a Flow, pointing errors at the line they come from."""

    def __init__(self, text: str, filename: str) -> None:
        self.lines = text.splitlines()
        self.filename = filename

    def fail(
        self, problem: str, column_index: int | None = None, key: str | None = None
    ) -> NoReturn:
        line = self._line_of(column_index, key)
        where = f"{self.filename} line {line}" if line else self.filename
        raise FlowError(f"{where}: {problem}")

    def _line_of(self, column_index: int | None, key: str | None) -> int | None:
        start, seen = 0, -1
        if column_index is not None:
            for number, line in enumerate(self.lines):
                if line.strip() == "[[column]]":
                    seen += 1
                    if seen == column_index:
                        start = number
                        break
            else:
                return None
            if key is None:
                return start + 1
        if key is None:
            return None
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(start, len(self.lines)):
            if (
                column_index is not None
                and number > start
                and self.lines[number].strip() == "[[column]]"
            ):
                break
            if pattern.match(self.lines[number]):
                return number + 1
        return start + 1 if column_index is not None else None

    def read(self, data: dict[str, Any]) -> Flow:
        raw_columns = data.get("column")
        if not isinstance(raw_columns, list) or not raw_columns:
            self.fail("no [[column]] tables: a flow needs at least one column")
        columns = [self._column(i, raw) for i, raw in enumerate(raw_columns)]
        ids = [column.id for column in columns]
        for i, column in enumerate(columns):
            if column.id in ids[:i]:
                self.fail(f"column id {column.id!r} is used twice", i, "id")
        for i, column in enumerate(columns):
            for target in column.moves:
                if target not in ids:
                    self.fail(
                        f"column {column.id!r} moves to unknown column {target!r}", i, "moves"
                    )
        closed = [column for column in columns if column.is_closed]
        if len(closed) != 1:
            self.fail(
                f'a flow needs exactly one column with location = "closed", found {len(closed)}'
            )
        if columns[0].is_closed:
            self.fail(
                "the first column receives new referrals and cannot be the closed one",
                0,
                "location",
            )
        return Flow(
            name=str(data.get("name", "Unnamed flow")),
            columns=tuple(columns),
            limits=self._limits(data.get("limits", {})),
            offers=self._offers(data.get("offers", {}), columns),
        )

    def _offers(self, raw: Any, columns: list[Column]) -> OfferRules:
        if not isinstance(raw, dict):
            self.fail("[offers] must be a table", key="offers")
        for key in raw:
            if key not in ("amber", "red", "accept_moves_to"):
                self.fail(f"unknown key {key!r} in [offers]", key=key)
        defaults = OfferRules()
        amber = self._offer_duration(raw.get("amber"), "amber") or defaults.amber_after
        red = self._offer_duration(raw.get("red"), "red") or defaults.red_after
        if red < amber:
            self.fail("[offers] red must not come before amber", key="red")
        target = raw.get("accept_moves_to")
        if target is not None:
            open_ids = [column.id for column in columns if not column.is_closed]
            if target not in open_ids:
                self.fail(
                    f"accept_moves_to must be an open column ({', '.join(open_ids)}), got {target!r}",
                    key="accept_moves_to",
                )
        return OfferRules(amber, red, target)

    def _offer_duration(self, value: Any, key: str) -> timedelta | None:
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError as error:
            self.fail(f"[offers] {error}", key=key)
        raise AssertionError("unreachable")

    def _column(self, index: int, raw: Any) -> Column:
        if not isinstance(raw, dict):
            self.fail("a [[column]] entry must be a table", index)
        for key in raw:
            if key not in ("id", "name", "pathway", "location", "amber", "red", "moves", "needs"):
                self.fail(f"unknown key {key!r} in column", index, key)
        column_id = raw.get("id")
        if not isinstance(column_id, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", column_id):
            self.fail(
                "column id must be lower-case letters, digits and _ (e.g. await_p1)", index, "id"
            )
        location = raw.get("location", "hospital")
        if location not in LOCATIONS:
            self.fail(
                f"location must be one of {', '.join(LOCATIONS)}, got {location!r}",
                index,
                "location",
            )
        pathway = raw.get("pathway")
        if pathway is not None and pathway not in PATHWAYS:
            self.fail(
                f"pathway must be one of {', '.join(PATHWAYS)}, got {pathway!r}", index, "pathway"
            )
        amber = self._duration(raw.get("amber"), index, "amber")
        red = self._duration(raw.get("red"), index, "red")
        if amber and red and red < amber:
            self.fail("red must not come before amber", index, "red")
        moves = raw.get("moves", [])
        if not isinstance(moves, list) or not all(isinstance(move, str) for move in moves):
            self.fail("moves must be a list of column ids", index, "moves")
        needs = raw.get("needs", [])
        if not isinstance(needs, list) or any(need not in NEEDS for need in needs):
            self.fail(f"needs may only list: {', '.join(NEEDS)}", index, "needs")
        return Column(
            id=column_id,
            name=str(raw.get("name", column_id)),
            location=location,
            pathway=pathway,
            amber_after=amber,
            red_after=red,
            moves=tuple(moves),
            needs=tuple(needs),
        )

    def _duration(self, value: Any, index: int, key: str) -> timedelta | None:
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError as error:
            self.fail(str(error), index, key)
        raise AssertionError("unreachable")

    def _limits(self, raw: Any) -> Limits:
        if not isinstance(raw, dict):
            self.fail("[limits] must be a table", key="limits")
        defaults = Limits()
        values: dict[str, int] = {}
        for key, value in raw.items():
            if not hasattr(defaults, key):
                self.fail(f"unknown limit {key!r}", key=key)
            if not isinstance(value, int) or value < 0:
                self.fail(f"limit {key} must be a whole number of days, got {value!r}", key=key)
            values[key] = value
        return Limits(**{**_limits_dict(defaults), **values})


def _limits_dict(limits: Limits) -> dict[str, int]:
    return {
        "ready_amber_days": limits.ready_amber_days,
        "ready_red_days": limits.ready_red_days,
        "los_amber_days": limits.los_amber_days,
        "los_red_days": limits.los_red_days,
    }
