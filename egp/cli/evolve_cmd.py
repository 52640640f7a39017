"""`egp evolve PROBLEM`: run an evolution in this process and print the best program."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from egp.cli import app
from egp.cli.output import stdout_is_terminal
from egp.cli.run_options import run_options
from egp.run_settings import EMBEDDED_DEFAULTS, RunSettings

if TYPE_CHECKING:
    from egp.engine.config import GenerationRecord

MEMORY_POOL = "memory://"


@dataclass
class Budget:
    """How far a run is through whichever of its budgets (generations, evaluations, wall time) binds."""

    generations: int
    max_evaluations: int | None = None
    wall_seconds: float | None = None

    def fraction(self, generation: int, evaluations: int, elapsed: float) -> float:
        """The largest share of any budget spent, in [0, 1]: the run ends when one reaches 1."""
        shares = [generation / self.generations]
        if self.max_evaluations:
            shares.append(evaluations / self.max_evaluations)
        if self.wall_seconds:
            shares.append(elapsed / self.wall_seconds)
        return min(1.0, max(shares))


@dataclass
class RunTracker:
    """The figures the progress bar shows: best so far, evaluations and their rate, budget spent."""

    budget: Budget
    started: float
    best: float = 0.0
    generation: int = 0
    evaluations: int = 0

    def update(self, record: GenerationRecord, now: float | None = None) -> dict[str, Any]:
        """Take one generation's record; return the bar's fields."""
        self.best = max(self.best, record.best)  # a generation's best can fall after a reseed
        self.generation = record.generation
        self.evaluations = record.evaluations
        elapsed = (time.monotonic() if now is None else now) - self.started
        return {
            "completed": self.budget.fraction(self.generation, self.evaluations, elapsed),
            "best": self.best,
            "generation": self.generation,
            "evals": self.evaluations,
            "rate": self.evaluations / elapsed if elapsed > 0 else 0.0,
        }


def program_text(header: list[str], source: str) -> str:
    """The report as a Python file: the header lines as comments, then the program's source."""
    comments = "".join(f"# {line}\n" for line in header)
    return comments + source.rstrip("\n") + "\n"


@app.command("evolve")
@run_options(RunSettings)
def evolve_command(
    problem: Annotated[
        str, typer.Argument(help="A problem name (see `egp problems list`) or module:attribute.")
    ],
    gene_pool: Annotated[
        str | None, typer.Option(help="Gene Pool URL (default: EGP_GENE_POOL_URL; memory:// for none).")
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Start from an empty in-memory Gene Pool and store nothing: the same --seed and settings"
            " then give the same result (a persistent Gene Pool seeds each run from the runs before it).",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (with per-generation history).")
    ] = False,
    *,
    run: dict[str, Any],
) -> None:
    """Evolve a solution to PROBLEM and print the best program as Python source."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from egp.api import evolve
    from egp.errors import EGPError

    if fresh:
        if gene_pool not in (None, MEMORY_POOL):
            raise EGPError("--fresh and --gene-pool: choose one (--fresh means --gene-pool memory://)")
        gene_pool = MEMORY_POOL
    chosen = EMBEDDED_DEFAULTS.model_copy(update=run)
    budget = Budget(chosen.generations, chosen.max_evaluations, chosen.wall_seconds)
    tracker = RunTracker(budget, time.monotonic())
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn(
            "gen {task.fields[generation]}  best so far {task.fields[best]:.4f}"
            "  evals {task.fields[evals]:,} ({task.fields[rate]:,.0f}/s)"
        ),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=as_json,
        transient=True,
    )
    with progress:
        task = progress.add_task(problem, total=1.0, best=0.0, generation=0, evals=0, rate=0.0)

        def report(record: GenerationRecord) -> None:
            """Move the bar: best so far, evaluations per second, share of the binding budget."""
            progress.update(task, **tracker.update(record))

        result = evolve(problem, gene_pool=gene_pool, progress=report, **run)
    if as_json:
        typer.echo(json.dumps(result.summary() | {"history": result.history_dicts()}))
        return
    header = [
        f"{result.problem}: {'solved' if result.solved else 'not solved'}, best fitness"
        f" {result.best_fitness:.6f} after {result.evaluations} evaluations,"
        f" {result.generations} generations, {result.seconds:.1f} s",
        f"best GC {result.best_signature}",
    ]
    if result.run_id is not None:
        header.append(f"run {result.run_id} (see it: egp report {result.run_id} --html run.html)")
    text = program_text(header, result.best_source)
    if stdout_is_terminal():
        from rich.syntax import Syntax

        # soft_wrap: long lines run on instead of being cropped or folded, so a copy stays valid Python.
        Console(soft_wrap=True).print(Syntax(text, "python", word_wrap=False))
    else:
        # Piped or redirected: exactly the text, so `egp evolve ... > best.py` is a valid Python file.
        typer.echo(text, nl=False)
