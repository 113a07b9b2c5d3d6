from alembic import context

config = context.config
# Upgrading needs no models: each revision says what it creates. Only autogenerate compares with
# the models, so whoever makes a revision imports every table module (storage's, sync's, interop's)
# and passes their metadata, `[storage.models.metadata, SQLModel.metadata, ...]` (storage's tables
# are Core tables, the sync tables SQLModel classes), as `attributes["target_metadata"]`. The
# migrations themselves import nothing above storage (an import contract in pyproject.toml).
target_metadata = config.attributes.get("target_metadata")


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
