"""Opening the board imports only what its first screen needs: start-up time is mostly imports
(bench/startup.py), and the server, the sync client, the migrations and the reports are each a
tenth of a second or more that `d2a board` on a current database never uses.

The probe runs in a fresh interpreter, because this test process has imported everything already.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from d2a_tui.services.hub import Hub

# What `d2a board` does before the first paint: the real command (its parser registers every
# sub-command, opens the hub, runs the app), headless, stopped at the board's first frame
# (Textual's Ready: the screen has been composed, mounted and drawn once). The module set at
# that moment is what a person waits for.
PROBE = """
import json, sys
from textual.app import App
run = App.run
def headless(self, *args, **kwargs):
    kwargs.update(headless=True, size=(120, 40))
    return run(self, *args, **kwargs)
def painted(self, event):
    import gc
    with open(sys.argv[2], "w") as out:
        json.dump(sorted(sys.modules), out)
    with open(sys.argv[2] + ".gc", "w") as out:
        json.dump({"collecting": gc.isenabled(), "frozen": gc.get_freeze_count()}, out)
    self.exit()
App.run = headless
App.on_ready = painted
from d2a_tui.cli import main
sys.exit(main(["board", "--db", sys.argv[1], "--user", "probe"]))
"""

NOT_AT_START = (
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "alembic",
    "sqlmodel",
    "pydantic",
    "d2a_tui.sync.client",
    "d2a_tui.sync.server",
    "d2a_tui.sync.replica",
    "d2a_tui.reports.service",
    "d2a_tui.interop.adt",
)


# The allowed list: every module of ours, and every third-party package, that the board may
# import before its first paint (SQLite, a plain database). A name that is not here fails the
# test: adding it is a decision (a few hundredths of a second for every `d2a board`), made by
# adding it here with the reason, or by importing it where it is used instead.
ALLOWED_PACKAGES = {
    "textual": "the TUI",
    "rich": "Textual draws with it",
    "platformdirs": "where the config and the data folder are",
    # The board's read is SQLAlchemy Core on Core tables (storage.models): SQLModel and pydantic
    # (~0.17 s) wait for the sync tables, which a replica's board or a command imports.
    "sqlalchemy": "the board's query",
    "typing_extensions": "Textual's and SQLAlchemy's",
}
ALLOWED_OURS = {
    "d2a_tui",
    "d2a_tui.app",
    "d2a_tui.app_logging",
    "d2a_tui.cli",
    "d2a_tui.cli.adt",  # registers the `adt` commands; python-hl7 waits for them
    "d2a_tui.cli.audit",
    "d2a_tui.cli.base",
    "d2a_tui.cli.board",
    "d2a_tui.cli.checks",
    "d2a_tui.cli.database",
    "d2a_tui.cli.exports",
    "d2a_tui.cli.find",
    "d2a_tui.cli.interop",
    "d2a_tui.cli.journeys",
    "d2a_tui.cli.offers",
    "d2a_tui.cli.progress",
    "d2a_tui.cli.reports",
    "d2a_tui.cli.server",
    "d2a_tui.cli.streams",
    "d2a_tui.cli.sync",
    "d2a_tui.cli.web",
    "d2a_tui.config",
    "d2a_tui.domain",
    "d2a_tui.domain.calendar",
    "d2a_tui.domain.cells",
    "d2a_tui.domain.commands",
    "d2a_tui.domain.delays",
    "d2a_tui.domain.display",
    "d2a_tui.domain.errors",
    "d2a_tui.domain.events",
    "d2a_tui.domain.flow",
    "d2a_tui.domain.handler",
    "d2a_tui.domain.ids",
    "d2a_tui.domain.limits",
    "d2a_tui.domain.nhs_number",
    "d2a_tui.domain.offers",
    "d2a_tui.domain.outcomes",
    "d2a_tui.domain.passphrase",
    "d2a_tui.domain.query",
    "d2a_tui.domain.services",
    "d2a_tui.domain.stuck",
    "d2a_tui.domain.timefmt",
    "d2a_tui.domain.views",
    "d2a_tui.interop",
    "d2a_tui.interop.desk",  # the board's count of ADT messages waiting
    "d2a_tui.interop.queue",
    "d2a_tui.interop.tables",
    "d2a_tui.reports",
    "d2a_tui.reports.alerts",
    "d2a_tui.reports.capacity_store",
    "d2a_tui.reports.days",
    "d2a_tui.reports.tables",
    "d2a_tui.screens",
    "d2a_tui.screens.actions",
    "d2a_tui.screens.base",
    "d2a_tui.screens.board",
    "d2a_tui.screens.board_filter",
    "d2a_tui.screens.history",
    "d2a_tui.screens.offer_picker",
    "d2a_tui.screens.pickers",
    "d2a_tui.services",
    "d2a_tui.services.capacity",
    "d2a_tui.services.hub",
    "d2a_tui.services.offers",
    "d2a_tui.services.printing",
    "d2a_tui.storage",
    "d2a_tui.storage.cipher",
    "d2a_tui.storage.context",
    "d2a_tui.storage.db",
    "d2a_tui.storage.event_log",
    "d2a_tui.storage.files",
    "d2a_tui.storage.head_watch",  # asked for a watch; psycopg only on PostgreSQL
    "d2a_tui.storage.journeys",
    "d2a_tui.storage.models",
    "d2a_tui.storage.offers",
    "d2a_tui.sync",
    "d2a_tui.sync.login",  # the login file says whether this database is a replica
    "d2a_tui.widgets",
    "d2a_tui.widgets.board_column",
    "d2a_tui.widgets.board_model",
    "d2a_tui.widgets.card",
    "d2a_tui.widgets.keys",
    "d2a_tui.widgets.literal",
    "d2a_tui.widgets.sync_status",
    "d2a_tui.widgets.themes",
}
# The interpreter's and the installer's own plumbing, not an import of the board's.
PLUMBING = re.compile(r"__main__|__editable__.*|_distutils_hack|_sysconfigdata_.*|_?cython_.*")


def modules_at_board_start(url: str, data: Path) -> set[str]:
    """The modules loaded when `d2a board` first painted; the collector's state then is beside
    them, in modules.json.gc."""
    paint = data / "modules.json"
    env = {**os.environ, "D2A_DATA_DIR": str(data), "D2A_CONFIG": str(data / "config.toml")}
    subprocess.run(
        [sys.executable, "-c", PROBE, url, str(paint)],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    return set(json.loads(paint.read_text()))


def not_allowed(loaded: set[str]) -> list[str]:
    """The modules loaded at start that the allowed lists do not name."""
    found = []
    for name in loaded:
        top = name.partition(".")[0]
        if top == "d2a_tui":
            if name not in ALLOWED_OURS:
                found.append(name)
        elif not (
            top in sys.stdlib_module_names or top in ALLOWED_PACKAGES or PLUMBING.fullmatch(top)
        ):
            found.append(name)
    return sorted(found)


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of one `d2a board` start, stopped at its first paint."""
    folder = tmp_path_factory.mktemp("startup")
    url = f"sqlite:///{folder / 'hub.db'}"
    Hub.open(url, user="setup").close()  # a current database: no migration is due at start
    modules_at_board_start(url, folder)
    return folder


@pytest.fixture(scope="module")
def loaded(started: Path) -> set[str]:
    return set(json.loads((started / "modules.json").read_text()))


def test_opening_the_board_imports_no_server_client_migrations_orm_or_reports(
    loaded: set[str],
) -> None:
    # The probe is real: the board does need the database toolkit and Textual, and it painted.
    assert {"sqlalchemy", "textual.app", "d2a_tui.screens.board"} <= loaded
    assert sorted(name for name in NOT_AT_START if name in loaded) == []


def test_every_module_imported_before_the_first_paint_is_on_the_allowed_list(
    loaded: set[str],
) -> None:
    # A SQLite board needs neither PostgreSQL's driver nor python-hl7 nor the sync tables.
    assert not_allowed(loaded) == []


def test_the_collector_runs_again_from_the_first_paint(started: Path) -> None:
    # `d2a board` holds garbage collection off while it starts (cli.main); from its first frame
    # it collects again, with what the start made frozen out of the scans. Left off, a long
    # shift's board would grow without bound.
    state = json.loads((started / "modules.json.gc").read_text())
    assert state["collecting"] is True
    assert state["frozen"] > 100_000  # the start's objects: imports, styles, the first screen


def test_the_allowed_list_check_catches_a_newcomer() -> None:
    # The check itself can fail: a package or a module of ours off the lists is named.
    loaded = {
        "textual.app",
        "json",
        "psycopg",
        "hl7.parser",
        "d2a_tui.sync.models",
        "sqlmodel.main",
    }
    assert not_allowed(loaded | {"pydantic", "pydantic_core.core_schema"}) == [
        "d2a_tui.sync.models",
        "hl7.parser",
        "psycopg",
        "pydantic",
        "pydantic_core.core_schema",
        "sqlmodel.main",
    ]
