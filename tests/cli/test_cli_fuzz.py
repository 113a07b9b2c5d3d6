"""Arbitrary strings in every command's arguments: one `d2a:` line and a non-zero exit when
refused, never a traceback, and a refused command writes nothing."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from d2a_tui.cli import build_parser, main
from d2a_tui.services.hub import Hub

# Long-running, interactive or networked: the board, seeding, the server and a replica's login.
SKIPPED = {"board", "demo", "seed", "serve", "login", "web", "sync"}
# Sub-commands that serve until stopped (the ADT feed's MLLP listener).
SKIPPED_PATHS = {("adt", "listen")}
# Options the test keeps to itself: where the database is, and who acts.
KEPT = {"--db", "--user", "--help", "-h", "--version", "--output", "--watch"}


def _commands() -> list[tuple[list[str], argparse.ArgumentParser]]:
    """Every (sub)command path with its parser, e.g. (["server", "enrol-device"], parser)."""
    found: list[tuple[list[str], argparse.ArgumentParser]] = []

    def walk(path: list[str], parser: argparse.ArgumentParser) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            if tuple(path) not in SKIPPED_PATHS:
                found.append((path, parser))
            return
        for name, child in subs[0].choices.items():
            if not path and name in SKIPPED:
                continue
            walk([*path, name], child)

    walk([], build_parser())
    return found


COMMANDS = _commands()


def _arguments(parser: argparse.ArgumentParser) -> tuple[list[str], list[str], list[str]]:
    """(positional slots, required options, optional options taking a value)."""
    positional, required, optional = [], [], []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:
            positional.append(action.dest)
            continue
        option = action.option_strings[-1]
        if option in KEPT or action.nargs == 0:
            continue
        (required if action.required else optional).append(option)
    return positional, required, optional


text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=40
)


@st.composite
def invocations(draw: st.DrawFn) -> list[str]:
    path, parser = draw(st.sampled_from(COMMANDS))
    positional, required, optional = _arguments(parser)
    argv = list(path)
    argv += [draw(text) for _ in positional]
    for option in required:
        argv += [option, draw(text)]
    if optional and draw(st.booleans()):
        argv += [draw(st.sampled_from(optional)), draw(text)]
    return argv


@pytest.fixture(scope="module")
def hub_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "d2a.db"
    hub = Hub.open(str(path), user="fuzz")
    hub.refer("943 476 5919", "Edna Example", "1938-03-04", ward="Ward 7", pathway="P1")
    hub.close()
    yield path


def _head(path: Path) -> int:
    hub = Hub.open(str(path), user="fuzz")
    try:
        return hub.head_position()
    finally:
        hub.close()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(argv=invocations())
def test_arbitrary_arguments_never_give_a_traceback_and_a_refusal_writes_nothing(
    hub_file: Path, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Strings starting with "-" would be read as (abbreviated) options such as --help.
    assume(not any(arg.startswith("-") for arg in argv[1:] if arg not in _all_options(argv)))
    monkeypatch.chdir(hub_file.parent)
    before_files = _files(hub_file.parent)
    before = _head(hub_file)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([*argv, "--db", str(hub_file)])
        except SystemExit as stop:
            code = int(stop.code or 0)
    said = err.getvalue()
    assert "Traceback" not in said and "unexpected" not in said, (argv, said)
    if code != 0:
        assert said.startswith("d2a: ") and said.count("\n") == 1, (argv, said)
        assert _head(hub_file) == before, argv
        assert _files(hub_file.parent) == before_files, argv


def _files(folder: Path) -> list[str]:
    # SQLite's own -wal and -shm files come and go with connections; they are not ours.
    return sorted(name for name in os.listdir(folder) if not name.endswith(("-wal", "-shm")))


def _all_options(argv: list[str]) -> set[str]:
    for path, parser in COMMANDS:
        if argv[: len(path)] == path:
            return {o for action in parser._actions for o in action.option_strings}
    return set()


def test_a_passphrase_file_name_with_a_nul_is_one_line_and_the_option_does_not_outlive_the_command(
    hub_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by the test above: the name went into the environment before any check.
    monkeypatch.delenv("D2A_PASSPHRASE_FILE", raising=False)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["list", "--passphrase-file", "key\x00file", "--db", str(hub_file)])
    assert (code, err.getvalue().count("\n")) == (1, 1)
    assert err.getvalue().startswith("d2a: --passphrase-file: not a file name")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["list", "--passphrase-file", "/nonexistent", "--db", str(hub_file)]) == 0
    assert "D2A_PASSPHRASE_FILE" not in os.environ
