"""Migrations on real databases: fresh Postgres and SQLite files reach head; twice is a no-op."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from egp.config import ANONYMOUS_CREATOR, DatabaseRole
from egp.db import get_engine
from egp.errors import ConfigurationError
from egp.health import database_report
from egp.migrations import current, head, upgrade

EGP = str(Path(sys.executable).parent / "egp")


def egp(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed `egp` command."""
    return subprocess.run([EGP, *arguments], capture_output=True, text=True, timeout=120, cwd=cwd)


def meta_rows(url: str) -> list[tuple[object, ...]]:
    """Return every row of the meta table."""
    with get_engine(url).connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT database_uuid, role FROM meta"))]


@pytest.fixture(params=["postgres", "sqlite"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a new Postgres database, or a SQLite file that does not exist yet."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path / 'pool.db'}"


@pytest.mark.slow
def test_cli_upgrade_reaches_head_and_a_second_run_is_a_no_op(fresh_url: str, tmp_path: Path) -> None:
    """`egp db upgrade --url` migrates an empty database; running it again changes nothing."""
    first = egp("db", "upgrade", "--url", fresh_url, "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["previous_revision"] is None and report["revision"] == head() and report["changed"]
    assert report["role"] == "pool"

    second = egp("db", "upgrade", "--url", fresh_url, "--json", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert not again["changed"] and again["database_uuid"] == report["database_uuid"]
    assert len(meta_rows(fresh_url)) == 1

    shown = egp("db", "current", "--url", fresh_url, cwd=tmp_path)
    assert shown.returncode == 0 and f"revision {head()} (at head)" in shown.stdout


def test_the_requested_role_is_recorded_once(fresh_url: str) -> None:
    """A library stays a library: asking to use it as a pool later is refused."""
    info = upgrade(fresh_url, DatabaseRole.LIBRARY)
    assert info.role == "library" and info.at_head
    assert upgrade(fresh_url, DatabaseRole.LIBRARY).database_uuid == info.database_uuid
    with pytest.raises(ConfigurationError, match="is a library database, not a pool"):
        upgrade(fresh_url, DatabaseRole.POOL)


def test_meta_accepts_only_known_roles(postgres_url: str) -> None:
    """The meta table's check constraint refuses a role outside pool, library and archive."""
    upgrade(postgres_url)
    with pytest.raises(Exception, match="meta_role"), get_engine(postgres_url).begin() as connection:
        connection.execute(text("UPDATE meta SET role = 'museum'"))


def test_an_empty_database_needs_upgrade(postgres_url: str) -> None:
    """Before any migration the revision is None and the health report says to upgrade."""
    assert current(postgres_url).revision is None
    report = database_report(postgres_url)
    assert report["ok"] is False and report["state"] == "needs upgrade"


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    """`egp db upgrade` against a closed Postgres port fails with one line, no traceback."""
    result = egp("db", "upgrade", "--url", "postgresql://postgres@127.0.0.1:5499/none", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: database postgresql+psycopg://postgres@127.0.0.1:5499/none: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_revision_0009_makes_existing_float_statistics_exact(postgres_url: str) -> None:
    """A Gene Pool at 0008 with float totals (one NaN, one infinity, one with more than 12 decimals) is
    migrated to exact NUMERIC(40, 12): values rounded once to 12 decimals, non-finite ones 0, the generated
    means and their indexes rebuilt; a downgrade gives floats back."""
    from alembic import command

    from egp.migrations import alembic_config

    engine = get_engine(postgres_url)

    def migrate(action: str, revision: str) -> None:
        """Run alembic `action` to `revision` on the test database."""
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes.update(connection=connection, role="pool", creator=str(ANONYMOUS_CREATOR))
            getattr(command, action)(config, revision)

    migrate("upgrade", "0008")
    signatures = [bytes([k]) * 32 for k in range(3)]
    problem = b"p" * 32
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO problems (identity, created) VALUES (:p, now())"), {"p": problem}
        )
        for signature, total in zip(signatures, ("0.1234567890123456", "NaN", "Infinity"), strict=True):
            connection.execute(
                text(
                    "INSERT INTO gc_problem_stats (signature, problem, fitness_total, fitness_count,"
                    " survivability) VALUES (:s, :p, CAST(:t AS DOUBLE PRECISION), 2, 0.5)"
                ),
                {"s": signature, "p": problem, "t": total},
            )
        connection.execute(
            text(
                "INSERT INTO pgc_stats (signature, layer, fitness_total, fitness_count)"
                " VALUES (:s, 0, 1.5, 3)"
            ),
            {"s": signatures[0]},
        )
    migrate("upgrade", "head")
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT fitness_total::text, fitness, survivability::text FROM gc_problem_stats"
                " ORDER BY signature"
            )
        ).all()
        pgc = connection.execute(text("SELECT fitness_total::text, fitness FROM pgc_stats")).one()
        indexes = {
            r[0]
            for r in connection.execute(
                text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%fitness'")
            )
        }
    assert rows[0] == ("0.123456789012", 0.123456789012 / 2, "0.500000000000")
    assert [r[0] for r in rows[1:]] == ["0.000000000000", "0.000000000000"]
    assert pgc == ("1.500000000000", 0.5)
    assert indexes == {"ix_gc_problem_stats_fitness", "ix_pgc_stats_fitness"}
    migrate("downgrade", "0008")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT fitness_total FROM pgc_stats")).scalar_one() == 1.5
