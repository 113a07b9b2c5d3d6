"""Opening the board imports only what its first screen needs: start-up time is mostly imports
(bench/startup.py), and the server, the sync client, the migrations and the reports are each a
tenth of a second or more that `d2a board` on a current database never uses.

The probe runs in a fresh interpreter, because this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from d2a_tui.hub import Hub

# What `d2a board` does before the first paint: parse the command line (every sub-command is
# registered), open the hub, import the app and the board screen, read the board.
PROBE = """
import json, sys
from d2a_tui.cli import build_parser, open_hub
args = build_parser().parse_args(["board", "--db", sys.argv[1], "--user", "probe"])
hub = open_hub(args)
import d2a_tui.app, d2a_tui.screens.board
hub.board()
hub.close()
print(json.dumps(sorted(sys.modules)))
"""

NOT_AT_START = (
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "alembic",
    "d2a_tui.sync.client",
    "d2a_tui.sync.server",
    "d2a_tui.sync.replica",
    "d2a_tui.reports.service",
    "d2a_tui.interop.adt",
)


def modules_at_board_start(url: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, url], check=True, capture_output=True, text=True, timeout=120
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_opening_the_board_imports_no_server_client_migrations_or_reports(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    Hub.open(url, user="setup").close()  # a current database: no migration is due at start
    loaded = modules_at_board_start(url)
    # The probe is real: the board does need the database toolkit and Textual.
    assert {"sqlalchemy", "textual.app", "d2a_tui.screens.board"} <= loaded
    assert sorted(name for name in NOT_AT_START if name in loaded) == []
