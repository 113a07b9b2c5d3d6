"""How a journey ends, and the monthly sitrep's discharge destinations."""

from dataclasses import dataclass

from d2a_tui.domain.errors import NotFound

OUTCOMES: dict[str, str] = {
    "home_independent": "Home, independent",
    "home_with_care": "Home with long-term care",
    "care_home": "Long-term care home",
    "readmitted": "Readmitted",
    "died": "Died",
    "other": "Other",
}


@dataclass(frozen=True, slots=True)
class Destination:
    code: str
    pathway: str
    text: str


# The 12 categories of the monthly discharge sitrep, in its order.
DESTINATIONS: tuple[Destination, ...] = (
    Destination("P0_HOME", "P0", "Domestic home, without reablement"),
    Destination("P0_OTHER", "P0", "Other, without reablement"),
    Destination("P1_HOME", "P1", "Domestic home, with reablement"),
    Destination("P1_OTHER", "P1", "Other, with reablement"),
    Destination("P1_HOTEL", "P1", "Hotel, with reablement"),
    Destination("P2_CAREHOME", "P2", "Care home, short-term 24hr"),
    Destination("P2_DESIGNATED", "P2", "Designated setting"),
    Destination("P2_HOSPICE", "P2", "Hospice, short-term"),
    Destination("P2_REHAB", "P2", "Community rehab setting"),
    Destination("P3_CAREHOME", "P3", "Care home, new admission (likely permanent)"),
    # 11 and 12 as the return numbers them: the existing resident going back, then the designated
    # setting, both under P3b. The codes are stable ids in the event log, not positions.
    Destination("P3B_RETURN", "P3b", "Existing care home resident back to their home"),
    Destination("P3_DESIGNATED", "P3b", "Designated setting"),
)

_DESTINATIONS_BY_CODE = {destination.code: destination for destination in DESTINATIONS}


def outcome_text(code: str) -> str:
    try:
        return OUTCOMES[code]
    except KeyError:
        raise NotFound(f"unknown outcome {code!r}; known: {', '.join(OUTCOMES)}") from None


def destination(code: str) -> Destination:
    try:
        return _DESTINATIONS_BY_CODE[code.strip().upper()]
    except KeyError:
        known = ", ".join(_DESTINATIONS_BY_CODE)
        raise NotFound(f"unknown discharge destination {code!r}; known: {known}") from None
