"""Services of two providers, and a person on P1 ready to be offered, for the offer tests."""

from __future__ import annotations

from d2a_tui.services.hub import Hub
from d2a_tui.sync.admin import add_organisation, add_user
from tests.conftest import refer_someone


def two_providers(hub: Hub) -> None:
    """Reablement North (of Northcare), Home Care South (of Southcare), both P1; Meadowbank
    (P2, of Northcare). Users: `nora` works for Northcare, `sam` for Southcare (providers)."""
    engine = hub.store.engine
    add_organisation(engine, "northcare", "Northcare", "provider")
    add_organisation(engine, "southcare", "Southcare", "provider")
    add_user(engine, "Nora", "provider", "Northcare", user_id="nora")
    add_user(engine, "Sam", "provider", "Southcare", user_id="sam")
    hub.capacity.add_service(
        "Reablement North", kind="reablement", pathway="P1", unit="hours",
        service_id="reablement-north", organisation_id="northcare",
    )  # fmt: skip
    hub.capacity.add_service(
        "Home Care South", kind="home_care", pathway="P1", unit="packages",
        service_id="home-care-south", organisation_id="southcare",
    )  # fmt: skip
    hub.capacity.add_service(
        "Meadowbank", kind="intermediate_care", pathway="P2", unit="beds",
        service_id="meadowbank", organisation_id="northcare",
    )  # fmt: skip


def on_p1(hub: Hub, serial: int = 1, **details: object) -> str:
    journey_id = refer_someone(hub, serial, discharge_ready_date="2026-11-20", **details)
    hub.move(journey_id, "triage")
    hub.move(journey_id, "await_p1")
    return journey_id
