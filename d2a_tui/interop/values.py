"""Cell values as hubs' spreadsheets hold them: dates, pathways and delay reasons in their many spellings.

Every parser returns the value or raises `InvalidInput` naming what it saw, so an import can report
the row and the reason instead of guessing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from d2a_tui.domain.delays import DELAY_REASONS, DelayReason
from d2a_tui.domain.errors import InvalidInput
from d2a_tui.domain.flow import PATHWAYS

# Excel's day 0 in the 1900 date system is 30 Dec 1899 (it counts a 29 Feb 1900 that never was,
# so serials from 1 Mar 1900 on are right from this origin, and those are the only ones a caseload
# holds).
_EXCEL_EPOCH = date(1899, 12, 30)
# 1 Jan 1901 .. 2119: dates of birth are old (13943 is 4 Mar 1938). A number below is not a date
# in a caseload, and nor is one that reads as a year (1938 alone would be a day in 1905).
_SERIAL_RANGE = (367, 80_000)
_YEARS = (1880, 2100)
_FORMATS = (
    "%d/%m/%Y",
    "%d/%m/%y",
    "%d-%b-%y",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d %b %y",
    "%d %B %Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
)


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_sheet_date(value: Any, what: str) -> date | None:
    """A date from a cell: a spreadsheet date, an Excel serial number, or text such as
    `24/11/2026`, `24-Nov-26`, `24 Nov 2026` or `2026-11-24`. Month-first dates are never assumed."""
    if blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(value, what)
    text = " ".join(str(value).split())
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _serial(float(text), what)
    for pattern in _FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise InvalidInput(
        f"{what} {text!r} is not a date (use 24/11/2026, 24-Nov-26, 2026-11-24 or a spreadsheet date)"
    )


def _serial(number: float, what: str) -> date:
    if _YEARS[0] <= number <= _YEARS[1] and float(number).is_integer():
        raise InvalidInput(f"{what} {number:g} is a year, not a date: give the day too")
    if not _SERIAL_RANGE[0] <= number < _SERIAL_RANGE[1]:
        raise InvalidInput(f"{what} {number:g} is not a date")
    return _EXCEL_EPOCH + timedelta(days=int(number))


def looks_like_date(value: Any) -> bool:
    """A date cell, or text written as a date (a bare number is not taken as one here: a column
    of numbers is more often counts than serial dates)."""
    if isinstance(value, date):
        return True
    if not isinstance(value, str) or re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        return False
    try:
        return parse_sheet_date(value, "") is not None
    except InvalidInput:
        return False


_PATHWAY = re.compile(r"(?:p|pw|pathway|path)?\s*([0-3])", re.IGNORECASE)


def parse_pathway(value: Any) -> str | None:
    """`P1`, `p1`, `Pathway 1`, `pw1`, `PW 1` or `1` -> `P1`."""
    if blank(value):
        return None
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    match = _PATHWAY.fullmatch(text.replace("-", " ").strip())
    if match is None:
        raise InvalidInput(
            f"pathway {text!r} is not one of {', '.join(PATHWAYS)} (or Pathway 1, pw1)"
        )
    return f"P{match.group(1)}"


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


# Shorthands hubs and the published lists use for the same words; both sides are expanded.
_SHORTHANDS = (
    (r"\bnctr\b", "not meet criteria to reside"),
    (r"\bno longer meets?\b|\bnot meeting\b|\bdoes not meet\b", "not meet"),
    (r"\bctr\b", "criteria to reside"),
    (r"\bmeets\b", "meet"),
    (r"\bcovid\s*19\b", "covid"),
    (r"\bnrpf\b", "no recourse to public funds"),
    (r"\bspa\b", "single point of access"),
    (r"\bcth\b|\btoch\b", "care transfer hub"),
    (r"\btto\b|\btta\b", "medicines to take home"),
    (r"\bpw\s*([0-3])\b|\bp([0-3])\b", r"pathway \1\2"),
    (r"\bhomeless(ness)?\b", "homeless"),
    (r"\bhome based\b", "homebased"),
    (r"\bbed based\b", "bedbased"),
)
_FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "for",
        "and",
        "or",
        "in",
        "at",
        "on",
        "by",
        "from",
        "that",
        "so",
        "with",
        "is",
        "are",
        "as",
        "be",
        "which",
    ]
)


def _expanded(text: str) -> str:
    words = _words(text)
    for pattern, replacement in _SHORTHANDS:
        words = re.sub(pattern, replacement, words)
    return " ".join(words.split())


def _tokens(text: str) -> frozenset[str]:
    return frozenset(word for word in _expanded(text).split() if word not in _FILLER)


_WORDINGS: list[tuple[str, frozenset[str], DelayReason]] = [
    (_expanded(wording), _tokens(wording), reason)
    for reason in DELAY_REASONS
    for wording in (reason.text, *reason.aliases)
]
_BY_WORDING = {expanded: reason for expanded, _, reason in _WORDINGS}
_BY_CODE = {reason.code: reason for reason in DELAY_REASONS}
_CLOSE_ENOUGH = 0.75  # Dice similarity of the words that carry meaning
_MARGIN = 0.1


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _candidates(reasons: list[DelayReason]) -> str:
    unique = list(dict.fromkeys(reasons))
    named = "; ".join(f"{reason.code} ({reason.text[:48]}…)" for reason in unique[:5])
    return named + (f"; and {len(unique) - 5} more" if len(unique) > 5 else "")


def parse_delay_reason(value: Any) -> DelayReason | None:
    """A delay reason by its d2a code (`P1CARE`), by any published wording of it (the sitrep's
    2023 list, the grouped list of 2024) in any case and punctuation, by a wording that differs
    from one only in small words or the usual shorthands (NCTR, CtR, SPA, TTO, P1), or by a
    beginning that only one reason has. A text that could be more than one reason names them."""
    if blank(value):
        return None
    text = str(value).strip()
    if text.upper() in _BY_CODE:
        return _BY_CODE[text.upper()]
    expanded = _expanded(text)
    if expanded in _BY_WORDING:
        return _BY_WORDING[expanded]
    starting = list(
        dict.fromkeys(reason for key, _, reason in _WORDINGS if key.startswith(expanded))
    )
    if len(starting) == 1 and len(expanded) >= 12:
        return starting[0]
    if len(starting) > 1:
        raise InvalidInput(
            f"delay reason {text[:60]!r} could be any of: {_candidates(starting)}; "
            "give more of the wording or the code"
        )
    tokens = _tokens(text)
    scored = sorted(
        ((_similarity(tokens, words), reason) for _, words, reason in _WORDINGS),
        key=lambda item: -item[0],
    )
    best = scored[0] if scored else (0.0, None)
    if best[1] is not None and best[0] >= _CLOSE_ENOUGH:
        rivals = [r for score, r in scored if r is not best[1] and score > best[0] - _MARGIN]
        if not rivals:
            return best[1]
        raise InvalidInput(
            f"delay reason {text[:60]!r} could be any of: {_candidates([best[1], *rivals])}; "
            "give more of the wording or the code"
        )
    raise InvalidInput(
        f"delay reason {text[:60]!r} is neither a code (e.g. P1CARE) nor a sitrep reason's wording"
    )


def text_value(value: Any) -> str | None:
    if blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())
