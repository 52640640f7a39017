"""`egp job submit|status|wait|watch|cancel|list|resume`: distributed evolution jobs from the shell."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from egp.cli import app, print_error
from egp.cli.output import print_table, stdout_is_terminal
from egp.cli.run_options import run_options
from egp.run_settings import JobSettings

if TYPE_CHECKING:
    from rich.table import Table

    from egp.client import Job
    from egp.jobs.store import JobInfo

job_app = typer.Typer(help="Submit and follow distributed evolution jobs.", no_args_is_help=True)
app.add_typer(job_app, name="job")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a report.")]
JobId = Annotated[str, typer.Argument(help="A job id (or a unique prefix of one).")]
Timeout = Annotated[
    float | None, typer.Option(help="Give up after this many seconds (exit 1; the job goes on).")
]


def _client() -> Any:
    from egp.client import Client

    return Client()


def job_dict(info: JobInfo) -> dict[str, Any]:
    """A job as JSON, with its per-island-epoch history (generation, evaluations, best, mean, time, the
    epoch's stillborn rate and pGC layers: [pGCs, share above 0.5, mean evolvability] per layer)."""
    return info.as_dict() | {"history": list(info.progress.get("history") or [])}


def _line(info: JobInfo) -> str:
    """A job's status and progress in one line."""
    p = info.progress
    best = p.get("best")
    return (
        f"{info.id} {info.status} {info.spec.problem}: generation {p.get('generation', 0)}"
        f"/{info.spec.generations}, best {f'{best:.6f}' if isinstance(best, float) else '-'}"
        f", evaluations {p.get('evaluations', 0)}"
        + (f", {p['reason']}" if p.get("reason") else "")
        + _fitness_note(p.get("fitness"))
    )


def _fitness_note(choice: Any) -> str:
    """Where the job scores and why (fitness_mode auto measures it at the start), or nothing before that."""
    if not isinstance(choice, dict) or not choice.get("mode"):
        return ""
    return f"; fitness {choice['mode']}: {choice.get('reason') or '-'}"


def _show(info: JobInfo, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(job_dict(info)))
    else:
        typer.echo(_line(info))


def _elapsed(info: JobInfo, stamp: Any, now: datetime) -> float | None:
    """Seconds from the job's creation to `stamp` (an ISO time or None: now)."""
    if info.created is None:
        return None
    end = datetime.fromisoformat(stamp) if isinstance(stamp, str) else now
    created = info.created if info.created.tzinfo else info.created.replace(tzinfo=UTC)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    seconds = (end - created).total_seconds()
    return seconds if seconds > 0 else None


def island_rows(info: JobInfo, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per island: epoch, generation, best, mean, evaluations, evaluations/s and an ETA to the budget."""
    now = now or datetime.now(UTC)
    rows = []
    islands: dict[str, Any] = info.progress.get("islands") or {}
    for key in sorted(islands, key=int):
        entry = islands[key]
        generation = int(entry.get("generation", 0))
        evaluations = int(entry.get("evaluations", 0))
        seconds = _elapsed(info, entry.get("updated"), now)
        rate = evaluations / seconds if seconds else None
        eta = None
        if seconds and generation and not entry.get("done") and not info.status.final:
            eta = (info.spec.generations - generation) * seconds / generation
        rows.append(
            {
                "island": int(key),
                "epoch": int(entry.get("epoch", 0)),
                "generation": generation,
                "best": entry.get("best"),
                "mean": entry.get("mean"),
                "evaluations": evaluations,
                "evals_per_s": rate,
                "eta_s": eta,
                "solved": bool(entry.get("solved")),
                "done": bool(entry.get("done")),
            }
        )
    return rows


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def watch_table(info: JobInfo, now: datetime | None = None) -> Table:
    """The live view of a job: one row per island, the job's totals in the title."""
    from rich.table import Table

    p = info.progress
    best = p.get("best")
    title = (
        f"{info.id}  {info.spec.problem}  [bold]{info.status}[/bold]  best {_fmt(best, '.6f')}"
        f"  evaluations {int(p.get('evaluations', 0)):,}" + (f"  ({p['reason']})" if p.get("reason") else "")
    )
    table = Table(title=title, title_justify="left")
    for column in ("island", "epoch", "generation", "best", "mean", "evaluations", "evals/s", "ETA"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in island_rows(info, now):
        state = " solved" if row["solved"] else (" done" if row["done"] else "")
        table.add_row(
            str(row["island"]),
            str(row["epoch"]),
            f"{row['generation']}/{info.spec.generations}",
            _fmt(row["best"], ".6f") + state,
            _fmt(row["mean"], ".4f"),
            f"{row['evaluations']:,}",
            _fmt(row["evals_per_s"], ",.0f"),
            "-" if row["eta_s"] is None else f"{row['eta_s']:.0f} s",
        )
    return table


def follow(handle: Job, timeout: float | None, display: bool, poll_s: float = 0.5) -> JobInfo:
    """Poll a job until it is final: a live island table on a terminal, a line per change otherwise.

    Raises JobTimeoutError when `timeout` passes first.
    """
    from egp.client import JobTimeoutError

    deadline = None if timeout is None else time.monotonic() + timeout
    live = None
    if display and stdout_is_terminal():
        from rich.live import Live

        live = Live(auto_refresh=False)
        live.start()
    last = None
    try:
        while True:
            info = handle.info()
            if live is not None:
                live.update(watch_table(info), refresh=True)
            elif display and _line(info) != last:
                last = _line(info)
                typer.echo(last)
            if info.status.final:
                return info
            if deadline is not None and time.monotonic() >= deadline:
                raise JobTimeoutError(f"job {info.id} is still {info.status} after {timeout:g} s")
            time.sleep(poll_s)
    finally:
        if live is not None:
            live.stop()


def _wait_and_report(handle: Job, timeout: float | None, as_json: bool, show_best: bool) -> None:
    """Follow a job to its end, print it (and its best program); exit 1 unless it finished."""
    from egp.client import JobTimeoutError
    from egp.jobs.store import JobStatus

    try:
        info = follow(handle, timeout, display=not as_json)
    except JobTimeoutError as error:
        # The job is still going: not a usage error (2) but "did not finish" (1), as the help says.
        if as_json:
            typer.echo(json.dumps(job_dict(handle.info()) | {"timed_out": True}))
        print_error(str(error))
        raise typer.Exit(1) from None
    best = handle.best() if show_best else None
    if as_json:
        extra = {"best_source": best.source if best else None} if show_best else {}
        typer.echo(json.dumps(job_dict(info) | extra))
    else:
        if stdout_is_terminal():  # piped, the lines printed while following end with this one
            typer.echo(_line(info))
        if best is not None:
            typer.echo(best.source)
    if info.status != JobStatus.FINISHED:
        raise typer.Exit(1)


def set_values(items: list[str]) -> dict[str, Any]:
    """The settings of `--set KEY=VALUE` options (a JSON value, else the text itself)."""
    from egp.jobs.spec import JobError

    values: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise JobError(f"--set {item!r}: expected KEY=VALUE")
        try:
            values[key.strip().replace("-", "_")] = json.loads(raw)
        except json.JSONDecodeError:
            values[key.strip().replace("-", "_")] = raw
    return values


@job_app.command("submit")
@run_options(JobSettings)
def submit_command(
    problem: Annotated[
        str, typer.Argument(help="A problem name (see `egp problems list`) or module:attribute.")
    ],
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            help="A job setting KEY=VALUE (JSON value), repeatable; the typed options below say the same.",
        ),
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the job to end, showing progress.")] = False,
    as_json: AsJson = False,
    *,
    run: dict[str, Any],
) -> None:
    """Submit an evolution job to the worker pool and print its id (needs EGP_BROKER_URL)."""
    from egp.client import require_broker
    from egp.config import get_settings
    from egp.jobs.spec import JobError, make_spec

    values = set_values(setting or [])
    twice = sorted(set(values) & set(run))
    if twice:
        flags = ", ".join("--" + name.replace("_", "-") for name in twice)
        raise JobError(f"{flags} given both as an option and with --set: choose one")
    values |= run
    settings = get_settings()
    require_broker(settings)  # embedded mode: nothing would run the job, so nothing is written
    make_spec(problem, settings, **values)  # a bad spec is reported before any connection is made
    client = _client()
    job = client.submit(problem, **values)
    if wait:
        _wait_and_report(job, None, as_json, show_best=False)
    elif as_json:
        typer.echo(json.dumps(job_dict(job.info())))
    else:
        typer.echo(job.id)


@job_app.command("status")
def status_command(job: JobId, as_json: AsJson = False) -> None:
    """Show a job's status and progress (`--json`: with the per-island-epoch history)."""
    _show(_client().job(job).info(), as_json)


@job_app.command("wait")
def wait_command(job: JobId, timeout: Timeout = None, as_json: AsJson = False) -> None:
    """Wait for a job to end (exit 1 unless it finished), then show it and its best program."""
    _wait_and_report(_client().job(job), timeout, as_json, show_best=True)


@job_app.command("watch")
def watch_command(job: JobId, timeout: Timeout = None) -> None:
    """Watch a job live, per island: generation, best, evaluations, evals/s, ETA (exit 1 unless finished)."""
    _wait_and_report(_client().job(job), timeout, as_json=False, show_best=False)


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
    """List the newest jobs (tab-separated when piped)."""
    jobs = _client().jobs(limit)
    if as_json:
        typer.echo(json.dumps([j.as_dict() for j in jobs]))
        return
    print_table(
        ("id", "status", "problem", "generation", "best", "evaluations", "created"),
        (
            (
                info.id,
                str(info.status),
                info.spec.problem,
                str(info.progress.get("generation", 0)),
                f"{info.progress['best']:.6f}" if isinstance(info.progress.get("best"), float) else "-",
                str(info.progress.get("evaluations", 0)),
                info.created.isoformat(timespec="seconds") if info.created else "",
            )
            for info in jobs
        ),
        keys=("id", "problem"),
    )


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
