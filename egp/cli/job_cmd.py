"""`egp job submit|status|wait|cancel|list|resume`: distributed evolution jobs from the shell."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from egp.cli import app
from egp.jobs.store import JobInfo, JobStatus

job_app = typer.Typer(help="Submit and follow distributed evolution jobs.", no_args_is_help=True)
app.add_typer(job_app, name="job")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a report.")]
JobId = Annotated[str, typer.Argument(help="A job id (or a unique prefix of one).")]


def _client() -> Any:
    from egp.client import Client

    return Client()


def _show(info: JobInfo, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(info.as_dict()))
        return
    p = info.progress
    best = p.get("best")
    Console().print(
        f"{info.id} [bold]{info.status}[/bold] {info.spec.problem}: generation {p.get('generation', 0)}"
        f"/{info.spec.generations}, best {best if best is not None else '-'}"
        f", evaluations {p.get('evaluations', 0)}" + (f", {p['reason']}" if p.get("reason") else "")
    )


@job_app.command("submit")
def submit_command(
    problem: Annotated[
        str, typer.Argument(help="A problem name (see `egp problems list`) or module:attribute.")
    ],
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="A job setting KEY=VALUE (JSON value), repeatable."),
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the job to end, showing progress.")] = False,
    as_json: AsJson = False,
) -> None:
    """Submit an evolution job to the worker pool and print its id."""
    from egp.jobs.spec import JobError

    values: dict[str, Any] = {}
    for item in setting or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise JobError(f"--set {item!r}: expected KEY=VALUE")
        try:
            values[key.strip().replace("-", "_")] = json.loads(raw)
        except json.JSONDecodeError:
            values[key.strip().replace("-", "_")] = raw
    from egp.config import get_settings
    from egp.jobs.spec import make_spec

    make_spec(problem, get_settings(), **values)  # a bad spec is reported before any connection is made
    client = _client()
    job = client.submit(problem, **values)
    if wait:
        job.wait(progress=not as_json)
    if as_json:
        typer.echo(json.dumps(job.info().as_dict()))
    else:
        typer.echo(job.id)


@job_app.command("status")
def status_command(job: JobId, as_json: AsJson = False) -> None:
    """Show a job's status and progress."""
    _show(_client().job(job).info(), as_json)


@job_app.command("wait")
def wait_command(
    job: JobId,
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds.")] = None,
    as_json: AsJson = False,
) -> None:
    """Wait for a job to end (exit 1 unless it finished), then show it and its best program."""
    handle = _client().job(job)
    status = handle.wait(timeout=timeout, progress=not as_json)
    info = handle.info()
    best = handle.best()
    if as_json:
        typer.echo(json.dumps(info.as_dict() | {"best_source": best.source if best else None}))
    else:
        _show(info, False)
        if best is not None:
            typer.echo(best.source)
    if status != JobStatus.FINISHED:
        raise typer.Exit(1)


@job_app.command("cancel")
def cancel_command(job: JobId, as_json: AsJson = False) -> None:
    """Cancel a job; its islands stop at their next generation."""
    handle = _client().job(job)
    changed = handle.cancel()
    if as_json:
        typer.echo(json.dumps({"id": handle.id, "cancelled": changed, "status": str(handle.status())}))
    else:
        typer.echo(f"{handle.id}: {'cancelled' if changed else 'already ' + str(handle.status())}")


@job_app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(help="Show at most this many jobs, newest first.")] = 20,
    as_json: AsJson = False,
) -> None:
    """List the newest jobs."""
    jobs = _client().jobs(limit)
    if as_json:
        typer.echo(json.dumps([j.as_dict() for j in jobs]))
        return
    table = Table("id", "status", "problem", "generation", "best", "evaluations", "created")
    for info in jobs:
        p = info.progress
        table.add_row(
            info.id[:12],
            str(info.status),
            info.spec.problem,
            str(p.get("generation", 0)),
            f"{p['best']:.6f}" if isinstance(p.get("best"), float) else "-",
            str(p.get("evaluations", 0)),
            info.created.isoformat(timespec="seconds") if info.created else "",
        )
    Console().print(table)


@job_app.command("resume")
def resume_command(job: JobId, as_json: AsJson = False) -> None:
    """Re-send what a stalled job needs next (its start, or each unfinished island's next epoch)."""
    client = _client()
    handle = client.job(job)
    sent = client.resume(handle.id)
    if as_json:
        typer.echo(json.dumps({"id": handle.id, "dispatched": sent, "status": str(handle.status())}))
    elif not sent:
        typer.echo(f"{handle.id}: {handle.status()}, nothing to resume")
    else:
        shown = ", ".join("start" if s == "start" else f"island {s[0]} epoch {s[1]}" for s in sent)
        typer.echo(f"{handle.id}: sent {shown}")
