"""Delay reasons: the acute discharge sitrep's 18 in published order, then the community additions.

There are no official codes, so d2a assigns short ones that stay stable: reports and the event log
store the code, and the text can be reworded without rewriting history.
"""

from dataclasses import dataclass

from d2a_tui.domain.errors import NotFound


@dataclass(frozen=True, slots=True)
class DelayReason:
    code: str
    text: str
    sitrep: str  # "acute" or "community": which return lists it
    pathway: str | None = None


DELAY_REASONS: tuple[DelayReason, ...] = (
    DelayReason("MED", "Awaiting a medical decision/intervention including writing the discharge summary", "acute"),
    DelayReason("EQUIP", "Awaiting community equipment and adaptations to housing", "acute"),
    DelayReason("HUBCONF", "Awaiting confirmation from community hub/single point of access that referral received and actioned", "acute"),
    DelayReason("DIAG", "Awaiting diagnostic test", "acute"),
    DelayReason("TTO", "Awaiting medicines to take home", "acute"),
    DelayReason("SPAREF", "Awaiting referral to community single point of access", "acute"),
    DelayReason("THERAPY", "Awaiting therapy decision to discharge", "acute"),
    DelayReason("TRANSPORT", "Awaiting transport", "acute"),
    DelayReason("CTRAGAIN", "Declared NCTR at morning board round, later in the day meets CtR, so discharge stopped", "acute"),
    DelayReason("HOMELESS", "Homeless / no right of recourse to public funds / no place to discharge to", "acute"),
    DelayReason("FAMILY", "Individual/family not in agreement with discharge plans", "acute"),
    DelayReason("NOPLAN", "No plan", "acute"),
    DelayReason("P1CARE", "Pathway 1: awaiting availability of resource for assessment and start of care at home", "acute", "P1"),
    DelayReason("P2BED", "Pathway 2: awaiting availability of rehabilitation bed in community hospital or other bedded setting", "acute", "P2"),
    DelayReason("P3BED", "Pathway 3: awaiting availability of a bed in a residential or nursing home likely to be permanent", "acute", "P3"),
    DelayReason("INFECT", "Remains in hospital to avoid spread of (non-Covid-19) infectious disease, no other suitable location", "acute"),
    DelayReason("REPAT", "Repatriation / transfer to another acute trust for specialist or ongoing treatment", "acute"),
    DelayReason("SAFEG", "Safeguarding concern preventing discharge, or Court of Protection", "acute"),
    DelayReason("THERINT", "Awaiting a therapy decision/intervention to proceed with discharge", "community"),
    DelayReason("HUBREF", "Awaiting referral to / confirmation from care transfer hub or receiving service", "community"),
    DelayReason("P1NEW", "Pathway 1: awaiting care at home, not a continuation of rehabilitation", "community", "P1"),
    DelayReason("P1CONT", "Pathway 1: continuation of rehabilitation, reablement and recovery at home", "community", "P1"),
    DelayReason("P2OTHER", "Pathway 2: awaiting another rehabilitation bed", "community", "P2"),
    DelayReason("P3EOL", "Pathway 3: awaiting a care home bed for end-of-life care", "community", "P3"),
    DelayReason("READMIT", "Awaiting readmission to an acute trust", "community"),
    DelayReason("CHC", "Awaiting outcome of decision for CHC funding", "community"),
    DelayReason("HOUSING", "Housing: lack of housing offers", "community"),
)  # fmt: skip

_BY_CODE = {reason.code: reason for reason in DELAY_REASONS}


def delay_reason(code: str) -> DelayReason:
    try:
        return _BY_CODE[code.strip().upper()]
    except KeyError:
        raise NotFound(
            f"unknown delay reason {code!r}; known codes: {', '.join(_BY_CODE)}"
        ) from None
