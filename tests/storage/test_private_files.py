"""Every file d2a writes for its owner is written without following a link (issue 22, section 3):
a symbolic link planted where d2a writes, or at the temporary name it used to write first,
never sends patient data or a key file somewhere else, nor overwrites the file it points at."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from d2a_tui.domain.errors import D2AError
from d2a_tui.services import printing as board_print
from d2a_tui.services.private_files import write_private
from d2a_tui.storage import cipher
from d2a_tui.sync.login import Login, save_login

VICTIM_TEXT = "export PATH=/usr/bin\n"


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "home" / ".bashrc"
    victim.parent.mkdir()
    victim.write_text(VICTIM_TEXT)
    return victim


def _login(tmp_path: Path) -> Login:
    return Login("https://hub.test", "d2a_t", "dev", "nina", "Nina", "night", "sqlite:///x.db")


WRITERS: dict[str, Callable[[Path], None]] = {
    "write_private": lambda path: write_private(path, "NHS 943 476 5919"),
    "board export": lambda path: board_print.write_private(path, "NHS 943 476 5919"),
}


@pytest.mark.parametrize("writer", WRITERS, ids=list(WRITERS))
def test_a_link_at_the_target_is_refused_and_what_it_points_at_is_untouched(
    tmp_path: Path, writer: str
) -> None:
    victim = _victim(tmp_path)
    target = tmp_path / "exports" / "board.txt"
    target.parent.mkdir()
    target.symlink_to(victim)
    with pytest.raises(D2AError, match="symbolic link"):
        WRITERS[writer](target)
    assert victim.read_text() == VICTIM_TEXT
    assert target.is_symlink()


@pytest.mark.parametrize("writer", WRITERS, ids=list(WRITERS))
def test_a_link_at_the_old_temporary_name_is_not_followed(tmp_path: Path, writer: str) -> None:
    victim = _victim(tmp_path)
    target = tmp_path / "exports" / "board.txt"
    target.parent.mkdir()
    for name in (".board.txt.tmp", "board.txt.tmp"):
        (target.parent / name).symlink_to(victim)
    WRITERS[writer](target)
    assert victim.read_text() == VICTIM_TEXT
    assert target.read_text() == "NHS 943 476 5919"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == sorted(
        ["board.txt", ".board.txt.tmp", "board.txt.tmp"]
    )  # nothing left behind


def test_the_key_file_is_not_written_through_a_link(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    database = tmp_path / "replica.db"
    (tmp_path / "replica.db.key.tmp").symlink_to(victim)
    cipher.create_key(database, "correct horse battery staple")
    assert victim.read_text() == VICTIM_TEXT
    assert stat.S_IMODE(cipher.key_path(database).stat().st_mode) == 0o600


def test_the_login_file_is_not_written_through_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = _victim(tmp_path)
    monkeypatch.setenv("D2A_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir(mode=0o700)
    (tmp_path / "data" / "sync-login.json").symlink_to(victim)
    with pytest.raises(D2AError, match="symbolic link"):
        save_login(_login(tmp_path))
    assert victim.read_text() == VICTIM_TEXT


def test_an_existing_file_is_replaced_whole_at_0600_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    target.write_text("old, longer than the new text\n")
    os.chmod(target, 0o644)
    previous = os.umask(0)
    try:
        write_private(target, "new\n")
    finally:
        os.umask(previous)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
