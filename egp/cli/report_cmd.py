"""`egp report RUN_OR_JOB`: one run's or job's summary, plots and best program as one self-contained HTML
file (`--html FILE`), and its plots as PNG files (`--png DIR`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egp.cli import app


@app.command("report")
def report_command(
    run_id: Annotated[str, typer.Argument(metavar="RUN_OR_JOB", help="A run id or a job id.")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the report to this HTML file.", dir_okay=False)
    ] = None,
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Write each plot as a PNG file in this directory.", file_okay=False),
    ] = None,
    gene_pool: Annotated[
        str | None, typer.Option(help="Gene Pool URL (default: EGP_GENE_POOL_URL).", show_default=False)
    ] = None,
) -> None:
    """Write a run's or job's report: its plots and best program in one HTML file, or plots as PNGs."""
    from egp.dashboard import require_dashboard_extra
    from egp.errors import EGPError

    if html is None and png is None:
        raise EGPError("egp report needs --html FILE, --png DIR or both")
    require_dashboard_extra()
    from egp.cli.pool_cmd import open_existing_pool
    from egp.dashboard.pages import run_page
    from egp.dashboard.report import html_report, png_figures

    pool = open_existing_pool(gene_pool)
    data = run_page(pool, run_id)
    if html is not None:
        try:
            html.write_text(html_report(data, pool.url), encoding="utf-8")
        except OSError as error:
            raise EGPError(f"cannot write {html}: {error.strerror or error}") from None
        typer.echo(f"wrote {html}", err=True)
    if png is not None:
        for path in png_figures(data, png):
            typer.echo(f"wrote {path}", err=True)
