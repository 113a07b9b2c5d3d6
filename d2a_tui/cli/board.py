"""The board's filter language on the command line: `list --where`, `board --print`, `view`.

`d2a list --where 'ward:7B red'` and `d2a board --print --where 'red ready>1d'` take the same
terms as the board's `/`; `d2a view save NAME FILTER` keeps a filter under a name in the config
file, for the board's `v` key and for `--where @NAME`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from d2a_tui.cli.base import common_options, open_hub, print_json
from d2a_tui.domain.errors import InvalidInput

if TYPE_CHECKING:
    from d2a_tui.domain.stuck import Stuck
    from d2a_tui.domain.views import Card
    from d2a_tui.services.hub import Hub

_VIEW_REFERENCE = re.compile(r"@[A-Za-z0-9][A-Za-z0-9_-]*")


def where_text(where: str | None) -> str:
    """The filter `--where` asks for: the text itself, or `@NAME` for a saved view."""
    text = (where or "").strip()
    if _VIEW_REFERENCE.fullmatch(text) and text.lower() != "@me":
        from d2a_tui.config import saved_views

        views = saved_views()
        if text[1:] not in views:
            raise InvalidInput(f"no saved view {text[1:]!r} (d2a view list shows them)")
        return views[text[1:]]
    return text


def filter_rows(
    hub: Hub, rows: list[tuple[Card, Stuck]], where: str | None
) -> list[tuple[Card, Stuck]]:
    """Keep the (card, stuck) rows that match `--where`."""
    from d2a_tui.domain.query import Context, check_values, parse

    query = parse(where_text(where))
    if not query:
        return rows
    names = {column.id: column.name for column in hub.flow.columns}
    check_values(query, names)
    context = Context(hub.now(), hub.calendar, hub.actor.user, names)
    return [(card, stuck) for card, stuck in rows if query.matches(card, stuck.level, context)]


def cmd_board_print(args: argparse.Namespace) -> int:
    from d2a_tui.config import Settings
    from d2a_tui.services import printing as board_print

    hub = open_hub(args)
    privacy = Settings.load(database_url=args.db, user=args.user).privacy
    output = Path(args.output) if args.output else None
    form = args.format or (board_print.format_for(output) if output else "text")
    printed = board_print.from_hub(hub, where_text(args.where), privacy=privacy)
    content = board_print.render(printed, form)
    if output is None:
        sys.stdout.write(content)
        return 0
    try:
        written = board_print.write_private(output, content)
    except OSError as error:
        raise InvalidInput(f"cannot write {output}: {error.strerror}") from None
    print(f"{printed.shown} journeys written to {written} ({form}, readable by you only)")
    return 0


PRINT_FORMATS = ("text", "markdown", "html")  # board_print.FORMATS, without loading it for --help


def add_print_arguments(board: argparse.ArgumentParser) -> None:
    group = board.add_argument_group("printing (instead of opening the board)")
    group.add_argument(
        "--print",
        action="store_true",
        help="print the board: text fitting 80 columns in pages, Markdown or an HTML page",
    )
    group.add_argument(
        "--where", metavar="FILTER", help="only journeys matching the filter, or @VIEW"
    )
    group.add_argument("--format", choices=PRINT_FORMATS, help="text (default), markdown or html")
    group.add_argument(
        "--output", metavar="FILE", help="write to FILE (0600) instead of standard output"
    )


# --- saved views -------------------------------------------------------------------------------


def cmd_view(args: argparse.Namespace) -> int:
    from d2a_tui.config import delete_view, save_view, saved_views

    if args.action == "save":
        if not args.name or args.filter is None:
            raise InvalidInput("d2a view save NAME 'FILTER', e.g. d2a view save bedmeeting 'red'")
        save_view(args.name, args.filter)
        print(f"saved view {args.name}: {saved_views()[args.name]}")
    elif args.action == "delete":
        if not args.name:
            raise InvalidInput("d2a view delete NAME")
        delete_view(args.name)
        print(f"deleted view {args.name}")
    else:
        views = saved_views()
        if args.json:
            print_json([{"name": name, "filter": text} for name, text in views.items()])
            return 0
        if not views:
            print("no saved views: d2a view save NAME 'FILTER' keeps one")
        for name, text in views.items():
            print(f"{name:<20} {text}")
    return 0


def register(sub: Any) -> None:
    view = sub.add_parser(
        "view",
        help="saved views: named filters for the board's v key and --where @NAME",
        description="Keep a filter under a name in the config file. "
        "Example: d2a view save bedmeeting 'red ready>1d'",
    )
    view.add_argument("action", choices=("save", "list", "delete"))
    view.add_argument("name", nargs="?")
    view.add_argument("filter", nargs="?", help="the filter, in the board's filter language")
    view.add_argument("--json", action="store_true", help="list as JSON")
    view.set_defaults(handler=cmd_view)


def cmd_board(args: argparse.Namespace) -> int:
    if getattr(args, "print", False):
        return cmd_board_print(args)
    from d2a_tui.app import run_board

    # The board's database is the one the next command without --db means.
    return run_board(open_hub(args, remember=True))


def cmd_demo(args: argparse.Namespace) -> int:
    """Open the demo hub, seeding it first if there is none (or with --fresh, again)."""
    from d2a_tui.cli.progress import seed_progress
    from d2a_tui.domain.errors import NotAllowed
    from d2a_tui.seed import demo_database_url, seed_database
    from d2a_tui.seed.demo import DEMO, OTHER, inspect_demo

    url = args.db or demo_database_url()
    found = inspect_demo(url)
    if found.state == OTHER:
        raise NotAllowed(
            f"{args.db or url} is not a demo hub: d2a demo only ever replaces its own synthetic "
            "data; give --db a new file"
        )
    if found.state == DEMO and not args.fresh:
        print(
            f"Opening the existing demo hub ({found.summary}); `d2a demo --fresh` starts it again.",
            file=sys.stderr,
        )
    else:
        print(
            f"Creating a demo hub with SYNTHETIC patients (no real person's data) in {url}…",
            file=sys.stderr,
        )
        with seed_progress(what="Seeding the demo hub") as progress:
            seed_database(
                url, profile="locality", days=args.days, seed=args.seed, progress=progress,
                replace=True,
            )  # fmt: skip
    args.db = url
    if args.no_board:
        from d2a_tui.config import remember_opened_database

        # `make demo` then `d2a list`: the quick start's next commands act on the demo hub.
        remember_opened_database(url)
        print(url)
        return 0
    return cmd_board(args)


def add_board_commands(sub: Any) -> None:
    """`d2a board` (or `--print`) and `d2a demo`."""
    board = sub.add_parser("board", help="open the live board")
    common_options(board)
    add_print_arguments(board)
    board.set_defaults(handler=cmd_board)

    demo = sub.add_parser(
        "demo", help="open the demo hub of synthetic patients (seeded the first time, or --fresh)"
    )
    demo.add_argument(
        "--db",
        metavar="URL",
        help="where to put the demo database (default: a demo file in the data folder)",
    )
    demo.add_argument("--user", default="demo.coordinator")
    demo.add_argument(
        "--days", type=int, default=60, help="days of history to simulate (default 60)"
    )
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument(
        "--no-board", action="store_true", help="only create the database and print its URL"
    )
    demo.add_argument(
        "--fresh", action="store_true", help="throw the demo hub's changes away and seed it again"
    )
    demo.set_defaults(handler=cmd_demo)
