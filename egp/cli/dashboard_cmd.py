"""`egp dashboard`: serve the read-only Gene Pool dashboard (the `dashboard` extra) on a local address."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from egp.cli import app


@app.command("dashboard")
def dashboard_command(
    gene_pool: Annotated[
        str | None, typer.Option(help="Gene Pool URL (default: EGP_GENE_POOL_URL).", show_default=False)
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8080,
) -> None:
    """Serve the Gene Pool dashboard: runs and jobs, plots, lineages, the Gene Pool (read-only).

    With EGP_DASHBOARD_BASIC_AUTH=user:password set, every page asks for that user and password.
    """
    from egp.dashboard import require_dashboard_extra
    from egp.errors import EGPError

    require_dashboard_extra()
    import uvicorn

    from egp.cli.pool_cmd import open_existing_pool
    from egp.config import display_url
    from egp.dashboard.app import create_app
    from egp.dashboard.auth import ENV_VARIABLE, parse_credentials

    credentials = None
    secret = os.environ.get(ENV_VARIABLE)
    if secret:
        try:
            credentials = parse_credentials(secret)
        except ValueError as error:
            raise EGPError(str(error)) from None
    pool = open_existing_pool(gene_pool)
    application = create_app(pool.url, credentials)
    typer.echo(
        f"EGP dashboard of {display_url(pool.url)} on http://{host}:{port}/ (Ctrl-C stops it)", err=True
    )
    server = uvicorn.Server(uvicorn.Config(application, host=host, port=port, log_level="warning"))
    try:
        server.run()
    except OSError as error:
        raise EGPError(f"cannot serve on {host}:{port}: {error.strerror or error}") from None
    if not server.started:
        # uvicorn logs a failed bind and returns; say it as one line and fail.
        raise EGPError(f"cannot serve on {host}:{port} (address in use or not available here)")
