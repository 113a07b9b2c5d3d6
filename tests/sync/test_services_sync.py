"""Replicas hold the services of their scope: a provider its own organisation's, a coordinator
those of its localities (and those of no one locality), each with only the fields the
need-to-know allow-list names; the list follows the server's as it changes, and an offer made on
a replica is judged against it at the keyboard, with the reason the server gives. Against the
real server app in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from d2a_tui.domain.offers import OfferRefused
from d2a_tui.services.hub import Hub
from d2a_tui.storage.models import Organisation, Service, table_of
from d2a_tui.sync import admin
from tests.offers.conftest import on_p1, two_providers
from tests.sync.conftest import BASE_URL, SyncEnv

service_table = table_of(Service)
organisation_table = table_of(Organisation)


def held(hub: Hub) -> dict[str, tuple[str, str]]:
    """The services a replica's database holds: id -> (name, pathway)."""
    with hub.store.engine.connect() as connection:
        rows = connection.execute(select(service_table)).all()
    return {row.id: (row.name, row.pathway) for row in rows}


def organisations(hub: Hub) -> set[str]:
    with hub.store.engine.connect() as connection:
        return set(connection.execute(select(organisation_table.c.id)).scalars())


def with_localities(env: SyncEnv) -> Hub:
    """The two providers' services (no locality), and one service in each of two localities."""
    console = env.direct()
    two_providers(console)
    for locality in ("east", "west"):
        admin.add_locality(env.engine, locality)
        console.capacity.add_service(
            f"{locality.title()} Home", kind="care_home", pathway="P3", unit="beds",
            service_id=f"{locality}-home", locality=locality,
        )  # fmt: skip
    return console


def test_a_replica_holds_the_services_of_its_scope_and_no_others(
    any_sync_env: SyncEnv,
) -> None:
    env = any_sync_env
    with_localities(env)
    admin.add_user(env.engine, "Cole", "coordinator", None, "cole", localities=["east"])
    env.user("ally", "coordinator")  # no locality: every locality

    nora = env.replica("nora", role="provider")
    cole = env.replica("cole", role="coordinator")
    ally = env.replica("ally", role="coordinator")
    for hub in (nora, cole, ally):
        assert held(hub) == {}
        hub.sync.sync_now(wait=True)

    # Northcare's provider: its two services, not Southcare's, not the care homes.
    assert held(nora) == {
        "reablement-north": ("Reablement North", "P1"),
        "meadowbank": ("Meadowbank", "P2"),
    }
    assert organisations(nora) == {"northcare"}
    # East's coordinator: East's home and the services of no one locality, not West's.
    assert set(held(cole)) == {"reablement-north", "home-care-south", "meadowbank", "east-home"}
    assert organisations(cole) == {"northcare", "southcare"}
    assert set(held(ally)) == set(held(cole)) | {"west-home"}

    # The list follows the server's: a service renamed there is renamed here; one moved to
    # another organisation leaves the provider's replica at its next sync.
    with env.engine.begin() as connection:
        connection.execute(
            update(service_table)
            .where(service_table.c.id == "reablement-north")
            .values(name="Reablement North Team")
        )
        connection.execute(
            update(service_table)
            .where(service_table.c.id == "meadowbank")
            .values(organisation_id="southcare")
        )
    nora.sync.sync_now(wait=True)
    assert held(nora) == {"reablement-north": ("Reablement North Team", "P1")}


def test_the_services_list_sends_only_allowed_fields_and_answers_304_when_unchanged(
    sync_env: SyncEnv,
) -> None:
    import httpx

    from d2a_tui.domain.need_to_know import ORGANISATION_FIELDS, SERVICE_FIELDS, view_of

    env = sync_env
    with_localities(env)
    admin.add_user(env.engine, "Vic", "viewer", None, "vic", localities=["west"])
    admin.add_user(env.engine, "Max", "manager", None, "max")
    for user, role in (("vic", "viewer"), ("nora", "provider"), ("max", "manager")):
        _, token = env.token(user)
        http = httpx.Client(
            base_url=BASE_URL, transport=env.switch, headers={"Authorization": f"Bearer {token}"}
        )
        first = http.get("/v1/sync/services")
        assert first.status_code == 200
        body = first.json()
        view = view_of(role)
        for service in body["services"]:
            assert set(service) <= SERVICE_FIELDS[view]
        for organisation in body["organisations"]:
            assert set(organisation) <= ORGANISATION_FIELDS[view]
        ids = {service["id"] for service in body["services"]}
        assert ("west-home" in ids, "east-home" in ids) == {
            "vic": (True, False),  # West's viewer
            "nora": (False, False),  # a provider: its own organisation's only
            "max": (True, True),  # a manager of every locality
        }[user]
        etag = first.headers["ETag"]
        again = http.get("/v1/sync/services", headers={"If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b"")
        http.close()


def test_an_offer_to_a_service_of_the_wrong_pathway_is_refused_on_the_replica_at_once(
    any_sync_env: SyncEnv,
) -> None:
    env = any_sync_env
    console = env.direct()
    two_providers(console)
    env.user("cole", "coordinator")
    cole = env.replica("cole", role="coordinator")
    cole.sync.sync_now(wait=True)
    journey = on_p1(cole)
    cole.sync.sync_now(wait=True)

    with pytest.raises(OfferRefused) as on_replica:
        cole.offers.make(journey, "meadowbank")  # a P2 unit, for a person on P1
    # Nothing was queued for the server to refuse later.
    assert cole.sync.sync_status().pending == 0
    # The server's own answer to the same offer, by the same rules.
    with pytest.raises(OfferRefused) as on_server:
        console.offers.make(journey, "meadowbank")
    assert (on_replica.value.reason, str(on_replica.value)) == (
        on_server.value.reason,
        str(on_server.value),
    )
    assert on_replica.value.reason == "wrong_pathway"
    # An offer to a service outside what this replica holds is refused as unknown, not queued.
    with pytest.raises(OfferRefused, match="no service 'nowhere'"):
        cole.offers.make(journey, "nowhere")
    # The right pathway still goes through and reaches the server.
    cole.offers.make(journey, "reablement-north")
    cole.sync.sync_now(wait=True)
    assert cole.sync.sync_status().pending == 0 and not cole.sync.conflicts()
    assert [v.offer.service_id for v in console.offers.list()] == ["reablement-north"]


def test_a_role_the_allow_list_does_not_name_receives_no_service(sync_env: SyncEnv) -> None:
    # An administrator enrols devices; nothing of the hub's is theirs by default.
    from d2a_tui.sync.scope import Reader, services_seen

    with_localities(sync_env)
    with sync_env.engine.connect() as connection:
        for role in ("admin", None, "someone"):
            seen = services_seen(connection, Reader("ada", role, None, frozenset()))
            assert seen == {"organisations": [], "services": []}
        # A provider with no organisation has no services of its own.
        assert services_seen(connection, Reader("pat", "provider", None, frozenset())) == {
            "organisations": [],
            "services": [],
        }
