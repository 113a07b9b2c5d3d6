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

from d2a_tui.domain.errors import D2AError

_VERSIONS = Path(__file__).parent / "migrations" / "versions"


def _schema_head() -> str:
    """The newest migration this code knows, read from the file names (NNNN_what.py) so that
    opening a database does not have to import alembic. A test checks it is alembic's head."""
    return max(path.name.split("_", 1)[0] for path in _VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


SCHEMA_HEAD = _schema_head()


class DatabaseUnavailable(D2AError):
    pass


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


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            try:
                _prepare_sqlite_file(Path(database))
            except OSError as error:
                raise DatabaseUnavailable(
                    f"cannot create database file {database}: {error.strerror}"
                ) from None
        engine = create_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

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


def ensure_schema(engine: Engine, *, upgrade_if_old: bool = True) -> None:
    """Refuse a database of a newer schema; bring an empty or older one up to date."""
    revision = current_revision(engine)
    if revision == SCHEMA_HEAD:
        return
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
