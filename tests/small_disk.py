"""A disk that fills up under a running d2a, and empties again.

Where the test runs as root and may mount (CI, this machine), the database lives on its own
small tmpfs, and `fill` writes a file until the kernel answers ENOSPC: the full disk is real.
Elsewhere the database is an ordinary file, and while it is "full" every statement that
writes it fails, as it reaches the driver, with the error SQLite gives on a full disk
(`sqlite3.OperationalError: database or disk is full`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from d2a_tui.storage.db import ensure_schema, make_engine


class SmallDisk:
    def __init__(self, folder: Path, mounted: bool) -> None:
        self.folder = folder
        self.mounted = mounted
        self.url = f"sqlite:///{folder / 'd2a.db'}"
        self.full = False
        self._filler = folder / "filler"

    def fill(self) -> None:
        self.full = True
        if not self.mounted:
            return
        # Fold the write-ahead log back into the file and cut it to nothing first: a log keeps
        # its length once written, and the next changes would fit in it on a full disk.
        connection = sqlite3.connect(self.folder / "d2a.db")
        try:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            connection.close()
        assert busy == 0, "a connection is mid-transaction: the log could not be truncated"
        block = b"\0" * 65536
        with self._filler.open("ab") as filler:
            try:
                while True:
                    filler.write(block)
                    filler.flush()
            except OSError as error:
                assert error.errno == errno.ENOSPC
        # What the buffered writer could not flush is dropped with the error; write it in
        # small pieces so that not a byte is left over.
        with self._filler.open("ab", buffering=0) as filler, contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 512)

    def free(self) -> None:
        self.full = False
        self._filler.unlink(missing_ok=True)

    def _before_execute(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.mounted or not self.full:
            return
        if statement.lstrip().split(" ", 1)[0].upper() not in ("INSERT", "UPDATE", "DELETE"):
            return
        if str(self.folder) in _database_file(connection.connection.dbapi_connection):
            raise sqlite3.OperationalError("database or disk is full")


def _database_file(dbapi_connection: Any) -> str:
    try:
        rows = dbapi_connection.execute("PRAGMA database_list").fetchall()
    except Exception:  # not SQLite
        return ""
    return " ".join(str(row[2]) for row in rows)


def _mount(folder: Path, size: str) -> bool:
    # D2A_TEST_SMALL_DISK=cap tries the fallback where mounting would work.
    if os.geteuid() != 0 or os.environ.get("D2A_TEST_SMALL_DISK") == "cap":
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A migrated SQLite database on a disk the test can fill (`fill`) and free (`free`)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    disk = SmallDisk(folder, _mount(folder, "4m"))
    ensure_schema(make_engine(disk.url))
    # Every engine: the CLI opens its own, inside the command.
    event.listen(Engine, "before_cursor_execute", disk._before_execute)
    try:
        yield disk
    finally:
        event.remove(Engine, "before_cursor_execute", disk._before_execute)
        if disk.mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)
