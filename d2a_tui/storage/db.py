"""Engines from a URL, and the schema check that runs before anything reads or writes.

SQLite files hold patient data, so they are created readable by their owner only, in a folder
only the owner can enter. SQLite gives its -wal and -shm files the database file's permissions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import QueuePool

from d2a_tui.domain.errors import D2AError

_VERSIONS = Path(__file__).parent / "migrations" / "versions"


def _schema_head() -> str:
    """The newest migration this code knows, read from the file names (NNNN_what.py) so that
    opening a database does not have to import alembic. A test checks it is alembic's head."""
    return max(path.name.split("_", 1)[0] for path in _VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


SCHEMA_HEAD = _schema_head()


class DatabaseUnavailable(D2AError):
    pass


class DiskFull(DatabaseUnavailable):
    """The database cannot grow: this write was refused whole, but it is still there to read,
    so the board stays live and the change can be made again once space is freed."""


class SchemaMismatch(D2AError):
    pass


def normalise_url(url: str) -> str:
    """Accept what people type: a bare file path means SQLite; postgresql:// means psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().absolute()}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def safe_url(url: str) -> str:
    """The URL without its password, fit for an error message or a log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _prepare_sqlite_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(descriptor)


def _encrypted_engine(path: Path) -> Engine:
    """An engine on SQLCipher file `path`, checked to open: a wrong passphrase, a damaged key
    file or a damaged database is one line here rather than a driver error later."""
    from d2a_tui.storage import cipher

    key = _keys.get(path)
    if key is None:
        key = cipher.unlock(path, cipher.passphrase(path))
    try:
        import sqlcipher3  # the dialect's driver
    except ImportError:
        raise DatabaseUnavailable(
            f"{path} is encrypted and the sqlcipher3 package is not installed"
        ) from None
    # SQLCipher writes its own lines to stderr when a page fails its check (a wrong key, a
    # damaged file); the one `d2a:` line says it instead. The level is process-wide.
    quiet = sqlcipher3.connect(":memory:")
    quiet.execute("PRAGMA cipher_log_level = NONE")
    quiet.close()
    _keys[path] = key
    # LIFO: the connection used last is used next, its page cache warm. A cold cache costs
    # little on a plain file (the OS has the pages) but a decryption per page here.
    return create_engine(
        cipher.cipher_url(path, key),
        connect_args={"timeout": 15},
        poolclass=QueuePool,
        pool_use_lifo=True,
    )


def _check_decrypts(engine: Engine, path: Path) -> None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM sqlite_master")).scalar()
    except SQLAlchemyError:
        engine.dispose()
        _keys.pop(path, None)
        raise DatabaseUnavailable(
            f"{path} cannot be decrypted with its key: the file is damaged or truncated"
        ) from None


# Keys this process has unlocked, by file: the passphrase is asked for once per run.
_keys: dict[Path, bytes] = {}


def remember_key(path: Path, key: bytes) -> None:
    _keys[path.absolute()] = key


def forget_keys() -> None:
    _keys.clear()


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        from d2a_tui.storage.cipher import is_encrypted

        database = parsed.database
        if database and database != ":memory:":
            try:
                _prepare_sqlite_file(Path(database))
            except OSError as error:
                raise DatabaseUnavailable(
                    f"cannot create database file {database}: {error.strerror}"
                ) from None
        encrypted = bool(database) and database != ":memory:"
        encrypted = encrypted and is_encrypted(Path(str(database)).absolute())
        if encrypted:
            engine = _encrypted_engine(Path(str(database)).absolute())
        else:
            engine = create_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        if encrypted:
            _check_decrypts(engine, Path(str(database)).absolute())
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 5, "application_name": "d2a"},
        )
    raise DatabaseUnavailable(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite:///path or postgresql://…"
    )


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError as error:
        raise DatabaseUnavailable(
            f"cannot reach database {safe_url(str(engine.url))}: {_first_line(error)}"
        ) from None


def _first_line(error: SQLAlchemyError) -> str:
    original = getattr(error, "orig", None) or error
    return (
        str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    )


def upgrade(engine: Engine) -> None:
    from d2a_tui.storage.migrations import run_upgrade

    run_upgrade(engine)


def ensure_schema(engine: Engine, *, upgrade_if_old: bool = True, create: bool = True) -> None:
    """Refuse a database of a newer schema; bring an empty or older one up to date. With
    `create=False` an empty database is refused rather than given a schema."""
    revision = current_revision(engine)
    if revision == SCHEMA_HEAD:
        return
    if revision is None and not create:
        raise SchemaMismatch(
            f"database {safe_url(str(engine.url))} holds no d2a schema (empty): if it was dropped, "
            "restore it from the backup; if it is new, run `d2a db upgrade --db URL` first"
        )
    from d2a_tui.storage.migrations import known_revisions

    if revision is not None and revision not in known_revisions():
        raise SchemaMismatch(
            f"database schema {revision!r} is newer than this d2a knows (up to {SCHEMA_HEAD!r}); "
            "upgrade d2a before using this database"
        )
    if not upgrade_if_old:
        raise SchemaMismatch(
            f"database schema is {revision!r}, expected {SCHEMA_HEAD!r}; run `d2a db upgrade`"
        )
    upgrade(engine)
