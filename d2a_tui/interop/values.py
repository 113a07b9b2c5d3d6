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
_SERIAL_RANGE = (20_000, 80_000)  # 1954 .. 2119: a number outside is not a date in a caseload
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
    if not _SERIAL_RANGE[0] <= number < _SERIAL_RANGE[1]:
        raise InvalidInput(f"{what} {number:g} is not a date")
    return _EXCEL_EPOCH + timedelta(days=int(number))


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


_BY_WORDING = {_words(reason.text): reason for reason in DELAY_REASONS}
_BY_CODE = {reason.code: reason for reason in DELAY_REASONS}


def parse_delay_reason(value: Any) -> DelayReason | None:
    """A delay reason by its d2a code (`P1CARE`) or by the sitrep's wording, in any case and
    punctuation; a sheet that cut the wording short still matches when only one reason starts so."""
    if blank(value):
        return None
    text = str(value).strip()
    if text.upper() in _BY_CODE:
        return _BY_CODE[text.upper()]
    words = _words(text)
    if words in _BY_WORDING:
        return _BY_WORDING[words]
    if len(words) >= 12:
        starting = [reason for key, reason in _BY_WORDING.items() if key.startswith(words)]
        if len(starting) == 1:
            return starting[0]
    raise InvalidInput(
        f"delay reason {text[:60]!r} is neither a code (e.g. P1CARE) nor a sitrep reason's wording"
    )


def text_value(value: Any) -> str | None:
    if blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())
