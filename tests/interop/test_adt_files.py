"""`d2a adt load`: the files replays come in, framed or plain."""

from __future__ import annotations

from pathlib import Path

import pytest

from d2a_tui.cli import main
from d2a_tui.interop.hl7v2 import split_messages
from tests.interop.hl7_samples import adt


def test_plain_files_split_at_each_msh_whatever_the_line_endings() -> None:
    one, two = adt("A02", "9434765919", msg_id="F1"), adt("A03", "9434765919", msg_id="F2")
    for joiner in ("\n", "\r\n", "\r"):
        text = "\n\n".join(m.replace("\r", joiner) for m in (one, two)) + joiner
        assert split_messages(text) == [one, two]


def test_mllp_framed_files_split_at_each_frame() -> None:
    one, two = adt("A02", "9434765919", msg_id="F3"), adt("A08", "9434765919", msg_id="F4")
    text = "".join(f"\x0b{m}\x1c\r" for m in (one, two))
    assert split_messages(text) == [one, two]


def test_load_reports_each_refusal_and_a_file_without_messages_is_one_line(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "day.hl7"
    path.write_text(
        adt("A02", "9434765918", msg_id="F5") + "\n" + adt("A05", "9434765919", msg_id="F6")
    )
    assert main(["adt", "load", str(path), "--db", sqlite_url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("message 1 (ADT^A02^ADT_A02 F5): AE the NHS number in PID-3 fails")
    assert out[1].startswith("message 2 (ADT^A05^ADT_A05 F6): AR ADT^A05 is not supported")
    assert out[2] == "2 message(s): AE 1, AR 1"
    empty = tmp_path / "empty.hl7"
    empty.write_text("\n")
    assert main(["adt", "load", str(empty), "--db", sqlite_url]) == 1
    assert capsys.readouterr().err == f"d2a: {empty} holds no HL7 messages\n"


def test_an_hl7_batch_file_is_read_as_its_messages_not_its_envelope(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # FHS/BHS ... BTS/FTS as a PAS writes a nightly replay: the envelope is no message.
    one, two = adt("A05", "9434765919", msg_id="B1"), adt("A02", "9434765919", msg_id="B2")
    text = "\n".join(
        [
            "FHS|^~\\&|PAS|RXX01|D2A|HUB|20261123010000||||FILE0001",
            "BHS|^~\\&|PAS|RXX01|D2A|HUB|20261123010000||||BATCH001",
            one.replace("\r", "\n"),
            two.replace("\r", "\n"),
            "BTS|2",
            "FTS|1",
        ]
    )
    assert split_messages(text) == [one, two]
    framed = "\x0b" + text.replace("\n", "\r") + "\x1c\r"
    assert split_messages(framed) == [one, two]
    path = tmp_path / "batch.hl7"
    path.write_text(text)
    assert main(["adt", "load", str(path), "--db", sqlite_url]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 message(s): AA 1, AR 1"


def test_the_admissions_list_filters_by_ward_and_day(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two people not on the hub, admitted 20 and 22 Nov to different wards.
    path = tmp_path / "admissions.hl7"
    path.write_text(
        adt("A01", "9434765919", msg_id="AD1", ward="ELM", admitted="20261120100000") + "\n"
        + adt("A01", "9434765870", msg_id="AD2", ward="OAK", admitted="20261122100000",
              name="BUILDER^BOB")
    )  # fmt: skip
    assert main(["adt", "load", str(path), "--db", sqlite_url]) == 0
    capsys.readouterr()
    assert main(["adt", "admissions", "--ward", "oak", "--db", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "BOB BUILDER" in out and "EDNA" not in out
    assert main(["adt", "admissions", "--since", "2026-11-21", "--db", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "22 Nov" in out and "20 Nov" not in out
    # Not work waiting: the exceptions list is empty.
    assert main(["adt", "exceptions", "--db", sqlite_url]) == 0
    assert capsys.readouterr().out == "no ADT exceptions waiting\n"
