"""`egp library`: one-off runs of the DB manager's sync with the upstream Genomic Library, and its state."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from egp.cli import app
from egp.config import display_url, get_settings

if TYPE_CHECKING:
    from egp.storage.sync import SyncReport

library_app = typer.Typer(
    help="Synchronise the Gene Pool with its upstream Genomic Library.", no_args_is_help=True
)
app.add_typer(library_app, name="library")

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _print_report(report: SyncReport, json_output: bool) -> None:
    """Print a promote or pull report."""
    if json_output:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    if report.skipped:
        typer.echo(f"{report.direction}: skipped ({report.skipped})")
        return
    typer.echo(
        f"{report.direction} {report.upstream}: {report.gcs_sent} GCs sent, {report.gcs_new} new,"
        f" {report.stats_rows} statistics rows, {report.pgc_stats_rows} pGC statistics rows,"
        f" {report.quarantined} quarantined"
    )
    for reason in report.reasons:
        typer.echo(f"  quarantined: {reason}")


@library_app.command("push")
def push_command(json_output: JsonOption = False) -> None:
    """Promote GCs passing the thresholds (with their closure) and statistic deltas to the library."""
    from egp.db import reported_errors
    from egp.storage.sync import promote, upstream_of

    settings = get_settings()
    with reported_errors(settings.gene_pool_url), reported_errors(upstream_of(settings)):
        _print_report(promote(settings.gene_pool_url, settings), json_output)


@library_app.command("pull")
def pull_command(json_output: JsonOption = False) -> None:
    """Pull the upstream's best GCs for this pool's problems, its codons and best pGCs, with their closure."""
    from egp.db import reported_errors
    from egp.storage.sync import pull, upstream_of

    settings = get_settings()
    with reported_errors(settings.gene_pool_url), reported_errors(upstream_of(settings)):
        _print_report(pull(settings.gene_pool_url, settings), json_output)


def library_status() -> dict[str, Any]:
    """The sync state with each peer, the quarantine size, and the upstream's GC count."""
    from sqlalchemy import text

    from egp.cli.pool_cmd import open_existing_pool
    from egp.db import reported_errors

    settings = get_settings()
    pool = open_existing_pool()
    with reported_errors(pool.url), pool.engine.connect() as connection:
        peers = [
            {
                "peer": r[0],
                "push_seq": int(r[1]),
                "applied_seq": int(r[2]),
                "pending": r[3] is not None,
                "last_push": str(r[4]) if r[4] else None,
                "last_pull": str(r[5]) if r[5] else None,
                "pushed_gcs": int(r[6]),
                "pulled_gcs": int(r[7]),
            }
            for r in connection.execute(
                text(
                    "SELECT peer, push_seq, applied_seq, pending, last_push, last_pull, pushed_gcs,"
                    " pulled_gcs FROM sync_state ORDER BY peer"
                )
            )
        ]
        quarantined = int(connection.execute(text("SELECT count(*) FROM quarantine")).scalar_one())
    upstream: dict[str, Any] | None = None
    if settings.library_urls:
        url = settings.library_urls[0]
        upstream = {"url": display_url(url)}
        try:
            upstream["genetic_codes"] = open_existing_pool(url).counts()["genetic_codes"]
        except Exception as error:  # status reports a down upstream; it does not fail
            upstream["error"] = str(error).splitlines()[0]
    return {
        "gene_pool": display_url(pool.url),
        "upstream": upstream,
        "peers": peers,
        "quarantined": quarantined,
    }


@library_app.command("status")
def status_command(json_output: JsonOption = False) -> None:
    """Show the upstream library, the sync state with each peer and how many imports were quarantined."""
    report = library_status()
    if json_output:
        typer.echo(json.dumps(report, indent=2))
        return
    upstream = report["upstream"]
    if upstream is None:
        typer.echo("upstream: none (set EGP_LIBRARY_URLS)")
    else:
        detail = upstream.get("error") or f"{upstream['genetic_codes']:,} GCs"
        typer.echo(f"upstream: {upstream['url']} ({detail})")
    for peer in report["peers"]:
        typer.echo(
            f"  {peer['peer']}: batch {peer['push_seq']} sent, {peer['applied_seq']} applied,"
            f" {'a batch pending, ' if peer['pending'] else ''}{peer['pushed_gcs']} GCs pushed,"
            f" {peer['pulled_gcs']} pulled; last push {peer['last_push']}, last pull {peer['last_pull']}"
        )
    typer.echo(f"quarantined imports: {report['quarantined']}")
