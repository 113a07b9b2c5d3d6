"""An encrypted SQLite database (SQLCipher), keyed from a passphrase.

The key is derived with scrypt from the passphrase and a random salt kept beside the database in
`<file>.key` (0600): the salt, scrypt's parameters and a check value (an HMAC of a fixed text
under the key), never the key or the passphrase. The check value lets a wrong passphrase be told
apart from a damaged file without trying to decrypt anything. SQLCipher is handed the derived
key in its raw form (`PRAGMA key = "x'…'"`), so it does not run its own KDF on every connection.

The passphrase comes from `D2A_PASSPHRASE`, from the file named by `D2A_PASSPHRASE_FILE` (the
CLI's `--passphrase-file`), or from a prompt on a terminal. The OS keyring is not used: a thin
client reached over SSH has no unlocked keyring session, and a keyring that unlocks with the
desktop login would hand the key to whoever has the device and that login — the passphrase is
the one thing the finder of a lost laptop does not have.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import sys
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import URL

from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.passphrase import weakness
from d2a_tui.storage.files import write_private

# The environment variable naming a file that holds the passphrase (`--passphrase-file` sets it).
PASSPHRASE_FILE = "D2A_PASSPHRASE_FILE"

SQLITE_HEADER = b"SQLite format 3\x00"
KEY_SUFFIX = ".key"
# scrypt at 2**15 × 8: about 32 MiB and a tenth of a second per derivation, once per process.
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_CHECK_TEXT = b"d2a replica key check"


class WrongPassphrase(D2AError):
    pass


class NoPassphrase(D2AError):
    pass


def key_path(database: Path) -> Path:
    return database.with_name(database.name + KEY_SUFFIX)


def has_plain_header(database: Path) -> bool:
    try:
        with database.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def is_encrypted(database: Path) -> bool:
    """An encrypted d2a database: its key file is beside it and it is not a plain SQLite file
    (a plain file with a key file beside it is one whose `d2a db encrypt` stopped half-way:
    the plain file is still the database)."""
    return key_path(database).is_file() and not has_plain_header(database)


def passphrase(database: Path, *, confirm: bool = False) -> str:
    """The passphrase for `database`, from the environment, a file, or the terminal."""
    given = os.environ.get("D2A_PASSPHRASE")
    if given:
        return given
    file_name = os.environ.get(PASSPHRASE_FILE)
    if file_name:
        try:
            text = Path(file_name).read_text(encoding="utf-8").strip("\r\n")
        except (OSError, UnicodeDecodeError) as error:
            raise NoPassphrase(
                f"cannot read the passphrase file {file_name}: "
                f"{getattr(error, 'strerror', None) or 'not text'}"
            ) from None
        if not text:
            raise NoPassphrase(f"the passphrase file {file_name} is empty")
        return text
    if not sys.stdin.isatty():
        raise NoPassphrase(
            f"{database} is encrypted: give its passphrase in D2A_PASSPHRASE or "
            "--passphrase-file FILE"
        )
    typed = getpass.getpass(f"Passphrase for {database.name}: ")
    if confirm and getpass.getpass("The same passphrase again: ") != typed:
        raise NoPassphrase("the two passphrases differ; nothing was changed")
    if not typed:
        raise NoPassphrase("no passphrase given; nothing was opened")
    return typed


def passphrase_given() -> bool:
    """A passphrase is available without asking (for scripts deciding whether to encrypt)."""
    return bool(os.environ.get("D2A_PASSPHRASE") or os.environ.get(PASSPHRASE_FILE))


@lru_cache(maxsize=8)
def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=128 * 1024 * 1024, dklen=32
    )


def _check_value(key: bytes) -> str:
    return hmac.new(key, _CHECK_TEXT, hashlib.sha256).hexdigest()


def _private_write(path: Path, text: str) -> None:
    write_private(path, text, make_folder=True)


class WeakPassphrase(D2AError):
    pass


def check_new_passphrase(secret: str) -> None:
    """Refuse, in one line, a new passphrase too weak to stand offline guessing (the key file
    lets anyone with the disk try passphrases as fast as scrypt allows)."""
    problem = weakness(secret)
    if problem is not None:
        raise WeakPassphrase(f"{problem}; nothing was changed")


def create_key(database: Path, secret: str) -> bytes:
    """A new salt and check value beside `database`; the derived key. A passphrase too weak
    is refused before anything is written."""
    check_new_passphrase(secret)
    salt = os.urandom(16)
    key = _derive(secret, salt, **SCRYPT)
    record = {"kdf": "scrypt", **SCRYPT, "salt": salt.hex(), "check": _check_value(key)}
    _private_write(key_path(database), json.dumps(record, indent=2) + "\n")
    return key


def unlock(database: Path, secret: str) -> bytes:
    """The key for `database`, if `secret` is its passphrase; else one line saying so."""
    try:
        record = json.loads(key_path(database).read_text(encoding="utf-8"))
        salt = bytes.fromhex(record["salt"])
        key = _derive(secret, salt, int(record["n"]), int(record["r"]), int(record["p"]))
        check = str(record["check"])
    except (OSError, ValueError, KeyError, TypeError):
        raise D2AError(
            f"the key file {key_path(database)} is damaged: the database cannot be opened"
        ) from None
    if not hmac.compare_digest(_check_value(key), check):
        raise WrongPassphrase(f"wrong passphrase for {database}: nothing was opened")
    return key


def hash_pin(pin: str) -> str:
    """A PIN kept for the idle lock: scrypt with its own salt, never the PIN itself."""
    salt = os.urandom(16)
    return f"scrypt${salt.hex()}${_derive(pin, salt, **SCRYPT).hex()}"


def pin_matches(stored: str, pin: str) -> bool:
    try:
        kind, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        found = hashlib.scrypt(
            pin.encode("utf-8"), salt=bytes.fromhex(salt), maxmem=128 * 1024 * 1024, dklen=32,
            **SCRYPT,
        )  # fmt: skip
    except ValueError:
        return False
    return hmac.compare_digest(found.hex(), digest)


def matches(database: Path, secret: str) -> bool:
    """Whether `secret` is the passphrase of encrypted `database` (the idle lock asks)."""
    try:
        unlock(database, secret)
    except D2AError:
        return False
    return True


def cipher_url(database: Path, key: bytes) -> URL:
    # SQLAlchemy quotes the password as an identifier: pragma key="x'…'", SQLCipher's raw key.
    return URL.create("sqlite+pysqlcipher", password=f"x'{key.hex()}'", database=str(database))


def encrypt_in_place(database: Path, secret: str) -> int:
    """Encrypt plain SQLite `database` under `secret`, keeping every table, row and the schema
    version; the number of tables copied. The plain file is replaced only once the encrypted
    copy has been read back with the same row counts, so a failure leaves it as it was."""
    import sqlcipher3

    if is_encrypted(database):
        raise D2AError(f"{database} is encrypted already")
    check_new_passphrase(secret)
    if not has_plain_header(database):
        raise D2AError(f"{database} is not an SQLite database: nothing was changed")
    copy = database.with_name(database.name + ".encrypting")
    copy.unlink(missing_ok=True)
    os.close(os.open(copy, os.O_CREAT | os.O_WRONLY, 0o600))
    salt = os.urandom(16)
    key = _derive(secret, salt, **SCRYPT)
    raw = f"\"x'{key.hex()}'\""
    source = sqlcipher3.connect(str(database), isolation_level=None)
    try:
        # Everything in the WAL into the main file first, so the copy misses nothing.
        source.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = [
            row[0]
            for row in source.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        counts = {t: source.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        version = source.execute("PRAGMA user_version").fetchone()[0]
        source.execute(f"ATTACH DATABASE ? AS encrypted KEY {raw}", (str(copy),))
        source.execute("SELECT sqlcipher_export('encrypted')")
        source.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        source.execute("DETACH DATABASE encrypted")
    except sqlcipher3.Error as error:
        copy.unlink(missing_ok=True)
        raise D2AError(
            f"could not encrypt {database} ({type(error).__name__}); it is unchanged"
        ) from None
    finally:
        source.close()
    check = sqlcipher3.connect(str(copy))
    try:
        check.execute(f"PRAGMA key = {raw}")
        copied = {t: check.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        check.close()
    if copied != counts:
        copy.unlink(missing_ok=True)
        raise D2AError(f"the encrypted copy of {database} did not match; it is unchanged")
    record = {"kdf": "scrypt", **SCRYPT, "salt": salt.hex(), "check": _check_value(key)}
    # The key file first: a stop between the two leaves the plain file, which still opens.
    _private_write(key_path(database), json.dumps(record, indent=2) + "\n")
    os.replace(copy, database)
    for leftover in ("-wal", "-shm", "-journal"):
        database.with_name(database.name + leftover).unlink(missing_ok=True)
    return len(tables)
