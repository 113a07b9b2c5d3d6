"""An ADT merge (A40) applied on the server reaches a replica whole: the journey shows the
surviving NHS number there too, even when that number is new to the replica."""

from __future__ import annotations

from d2a_tui.interop.adt import AdtFeed
from tests.interop.hl7_samples import adt
from tests.sync.conftest import SyncEnv, refer

NEW_NUMBER = "9434765919"


def test_a_merge_into_a_new_nhs_number_reaches_the_replica(any_sync_env: SyncEnv) -> None:
    any_sync_env.user("nina")
    server = any_sync_env.direct()
    journey = refer(server, 1)
    old_number = server.store.card(journey).nhs_number
    replica = any_sync_env.replica("nina", "night")
    replica.sync.sync_now(wait=True)
    assert replica.store.card(journey).nhs_number == old_number
    # The PAS merges the record into a number the hub has never seen (written on the server,
    # where the feed runs).
    feed = AdtFeed(server.store, server.calendar, "adt-device", server.clock)
    born = server.store.card(journey).date_of_birth.strftime("%Y%m%d")
    outcome = feed.process(adt("A40", NEW_NUMBER, dob=born, prior_nhs=old_number))
    assert outcome.code == "AA", outcome.detail
    assert server.store.card(journey).nhs_number == NEW_NUMBER
    replica.sync.sync_now(wait=True)
    assert replica.store.card(journey).nhs_number == NEW_NUMBER
    # And later changes keep flowing both ways.
    server.set_ward(journey, "Ward 9")
    replica.sync.sync_now(wait=True)
    assert replica.store.card(journey).ward == "Ward 9"
