"""HL7 v2 ADT messages read with python-hl7, into the few facts d2a uses, and their ACKs.

Shapes seen from English PAS systems and integration engines, v2.3 to v2.5.1: the NHS number is
one repetition of PID-3 with assigning authority `NHS` (or identifier type `NH`), beside the
hospital's own MRN; older feeds put it in PID-2. Z-segments are ignored. A time without an offset
is the hub's local time.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import hl7

from d2a_tui.domain.nhs_number import InvalidNhsNumber, normalise

SUPPORTED = ("A01", "A02", "A03", "A04", "A08", "A11", "A13", "A40")
_USED_SEGMENTS = {"MSH", "EVN", "PID", "PV1", "MRG"}
_NHS_AUTHORITIES = {"NHS", "NHSNBR", "NHSNUMBER", "2.16.840.1.113883.2.1.4.1"}
_TS = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$")


class Rejected(ValueError):
    """The message cannot be taken at all (AR): malformed, unsupported, no control id."""


@dataclass(frozen=True, slots=True)
class Identity:
    nhs_number: str | None  # validated, or None when the message carries none
    bad_nhs_number: bool  # a number under the NHS authority that fails validation
    name: str | None
    date_of_birth: date | None


@dataclass(frozen=True, slots=True)
class AdtMessage:
    text: str
    trigger: str  # A01, A02, ...
    control_id: str
    sender: str  # MSH-4 sending facility (MSH-3 application when there is none)
    sent_at: datetime
    occurred_at: datetime  # EVN-2, else MSH-7
    version: str
    patient: Identity
    ward: str | None
    bed: str | None
    admitted_at: datetime | None
    discharged_at: datetime | None
    prior: Identity | None  # A40: MRG-1, the record merged away
    parsed: hl7.Message  # kept to answer with an ACK without parsing twice

    @property
    def message_type(self) -> str:
        return f"ADT^{self.trigger}"


@functools.cache
def _accessor(path: str) -> hl7.Accessor:
    # python-hl7 parses a path string on every lookup; a message needs some twenty of them.
    return hl7.Accessor.parse_key(path)


def _get(message: hl7.Message, path: str) -> str:
    try:
        return str(message[_accessor(path)]).strip()
    except (IndexError, KeyError):
        return ""


def _segment(message: hl7.Message, name: str) -> hl7.Segment | None:
    try:
        return message.segment(name)
    except KeyError:
        return None


def parse_timestamp(value: str, zone: ZoneInfo) -> datetime | None:
    """HL7 TS/DTM `YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]`; no offset means the hub's local time."""
    match = _TS.match(value.strip())
    if not value.strip() or match is None:
        return None
    year, month, day, hour, minute, second, offset = match.groups()
    naive = datetime(
        int(year),
        int(month or 1),
        int(day or 1),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
    )
    if offset:
        sign = 1 if offset[0] == "+" else -1
        delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
        return (naive - sign * delta).replace(tzinfo=ZoneInfo("UTC"))
    return naive.replace(tzinfo=zone)


def _identity(message: hl7.Message, segment: str, field: int, pid: bool) -> Identity:
    nhs, bad = None, False
    seg = _segment(message, segment)
    repetitions = len(seg(field)) if seg is not None and len(seg) > field else 0
    for r in range(1, repetitions + 1):
        base = f"{segment}.F{field}.R{r}"
        authority = _get(message, f"{base}.C4").split("&")[0].upper()
        kind = _get(message, f"{base}.C5").upper()
        if authority in _NHS_AUTHORITIES or kind == "NH":
            try:
                nhs = normalise(_get(message, f"{base}.C1") or _get(message, base))
            except InvalidNhsNumber:
                bad = True
            break
    if nhs is None and not bad and pid:
        # v2.3 feeds: the NHS number as PID-2 (external id), or as a bare PID-3.
        for path in ("PID.F2.R1.C1", "PID.F3.R1.C1"):
            candidate = _get(message, path)
            if candidate:
                try:
                    nhs = normalise(candidate)
                    break
                except InvalidNhsNumber:
                    continue
    name = born = None
    if pid:
        family, given = _get(message, "PID.F5.R1.C1"), _get(message, "PID.F5.R1.C2")
        name = " ".join(part for part in (given, family) if part) or None
        born_text = _get(message, "PID.F7.R1.C1")[:8]
        if born_text:
            try:
                born = datetime.strptime(born_text, "%Y%m%d").date()
            except ValueError:
                raise Rejected("PID-7 date of birth is not a date (YYYYMMDD)") from None
    return Identity(nhs, bad, name, born)


def read_message(text: str, zone: ZoneInfo) -> AdtMessage:
    """The message's facts, or `Rejected` with the reason (for an AR)."""
    text = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x0b\x1c ")
    if not text.startswith("MSH"):
        raise Rejected("the message does not start with an MSH segment")
    # Only the segments d2a reads are parsed: a PAS message carries many more (PD1, NK1, PV2,
    # AL1, DG1, Z-segments), and parsing is most of the cost of reading one.
    used = "\r".join(segment for segment in text.split("\r") if segment[:3] in _USED_SEGMENTS)
    try:
        message = hl7.parse(used)
    except Exception as error:  # python-hl7 raises plain exceptions on broken structure
        raise Rejected(f"the message cannot be parsed ({type(error).__name__})") from None
    message_code, trigger = _get(message, "MSH.F9.R1.C1"), _get(message, "MSH.F9.R1.C2")
    control_id = _get(message, "MSH.F10")
    if not control_id:
        raise Rejected("MSH-10 message control id is empty")
    if message_code != "ADT":
        raise Rejected(f"message type {message_code or '?'}^{trigger} is not ADT")
    if trigger not in SUPPORTED:
        raise Rejected(f"ADT^{trigger} is not supported (d2a takes {', '.join(SUPPORTED)})")
    sent_at = parse_timestamp(_get(message, "MSH.F7.R1.C1"), zone)
    if sent_at is None:
        raise Rejected("MSH-7 date/time of message is missing or not a timestamp")
    occurred_at = parse_timestamp(_get(message, "EVN.F2.R1.C1"), zone) or sent_at
    if _segment(message, "PID") is None:
        raise Rejected("the message has no PID segment")
    prior = None
    if trigger == "A40":
        if _segment(message, "MRG") is None:
            raise Rejected("ADT^A40 needs an MRG segment naming the record merged away")
        prior = _identity(message, "MRG", 1, pid=False)
    return AdtMessage(
        text=text,
        trigger=trigger,
        control_id=control_id,
        sender=_get(message, "MSH.F4.R1.C1") or _get(message, "MSH.F3.R1.C1") or "unknown",
        sent_at=sent_at,
        occurred_at=occurred_at,
        version=_get(message, "MSH.F12.R1.C1"),
        patient=_identity(message, "PID", 3, pid=True),
        ward=_get(message, "PV1.F3.R1.C1") or None,
        bed=_get(message, "PV1.F3.R1.C3") or None,
        admitted_at=parse_timestamp(_get(message, "PV1.F44.R1.C1"), zone),
        discharged_at=parse_timestamp(_get(message, "PV1.F45.R1.C1"), zone),
        prior=prior,
        parsed=message,
    )


def _clean(text: str) -> str:
    return re.sub(r"[|^~\\&\r\n]", " ", text)[:200]


def ack(text: str | hl7.Message, code: str, detail: str, now: datetime) -> bytes:
    """An original-mode ACK for a message (its text, or as parsed): MSA-1 `code`, MSA-2 its control
    id, MSA-3 the reason."""
    try:
        message = (
            text
            if isinstance(text, hl7.Message)
            else hl7.parse(text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x0b\x1c "))
        )
        reply = message.create_ack(code, message_id=f"D2A{now:%Y%m%d%H%M%S%f}", application="D2A")
        reply.segment("MSA").assign_field(_clean(detail), 3)
        return str(reply).encode("utf-8")
    except Exception:
        # Not even an MSH to answer: a bare reject that still says why.
        stamp = now.strftime("%Y%m%d%H%M%S")
        return (
            f"MSH|^~\\&|D2A||||{stamp}||ACK|D2A{stamp}|P|2.5.1\rMSA|AR||{_clean(detail)}".encode()
        )
