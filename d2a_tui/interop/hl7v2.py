"""HL7 v2 ADT messages read with python-hl7, into the few facts d2a uses, and their ACKs.

Shapes seen from English PAS systems and integration engines, v2.3 to v2.5.1: the NHS number is
one repetition of PID-3 with assigning authority `NHS` (or identifier type `NH`), beside the
hospital's own MRN; older feeds put it in PID-2. Z-segments are ignored. A time without an offset
is the hub's local time. Dates come as HL7 writes them (`19280101`, `192801011230+0100`) or as
some PAS systems do (`1928-01-01`, `1928-01-01T12:30:00Z`).

python-hl7 logs what it cannot unescape with the field's text (a name, say) at WARNING; nothing
of a patient may reach a log, so its loggers are quietened here, where it is used.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import hl7
import hl7.containers
import hl7.util

from d2a_tui.domain.nhs_number import InvalidNhsNumber, normalise

for _module in (hl7.util, hl7.containers, hl7):
    # python-hl7 names its loggers by file path; their records carry field text.
    _logger = logging.getLogger(getattr(_module, "__file__", None) or _module.__name__)
    _logger.disabled = True
    _logger.propagate = False

SUPPORTED = ("A01", "A02", "A03", "A04", "A08", "A11", "A13", "A40")
_USED_SEGMENTS = {"MSH", "EVN", "PID", "PV1", "MRG"}
_NHS_AUTHORITIES = {"NHS", "NHSNBR", "NHSNUMBER", "2.16.840.1.113883.2.1.4.1"}
_TS = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$")
# ISO 8601 as some PAS systems write it in TS fields: 1928-01-01, 2026-11-23T09:25[:00][Z|+01:00]
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
# The fields read, by segment: only their first repetition is kept before parsing (PID-3 and
# MRG-1 keep a few), so a message with thousands of repetitions in a field d2a never reads
# parses in a millisecond, not seconds, and holds up no other message.
_REPEATING = {("PID", 3), ("MRG", 1)}
MAX_IDENTIFIERS = 20
MAX_FIELD = 4096  # characters kept of a field: more than any limit, so "too long" is still seen


class Rejected(ValueError):
    """The message cannot be taken at all (AR): malformed, unsupported, no control id."""


@dataclass(frozen=True, slots=True)
class Identity:
    nhs_number: str | None  # validated, or None when the message carries none
    bad_nhs_number: bool  # a number under the NHS authority that fails validation
    name: str | None
    date_of_birth: date | None
    # Every other identifier in the field (PID-3, MRG-1): (id, assigning authority or type),
    # e.g. the hospital's MRN, by which a merge may name the record merged away.
    others: tuple[tuple[str, str], ...] = ()
    died_at: datetime | None = None  # PID-29
    died: bool = False  # PID-29 given, or PID-30 = Y


@dataclass(frozen=True, slots=True)
class Location:
    """PV1-3 (PL): point of care, room, bed, facility, status, type, building, floor, description."""

    parts: tuple[str, ...]

    def component(self, number: int) -> str | None:
        return (self.parts[number - 1] if 0 < number <= len(self.parts) else "") or None


@dataclass(frozen=True, slots=True)
class AdtMessage:
    text: str
    trigger: str  # A01, A02, ...
    control_id: str
    sender: str  # MSH-4 sending facility (MSH-3 application when there is none)
    sent_at: datetime
    occurred_at: datetime  # EVN-6, else EVN-2, else MSH-7
    version: str
    patient: Identity
    location: Location
    admitted_at: datetime | None
    discharged_at: datetime | None
    prior: Identity | None  # A40: MRG-1, the record merged away
    parsed: hl7.Message  # kept to answer with an ACK without parsing twice
    patient_class: str = ""  # PV1-2: I inpatient, O outpatient, E emergency, ...
    visit_number: str | None = None  # PV1-19
    disposition: str = ""  # PV1-36 discharge disposition (NHS discharge method: 4 died)
    digest: str = ""  # of the message's content, bar MSH-7 and MSH-10: a duplicate has the same

    @property
    def message_type(self) -> str:
        return f"ADT^{self.trigger}"

    @property
    def ward(self) -> str | None:
        return self.location.component(1)

    @property
    def bed(self) -> str | None:
        return self.location.component(3)


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
    """HL7 TS/DTM `YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]`, or ISO 8601 as some PAS systems send it
    (`1928-01-01`, `2026-11-23T09:25:00+01:00`); no offset means the hub's local time."""
    text = value.strip()
    match = _TS.match(text) or _ISO.match(text)
    if not text or match is None:
        return None
    year, month, day, hour, minute, second, offset = match.groups()
    try:
        naive = datetime(
            int(year), int(month or 1), int(day or 1),
            int(hour or 0), int(minute or 0), int(second or 0),
        )  # fmt: skip
    except ValueError:
        return None  # 20261332: digits, but no such day
    if offset == "Z":
        return naive.replace(tzinfo=ZoneInfo("UTC"))
    if offset:
        digits = offset[1:].replace(":", "")
        sign = 1 if offset[0] == "+" else -1
        delta = timedelta(hours=int(digits[0:2]), minutes=int(digits[2:4]))
        return (naive - sign * delta).replace(tzinfo=ZoneInfo("UTC"))
    return naive.replace(tzinfo=zone)


def parse_date(value: str) -> date | None:
    """A date as feeds write dates of birth: `19280101`, `1928-01-01`, either with a time."""
    moment = parse_timestamp(value, ZoneInfo("UTC"))
    if moment is None:
        return None
    # The date as written, whatever offset follows it: a birth date is a calendar date.
    digits = value.strip().replace("-", "")[:8]
    return date(int(digits[0:4]), int(digits[4:6] or 1), int(digits[6:8] or 1))


def _identity(message: hl7.Message, segment: str, field: int, pid: bool) -> Identity:
    nhs, bad = None, False
    others: list[tuple[str, str]] = []
    seg = _segment(message, segment)
    repetitions = len(seg(field)) if seg is not None and len(seg) > field else 0
    for r in range(1, min(repetitions, MAX_IDENTIFIERS) + 1):
        base = f"{segment}.F{field}.R{r}"
        authority = _get(message, f"{base}.C4").split("&")[0].upper()
        kind = _get(message, f"{base}.C5").upper()
        value = _get(message, f"{base}.C1") or _get(message, base)
        if nhs is None and not bad and (authority in _NHS_AUTHORITIES or kind == "NH"):
            try:
                nhs = normalise(value)
            except InvalidNhsNumber:
                bad = True
        elif value:
            others.append((value, authority or kind))
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
    name = born = died_at = None
    died = False
    if pid:
        family, given = _get(message, "PID.F5.R1.C1"), _get(message, "PID.F5.R1.C2")
        name = " ".join(part for part in (given, family) if part) or None
        born_text = _get(message, "PID.F7.R1.C1")
        if born_text:
            born = parse_date(born_text)
            if born is None:
                raise Rejected("PID-7 date of birth is not a date (YYYYMMDD or YYYY-MM-DD)")
        died_at = parse_timestamp(_get(message, "PID.F29.R1.C1"), ZoneInfo("UTC"))
        died = died_at is not None or _get(message, "PID.F30").upper() == "Y"
    return Identity(nhs, bad, name, born, tuple(others), died_at, died)


def _trimmed(text: str) -> str:
    """The segments d2a reads, each field cut to what is read (see `_REPEATING`)."""
    separator = text[3] if len(text) > 3 else "|"
    repetition = text[5] if len(text) > 5 else "~"
    kept = []
    for segment in text.split("\r"):
        name = segment[:3]
        if name not in _USED_SEGMENTS:
            continue
        fields = segment.split(separator)
        for index in range(2 if name == "MSH" else 1, len(fields)):
            number = index + 1 if name == "MSH" else index
            value = fields[index]
            if (name, number) in _REPEATING:
                value = repetition.join(value.split(repetition, MAX_IDENTIFIERS)[:MAX_IDENTIFIERS])
            elif repetition in value:
                value = value.split(repetition, 1)[0]
            fields[index] = value[
                : MAX_FIELD * (MAX_IDENTIFIERS if (name, number) in _REPEATING else 1)
            ]
        kept.append(separator.join(fields))
    return "\r".join(kept)


def digest(text: str) -> str:
    """What makes two messages the same: every segment as sent, bar MSH-7 (when sent) and
    MSH-10 (the control id): an engine resending a message may restamp its time, and a PAS
    that restarts reuses control ids for different messages."""
    separator = text[3] if len(text) > 3 else "|"
    segments = text.split("\r")
    fields = segments[0].split(separator)
    for index in (6, 9):  # MSH-7, MSH-10 (MSH-1 is the separator itself)
        if len(fields) > index:
            fields[index] = ""
    body = "\r".join([separator.join(fields), *segments[1:]])
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


_ENVELOPE = ("FHS", "BHS", "BTS", "FTS")


def split_messages(data: str) -> list[str]:
    """Messages from a file: MLLP frames, or plain text where each message starts with MSH. An
    HL7 batch file's envelope (FHS, BHS, BTS, FTS segments) is read past: its messages are the
    MSH-led runs inside it."""
    if "\x0b" in data:
        frames = [frame.strip("\r\n") for frame in re.findall(r"\x0b(.*?)\x1c", data, re.S)]
        return (
            [message for frame in frames for message in split_messages(frame)]
            if any(frame[:3] in _ENVELOPE for frame in frames)
            else frames
        )
    data = data.replace("\r\n", "\n").replace("\r", "\n")
    messages: list[str] = []
    current: list[str] = []
    for line in data.split("\n"):
        if line[:3] in _ENVELOPE:
            if current:
                messages.append("\r".join(current))
                current = []
            continue
        if line.startswith("MSH") and current:
            messages.append("\r".join(current))
            current = []
        if line.strip():
            current.append(line)
    if current:
        messages.append("\r".join(current))
    return messages


def normalised(text: str) -> str:
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x0b\x1c ")


def read_message(text: str, zone: ZoneInfo) -> AdtMessage:
    """The message's facts, or `Rejected` with the reason (for an AR)."""
    text = normalised(text)
    if not text.startswith("MSH"):
        raise Rejected("the message does not start with an MSH segment")
    # Only the segments d2a reads are parsed: a PAS message carries many more (PD1, NK1, PV2,
    # AL1, DG1, Z-segments), and parsing is most of the cost of reading one.
    try:
        message = hl7.parse(_trimmed(text))
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
    # When it happened: EVN-6 (event occurred) when the sender gives it, else EVN-2 (when it was
    # recorded), else when the message was sent.
    occurred_at = (
        parse_timestamp(_get(message, "EVN.F6.R1.C1"), zone)
        or parse_timestamp(_get(message, "EVN.F2.R1.C1"), zone)
        or sent_at
    )
    if _segment(message, "PID") is None:
        raise Rejected("the message has no PID segment")
    prior = None
    if trigger == "A40":
        if _segment(message, "MRG") is None:
            raise Rejected("ADT^A40 needs an MRG segment naming the record merged away")
        prior = _identity(message, "MRG", 1, pid=False)
    pv1 = _segment(message, "PV1")
    location = (
        Location(tuple(_get(message, f"PV1.F3.R1.C{c}") for c in range(1, 10)))
        if pv1 is not None
        else Location(())
    )
    return AdtMessage(
        text=text,
        trigger=trigger,
        control_id=control_id,
        sender=_get(message, "MSH.F4.R1.C1") or _get(message, "MSH.F3.R1.C1") or "unknown",
        sent_at=sent_at,
        occurred_at=occurred_at,
        version=_get(message, "MSH.F12.R1.C1"),
        patient=_identity(message, "PID", 3, pid=True),
        location=location,
        admitted_at=parse_timestamp(_get(message, "PV1.F44.R1.C1"), zone),
        discharged_at=parse_timestamp(_get(message, "PV1.F45.R1.C1"), zone),
        prior=prior,
        parsed=message,
        patient_class=_get(message, "PV1.F2.R1.C1").upper(),
        visit_number=_get(message, "PV1.F19.R1.C1") or None,
        disposition=_get(message, "PV1.F36.R1.C1"),
        digest=digest(text),
    )


def _clean(text: str) -> str:
    return re.sub(r"[|^~\\&\r\n]", " ", text)[:200]


# Control ids of d2a's own ACKs: unique within the process however fast they are made (a clock
# alone repeats within its resolution), and across restarts by the process id. MSH-10 is at most
# 20 characters in v2.3-v2.5: D2A + 6 of time + 5 of process + 6 of count.
_ack_serial = itertools.count(1)


def ack_control_id(now: datetime) -> str:
    return f"D2A{now:%H%M%S}{os.getpid() % 100000:05d}{next(_ack_serial) % 1_000_000:06d}"


def ack(text: str | hl7.Message, code: str, detail: str, now: datetime) -> bytes:
    """An original-mode ACK for a message (its text, or as parsed): MSA-1 `code`, MSA-2 its control
    id, MSA-3 the reason."""
    control = ack_control_id(now)
    try:
        if isinstance(text, hl7.Message):
            message = text
        else:
            # Only the MSH is needed to answer: a message too broken or too big to read is
            # answered from its header alone, quickly.
            header = normalised(text).split("\r", 1)[0]
            if not header.startswith("MSH"):
                raise Rejected("no MSH")
            message = hl7.parse(header[: MAX_FIELD * 4])
        reply = message.create_ack(code, message_id=control, application="D2A")
        reply.segment("MSA").assign_field(_clean(detail), 3)
        return str(reply).encode("utf-8")
    except Exception:
        # Not even an MSH to answer: a bare reject that still says why.
        stamp = now.strftime("%Y%m%d%H%M%S")
        return f"MSH|^~\\&|D2A||||{stamp}||ACK|{control}|P|2.5.1\rMSA|AR||{_clean(detail)}".encode()
