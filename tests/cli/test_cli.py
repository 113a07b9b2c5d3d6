"""The `d2a` command as scripts and the night team use it: exit codes, one-line errors, JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from d2a_tui.cli import main


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("D2A_DATABASE_URL", database_url)
    monkeypatch.setenv("D2A_USER", "night.nurse")
    return database_url


def d2a(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def days_ago(days: int) -> str:
    # The CLI runs on the real clock, so dates are relative to today.
    return (date.today() - timedelta(days=days)).isoformat()


def refer(capsys: pytest.CaptureFixture[str], nhs: str = "943 476 5919", **extra: str) -> str:
    args = [
        "refer",
        "--nhs",
        nhs,
        "--name",
        "Edna Example",
        "--dob",
        "1938-03-04",
        "--ward",
        "Ward 7",
    ]
    args += ["--admitted", days_ago(3), "--pathway", "P1"]
    for key, value in extra.items():
        args += [f"--{key}", value]
    code, out, err = d2a(capsys, *args)
    assert code == 0, err
    return out.strip()


def test_refer_move_delay_note_ready_show_round_trip(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    journey_id = refer(capsys)
    assert len(journey_id) == 36
    prefix = journey_id[:8]
    assert d2a(capsys, "move", prefix, "triage")[0] == 0
    assert d2a(capsys, "delay", prefix, "p1care")[0] == 0
    assert d2a(capsys, "note", prefix, "Daughter has the key safe code.")[0] == 0
    assert d2a(capsys, "ready", prefix, days_ago(2))[0] == 0
    code, out, _ = d2a(capsys, "show", prefix, "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["id"] == journey_id
    assert (shown["column"], shown["delay_reason"], shown["discharge_ready_date"]) == (
        "triage",
        "P1CARE",
        days_ago(2),
    )
    assert shown["nhs_number"] == "9434765919" and shown["version"] == 5
    assert [e["kind"] for e in shown["events"]] == [
        "referred",
        "moved",
        "delay_set",
        "note_added",
        "ready_date_set",
    ]
    assert {e["actor"] for e in shown["events"]} == {"night.nurse"}
    assert set(shown["events"][1]) >= {"kind", "actor", "occurred_at", "recorded_at", "payload"}


def test_list_json_has_the_documented_keys_and_stuck_filter(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = refer(capsys, nhs="999 000 0018", ready=days_ago(3))  # weeks since discharge-ready: red
    refer(capsys, nhs="999 000 0026")
    code, out, _ = d2a(capsys, "list", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 2
    required = {"id", "column", "pathway", "nhs_number", "name", "version", "entered_column_at",
                "discharge_ready_date", "delay_reason", "stuck", "stuck_reasons"}  # fmt: skip
    assert all(required <= set(row) for row in rows)
    code, out, _ = d2a(capsys, "list", "--stuck", "--json")
    stuck = json.loads(out)
    assert [row["id"] for row in stuck] == [stale]
    assert stuck[0]["stuck"] == "red"
    assert any("since discharge-ready" in reason for reason in stuck[0]["stuck_reasons"])


def test_flow_json_lists_columns_thresholds_and_moves(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = d2a(capsys, "flow", "--json")
    flow = json.loads(out)
    triage = next(c for c in flow["columns"] if c["id"] == "triage")
    assert code == 0
    assert (triage["amber_hours"], triage["red_hours"]) == (12, 24)
    assert "await_p1" in triage["moves"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["refer", "--nhs", "123", "--name", "X", "--dob", "1950-01-01"],
            "NHS number must have 10 digits, got 3",
        ),
        (["refer", "--nhs", "9434765918", "--name", "X", "--dob", "1950-01-01"], "check digit"),
        (["refer", "--nhs", "943476591X", "--name", "X", "--dob", "1950-01-01"], "digits only"),
        (["refer", "--nhs", "9990000018", "--name", "X", "--dob", "2099-01-01"], "in the future"),
        (["move", "{id}", "nowhere"], "unknown column 'nowhere'"),
        (["move", "{id}", "on_p1"], "not an allowed move"),
        (["delay", "{id}", "LATE"], "unknown delay reason 'LATE'"),
        (["ready", "{id}", "2099-01-01"], "in the future"),
        (["move", "deadbeef", "triage"], "no journey deadbeef"),
        (["move", "{id}", "triage", "--expect-version", "9"], "you saw 9"),
        (["show", "zz"], "is not a journey id"),
    ],
)
def test_bad_input_is_one_line_nonzero_and_changes_nothing(
    db: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    journey_id = refer(capsys)
    before = d2a(capsys, "show", journey_id, "--json")[1]
    code, out, err = d2a(capsys, *[a.replace("{id}", journey_id[:8]) for a in args])
    assert code != 0 and out == ""
    assert err.startswith("d2a: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert d2a(capsys, "show", journey_id, "--json")[1] == before


def test_ambiguous_prefix_is_refused_and_a_longer_one_works(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from d2a_tui.services.hub import Hub

    hub = Hub.open(db)
    for serial, journey_id in enumerate(
        ("abcd1111-0000-4000-8000-000000000001", "abcd2222-0000-4000-8000-000000000002")
    ):
        with hub.store.unit_of_work() as work:
            patient = {
                "nhs_number": ("999 000 0018", "999 000 0026")[serial],
                "name": "Same Prefix",
                "date_of_birth": "1940-01-01",
            }
            work.execute("refer", {"patient": patient}, hub.actor, hub.now(), journey_id=journey_id)
    code, _, err = d2a(capsys, "move", "abcd", "triage")
    assert code == 1 and "ambiguous" in err and "abcd1111" in err and "abcd2222" in err
    assert d2a(capsys, "move", "abcd2", "triage")[0] == 0
    assert hub.journey("abcd2222-0000-4000-8000-000000000002").card.column == "triage"
    assert hub.journey("abcd1111-0000-4000-8000-000000000001").card.column == "referred"


def test_unreachable_database_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = d2a(capsys, "list", "--db", "postgresql://postgres@127.0.0.1:9/none")
    assert code == 1
    assert err.startswith("d2a: cannot reach database") and err.count("\n") == 1


def test_seed_is_deterministic_and_realistic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    # A fixed moment: how many of today's referrals are still open depends on the time of day.
    for path in (first, second):
        assert (
            d2a(
                capsys, "seed", "--db", str(path), "--days", "50", "--seed", "7",
                "--now", "2026-11-23T09:30", "--quiet",
            )[0]
            == 0
        )  # fmt: skip
    lists = [
        json.loads(d2a(capsys, "list", "--db", str(path), "--json")[1]) for path in (first, second)
    ]
    assert [row["id"] for row in lists[0]] == [row["id"] for row in lists[1]]
    rows = lists[0]
    assert all(row["nhs_number"].startswith("999") for row in rows)  # the test range, never issued
    in_hospital = [
        r
        for r in rows
        if r["column"] in ("referred", "triage", "await_p0", "await_p1", "await_p2", "await_p3")
    ]
    # DOMAIN.md: 50-150 NCTR at a time, ~145 P2 beds, 300-500 open journeys in a locality.
    assert 300 <= len(rows) <= 560
    assert 40 <= len(in_hospital) <= 200
    assert 90 <= sum(r["column"] == "in_p2" for r in rows) <= 170


def test_console_script_prints_version_and_errors_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("d2a")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("d2a ")
    failed = subprocess.run(
        [exe, "move", "abcd1234", "triage", "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith("d2a: no d2a database at ") and failed.stderr.count("\n") == 1
    assert not (tmp_path / "x.db").exists()  # a typo makes nothing
    subprocess.run([exe, "db", "upgrade", "--db", str(tmp_path / "x.db")], check=True)
    failed = subprocess.run(
        [exe, "move", "abcd1234", "triage", "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert failed.stderr == "d2a: no journey abcd1234\n"


def test_seed_refuses_a_moment_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "never.db"
    code, _, err = d2a(capsys, "seed", "--db", str(path), "--now", "half past nine", "--quiet")
    assert code == 1
    assert err.startswith("d2a: --now 'half past nine' is not a date-time") and err.count("\n") == 1
    assert not path.exists()
