"""The `d2a` command as a new user meets it: every mistake is one `d2a:` line, never a traceback."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from d2a_tui.cli import main
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.sync import admin
from d2a_tui.sync.ingest import user_table


def d2a(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as stop:  # argparse's own exits (usage errors, --help)
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def refer(capsys: pytest.CaptureFixture[str], db: str, nhs: str = "943 476 5919") -> str:
    code, out, err = d2a(
        capsys, "refer", "--db", db, "--nhs", nhs, "--name", "Edna Example",
        "--dob", "1938-03-04", "--ward", "Ward 7", "--pathway", "P1",
    )  # fmt: skip
    assert code == 0, err
    return out.strip()


def one_line_error(err: str) -> bool:
    return err.startswith("d2a: ") and err.count("\n") == 1 and "Traceback" not in err


def test_flow_takes_db_like_every_command(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = d2a(capsys, "flow", "--db", sqlite_url, "--json")
    assert code == 0, err
    assert json.loads(out)["columns"][0]["id"] == "referred"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["move"], "move: the following arguments are required: journey, column"),
        (["list", "--stuck=yes"], "list: argument --stuck: ignored explicit argument 'yes'"),
        (["report", "weekly"], "report: argument kind: invalid choice: 'weekly'"),
        (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
        (["note", "abcd", "text", "--expect-version", "two"], "invalid int value: 'two'"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    code, out, err = d2a(capsys, *argv)
    assert code == 2 and out == ""
    assert one_line_error(err) and said in err, err


def test_note_refuses_a_stale_expected_version(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    journey = refer(capsys, sqlite_url)
    assert d2a(capsys, "move", journey[:8], "triage", "--db", sqlite_url)[0] == 0  # now version 2
    code, out, err = d2a(
        capsys, "note", journey[:8], "Seen by OT.", "--expect-version", "1", "--db", sqlite_url
    )
    assert code == 1 and out == "" and one_line_error(err) and "you saw 1" in err
    code, out, err = d2a(
        capsys, "note", journey[:8], "Seen by OT.", "--expect-version", "2", "--db", sqlite_url,
        "--json",
    )  # fmt: skip
    assert code == 0, err
    assert (json.loads(out)["notes"], json.loads(out)["version"]) == (1, 3)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--pathway", "P9"], "unknown pathway 'P9'; pathways: P0, P1, P2, P3"),
        (["--column", "limbo"], "unknown column 'limbo'"),
        (["--delay", "LATE"], "unknown delay reason 'LATE'"),
    ],
)
def test_list_with_an_unknown_filter_is_an_error_not_an_empty_list(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    code, out, err = d2a(capsys, "list", "--db", sqlite_url, *argv)
    assert code == 1 and out == "" and one_line_error(err) and said in err, err
    assert d2a(capsys, "list", "--db", sqlite_url, "--pathway", "p1", "--json")[0] == 0


def test_a_file_that_is_not_a_d2a_database_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("shopping: milk, eggs\n" * 50)
    code, _, err = d2a(capsys, "list", "--db", str(text_file))
    assert code == 1 and one_line_error(err) and "is not a d2a database" in err, err
    assert text_file.read_text() == "shopping: milk, eggs\n" * 50

    other = tmp_path / "other-app.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE recipe (id INTEGER PRIMARY KEY, name TEXT)")
    for argv in (
        ["list"], ["show", "abcd"], ["board"], ["report", "sitrep"], ["db", "upgrade"],
        ["seed", "--days", "2", "--quiet"], ["server", "devices"],
    ):  # fmt: skip
        code, _, err = d2a(capsys, *argv, "--db", str(other))
        assert code == 1 and one_line_error(err) and "is not a d2a database" in err, (argv, err)
    with sqlite3.connect(other) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert tables == {"recipe"}  # nothing of d2a's was added to someone else's database


def test_the_server_admin_commands_say_what_is_wrong_with_a_text_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database\n" * 100)
    code, _, err = d2a(capsys, "server", "devices", "--db", str(text_file))
    assert code == 1 and one_line_error(err) and "is not a d2a database" in err, err


def test_logout_takes_db_and_refuses_a_database_that_is_not_the_replica(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from d2a_tui.sync.login import Login, load_login, save_login

    replica = tmp_path / "replica.db"
    save_login(Login("http://127.0.0.1:9", "t", "dev", "nina", "Nina", "night", str(replica)))
    code, _, err = d2a(capsys, "logout", "--db", str(tmp_path / "other.db"))
    assert code == 1 and one_line_error(err) and "is not this machine's replica" in err
    assert load_login() is not None
    ensure_schema(make_engine(f"sqlite:///{replica}"))
    code, out, err = d2a(capsys, "logout", "--db", str(replica))
    assert code == 0, err
    assert "logged out of http://127.0.0.1:9" in out and load_login() is None


def test_enrol_device_finds_a_user_by_display_name_or_says_which_id(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ("--db", sqlite_url)
    admin.mark_server(make_engine(sqlite_url))  # a server's database, as `d2a serve` marks it
    assert d2a(capsys, "server", "add-user", "--name", "Ann Co", "--role", "night", *db)[0] == 0
    code, out, err = d2a(capsys, "server", "enrol-device", "--user", "Ann Co", "--json", *db)
    assert code == 0, err
    assert json.loads(out)["device_id"]
    code, out, _ = d2a(capsys, "server", "devices", "--json", *db)
    assert [device["user_id"] for device in json.loads(out)] == ["ann.co"]

    # A second Ann Co (a different id): the name no longer says who, so the ids are listed.
    d2a(
        capsys, "server", "add-user", "--name", "Ann Co", "--role", "viewer", "--id", "ann.co2", *db
    )
    code, out, err = d2a(capsys, "server", "enrol-device", "--user", "ann co", *db)
    assert code == 1 and one_line_error(err)
    assert "2 users are named 'ann co' (ann.co, ann.co2)" in err
    code, _, err = d2a(capsys, "server", "enrol-device", "--user", "Bob", *db)
    assert code == 1 and "no user with the id or name 'Bob'" in err
    with make_engine(sqlite_url).connect() as connection:
        assert len(connection.execute(select(user_table)).all()) == 2


def test_a_piped_report_table_never_folds_a_cell(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    refer(capsys, sqlite_url)
    window = ("--from", "2026-06-01", "--to", "2026-07-27", "--db", sqlite_url)
    code, table, err = d2a(capsys, "report", "flow", *window)
    assert code == 0, err
    _, as_csv, _ = d2a(capsys, "report", "flow", *window, "--format", "csv")
    days = [row[0] for row in csv.reader(io.StringIO(as_csv.split("\r\n\r\n")[0]))][1:]
    # 1 June to 27 July inclusive: 30 + 27 = 57 days, each a row whose date is whole on one line.
    assert len(days) == 57 and days[-1] == "2026-07-27"
    lines = table.splitlines()
    for day in days:
        assert sum(day in line for line in lines) == 1, day
    assert not any(line.strip(" │┃|") in ("-27", "2026-07") for line in lines)
