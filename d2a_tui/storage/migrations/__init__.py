"""Alembic migrations, run from code so no alembic.ini has to be found on a user's machine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

_HERE = Path(__file__).parent


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return {revision.revision for revision in script.walk_revisions()}


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def run_upgrade(engine: Engine, target: str = "head") -> None:
    command.upgrade(alembic_config(engine), target)
