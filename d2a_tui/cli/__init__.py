"""The `d2a` command: the board, scripting commands for the night team, seeding and the database.

Every failure the user can act on is one line on stderr and a non-zero exit, never a traceback.
`--json` output is a stable contract (docs/reference/json.md): keys are only ever added.

This module is `main` and the table of sub-commands; each area's commands are in a module of
this package (`journeys`, `board`, `reports`, `sync`, …), which imports what its commands need
only when one of them runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from d2a_tui import __version__
from d2a_tui.cli.base import passphrase_option
from d2a_tui.domain.errors import D2AError, InvalidInput

Handler = Callable[[argparse.Namespace], int]
EXIT_ERROR = 1
EXIT_USAGE = 2

# The sub-commands, in the order `d2a --help` lists them: the module of this package that adds
# them, and its function that does. A feature area adds a line here, not a parser of its own.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("board", "add_board_commands"),  # board, demo
    ("database", "add_seed_command"),  # seed
    ("journeys", "add_journey_commands"),  # refer … undo, list, show, flow
    ("database", "add_db_command"),  # db
    ("server", "register"),  # serve, server add-user …
    ("sync", "register"),  # login, logout, sync, conflicts, resolve
    ("reports", "register"),  # capacity, demand, alerts, report …
    ("find", "register"),  # find, handover
    ("board", "register"),  # view
    ("web", "register"),  # web
    ("interop", "register"),  # import, adt …, export
    ("offers", "register"),  # offer, offers
    ("audit", "register"),  # audit
)


def build_parser() -> argparse.ArgumentParser:
    from importlib import import_module

    from d2a_tui.cli.checks import OneLineParser

    parser = OneLineParser(
        prog="d2a", description="Discharge to Assess transfer of care hub, in the terminal."
    )
    parser.add_argument("--version", action="version", version=f"d2a {__version__}")
    passphrase_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name, adder in COMMANDS:
        getattr(import_module(f"d2a_tui.cli.{module_name}"), adder)(sub)
    return parser


def _run_with_progress(handler: Handler, args: argparse.Namespace) -> int:
    """A command still running after a couple of seconds shows a spinner (on a terminal)."""
    from contextlib import nullcontext

    from d2a_tui.cli.progress import command_label, spinner_if_slow

    label = command_label(args)
    with spinner_if_slow(label) if label else nullcontext():
        return handler(args)


def main(argv: Sequence[str] | None = None) -> int:
    import gc

    from d2a_tui.cli.streams import shown_output

    # `d2a board` collects no garbage until its first frame (D2AApp.on_ready): the start makes
    # about a million objects (imports, the parser, styles, the first screen) that nearly all
    # live on, and scanning them as they came cost 0.1-0.2 s before the first frame
    # (bench/startup.py). Every other command collects as usual from its handler on.
    gc.disable()
    try:
        # Whatever a command prints (names, notes, HL7 fields, a server's words, an argument
        # echoed in an error) reaches the terminal as text, never as control sequences.
        with shown_output():
            return _main(argv)
    finally:
        gc.enable()


def _main(argv: Sequence[str] | None) -> int:
    from d2a_tui.cli.board import cmd_board  # imported by the parser already
    from d2a_tui.cli.checks import one_line, unexpected

    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    if handler is not cmd_board or getattr(args, "print", False):
        import gc

        gc.enable()  # only the board's start holds collection off (see `main`)
    from d2a_tui.storage.cipher import PASSPHRASE_FILE

    kept_passphrase_file = os.environ.get(PASSPHRASE_FILE)
    try:
        if getattr(args, "passphrase_file", None):
            if "\x00" in args.passphrase_file:
                raise InvalidInput("--passphrase-file: not a file name (it holds a NUL)")
            os.environ[PASSPHRASE_FILE] = args.passphrase_file
        return _run_with_progress(handler, args)
    except D2AError as error:
        print(f"d2a: {one_line(str(error))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # never a traceback: it could print a patient's details
        print(f"d2a: {unexpected(error, args)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        # The option holds for this command only, also when `main` runs in a longer process.
        if kept_passphrase_file is None:
            os.environ.pop(PASSPHRASE_FILE, None)
        else:
            os.environ[PASSPHRASE_FILE] = kept_passphrase_file
