"""A device revoked with changes still queued, through the real CLI and a real `d2a serve`: its
`d2a sync` says so in one line and keeps the changes; a new login on the same (encrypted)
database sends them, exactly once. `d2a server devices` shows last seen, expiry and revoked."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import Hub

pytestmark = pytest.mark.e2e


def test_a_revoked_device_keeps_its_changes_for_the_next_login(e2e_hub: Hub) -> None:
    night = e2e_hub.replica("revoked-laptop", "nina")
    old_device = night.login_file()["device_id"]
    for serial, number in enumerate(("943 476 5870", "943 476 5889"), 1):
        night.run(
            "refer", "--nhs", number, "--name", f"Relogin Person {serial}", "--dob",
            "1939-03-04", "--ward", "Ward 2",
        )  # fmt: skip
    e2e_hub.admin("revoke-device", old_device)

    refused = night.run("sync", ok=False)
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("d2a: "), refused.stderr
    assert "revoked" in lines[0] and "2 changes not yet sent stay on this machine" in lines[0]
    assert night.status()["pending"] == 2
    assert e2e_hub.events(old_device) == 0

    token = e2e_hub.enrol("nina", "revoked-laptop-again")["enrolment_token"]
    night.run("login", "--server", e2e_hub.server.url, "--token", token)
    new_device = night.login_file()["device_id"]
    assert new_device != old_device
    assert night.status()["pending"] == 0
    assert e2e_hub.events(new_device) == 2  # the two referrals, once each
    night.run("sync")
    assert e2e_hub.events(new_device) == 2

    listed = e2e_hub.admin("devices").stdout
    old_line = next(line for line in listed.splitlines() if line.startswith(old_device))
    new_line = next(line for line in listed.splitlines() if line.startswith(new_device))
    assert "revoked" in old_line
    assert "enrolled" in new_line
    assert "last seen" in listed.splitlines()[0] and "expires" in listed.splitlines()[0]
    devices = {row["id"]: row for row in json.loads(e2e_hub.admin("devices", "--json").stdout)}
    assert devices[new_device]["token_expires_at"] and devices[new_device]["last_seen_at"]
    assert devices[old_device]["revoked_at"]
