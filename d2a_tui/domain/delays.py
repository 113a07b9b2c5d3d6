"""Delay reasons: the acute discharge sitrep's 18 in published order, the community additions, and
the reasons NHS England's grouped list (published from 27 May 2024) added that neither had.

There are no official codes, so d2a assigns short ones that stay stable: reports and the event log
store the code, and the text can be reworded without rewriting history.

Since 27 May 2024 NHS England publishes the delay reasons of patients with a length of stay of 7+
days under five headings (`GROUPS`). Each reason carries the heading d2a files it under. The
headings, and the wordings in `aliases` and of the `acute-2024` reasons, are as NHS England's
published monthly data files name their metrics; which heading each older reason falls under is
d2a's reading of the wordings, not a published mapping (docs/guide/connecting.md says so).
"""

from dataclasses import dataclass

from d2a_tui.domain.errors import NotFound


@dataclass(frozen=True, slots=True)
class DelayReason:
    code: str
    text: str
    sitrep: str  # "acute", "community" or "acute-2024": which list it comes from
    pathway: str | None = None
    group: str = "hospital"  # the heading of NHS England's grouped list (GROUPS)
    aliases: tuple[str, ...] = ()  # other published wordings of the same reason


GROUPS: dict[str, str] = {
    "hospital": "Hospital process",
    "hub": "Care transfer hub process",
    "interface": "Interface process",
    "capacity": "Capacity",
    "wellbeing": "Wellbeing concerns",
}


DELAY_REASONS: tuple[DelayReason, ...] = (
    DelayReason("MED", "Awaiting a medical decision/intervention including writing the discharge summary", "acute"),
    DelayReason("EQUIP", "Awaiting community equipment and adaptations to housing", "acute", group="capacity"),
    DelayReason("HUBCONF", "Awaiting confirmation from community hub/single point of access that referral received and actioned", "acute", group="hub"),
    DelayReason("DIAG", "Awaiting diagnostic test", "acute"),
    DelayReason("TTO", "Awaiting medicines to take home", "acute"),
    DelayReason("SPAREF", "Awaiting referral to community single point of access", "acute"),
    DelayReason("THERAPY", "Awaiting therapy decision to discharge", "acute",
                aliases=("Hospital process – Awaiting therapy review of need for supported discharge",)),
    DelayReason("TRANSPORT", "Awaiting transport", "acute"),
    DelayReason("CTRAGAIN", "Declared NCTR at morning board round, later in the day meets CtR, so discharge stopped", "acute"),
    DelayReason("HOMELESS", "Homeless / no right of recourse to public funds / no place to discharge to", "acute", group="capacity"),
    DelayReason("FAMILY", "Individual/family not in agreement with discharge plans", "acute", group="wellbeing",
                aliases=("Wellbeing concerns – Patient/family/carer concerns over discharge readiness",)),
    DelayReason("NOPLAN", "No plan", "acute", group="hub"),
    DelayReason("P1CARE", "Pathway 1: awaiting availability of resource for assessment and start of care at home", "acute", "P1", "capacity",
                aliases=("Capacity – Home-based rehabilitation, reablement or recovery services not yet available (Pathway 1)",)),
    DelayReason("P2BED", "Pathway 2: awaiting availability of rehabilitation bed in community hospital or other bedded setting", "acute", "P2", "capacity",
                aliases=("Capacity – Bed-based rehabilitation, reablement or recovery services not yet available (Pathway 2)",)),
    DelayReason("P3BED", "Pathway 3: awaiting availability of a bed in a residential or nursing home likely to be permanent", "acute", "P3", "capacity"),
    DelayReason("INFECT", "Remains in hospital to avoid spread of (non-Covid-19) infectious disease, no other suitable location", "acute"),
    DelayReason("REPAT", "Repatriation / transfer to another acute trust for specialist or ongoing treatment", "acute", group="interface"),
    DelayReason("SAFEG", "Safeguarding concern preventing discharge, or Court of Protection", "acute", group="wellbeing"),
    DelayReason("THERINT", "Awaiting a therapy decision/intervention to proceed with discharge", "community"),
    DelayReason("HUBREF", "Awaiting referral to / confirmation from care transfer hub or receiving service", "community", group="hub"),
    DelayReason("P1NEW", "Pathway 1: awaiting care at home, not a continuation of rehabilitation", "community", "P1", "capacity"),
    DelayReason("P1CONT", "Pathway 1: continuation of rehabilitation, reablement and recovery at home", "community", "P1", "capacity"),
    DelayReason("P2OTHER", "Pathway 2: awaiting another rehabilitation bed", "community", "P2", "capacity"),
    DelayReason("P3EOL", "Pathway 3: awaiting a care home bed for end-of-life care", "community", "P3", "capacity"),
    DelayReason("READMIT", "Awaiting readmission to an acute trust", "community", group="interface"),
    DelayReason("CHC", "Awaiting outcome of decision for CHC funding", "community", group="interface"),
    DelayReason("HOUSING", "Housing: lack of housing offers", "community", group="capacity"),
    DelayReason("CTHNEEDS", "Care transfer hub process – Waiting for confirmation of immediate care needs and pathway", "acute-2024", group="hub"),
    DelayReason("P1ARRANGE", "Interface process – Home based rehabilitation, reablement or recovery service arrangements still underway (Pathway 1)", "acute-2024", "P1", "interface"),
    DelayReason("P2ARRANGE", "Interface process – Bed-based rehabilitation, reablement or recovery service arrangements still underway (Pathway 2)", "acute-2024", "P2", "interface"),
)  # fmt: skip

_BY_CODE = {reason.code: reason for reason in DELAY_REASONS}


def delay_reason(code: str) -> DelayReason:
    try:
        return _BY_CODE[code.strip().upper()]
    except KeyError:
        raise NotFound(
            f"unknown delay reason {code!r}; known codes: {', '.join(_BY_CODE)}"
        ) from None
