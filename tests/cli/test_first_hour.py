"""The first hour on a machine where d2a never ran, as a new user meets it: the real `d2a` in a
subprocess, with a fresh HOME and XDG folders and no data folder. Every step either does the right
thing or says, in one `d2a:` line, what to do (issue 21)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fresh_machine import Machine


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_after_the_demo_the_readmes_next_commands_act_on_the_demo_hub(machine: Machine) -> None:
    seeded = machine.ok("demo", "--no-board", "--days", "3")
    assert "Creating a demo hub" in seeded.stderr and "demo.db" in seeded.stderr
    listed = json.loads(machine.ok("list", "--json").stdout)
    assert listed, "d2a list after the demo read an empty hub"
    assert {card["nhs_number"][:3] for card in listed} == {"999"}  # the synthetic patients
    assert not (machine.data / "d2a.db").exists()  # no second, empty hub was made
    # The quick start's other next commands read the same hub, without a word about which.
    alerts = machine.ok("alerts", "--json")
    assert alerts.stderr == ""

    # A database named some other way than the one last opened: said, in one line.
    other = machine.home / "other.db"
    machine.ok("db", "upgrade", "--db", str(other))
    done = machine.ok("list", "--json", D2A_DATABASE_URL=str(other))
    assert json.loads(done.stdout) == []
    assert done.stderr.count("\n") == 1 and str(other) in done.stderr
    assert "demo.db" in done.stderr and "D2A_DATABASE_URL" in done.stderr

    # The demo hub removed by hand: said, and no empty one made in its place.
    for sidecar in machine.data.glob("demo.db*"):
        sidecar.unlink()
    said = machine.refused("list")
    assert "the database the board last opened is gone" in said
    assert not (machine.data / "demo.db").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["list"], ["show", "abcd"], ["alerts"], ["report", "sitrep"], ["board", "--print"],
        ["refer", "--nhs", "943 476 5919", "--name", "Edna Example", "--dob", "1938-03-04"],
        ["db", "current"], ["find", "Edna"], ["offers"], ["sync", "--status"], ["conflicts"],
    ],
)  # fmt: skip
def test_a_command_never_creates_a_database_it_only_reads_or_changes(
    machine: Machine, argv: list[str]
) -> None:
    said = machine.refused(*argv)
    assert "no d2a database here yet" in said and "d2a demo" in said and "d2a db upgrade" in said
    assert not machine.data.exists()  # not even the data folder
    typo = machine.home / "typo.db"
    said = machine.refused(*argv, "--db", str(typo))
    assert f"no d2a database at {typo}" in said and "nothing was created" in said
    assert not typo.exists()


def test_commands_that_create_a_database_say_so(machine: Machine) -> None:
    hub = machine.home / "hub.db"
    done = machine.ok("db", "upgrade", "--db", str(hub))
    assert done.stderr == f"d2a: created a new database sqlite:///{hub} (readable by you only)\n"
    assert machine.ok("db", "upgrade", "--db", str(hub)).stderr == ""  # not new: nothing said
    seeded = machine.home / "seeded.db"
    done = machine.ok("seed", "--db", str(seeded), "--days", "1", "--quiet")
    assert f"created a new database sqlite:///{seeded}" in done.stderr
    # A folder the user did not make is not made for them.
    nowhere = machine.home / "no" / "such" / "folder" / "hub.db"
    said = machine.refused("db", "upgrade", "--db", str(nowhere))
    assert "no folder" in said and not (machine.home / "no").exists()


def test_the_board_printed_to_a_folder_that_is_not_there_creates_nothing(
    machine: Machine,
) -> None:
    hub = machine.home / "hub.db"
    machine.ok("db", "upgrade", "--db", str(hub))
    target = machine.home / "nonexistent" / "dir" / "x.txt"
    said = machine.refused("board", "--print", "--db", str(hub), "--output", str(target))
    assert f"no folder {target.parent}" in said
    assert not (machine.home / "nonexistent").exists()
    written = machine.ok(
        "board", "--print", "--db", str(hub), "--output", str(machine.home / "x.txt")
    )
    assert "written to" in written.stdout and (machine.home / "x.txt").is_file()


def test_server_administration_never_acts_on_a_local_database(machine: Machine) -> None:
    """The manual's server steps typed on a terminal: refused, never done to the local file."""
    said = machine.refused("server", "add-locality", "Stockport")
    assert "which server?" in said and "D2A_SERVER_DATABASE_URL" in said
    hub = machine.home / "hub.db"
    machine.ok("db", "upgrade", "--db", str(hub))
    said = machine.refused(
        "server", "add-user", "--name", "nina", "--role", "night", "--db", str(hub)
    )
    assert "is not a server's database" in said
    said = machine.refused("server", "add-locality", "Stockport", D2A_SERVER_DATABASE_URL=str(hub))
    assert "is not a server's database" in said
    # D2A_DATABASE_URL is the terminal's own database, not the server's.
    said = machine.refused("server", "devices", D2A_DATABASE_URL=str(hub))
    assert "which server?" in said


def test_the_command_line_as_people_type_it(machine: Machine) -> None:
    hub = str(machine.home / "hub.db")
    machine.ok("db", "upgrade", "--db", hub)
    journey = machine.ok(
        "refer", "--db", hub, "--nhs", "943 476 5919", "--name", "Edna Example",
        "--dob", "1938-03-04", "--ward", "7B", "--pathway", "P1",
    ).stdout.strip()  # fmt: skip
    machine.ok("move", journey[:8], "Triage", "--db", hub)
    # A column by the name the board shows, wherever a column is typed.
    moved = machine.ok("move", journey[:8], "awaiting  p1", "--db", hub, "--json")
    assert json.loads(moved.stdout)["column"] == "await_p1"
    by_name = json.loads(
        machine.ok("list", "--db", hub, "--json", "--column", "Awaiting P1").stdout
    )
    by_id = json.loads(machine.ok("list", "--db", hub, "--json", "--column", "await_p1").stdout)
    assert [card["id"] for card in by_name] == [card["id"] for card in by_id] == [journey]

    # An unknown value in --where is refused like --delay's and --column's, naming the known.
    for command in (["list"], ["board", "--print"]):
        said = machine.refused(*command, "--db", hub, "--where", "delay:NOPE")
        assert "unknown delay reason in delay:NOPE" in said and "P3BED" in said
        said = machine.refused(*command, "--db", hub, "--where", "ward:7B column:nowhere")
        assert "unknown column in column:nowhere" in said and "await_p1 (Awaiting P1)" in said
    said = machine.refused("list", "--db", hub, "--column", "nowhere")
    assert "unknown column 'nowhere'" in said and "await_p1 (Awaiting P1)" in said
    where = machine.ok("list", "--db", hub, "--json", "--where", 'column:"awaiting p1"')
    assert [card["id"] for card in json.loads(where.stdout)] == [journey]

    flow = machine.ok("flow").stdout
    assert "amber 1d    red 2d" in flow and "amber 4h    red 12h" in flow
    assert "day," not in flow and "0:00" not in flow
    assert "  P3BED     Pathway 3: awaiting availability of a bed" in flow
    codes = [
        reason["code"]
        for reason in json.loads(machine.ok("flow", "--json").stdout)["delay_reasons"]
    ]
    assert "P1CARE" in codes and len(codes) == len(set(codes))
