"""This machine's login to a central server: kept in the data folder, readable by its owner only.

The file names the local database it turned into a replica, so opening any other database (a
test's, a demo's, a shared PostgreSQL one) is never mistaken for the replica.

The file holds no secret. The device token, a swapped-in token not yet confirmed, and the idle
lock's PIN hash live in the replica's own `sync_replica` row, inside the database the passphrase
encrypts: with the disk alone, the login file names a server and a user, and lets no one in.
A login file from before (with the token in it) gives its secrets to the database the first time
the database is opened, and is written again without them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from sqlalchemy import Engine, Table, select, update

from d2a_tui.config import data_dir
from d2a_tui.storage.db import normalise_url
from d2a_tui.storage.files import write_private

LOGIN_FILE = "sync-login.json"


def _replica_table() -> Table:
    """The `sync_replica` table, imported when a secret is read or written: `d2a board` asks
    this module for the login file before its first paint, and the sync models (a fiftieth of a
    second of class building) are no part of that."""
    from d2a_tui.storage.models import table_of
    from d2a_tui.sync.models import SyncReplica

    return table_of(SyncReplica)


@dataclass(frozen=True)
class Login:
    server_url: str
    token: str
    device_id: str
    user_id: str
    name: str
    role: str
    database_url: str
    ca_file: str | None = None  # a local CA the server's certificate is checked against
    insecure_http: bool = False  # the user accepted plain http:// to another machine
    token_expires_at: str | None = None  # ISO time; the token is swapped for a new one before
    # A token made here and sent to the server to replace `token`, kept until the server's
    # answer is known: if that answer is lost, this is the token the server holds.
    pending_token: str | None = None
    # The idle lock's PIN, if one was set at login: its scrypt hash only.
    pin_hash: str | None = None

    def __repr__(self) -> str:  # never print the token
        return f"Login({self.user_id}@{self.server_url}, device {self.device_id})"


def login_path() -> Path:
    return data_dir() / LOGIN_FILE


def load_login() -> Login | None:
    try:
        values = json.loads(login_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None
    if not isinstance(values, dict):
        return None
    values.setdefault("token", "")  # kept in the database, not here (see with_secrets)
    try:
        return Login(**values)
    except TypeError:
        return None


SECRETS = ("token", "pending_token", "pin_hash")


def save_login(login: Login) -> Path:
    """The login file, without the secrets (`store_secrets` keeps those in the database)."""
    path = login_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    public = {key: value for key, value in asdict(login).items() if key not in SECRETS}
    return write_private(path, json.dumps(public, indent=2), make_folder=True)


def store_secrets(engine: Engine, login: Login) -> None:
    """Keep the login's secrets in the replica's database (encrypted with it, if it is)."""
    _replica = _replica_table()
    with engine.begin() as connection:
        connection.execute(
            update(_replica)
            .where(_replica.c.id == 1)
            .values(
                device_token=login.token or None,
                pending_token=login.pending_token,
                pin_hash=login.pin_hash,
            )
        )


def with_secrets(engine: Engine, login: Login) -> Login:
    """The login with its secrets from the database. A login file that still holds them (kept
    by an earlier d2a) hands them over now: into the database, then out of the file."""
    _replica = _replica_table()
    with engine.connect() as connection:
        row = connection.execute(
            select(_replica.c.device_token, _replica.c.pending_token, _replica.c.pin_hash).where(
                _replica.c.id == 1
            )
        ).first()
    if login.token:  # an old file, with the token beside the database: move it in
        stored = row is not None and row.device_token
        if not stored:
            store_secrets(engine, login)
        current = load_login()
        if current is not None and current.device_id == login.device_id:
            save_login(login)
        if not stored:
            return login
    if row is None:
        return login
    return replace(
        login,
        token=row.device_token or "",
        pending_token=row.pending_token,
        pin_hash=row.pin_hash,
    )


def forget_secrets(engine: Engine) -> None:
    store_secrets(engine, Login("", "", "", "", "", "", ""))


def forget_login() -> bool:
    try:
        login_path().unlink()
        return True
    except FileNotFoundError:
        return False


def replica_login(database_url: str) -> Login | None:
    """The login, if `database_url` is the database it made a replica of."""
    login = load_login()
    if login is None or normalise_url(login.database_url) != normalise_url(database_url):
        return None
    return login
