"""`egp db`: create, migrate and inspect a Gene Pool, library or archive database."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from egp.cli import app
from egp.config import DatabaseRole, display_url, get_settings, normalise_database_url
from egp.errors import ConfigurationError, EGPError

if TYPE_CHECKING:
    from egp.migrations import DatabaseInfo

db_app = typer.Typer(help="Create, migrate and inspect EGP databases.", no_args_is_help=True)
app.add_typer(db_app, name="db")

UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="Database URL (Postgres or SQLite); default: EGP_GENE_POOL_URL."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _database_url(url: str | None) -> str:
    """Return the `--url` value validated and normalised, or the configured Gene Pool URL."""
    if url is None:
        return get_settings().gene_pool_url
    try:
        return normalise_database_url(url)
    except ValueError as error:
        raise ConfigurationError(f"--url: {error}") from None


def _as_dict(url: str, info: DatabaseInfo) -> dict[str, Any]:
    """Return what the db commands print about a database, JSON-ready."""
    return {
        "url": display_url(url),
        "revision": info.revision,
        "head": info.head,
        "at_head": info.at_head,
        "role": info.role,
        "database_uuid": str(info.database_uuid) if info.database_uuid else None,
        "created": info.created.isoformat() if info.created else None,
        "creator": str(info.creator) if info.creator else None,
    }


@db_app.command("upgrade")
def upgrade_command(
    url: UrlOption = None,
    role: Annotated[
        DatabaseRole | None,
        typer.Option("--role", help="Role recorded when the database is new; default: EGP_DATABASE_ROLE."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create or migrate the database to the newest schema; running it again changes nothing."""
    from egp.db import reported_errors, sqlite_file
    from egp.migrations import current, upgrade

    url = _database_url(url)
    settings = get_settings()
    path = sqlite_file(url)
    with reported_errors(url):
        # A SQLite file that does not exist yet is simply new; reading it first would create it.
        before = None if path is not None and not path.exists() else current(url).revision
        info = upgrade(url, role or settings.database_role, settings.creator)
    result = _as_dict(url, info) | {"previous_revision": before, "changed": before != info.revision}
    if json_output:
        typer.echo(json.dumps(result, indent=2))
    elif result["changed"]:
        typer.echo(f"{result['url']}: upgraded {before or 'empty database'} -> {info.revision} ({info.role})")
    else:
        typer.echo(f"{result['url']}: already at {info.revision} ({info.role}); nothing to do")


@db_app.command("current")
def current_command(url: UrlOption = None, json_output: JsonOption = False) -> None:
    """Show the database's schema revision, the newest one, and its identity (uuid, role, creator)."""
    from egp.db import reported_errors, sqlite_file
    from egp.migrations import current

    url = _database_url(url)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise EGPError(f"{path} does not exist; `egp db upgrade --url {url}` creates it")
    with reported_errors(url):
        result = _as_dict(url, current(url))
    if json_output:
        typer.echo(json.dumps(result, indent=2))
        return
    state = "at head" if result["at_head"] else f"behind head {result['head']}: run `egp db upgrade`"
    typer.echo(f"{result['url']}: revision {result['revision'] or 'none'} ({state})")
    if result["role"]:
        typer.echo(f"  role {result['role']}, uuid {result['database_uuid']}, created {result['created']}")
