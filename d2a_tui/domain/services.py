"""What a service with capacity can be: its kind and the unit its capacity counts in.

Kept apart from the capacity store so that the command line can offer these choices without
loading the database layer (a `d2a --help` should not wait for SQLAlchemy).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from d2a_tui.domain.flow import PATHWAYS

KINDS = ("reablement", "home_care", "intermediate_care", "community_hospital", "care_home")
UNITS = ("beds", "hours", "packages")
CAPACITY_PATHWAYS = tuple(p for p in PATHWAYS if p != "P0")  # P0 needs no new service

# What an organisation can be: the partners of a hub (DOMAIN.md), and the seed's demo marker.
ORGANISATION_KINDS = ("council", "trust", "community", "provider", "voluntary")


def organisation_id(typed: str) -> str:
    """The one rule for an organisation's id, wherever it is typed (`service add --org`,
    `server add-user --org`, `server add-organisation`): lower case, every run of other
    characters one `-`. So `RN`, `rn` and ` Rn ` are one organisation, and `stockport-council`
    stays `stockport-council`."""
    return re.sub(r"[^a-z0-9]+", "-", typed.strip().lower()).strip("-")[:64]


def find_organisation(known: Iterable[tuple[str, str]], typed: str) -> str | None:
    """The stored id of the organisation `typed` names, from (id, name) pairs: by its id under
    the rule above (an id stored before the rule, `RN` or `stockport.council`, is still found),
    else by its name ("Northcare Ltd"). None if it names none."""
    wanted = organisation_id(typed)
    if not wanted:
        return None
    pairs = list(known)
    for stored, _ in pairs:
        if organisation_id(stored) == wanted:
            return stored
    named = [stored for stored, name in pairs if organisation_id(name) == wanted]
    return named[0] if len(named) == 1 else None
