"""Alembic environment: one migration history for every EGP database (pool, library, archive).

The database comes from, in order: a connection passed in `config.attributes["connection"]` (what
`egp.migrations.upgrade` does), a URL in `config.attributes["url"]`, `alembic -x url=...`, the
`sqlalchemy.url` option, and finally the Gene Pool URL from the EGP settings.
"""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from egp.config import get_settings, normalise_database_url
from egp.storage.models import Base

config = context.config
# The models `alembic check` compares the migrated schema with.
target_metadata = Base.metadata

# Only the `alembic` command has an ini file; `egp db upgrade` keeps the caller's logging as it is.
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """Return the URL to migrate when no connection was passed in."""
    url = (
        config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or get_settings().gene_pool_url
    )
    return normalise_database_url(url)


def run_on(connection: Connection) -> None:
    """Run the pending migrations on an open connection, in one transaction where the database allows."""
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit the migrations as SQL (`alembic upgrade head --sql`) without a database."""
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate the passed connection, or open one to the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = create_engine(database_url(), poolclass=NullPool)
    with engine.connect() as new_connection:
        run_on(new_connection)
        new_connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
