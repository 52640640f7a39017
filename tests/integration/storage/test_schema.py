"""The migrated schema equals the models (`alembic check`) on Postgres and SQLite; 0002 downgrades cleanly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from egp.config import DatabaseRole
from egp.db import get_engine
from egp.migrations import alembic_config, current, upgrade
from egp.storage.models import Base


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_alembic_check_is_clean(
    backend: str, postgres_databases: Callable[[DatabaseRole], str], tmp_path: Path
) -> None:
    """No difference between the models and a database migrated to head."""
    if backend == "postgres":
        url = postgres_databases(DatabaseRole.POOL)
    else:
        url = f"sqlite:///{tmp_path / 'check.db'}"
        upgrade(url)
    with get_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    """Revision 0002 drops its tables and creates them again."""
    url = f"sqlite:///{tmp_path / 'cycle.db'}"
    upgrade(url)
    config = alembic_config()
    with get_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert current(url).revision == "0001"
    assert upgrade(url).at_head
