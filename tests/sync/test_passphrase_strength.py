"""A new passphrase must stand offline guessing (issue 22, section 3): the key file lets anyone
with the disk try passphrases as fast as scrypt allows, so a short one, or one every guessing
list starts with, is refused in one line before anything is encrypted or any token is spent."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from d2a_tui.domain.passphrase import MIN_LENGTH, weakness
from d2a_tui.storage import cipher
from d2a_tui.storage.db import ensure_schema, make_engine
from tests.sync.test_encrypted_replica import assert_one_line, no_remembered_keys, run_cli

__all__ = ["no_remembered_keys"]  # the autouse fixture: no passphrase carried between tests


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        ("x", "at least 12 characters"),
        ("1234", "at least 12 characters"),
        ("Password1234!", "first any guesser tries"),
        ("liverpool 2024", "first any guesser tries"),
        ("QWERTYUIOP12", "first any guesser tries"),
        ("aaaaaaaaaaaaaaaa", "too few characters"),
    ],
)
def test_db_encrypt_refuses_a_weak_passphrase_and_leaves_the_file_plain(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    secret: str,
    words: str,
) -> None:
    path = tmp_path / "hub.db"
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    # Closed before the bytes are read: a connection left to the garbage collector checkpoints
    # its write-ahead log into the file at some later moment, and the file would seem changed.
    engine.dispose()
    before = path.read_bytes()
    monkeypatch.setenv("D2A_PASSPHRASE", secret)
    code, _, err = run_cli(capfd, "db", "encrypt", "--db", str(path))
    assert_one_line(code, err, words, "nothing was changed")
    assert path.read_bytes() == before and not cipher.key_path(path).exists()


def test_a_new_replica_key_refuses_a_weak_passphrase(tmp_path: Path) -> None:
    with pytest.raises(cipher.WeakPassphrase):
        cipher.create_key(tmp_path / "replica.db", "12345678")
    assert not cipher.key_path(tmp_path / "replica.db").exists()


def test_three_random_words_pass() -> None:
    assert weakness("tea at three, bins on tuesday") is None
    assert weakness("kettle orbit maple") is None


@given(st.text(max_size=MIN_LENGTH - 1))
def test_nothing_shorter_than_the_minimum_passes(secret: str) -> None:
    assert weakness(secret) is not None
