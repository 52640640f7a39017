"""`egp status`: is everything configured up? Broker, Gene Pool, libraries and the worker pools."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from egp.cli import app, print_error


def _database_line(label: str, report: dict[str, Any]) -> str:
    """Describe one database report in a line."""
    detail = report.get("note") or (
        f"{report['state']}, revision {report.get('revision')}, role {report.get('role')}"
        if report["ok"]
        else f"{report['state']}: {report.get('error', '')}".rstrip(": ")
    )
    return f"{label:<11}{report['url']}  {'up' if report['ok'] else 'DOWN'}  ({detail})"


def _print_human(report: dict[str, Any]) -> None:
    """Print the status report as aligned lines."""
    typer.echo(f"{'mode':<11}{report['mode']}")
    broker = report["broker"]
    if broker["url"] is None:
        typer.echo(f"{'broker':<11}none ({broker['note']})")
    else:
        typer.echo(f"{'broker':<11}{broker['url']}  {'up' if broker['ok'] else 'DOWN'}")
    typer.echo(_database_line("gene pool", report["gene_pool"]))
    for library in report["libraries"]:
        typer.echo(_database_line("library", library))
    for queue, entry in report["queues"].items():
        workers = ", ".join(entry["workers"]) or "no live worker"
        health = entry.get("health", {})
        if "gene_pool" in health:
            workers += (
                f"  (Gene Pool {'ok' if health['gene_pool']['ok'] else 'DOWN'} from {health['worker']})"
            )
        elif "error" in health:
            workers += f"  (health: {health['error']})"
        typer.echo(f"{queue:<11}{workers}")


@app.command("status")
def status_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds to wait for the broker and workers.")
    ] = 2.0,
    probe: Annotated[
        bool, typer.Option("--probe/--no-probe", help="Round-trip each live pool's health task.")
    ] = True,
) -> None:
    """Report mode, broker, Gene Pool, libraries and live workers per queue; exit non-zero if any is down."""
    from egp.config import get_settings
    from egp.status import collect_status

    report = collect_status(get_settings(), timeout=timeout, probe=probe)
    if json_output:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        _print_human(report)
    if not report["ok"]:
        problems: list[str] = report["problems"]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        # Something is down (exit 1), as opposed to a mistake in the command or settings (exit 2).
        print_error(problems[0] + more)
        raise typer.Exit(1)
