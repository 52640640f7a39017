"""`egp evolve PROBLEM`: run an evolution in this process and print the best program."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax

from egp.api import evolve
from egp.cli import app
from egp.engine.config import EvolutionConfig, GenerationRecord


@app.command("evolve")
def evolve_command(
    problem: Annotated[
        str, typer.Argument(help="A problem name (see `egp problems list`) or module:attribute.")
    ],
    population: Annotated[int, typer.Option(help="GCs per island.")] = EvolutionConfig.population,
    generations: Annotated[int, typer.Option(help="Generation budget.")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same result.")] = 0,
    islands: Annotated[int, typer.Option(help="Number of islands (migration at epoch boundaries).")] = 1,
    target: Annotated[float | None, typer.Option(help="Stop at this fitness (default: when solved).")] = None,
    max_evaluations: Annotated[int | None, typer.Option(help="Evaluation budget.")] = None,
    wall_seconds: Annotated[float | None, typer.Option(help="Wall-clock deadline in seconds.")] = None,
    meta: Annotated[
        bool, typer.Option("--meta/--no-meta", help="Evolve the pGCs too (meta-evolution).")
    ] = True,
    gene_pool: Annotated[
        str | None, typer.Option(help="Gene Pool URL (default: EGP_GENE_POOL_URL; memory:// for none).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a report.")
    ] = False,
) -> None:
    """Evolve a solution to PROBLEM and print the best program as Python source."""
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn(
            "gen {task.completed:.0f}/{task.total:.0f}  best {task.fields[best]:.4f}"
            "  evals {task.fields[evals]}"
        ),
        TimeElapsedColumn(),
        console=console,
        disable=as_json,
        transient=True,
    )
    with progress:
        task = progress.add_task(problem, total=generations, best=0.0, evals=0)

        def report(record: GenerationRecord) -> None:
            progress.update(task, completed=record.generation, best=record.best, evals=record.evaluations)

        result = evolve(
            problem,
            population=population,
            generations=generations,
            seed=seed,
            islands=islands,
            target=target,
            max_evaluations=max_evaluations,
            wall_seconds=wall_seconds,
            meta_evolution=meta,
            gene_pool=gene_pool,
            progress=report,
        )
    if as_json:
        typer.echo(json.dumps(result.summary()))
        return
    out = Console()
    state = "[green]solved[/green]" if result.solved else "[yellow]not solved[/yellow]"
    out.print(
        f"{result.problem}: {state}, best fitness {result.best_fitness:.6f}"
        f" after {result.evaluations} evaluations,"
        f" {result.generations} generations, {result.seconds:.1f} s"
    )
    out.print(f"best GC {result.best_signature}")
    out.print(Syntax(result.best_source, "python"))
