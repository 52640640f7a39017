"""The integration tests' one factory of Postgres databases on 127.0.0.1: unique names, dropped at the end."""

from __future__ import annotations

import uuid

import psycopg
from sqlalchemy import text

from egp.config import DatabaseRole
from egp.db import dispose_engines, get_engine
from egp.migrations import upgrade
from egp.storage.schema import data_tables

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def empty(url: str) -> str:
    """Delete every data row (not meta or the schema revision) from the database at `url`; return the URL."""
    with get_engine(url).begin() as connection:
        for table in data_tables():
            connection.execute(text(f"DELETE FROM {table}"))
    return url


class PostgresDatabases:
    """New, uniquely named Postgres databases: empty, or at head and reused (emptied) between tests.

    Creating and dropping a database costs a checkpoint each (seconds on a small machine); emptying the
    tables of one already migrated costs milliseconds, so `at_head` hands out released databases again.
    """

    def __init__(self) -> None:
        """No database yet."""
        self.created: list[str] = []
        self.free: dict[DatabaseRole, list[str]] = {}
        self.taken: list[tuple[DatabaseRole, str]] = []

    def create(self) -> str:
        """Create a new, empty database (no schema) and return its SQLAlchemy URL; never reused."""
        name = f"egp_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    def at_head(self, role: DatabaseRole = DatabaseRole.POOL) -> str:
        """A database with `role` at head and no data rows: a released one emptied, or a new one."""
        free = self.free.setdefault(role, [])
        if free:
            url = empty(free.pop())
        else:
            url = self.create()
            upgrade(url, role)
        self.taken.append((role, url))
        return url

    def __call__(self, role: DatabaseRole = DatabaseRole.POOL) -> str:
        """The same as `at_head(role)`."""
        return self.at_head(role)

    def release(self) -> None:
        """Make every database `at_head` handed out so far available again."""
        for role, url in self.taken:
            self.free.setdefault(role, []).append(url)
        self.taken.clear()

    def drop(self) -> None:
        """Drop every database this object created (closing pooled connections first)."""
        dispose_engines()
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            for name in self.created:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
