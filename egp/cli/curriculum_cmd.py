"""`egp curriculum A B C …`: evolve several problems in order on one Gene Pool, with a summary table."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from egp.cli import app


@app.command("curriculum")
def curriculum_command(
    problems: Annotated[
        list[str], typer.Argument(help="Problems to run in order, e.g. even-parity-3 even-parity-4.")
    ],
    seed: Annotated[int, typer.Option("--seed", help="The seed of every step.")] = 0,
    max_evaluations: Annotated[
        int | None, typer.Option("--max-evaluations", min=1, help="Evaluation budget of each step.")
    ] = None,
    generations: Annotated[
        int, typer.Option("--generations", min=1, help="Generation budget of each step.")
    ] = 500,
    population: Annotated[int, typer.Option("--population", min=1, help="Population of each island.")] = 500,
    no_meta: Annotated[
        bool, typer.Option("--no-meta", help="Fixed bootstrap pGCs (no meta-evolution).")
    ] = False,
    gene_pool: Annotated[
        str | None, typer.Option("--gene-pool", help="Gene Pool URL (default EGP_GENE_POOL_URL; memory://).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object with every step.")] = False,
) -> None:
    """Evolve PROBLEMS in order on one Gene Pool: each step starts from what the earlier ones left."""
    from egp.curriculum import evolve_curriculum
    from egp.problems.registry import get_problem

    for problem in problems:
        get_problem(problem)  # every name is checked before the first step runs (a bad one: one line, exit 2)
    results = evolve_curriculum(
        problems,
        gene_pool=gene_pool,
        seed=seed,
        max_evaluations=max_evaluations,
        generations=generations,
        population=population,
        meta_evolution=not no_meta,
    )
    if as_json:
        typer.echo(json.dumps({"steps": [result.summary() for result in results]}))
        return
    from egp.cli.output import print_table

    print_table(
        ("step", "problem", "solved", "best", "evaluations", "generations", "seconds"),
        (
            (
                str(k + 1),
                step.problem,
                "yes" if step.solved else "no",
                f"{step.best_fitness:.4f}",
                str(step.evaluations),
                str(step.generations),
                f"{step.seconds:.1f}",
            )
            for k, step in enumerate(results)
        ),
        keys=("problem",),
    )
