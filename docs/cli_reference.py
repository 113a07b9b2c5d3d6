"""Writes docs/reference/cli.md: every `d2a` command's own `--help`, from the parser itself.

Run `.venv/bin/python docs/cli_reference.py` after changing a command; `tests/test_docs.py` fails
while the page differs from what this writes (argparse's layout changes between Python versions,
so the page records the version that wrote it and the test compares the text on that version).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

PAGE = Path(__file__).parent / "reference" / "cli.md"
WIDTH = "100"  # argparse wraps at $COLUMNS: fixed, so the page does not depend on the terminal


def build_parser() -> argparse.ArgumentParser:
    from d2a_tui.cli import build_parser as d2a_parser

    return d2a_parser()


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ("d2a",)
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command and sub-command, depth first, in the order `--help` lists them."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) not in seen:  # an alias (`add-org`) is the same parser again
                    seen.add(id(sub))
                    yield from commands(sub, (*path, name))


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def render() -> str:
    os.environ["COLUMNS"] = WIDTH
    parts = [
        "# The `d2a` command\n",
        f"<!-- written by docs/cli_reference.py on Python {python_version()}: do not edit -->\n",
        "Every command's `--help`, generated from the parser itself by `docs/cli_reference.py`. "
        "How the commands fit together is in [the command line](../guide/command-line.md); what "
        "`--json` prints is in [`--json` shapes](json.md).\n",
    ]
    for path, parser in commands(build_parser()):
        heading = "#" * min(len(path) + 1, 4)
        parts.append(f"{heading} {' '.join(path)}\n")
        parts.append("```text\n" + parser.format_help().rstrip() + "\n```\n")
    return "\n".join(parts)


def main() -> int:
    PAGE.write_text(render(), encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
