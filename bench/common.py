"""What several benchmarks share: a fresh PostgreSQL database for a run."""

from __future__ import annotations

import psycopg


def fresh_postgres(admin_url: str, name: str) -> str | None:
    """Drop and create database `name` beside `admin_url`'s; its URL, or None when PostgreSQL
    does not answer (the benchmark then runs on SQLite alone)."""
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"
