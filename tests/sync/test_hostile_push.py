"""Hostile text pushed to the server by a device (issue 20, section 2): each change is applied or
rejected with a reason code, never a 5xx; what the server took prints literally from every
listing of its database, with no raw control byte."""

from __future__ import annotations

from typing import Any

import pytest

from d2a_tui.cli import main
from tests.hostile import CONTROL, CORPUS, LONG, MARKUP, REORDER, raw_in, readable
from tests.sync.conftest import SyncEnv, nhs
from tests.sync.test_protocol import Device
from tests.sync.test_refusals import push, receipt_of


async def test_pushed_hostile_text_is_applied_or_refused_with_a_reason_and_lists_literally(
    sync_env: SyncEnv, capfdbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    device = Device(sync_env, "nina")
    applied: list[str] = []
    for serial, value in enumerate(CORPUS, start=1):
        referral = device.referral(serial)
        referral["args"]["patient"] = {
            "nhs_number": nhs(serial), "name": value, "date_of_birth": "1941-05-06",
        }  # fmt: skip
        referral["args"]["ward"] = value[:64]
        answer = await push(sync_env, device, referral)
        assert answer.status_code == 200, answer.text
        receipt: dict[str, Any] = receipt_of(answer)
        if receipt["outcome"] == "applied":
            applied.append(value)
            note = device.mutation(
                "add_note", str(referral["journey_id"]), args={"text": f"note {value}"}
            )
            assert receipt_of(await push(sync_env, device, note))["outcome"] == "applied"
        else:
            assert receipt["outcome"] == "rejected"
            assert receipt["reason"] in ("control_characters", "too_long")
            assert value in CONTROL or value == LONG
    assert applied == [*MARKUP, *REORDER]

    url = str(sync_env.engine.url)
    monkeypatch.setenv("D2A_USER", "server.admin")
    for args in (["list"], ["list", "--json"], ["find", "Ann"], ["handover", "--since", "2026-11-01"],
                 ["board", "--print"], ["alerts"]):  # fmt: skip
        code = main([*args, "--db", url])
        out_bytes, err_bytes = capfdbinary.readouterr()
        out, err = out_bytes.decode(), err_bytes.decode()
        assert code == 0, (args, err)
        assert raw_in(out) == raw_in(err) == [], args
        if args == ["list"]:
            for value in MARKUP[1:]:
                assert readable(value) in out
