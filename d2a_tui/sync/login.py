"""This machine's login to a central server: kept in the data folder, readable by its owner only.

The file names the local database it turned into a replica, so opening any other database (a
test's, a demo's, a shared PostgreSQL one) is never mistaken for the replica.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from d2a_tui.config import data_dir
from d2a_tui.storage.db import normalise_url
from d2a_tui.storage.files import write_private

LOGIN_FILE = "sync-login.json"


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
    try:
        return Login(**values)
    except TypeError:
        return None


def save_login(login: Login) -> Path:
    path = login_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return write_private(path, json.dumps(asdict(login), indent=2))


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
