"""The board's filter language: field-aware terms that all must hold.

`ward:7B red ready>1d` keeps the red journeys on ward 7B ready for more than a day. A bare word
matches the name or the NHS number, so `/ward 7` no longer means "any NHS number with a 7 in it"
once the user writes `ward:7`. The parser is pure and total: any string either parses or raises
`InvalidInput` with a message a person can act on.

Terms (case does not matter):
  ward:W  pathway:P  delay:CODE  column:C  provider:"NAME"  (field equals the value)
  stuck  red  amber  mine  new                      (a state; `new` = referred today)
  ready>Nd  ready>=Nd  ready<Nd  ready<=Nd          (whole hub-local days since discharge-ready)
  WORD  "two words"  943 476 5919                   (in the name, or in the NHS number)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Protocol

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import InvalidInput
from d2a_tui.domain.stuck import Level

FIELDS = ("ward", "pathway", "delay", "column", "provider")
FLAGS = ("stuck", "red", "amber", "mine", "new")
_ALIASES = {"@me": "mine", "path": "pathway", "col": "column"}
_READY = re.compile(r"ready(>=|<=|>|<)(\d{1,4})d?")
_DIGITS_AND_SPACES = re.compile(r"[\d ]+")
HELP = (
    'ward:7B pathway:P1 delay:P3BED column:triage provider:"Name" stuck red amber mine new '
    "ready>3d, or words in the name or NHS number"
)


class Filterable(Protocol):
    """What a filter reads of a journey (a board card has all of it)."""

    @property
    def name(self) -> str: ...
    @property
    def nhs_number(self) -> str: ...
    @property
    def ward(self) -> str | None: ...
    @property
    def pathway(self) -> str | None: ...
    @property
    def delay_reason(self) -> str | None: ...
    @property
    def column(self) -> str: ...
    @property
    def assigned_to(self) -> str | None: ...
    @property
    def referred_at(self) -> datetime: ...
    @property
    def discharge_ready_date(self) -> date | None: ...


@dataclass(frozen=True, slots=True)
class Context:
    """What a term needs beyond the journey: the moment, the hub's days, who "mine" is."""

    now: datetime
    calendar: HubCalendar
    me: str
    column_names: dict[str, str] | None = None  # column id -> its display name


@dataclass(frozen=True, slots=True)
class Term:
    kind: str  # a field name, a flag, "ready" or "text"
    value: str = ""
    op: str = ""
    days: int = 0

    def __str__(self) -> str:
        if self.kind == "text":
            # Quoted digits stay one term when the query is joined up again ("1" "2" is not 12).
            return f'"{self.value}"' if self.value.isdigit() else _quoted(self.value)
        if self.kind in FIELDS:
            return f"{self.kind}:{_quoted(self.value)}"
        if self.kind == "ready":
            return f"ready{self.op}{self.days}d"
        return self.kind

    def matches(self, record: Filterable, level: Level, context: Context) -> bool:
        kind = self.kind
        if kind == "text":
            digits = self.value.replace(" ", "")
            if digits.isdigit():
                return digits in record.nhs_number
            return self.value.lower() in record.name.lower()
        if kind == "ward":
            return _ward_key(record.ward) == _ward_key(self.value)
        if kind == "pathway":
            return (record.pathway or "").upper() == _pathway(self.value)
        if kind == "delay":
            return (record.delay_reason or "").upper() == self.value.upper()
        if kind == "column":
            wanted = self.value.lower()
            names = context.column_names or {}
            return wanted in (record.column.lower(), names.get(record.column, "").lower())
        if kind == "provider":
            # The service the journey was placed with, where the journey records one; until
            # offers and placements are recorded no journey names a provider, so nothing matches.
            provider = getattr(record, "provider", None)
            return provider is not None and str(provider).lower() == self.value.lower()
        if kind == "stuck":
            return level is not Level.OK
        if kind == "red":
            return level is Level.RED
        if kind == "amber":
            return level is Level.AMBER
        if kind == "mine":
            return record.assigned_to == context.me
        if kind == "new":
            return context.calendar.day(record.referred_at) == context.calendar.day(context.now)
        ready = record.discharge_ready_date
        if ready is None:
            return False
        days = context.calendar.days_since(ready, context.now)
        return {
            ">": days > self.days,
            ">=": days >= self.days,
            "<": days < self.days,
            "<=": days <= self.days,
        }[self.op]


@dataclass(frozen=True, slots=True)
class Query:
    terms: tuple[Term, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms)

    def __str__(self) -> str:
        return " ".join(str(term) for term in self.terms)

    def matches(self, record: Filterable, level: Level, context: Context) -> bool:
        return all(term.matches(record, level, context) for term in self.terms)


EVERYTHING = Query()


def hint(query: Query) -> str | None:
    """A nudge when a plain word is a field's name: `ward 7` looks for "ward" in the name."""
    words = [term.value.lower() for term in query.terms if term.kind == "text"]
    for field in FIELDS:
        if field in words:
            following = words[words.index(field) + 1] if words.index(field) + 1 < len(words) else ""
            return f"for the {field}, write {field}:{following or _EXAMPLES[field]}"
    return None


def check_values(query: Query, columns: Mapping[str, str]) -> None:
    """Refuse a `delay:` or `column:` term naming nothing the hub knows, as `--delay` and
    `--column` do, naming the known values: an unknown value would only ever match nothing,
    and an empty list reads as "nobody is waiting". `columns`: column id -> its name."""
    from d2a_tui.domain.delays import DELAY_REASONS

    codes = {reason.code for reason in DELAY_REASONS}
    names = {key.lower() for pair in columns.items() for key in pair}
    for term in query.terms:
        if term.kind == "delay" and term.value.strip().upper() not in codes:
            raise InvalidInput(
                f"unknown delay reason in delay:{_quoted(term.value)}; known codes: "
                f"{', '.join(reason.code for reason in DELAY_REASONS)} (`d2a flow` lists them)"
            )
        if term.kind == "column" and term.value.strip().lower() not in names:
            known = ", ".join(f"{cid} ({name})" for cid, name in columns.items())
            raise InvalidInput(f"unknown column in column:{_quoted(term.value)}; columns: {known}")


def parse(text: str) -> Query:
    """A query from what a person typed; `InvalidInput` says what is wrong and how to write it."""
    stripped = text.strip()
    if not stripped:
        return EVERYTHING
    if _DIGITS_AND_SPACES.fullmatch(stripped):
        # An NHS number typed with its usual spaces is one term, not three.
        return Query((Term("text", stripped.replace(" ", "")),))
    return Query(tuple(_term(token, quoted) for token, quoted in _tokens(stripped)))


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Words split on spaces; "double quotes" keep spaces, also after a field (`ward:"A 1"`).
    Each token says whether it is a plain quoted value: one whose quotes open before any `:`,
    which is never a field or a keyword."""
    tokens: list[tuple[str, bool]] = []
    current: list[str] = []
    quoted_before_colon: bool | None = None  # None: no quote in this token yet
    in_quotes = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
            if quoted_before_colon is None:
                quoted_before_colon = ":" not in current
        elif char.isspace() and not in_quotes:
            if current or quoted_before_colon is not None:
                tokens.append(("".join(current), bool(quoted_before_colon)))
            current, quoted_before_colon = [], None
        else:
            current.append(char)
    if in_quotes:
        raise InvalidInput('filter: a " is not closed; put the value between two "')
    if current or quoted_before_colon is not None:
        tokens.append(("".join(current), bool(quoted_before_colon)))
    return tokens


def _term(token: str, quoted: bool) -> Term:
    if quoted:
        return _text(token)
    lowered = token.lower()
    lowered = _ALIASES.get(lowered, lowered)
    if lowered in FLAGS:
        return Term(lowered)
    if lowered.startswith("ready") and len(lowered) > 5 and lowered[5] in "<>":
        match = _READY.fullmatch(lowered)
        if match is None:
            raise InvalidInput(
                f"filter: {token!r} is not a ready term: write ready>3d (more than 3 days since "
                "discharge-ready), ready>=1d, ready<2d"
            )
        return Term("ready", op=match.group(1), days=int(match.group(2)))
    if ":" in token:
        field, _, value = token.partition(":")
        field = _ALIASES.get(field.lower(), field.lower())
        if field not in FIELDS:
            raise InvalidInput(
                f"filter: unknown field {field!r}; use {', '.join(f + ':' for f in FIELDS)}"
            )
        if not value.strip():
            raise InvalidInput(f'filter: {field}: needs a value, e.g. {field}:"{_EXAMPLES[field]}"')
        if field == "pathway" and _pathway(value) not in ("P0", "P1", "P2", "P3"):
            raise InvalidInput(f"filter: pathway {value!r} is not one of P0, P1, P2, P3")
        return Term(field, value.strip())
    return _text(token)


def _text(value: str) -> Term:
    if not value.strip():
        raise InvalidInput('filter: "" is empty; put a name or NHS number between the quotes')
    return Term("text", value.strip())


_EXAMPLES = {
    "ward": "7B",
    "pathway": "P1",
    "delay": "P3BED",
    "column": "triage",
    "provider": "Reablement North",
}


@lru_cache(maxsize=64)
def _pathway(value: str) -> str:
    upper = value.strip().upper()
    return f"P{upper}" if upper.isdigit() else upper


@lru_cache(maxsize=1024)  # a hub has tens of wards; the board asks once per card per keystroke
def _ward_key(ward: str | None) -> str:
    """`7B`, `ward 7b` and `Ward 7B` are one ward; `7` is not `7B`."""
    words = (ward or "").lower().split()
    if words and words[0] == "ward":
        words = words[1:]
    return "".join(words)


_PLAIN = re.compile(r"[\w.'/-]+")


def _quoted(value: str) -> str:
    """A value as it must be typed to parse back to itself."""
    lowered = value.lower()
    plain = _PLAIN.fullmatch(value) and lowered not in FLAGS and lowered not in _ALIASES
    return value if plain else f'"{value}"'
