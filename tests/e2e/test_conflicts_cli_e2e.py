"""Conflicts decided in bulk from the command line (issue 24 §4), through the real CLI and a real
server: `d2a conflicts` groups them by journey with a count by kind, `d2a resolve theirs --kind`
decides a kind at once, and a bulk "mine" is refused in one line."""

from __future__ import annotations

import pytest

from d2a_tui.domain.nhs_number import next_synthetic
from tests.e2e.conftest import CliReplica, Hub

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def refer(replica: CliReplica, serial: int) -> str:
    number = next_synthetic(8800 + serial * 11)[1]
    done = replica.run("refer", "--nhs", number, "--name", f"Bulk Person {serial}", "--dob",
                       "1939-01-02")  # fmt: skip
    return done.stdout.strip()


def test_conflicts_are_grouped_and_theirs_is_kept_for_a_kind_at_once(e2e_hub: Hub) -> None:
    night = e2e_hub.replica("bulk-night", "nina")
    day = e2e_hub.replica("bulk-day", "cole")
    journeys = [refer(day, serial) for serial in (1, 2)]
    for journey in journeys:
        day.run("move", journey, "triage")
    day.run("sync", "--once")
    night.run("sync", "--once")
    for journey in journeys:
        day.run("move", journey, "await_p3")
        night.run("move", journey, "await_p2")  # from Triage: stale once day's move lands
    day.run("sync", "--once")
    night.run("sync", "--once")

    listing = night.run("conflicts").stdout.splitlines()
    assert listing[0].startswith("2 to decide on 2 journeys: 2 move conflict")
    assert [line.startswith("journey ") for line in listing[1:]] == [True, False, True, False]

    refused = night.run("resolve", "mine", "--all", ok=False)
    assert refused.stderr.startswith("d2a: in bulk only theirs is kept")
    done = night.run("resolve", "theirs", "--kind", "move")
    assert done.stdout.startswith("kept theirs for 2 conflicts")
    assert night.json("conflicts") == []
    synced = night.json("sync", "--once")
    assert synced["status"]["pending"] == 0 and synced["status"]["conflicts"] == 0
