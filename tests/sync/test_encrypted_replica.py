"""The replica at rest: SQLCipher under a key derived from the passphrase.

A night's offline work leaves no NHS number, name or note text in the database file, its WAL
or its journal, in UTF-8 or UTF-16 (the same scan finds them all in a plain replica, so the scan
can fail). A wrong passphrase opens nothing; a damaged, truncated or foreign file is one line.
`d2a db encrypt` turns a plain database into an encrypted one with every row kept."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select

from d2a_tui.cli import main
from d2a_tui.services.hub import Hub
from d2a_tui.storage import cipher
from d2a_tui.storage.db import ensure_schema, forget_keys, make_engine
from tests.sync.conftest import SyncEnv, nhs, refer
from tests.sync.transports import DownTransport

PASSPHRASE = "night shift 3am kettle"
NOTE = "Daughter Bernadette collects keys from Rosemount Lodge"


@pytest.fixture(autouse=True)
def no_remembered_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Each test proves its own passphrase: none is carried over from another test.
    monkeypatch.delenv("D2A_PASSPHRASE", raising=False)
    monkeypatch.delenv("D2A_PASSPHRASE_FILE", raising=False)
    forget_keys()
    yield
    forget_keys()


def identifiers(serials: range) -> list[str]:
    found = []
    for serial in serials:
        number = nhs(serial)
        found += [number, f"{number[:3]} {number[3:6]} {number[6:]}", f"Quillfeather {serial}"]
    return [*found, NOTE, "Bernadette", "Rosemount"]


def files_of(path: Path) -> list[Path]:
    names = [path, *(path.with_name(path.name + end) for end in ("-wal", "-journal", "-shm"))]
    return [name for name in names if name.exists()]


def leaks(path: Path, secrets: list[str]) -> list[str]:
    """Every secret found in the database's files, in UTF-8 or either UTF-16."""
    found = []
    for name in files_of(path):
        data = name.read_bytes()
        for secret in secrets:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                if secret.encode(encoding) in data:
                    found.append(f"{secret!r} in {name.name} ({encoding})")
    return found


def night_of_offline_work(sync_env: SyncEnv, passphrase: str | None, name: str) -> Path:
    sync_env.user("nina")
    replica = sync_env.replica("nina", name, transport=DownTransport(), passphrase=passphrase)
    for serial in range(1, 6):
        journey = refer(replica, serial, name=f"Quillfeather {serial}")
        replica.add_note(journey, NOTE)
        replica.move(journey, "triage")
    # Still open, as the board would hold it: the WAL is not yet folded into the file.
    assert replica.sync.sync_status().pending == 15
    return sync_env.tmp / f"{name}.db"


def test_offline_work_on_an_encrypted_replica_leaves_no_identifier_on_disk(
    sync_env: SyncEnv,
) -> None:
    path = night_of_offline_work(sync_env, PASSPHRASE, "night")
    assert (path.with_name("night.db-wal")).exists()
    assert leaks(path, identifiers(range(1, 6))) == []
    assert not cipher.has_plain_header(path)
    for name in [*files_of(path), cipher.key_path(path)]:
        assert stat.S_IMODE(name.stat().st_mode) == 0o600, name


def test_the_same_scan_finds_everything_in_a_plain_replica(sync_env: SyncEnv) -> None:
    path = night_of_offline_work(sync_env, None, "plain")
    found = leaks(path, identifiers(range(1, 6)))
    assert any(NOTE in line for line in found)
    assert any("Quillfeather 3" in line for line in found)
    assert any(nhs(5) in line for line in found)


def test_the_key_file_holds_neither_the_key_nor_the_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    key = cipher.create_key(path, PASSPHRASE)
    text = cipher.key_path(path).read_text()
    assert PASSPHRASE not in text and key.hex() not in text
    assert cipher.unlock(path, PASSPHRASE) == key
    with pytest.raises(cipher.WrongPassphrase):
        cipher.unlock(path, PASSPHRASE + "!")


def run_cli(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    # capfd: what SQLCipher itself might write to the stderr file descriptor counts too.
    code = main(list(args))
    out, err = capfd.readouterr()
    return code, out, err


def encrypted_hub_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "hub.db"
    cipher.create_key(path, PASSPHRASE)
    monkeypatch.setenv("D2A_PASSPHRASE", PASSPHRASE)
    hub = Hub.open(str(path), user="nina")
    try:
        for serial in range(1, 4):
            refer(hub, serial, name=f"Quillfeather {serial}")
    finally:
        hub.close()
    forget_keys()
    return path


def assert_one_line(code: int, err: str, *words: str) -> None:
    assert code != 0
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("d2a: ") and "Traceback" not in err
    for word in words:
        assert word in err, err


def test_the_right_passphrase_opens_it_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    path = encrypted_hub_file(tmp_path, monkeypatch)
    monkeypatch.delenv("D2A_PASSPHRASE")
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    code, out, err = run_cli(capfd, "list", "--db", str(path), "--passphrase-file", str(secret))
    assert code == 0, err
    assert "Quillfeather 2" in out


def test_a_wrong_passphrase_opens_nothing_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    path = encrypted_hub_file(tmp_path, monkeypatch)
    before = path.read_bytes()
    monkeypatch.setenv("D2A_PASSPHRASE", "not the passphrase")
    code, out, err = run_cli(capfd, "list", "--db", str(path))
    assert_one_line(code, err, "wrong passphrase")
    assert out == "" and path.read_bytes() == before


def test_no_passphrase_and_no_terminal_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    path = encrypted_hub_file(tmp_path, monkeypatch)
    monkeypatch.delenv("D2A_PASSPHRASE")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _, err = run_cli(capfd, "list", "--db", str(path))
    assert_one_line(code, err, "is encrypted", "D2A_PASSPHRASE")


@pytest.mark.parametrize(
    "damage",
    ["truncate_to_header", "scramble_first_page", "truncate_to_half"],
)
def test_a_damaged_encrypted_file_is_one_line(
    damage: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    path = encrypted_hub_file(tmp_path, monkeypatch)
    data = bytearray(path.read_bytes())
    if damage == "truncate_to_header":
        data = data[:100]
    elif damage == "scramble_first_page":
        data[200:260] = os.urandom(60)
    else:
        data = data[: len(data) // 2]
    path.write_bytes(bytes(data))
    code, out, err = run_cli(capfd, "list", "--db", str(path))
    assert_one_line(code, err)
    assert "Quillfeather" not in out + err


def test_a_random_file_is_still_refused_with_or_without_a_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "random.db"
    path.write_bytes(os.urandom(8192))
    code, _, err = run_cli(capfd, "list", "--db", str(path))
    assert_one_line(code, err, "not a d2a database")
    cipher.create_key(path, PASSPHRASE)
    monkeypatch.setenv("D2A_PASSPHRASE", PASSPHRASE)
    code, _, err = run_cli(capfd, "list", "--db", str(path))
    assert_one_line(code, err, "cannot be decrypted")


def dump(engine: Engine) -> dict[str, list[Any]]:
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted(map(tuple, connection.execute(select(table)).all()), key=repr)
            for name, table in metadata.tables.items()
        }


def test_db_encrypt_migrates_a_plain_database_with_nothing_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plain.db"
    hub = Hub.open(str(path), user="nina")
    try:
        for serial in range(1, 7):
            journey = refer(hub, serial, name=f"Quillfeather {serial}")
            hub.add_note(journey, NOTE)
        hub.move(journey, "triage")
        before = dump(hub.store.engine)
    finally:
        hub.close()
    assert leaks(path, ["Quillfeather 4"])  # plain before
    monkeypatch.setenv("D2A_PASSPHRASE", PASSPHRASE)
    code, out, err = run_cli(capfd, "db", "encrypt", "--db", str(path))
    assert code == 0, err
    assert "is encrypted" in out
    assert leaks(path, identifiers(range(1, 7))) == []
    assert not path.with_name("plain.db-wal").exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    forget_keys()
    engine = make_engine(str(path))
    try:
        ensure_schema(engine, upgrade_if_old=False)  # the schema version came across
        after = dump(engine)
    finally:
        engine.dispose()
    assert after == before
    assert sum(len(rows) for rows in after.values()) > 20  # 6 referrals, 6 notes, a move, …
    code, _, err = run_cli(capfd, "db", "encrypt", "--db", str(path))
    assert_one_line(code, err, "encrypted already")


def test_a_short_pin_is_refused_before_the_enrolment_token_is_spent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("D2A_PIN", "12")
    code, _, err = run_cli(
        capfd, "login", "--server", "http://127.0.0.1:9", "--token", "d2ae_" + "x" * 40,
        "--db", str(tmp_path / "r.db"), "--pin",
    )  # fmt: skip
    assert_one_line(code, err, "at least 4")
    assert not (tmp_path / "r.db").exists()


def test_a_pin_is_kept_as_a_hash_that_only_it_matches() -> None:
    stored = cipher.hash_pin("4711")
    assert "4711" not in stored
    assert cipher.pin_matches(stored, "4711")
    assert not cipher.pin_matches(stored, "4712")
    assert not cipher.pin_matches("garbage", "4711")
