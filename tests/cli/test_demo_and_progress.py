"""Small things a new user meets (issue 11 §7): `d2a demo` keeps the demo hub and `--fresh`
starts again; saved reports are readable by their owner only; long commands show progress."""

from __future__ import annotations

import io
import json
import stat
import time
from pathlib import Path

import pytest
from rich.console import Console

from d2a_tui.cli import main
from d2a_tui.cli.progress import command_label, seed_progress, spinner_if_slow
from d2a_tui.seed import seed_database
from d2a_tui.services.hub import Hub


def d2a(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_again_opens_the_same_hub_and_fresh_seeds_it_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "demo.db")
    demo = ("demo", "--db", db, "--days", "3", "--no-board")
    code, _, err = d2a(capsys, *demo)
    assert code == 0 and "Creating a demo hub with SYNTHETIC patients" in err
    seeded = head(db)
    someone = json.loads(d2a(capsys, "list", "--db", db, "--json")[1])[0]["id"]
    assert d2a(capsys, "note", someone[:8], "Worked on in the first demo.", "--db", db)[0] == 0

    code, _, err = d2a(capsys, *demo)
    assert code == 0 and err.startswith("Opening the existing demo hub (")
    assert "`d2a demo --fresh` starts it again" in err
    assert head(db) == seeded + 1
    shown = json.loads(d2a(capsys, "show", someone, "--db", db, "--json")[1])
    assert shown["events"][-1]["payload"]["text"] == "Worked on in the first demo."

    code, _, err = d2a(capsys, *demo, "--fresh")
    assert code == 0 and "Creating a demo hub" in err
    assert head(db) == seeded  # seeded again, the same way: the first run's note is gone
    shown = json.loads(d2a(capsys, "show", someone, "--db", db, "--json")[1])
    assert "Worked on in the first demo." not in [e["payload"].get("text") for e in shown["events"]]


def head(db: str) -> int:
    hub = Hub.open(db)
    try:
        return hub.head_position()
    finally:
        hub.close()


def test_demo_never_replaces_a_database_that_is_not_a_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "real.db")
    assert d2a(capsys, "db", "upgrade", "--db", db)[0] == 0
    d2a(capsys, "refer", "--nhs", "9990000018", "--name", "Ann Alpha", "--dob", "1940-01-01",
        "--db", db)  # fmt: skip
    for fresh in ((), ("--fresh",)):
        code, out, err = d2a(capsys, "demo", "--db", db, "--days", "3", "--no-board", *fresh)
        assert code == 1 and out == "" and err.count("\n") == 1
        assert "is not a demo hub" in err
    assert [row["name"] for row in json.loads(d2a(capsys, "list", "--db", db, "--json")[1])] == [
        "Ann Alpha"
    ]
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database\n")
    assert d2a(capsys, "demo", "--db", str(text_file), "--no-board")[0] == 1
    assert text_file.read_text() == "not a database\n"


def test_a_report_saved_to_a_file_is_readable_by_its_owner_only(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "reports" / "sitrep.csv"
    code, out, err = d2a(capsys, "report", "sitrep", "--format", "csv", "--output", str(target),
                         "--db", sqlite_url)  # fmt: skip
    # A folder the user typed and that is not there is a typo until they make it: nothing made.
    assert (
        code == 1
        and out == ""
        and err == f"d2a: no folder {target.parent}: create it first; nothing was written\n"
    )
    assert not target.parent.exists()
    target.parent.mkdir()
    code, out, err = d2a(capsys, "report", "sitrep", "--format", "csv", "--output", str(target),
                         "--db", sqlite_url)  # fmt: skip
    assert code == 0 and out == "" and "readable by you only" in err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    target.chmod(0o644)  # saved again over a file someone opened up: closed again
    d2a(capsys, "report", "sitrep", "--output", str(target), "--db", sqlite_url)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text().startswith("Discharge sitrep")


def terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=120), buffer


def test_seeding_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    console, buffer = terminal()
    with seed_progress(console=console, what="Seeding a locality") as progress:
        assert callable(progress)
        summary = seed_database(
            f"sqlite:///{tmp_path / 's.db'}", days=3, seed=3, progress=progress, processes=1
        )
    shown = buffer.getvalue()
    assert "Seeding a locality" in shown and "chunks" in shown
    assert f"{summary.journeys:,} journeys" in shown  # the last update shows the whole seed


def test_no_progress_bar_when_quiet_or_not_a_terminal(tmp_path: Path) -> None:
    buffer = io.StringIO()
    with seed_progress(console=Console(file=buffer)) as progress:  # a pipe
        assert progress is False
    with seed_progress(enabled=False, console=terminal()[0]) as progress:
        assert progress is False
    assert buffer.getvalue() == ""


def test_a_slow_command_shows_a_spinner_and_a_quick_one_does_not(sqlite_url: str) -> None:
    hub = Hub.open(sqlite_url)
    hub.refer("9990000018", "Ann Alpha", "1940-01-01")
    console, buffer = terminal()
    with spinner_if_slow("d2a report rebuild…", console=console, after=0.0):
        hub.reports.rebuild()
        time.sleep(0.2)  # long enough for the spinner's first frame
    assert "d2a report rebuild…" in buffer.getvalue()
    console, buffer = terminal()
    with spinner_if_slow("d2a list…", console=console, after=5.0):
        hub.board()
    assert buffer.getvalue() == ""
    hub.close()


@pytest.mark.parametrize(
    ("argv", "label"),
    [
        (["report", "rebuild"], "d2a report rebuild…"),
        (["server", "devices"], "d2a server devices…"),
        (["list"], "d2a list…"),
        (["board"], None),
        (["sync", "--watch"], None),
    ],
)
def test_which_commands_get_a_spinner(argv: list[str], label: str | None) -> None:
    from d2a_tui.cli import build_parser

    assert command_label(build_parser().parse_args(argv)) == label
