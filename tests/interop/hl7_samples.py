"""Realistic, synthetic ADT messages in the shapes English PAS feeds send (v2.3, v2.4, v2.5.1).

Every NHS number is in the 999 test range or a published example; names are made up.
"""

from __future__ import annotations

from itertools import count

_ids = count(1)
HOSPITAL = "RXX01"


def control_id() -> str:
    return f"MSG{next(_ids):08d}"


def adt(
    trigger: str,
    nhs: str | None,
    *,
    version: str = "2.5.1",
    when: str = "20261123092500",
    sent: str = "20261123093000",
    name: str = "EXAMPLE^EDNA^^^MRS",
    dob: str = "19380304",
    ward: str = "WARD7",
    bed: str = "B3",
    admitted: str = "20261123090000",
    discharged: str = "",
    msg_id: str | None = None,
    prior_nhs: str | None = None,
    mrn: str = "RXX1234567",
    facility: str = HOSPITAL,
    patient_class: str = "I",
    visit: str | None = None,
    disposition: str = "",
    occurred: str = "",
    death: str = "",
    death_indicator: str = "",
    location: str | None = None,
    charset: str = "UNICODE UTF-8",
    prior_ids: str | None = None,
) -> str:
    """One message. The NHS number sits where each version's feeds usually put it."""
    structure = {"A04": "ADT_A01", "A08": "ADT_A01", "A13": "ADT_A01", "A11": "ADT_A09",
                 "A40": "ADT_A39"}.get(trigger, f"ADT_{trigger}")  # fmt: skip
    message_type = f"ADT^{trigger}" if version == "2.3" else f"ADT^{trigger}^{structure}"
    msh = (
        f"MSH|^~\\&|PAS|{facility}|D2A|HUB|{sent}||{message_type}|{msg_id or control_id()}|P|{version}"
        + (f"|||AL|NE|GBR|{charset}" if version != "2.3" else "")
    )
    evn = f"EVN|{trigger}|{when}" + ("|||C123^CLERK^CLARA" if version != "2.3" else "")
    if occurred:
        evn += f"|{occurred}"  # EVN-6, when the event happened
    if nhs is None:
        ids = f"{mrn}^^^{facility}^MR"
        pid2 = ""
    elif version == "2.3":
        ids, pid2 = f"{mrn}^^^{facility}^MR", nhs  # older feeds: the NHS number in PID-2
    else:
        # Repeating PID-3: the hospital's MRN, then the NHS number under its authority, with
        # the verification status (01 = verified) as a sub-component of the type on some feeds.
        ids, pid2 = f"{mrn}^^^{facility}^MR~{nhs}^^^NHS^NH", ""
    pid = f"PID|1|{pid2}|{ids}||{name}||{dob}|F|||1 SYNTHETIC STREET^^TESTTOWN^^TE1 1ST"
    if death or death_indicator:
        pid += "|" * 17 + f"|{death}|{death_indicator}"  # PID-29, PID-30
    fields = [""] * 46
    fields[1:4] = ["1", patient_class, location or f"{ward}^^{bed}^{facility}"]
    fields[7], fields[10], fields[14] = "C456^CONSULTANT^COLIN", "GMED", "19"
    fields[19] = visit or f"V{mrn[-6:]}"
    fields[36], fields[44], fields[45] = disposition, admitted, discharged
    pv1 = "PV1" + "|".join(fields)
    segments = [msh, evn, pid]
    if version != "2.3":
        segments.append("PD1|||SYNTHETIC SURGERY^^Y00001")
    if trigger == "A40":
        segments.append(f"MRG|{prior_ids or f'{prior_nhs}^^^NHS^NH'}")
    else:
        segments.append(pv1)
    segments.append("ZU1|local|extension|Z-segments are ignored")
    return "\r".join(segments)
