"""Schema migrations from code: find the Alembic scripts, upgrade a database to head, read its revision."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, DateTime, String, Uuid, column, inspect, select, table, text

from egp.config import ANONYMOUS_CREATOR, DatabaseRole, display_url
from egp.db import as_utc, get_engine
from egp.errors import ConfigurationError, EGPError

# An arbitrary constant: Postgres advisory lock key that serialises concurrent upgrades of one database.
_UPGRADE_LOCK_KEY = 0x45475030

# A read-only view of the meta table created by revision 0001, for decoding its typed columns.
_META = table(
    "meta",
    column("database_uuid", Uuid()),
    column("role", String()),
    column("created", DateTime(timezone=True)),
    column("creator", Uuid()),
)


@dataclass(frozen=True)
class DatabaseInfo:
    """What `egp db current` reports: the schema revision and the meta row, if any."""

    revision: str | None
    head: str
    database_uuid: uuid.UUID | None = None
    role: str | None = None
    created: datetime | None = None
    creator: uuid.UUID | None = None

    @property
    def at_head(self) -> bool:
        """True when the database has every migration applied."""
        return self.revision == self.head


def script_location() -> Path:
    """Return the Alembic scripts directory: packaged in the wheel, or at the root of a checkout."""
    package_dir = Path(__file__).resolve().parent
    # A wheel carries the scripts as egp/_alembic; an editable install or checkout has them beside egp/.
    # Both must hold env.py, which the alembic library's own package directory does not.
    for candidate in (package_dir / "_alembic", package_dir.parent / "alembic"):
        if (candidate / "env.py").is_file() and (candidate / "versions").is_dir():
            return candidate
    raise EGPError(f"the EGP migration scripts are missing (looked in {package_dir / '_alembic'})")


def alembic_config() -> Config:
    """Return an Alembic config for the EGP scripts that needs no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    return config


def head() -> str:
    """Return the newest revision in the migration history."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:
        raise EGPError("the EGP migration history is empty")
    return revision


def _info(connection: Connection) -> DatabaseInfo:
    """Read the revision and meta row over an open connection."""
    revision = MigrationContext.configure(connection).get_current_revision()
    info = DatabaseInfo(revision=revision, head=head())
    if not inspect(connection).has_table("meta"):
        return info
    row = connection.execute(select(_META)).first()
    if row is None:
        return info
    created = as_utc(row.created)
    return DatabaseInfo(
        revision=revision,
        head=info.head,
        database_uuid=row.database_uuid,
        role=row.role,
        created=created,
        creator=row.creator,
    )


def current(url: str) -> DatabaseInfo:
    """Return the schema revision and identity of the database at `url` (revision None when empty)."""
    with get_engine(url).connect() as connection:
        return _info(connection)


def upgrade(
    url: str, role: DatabaseRole = DatabaseRole.POOL, creator: uuid.UUID = ANONYMOUS_CREATOR
) -> DatabaseInfo:
    """Bring the database at `url` to head; a new database records `role` and `creator` in its meta row.

    Upgrading a database that is already at head changes nothing. Asking for a role other than the one
    the database was created with is an error, so a library cannot be mistaken for a Gene Pool.
    """
    engine = get_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
        config = alembic_config()
        config.attributes.update(connection=connection, role=str(role), creator=str(creator))
        command.upgrade(config, "head")
        info = _info(connection)
    if info.role != role:
        raise ConfigurationError(
            f"{display_url(url)} is a {info.role} database, not a {role} (its meta row says so)"
        )
    return info
