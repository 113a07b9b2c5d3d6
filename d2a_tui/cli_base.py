"""What every `d2a` sub-command shares: opening the hub and printing JSON.

Here rather than in cli.py, so a feature area's commands (cli_board, cli_find, …) can use them
without importing the module that imports them.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from typing import Any


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=_json_default, indent=2, ensure_ascii=False) + "\n")


def open_hub(args: argparse.Namespace) -> Any:
    from d2a_tui.cli_checks import refuse_foreign_database
    from d2a_tui.hub import Hub

    refuse_foreign_database(getattr(args, "db", None))
    return Hub.open(getattr(args, "db", None), user=getattr(args, "user", None))


def passphrase_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="an encrypted database's passphrase, from this file (or D2A_PASSPHRASE)",
    )
