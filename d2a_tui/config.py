"""Settings: where the data lives, which database and flow, who is acting.

Read from the environment (D2A_*) over a TOML config file over defaults, so a thin client can be
set up with three environment variables and no file at all.
"""

from __future__ import annotations

import getpass
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from d2a_tui.domain.calendar import DEFAULT_TIMEZONE, HubCalendar
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.ids import uuid7

APP_NAME = "d2a"


class ConfigError(D2AError):
    pass


def data_dir() -> Path:
    return Path(os.environ.get("D2A_DATA_DIR") or platformdirs.user_data_dir(APP_NAME))


def config_path() -> Path:
    return Path(
        os.environ.get("D2A_CONFIG") or Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"
    )


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'd2a.db'}"


SERVER_DATABASE = "D2A_SERVER_DATABASE_URL"


def server_database_url(given: str | None = None) -> str | None:
    """The central server's database, named once for `d2a serve` and `d2a server …` alike:
    --db, else D2A_SERVER_DATABASE_URL, else `server_database_url` in the config file. Never
    the terminal's own database: administering a replica or a local hub by mistake would say
    "done" and change nothing anyone logs in to."""
    chosen = (
        given
        or os.environ.get(SERVER_DATABASE)
        or _read_config_file(config_path()).get("server_database_url")
    )
    return str(chosen) if chosen else None


LAST_OPENED_FILE = "last-database"


def last_opened_database() -> str | None:
    """The database the board (or `d2a demo`, or `d2a login`) last opened on this machine: the
    one a command without --db means, so the quick start's next command after `make demo` reads the
    demo hub the user just saw."""
    try:
        url = (data_dir() / LAST_OPENED_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return url or None


def remember_opened_database(url: str) -> None:
    from d2a_tui.storage.db import normalise_url

    path = _private_dir(data_dir()) / LAST_OPENED_FILE
    # Written beside and renamed over: a crash never leaves half a name.
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(normalise_url(url) + "\n")
    os.replace(temporary, path)


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def device_id() -> str:
    """This terminal's identity in the event log; made once and kept beside the data."""
    path = _private_dir(data_dir()) / "device-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = uuid7()
        descriptor = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(value)
        return value


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


DEFAULT_LOCK_AFTER = 600.0  # ten minutes


@dataclass(frozen=True)
class Settings:
    database_url: str
    user: str
    # Where database_url came from: "given" (--db), "environment" (D2A_DATABASE_URL), "config"
    # (the config file), "last opened" (the board's last database) or "default".
    database_from: str = "default"
    flow_path: str | None = None
    privacy: str = "names"  # "names" or "initials" on cards
    bell: bool = False
    keymap: dict[str, str] = field(default_factory=dict)
    theme: str | None = None
    # The hub's calendar: every "today", day boundary and "days since" is counted in this zone.
    timezone: str = DEFAULT_TIMEZONE
    # Seconds without a key or a click before the board locks; None: only ctrl+l locks.
    lock_after: float | None = DEFAULT_LOCK_AFTER
    # A replica keeps journeys closed within this many days (and every open one).
    keep_closed_days: int = 14
    # The trust's ODS code, written on the national sitrep submission (e.g. RXX).
    organisation_code: str | None = None

    @property
    def calendar(self) -> HubCalendar:
        return HubCalendar(self.timezone)

    @classmethod
    def load(
        cls, database_url: str | None = None, user: str | None = None, *, last_opened: bool = True
    ) -> Settings:
        """The settings in force; `last_opened=False` leaves out the last opened database (a
        login makes the machine's own replica, never the demo hub's)."""
        file_values = _read_config_file(config_path())
        privacy = os.environ.get("D2A_PRIVACY") or file_values.get("privacy", "names")
        if privacy not in ("names", "initials"):
            raise ConfigError(f"privacy must be 'names' or 'initials', got {privacy!r}")
        keymap = file_values.get("keys", {})
        if not isinstance(keymap, dict):
            raise ConfigError('[keys] in the config file must be a table of binding id = "key"')
        database_from, chosen = _database_choice(database_url, file_values, last_opened)
        return cls(
            database_url=chosen,
            database_from=database_from,
            user=user or os.environ.get("D2A_USER") or file_values.get("user") or _login_name(),
            flow_path=os.environ.get("D2A_FLOW") or file_values.get("flow"),
            privacy=privacy,
            bell=_truthy(os.environ.get("D2A_BELL", file_values.get("bell", False))),
            keymap={str(k): str(v) for k, v in keymap.items()},
            theme=os.environ.get("D2A_THEME") or file_values.get("theme"),
            timezone=_timezone(os.environ.get("D2A_TIMEZONE") or file_values.get("timezone")),
            organisation_code=_ods_code(
                os.environ.get("D2A_ORGANISATION_CODE") or file_values.get("organisation_code")
            ),
            keep_closed_days=_days(
                os.environ.get("D2A_KEEP_CLOSED_DAYS") or file_values.get("keep_closed_days", 14)
            ),
            lock_after=_lock_after(
                os.environ.get("D2A_LOCK_AFTER") or file_values.get("lock_after"),
                os.environ.get("D2A_FLOW") or file_values.get("flow"),
            ),
        )


def _database_choice(
    given: str | None, file_values: dict[str, Any], last_opened: bool
) -> tuple[str, str]:
    """(where from, URL): --db, then D2A_DATABASE_URL, the config file, the last opened one."""
    for source, value in (
        ("given", given),
        ("environment", os.environ.get("D2A_DATABASE_URL")),
        ("config", file_values.get("database_url")),
        ("last opened", last_opened_database() if last_opened else None),
    ):
        if value:
            return source, str(value)
    return "default", default_database_url()


def ods_code(value: Any) -> str:
    """An organisation code as NHS England's returns take it: 3 to 5 letters and digits (a trust's
    ODS code such as RXX or R0A, or a site code such as RXX01)."""
    text = str(value).strip().upper()
    if not re.fullmatch(r"[A-Z0-9]{3,5}", text):
        raise ConfigError(
            f"organisation code {str(value)[:20]!r} is not an ODS code (3 to 5 letters and digits)"
        )
    return text


def _ods_code(value: Any) -> str | None:
    return None if value is None or not str(value).strip() else ods_code(value)


def _days(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = -1
    if days < 0:
        raise ConfigError(f"keep_closed_days must be a whole number of days, got {value!r}")
    return days


def _lock_after(value: Any, flow_path: str | None) -> float | None:
    """The idle time before the board locks: the user's `lock_after` ("10m", "off"), never
    longer than the locality's `[security] lock_after_max` in its flow file."""
    from d2a_tui.domain.flow import parse_duration

    def seconds(text: Any, key: str) -> float | None:
        if text is None:
            return None
        if str(text).strip().lower() in ("off", "never", "0"):
            return 0.0
        try:
            return parse_duration(str(text)).total_seconds()
        except (ValueError, D2AError):
            raise ConfigError(
                f'{key} must be a duration such as "10m" or "1h", got {text!r}'
            ) from None

    chosen = seconds(value, "lock_after")
    chosen = DEFAULT_LOCK_AFTER if chosen is None else chosen
    limit = None
    if flow_path:
        try:
            security = tomllib.loads(Path(flow_path).read_text(encoding="utf-8")).get(
                "security", {}
            )
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            security = {}  # the flow's own loading says what is wrong with the file
        limit = seconds(security.get("lock_after_max"), "[security] lock_after_max")
    if limit:
        chosen = limit if chosen == 0 else min(chosen, limit)
    return chosen or None


def _timezone(name: Any) -> str:
    zone = str(name or DEFAULT_TIMEZONE)
    try:
        HubCalendar(zone)
    except D2AError as error:
        raise ConfigError(f"timezone: {error}") from None
    return zone


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path}: {error}") from None


# --- saved views: named filters in the config file's [views] table ------------------------------

_VIEW_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")


def saved_views(path: Path | None = None) -> dict[str, str]:
    """Named filters, in the order they were saved (the board cycles through them so)."""
    views = _read_config_file(path or config_path()).get("views", {})
    if not isinstance(views, dict):
        raise ConfigError('[views] in the config file must be a table of name = "filter"')
    return {str(name): str(text) for name, text in views.items()}


def save_view(name: str, text: str, path: Path | None = None) -> None:
    """Keep `text` under `name` (replacing one of that name). The filter is checked first, and
    the rest of the file (comments, order, other tables) is kept as the user wrote it."""
    from d2a_tui.domain.query import parse

    if not _VIEW_NAME.fullmatch(name):
        raise ConfigError(
            f"view name {name!r}: use letters, digits, - and _ (up to 40), starting with a "
            "letter or digit"
        )
    query = parse(text)
    if not query:
        raise ConfigError("a view needs a filter, e.g. 'red ready>1d'")
    document = _edit_config(path)
    views = document.get("views")
    if views is None:
        import tomlkit

        views = tomlkit.table()
        document["views"] = views
    views[name] = str(query)
    _write_config(document, path)


def delete_view(name: str, path: Path | None = None) -> None:
    document = _edit_config(path)
    views = document.get("views")
    if views is None or name not in views:
        raise ConfigError(f"no saved view {name!r} (d2a view list shows them)")
    del views[name]
    _write_config(document, path)


def _edit_config(path: Path | None) -> Any:
    import tomlkit

    target = path or config_path()
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return tomlkit.document()
    except OSError as error:
        raise ConfigError(f"cannot read config file {target}: {error.strerror}") from None
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as error:
        raise ConfigError(f"config file {target}: {error}") from None


def _write_config(document: Any, path: Path | None) -> None:
    import tomlkit

    target = path or config_path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written beside and renamed over, so a crash never leaves half a config file.
    temporary = target.with_name(target.name + ".tmp")
    descriptor = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(tomlkit.dumps(document))
    os.replace(temporary, target)
