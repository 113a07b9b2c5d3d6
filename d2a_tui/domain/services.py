"""What a service with capacity can be: its kind and the unit its capacity counts in.

Kept apart from the capacity store so that the command line can offer these choices without
loading the database layer (a `d2a --help` should not wait for SQLAlchemy).
"""

from __future__ import annotations

from d2a_tui.domain.flow import PATHWAYS

KINDS = ("reablement", "home_care", "intermediate_care", "community_hospital", "care_home")
UNITS = ("beds", "hours", "packages")
CAPACITY_PATHWAYS = tuple(p for p in PATHWAYS if p != "P0")  # P0 needs no new service
