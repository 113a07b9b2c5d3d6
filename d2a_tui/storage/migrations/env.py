from alembic import context
from sqlmodel import SQLModel

from d2a_tui.storage import models  # noqa: F401  (registers the tables on the metadata)
from d2a_tui.sync import models as sync_models  # noqa: F401  (sync tables, migration 0004)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()


run_migrations_online()
