"""`egp problems list`: the problems EGP can evolve solutions for."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from egp.cli import app
from egp.cli.output import print_table

problems_app = typer.Typer(
    help="Problems: the shipped ones and any registered by entry point.", no_args_is_help=True
)
app.add_typer(problems_app, name="problems")


@problems_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
) -> None:
    """List every known problem with its interface, case count and identity."""
    from egp.problems.registry import list_problems  # numpy: only when listing

    rows = [
        {
            "name": problem.name,
            "family": problem.family,
            "parameters": dict(problem.parameters),
            "version": problem.version,
            "inputs": list(problem.inputs),
            "outputs": list(problem.outputs),
            "cases": problem.cases().count,
            "vectorised": problem.vectorised,
            "codons": list(problem.codons) if problem.codons is not None else None,
            "identity": problem.identity.hex(),
            "description": problem.description,
        }
        for problem in list_problems()
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    print_table(
        ("name", "family", "inputs → outputs", "cases", "description"),
        (
            (
                str(row["name"]),
                _family_text(row["family"], row["parameters"]),  # type: ignore[arg-type]
                f"({', '.join(row['inputs'])}) → ({', '.join(row['outputs'])})",  # type: ignore[arg-type]
                str(row["cases"]),
                str(row["description"]),
            )
            for row in rows
        ),
        keys=("name",),
    )
    from egp.cli.output import stdout_is_terminal
    from egp.problems.families import FAMILIES

    if not stdout_is_terminal():
        return  # piped: the table alone, tab-separated
    for family in FAMILIES:
        pattern = f"{family.name}-{'-'.join(p.upper() for p in family.parameters)}"
        typer.echo(f"family {pattern}: {family.allowed}")


def _family_text(family: str | None, parameters: dict[str, int]) -> str:
    """A problem's family and parameters as the table shows them, e.g. `even-parity n=3`."""
    if family is None:
        return ""
    return " ".join([family, *(f"{k}={v}" for k, v in parameters.items())])


@problems_app.command("related")
def related_command(
    problem: Annotated[str, typer.Argument(help="A problem name (or module:attribute).")],
    gene_pool: Annotated[
        str | None, typer.Option("--gene-pool", help="Gene Pool URL (default EGP_GENE_POOL_URL).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
) -> None:
    """List the problems of the Gene Pool related to PROBLEM, with the evidence: declared family distance,
    measured fitness distance and shared sub-GCs."""
    from egp.api import open_pool
    from egp.engine.relations import describe_relations
    from egp.problems.registry import get_problem

    chosen = get_problem(problem)
    pool = open_pool(gene_pool)
    try:
        rows = describe_relations(chosen, pool)
    finally:
        pool.close()
    if as_json:
        typer.echo(json.dumps(rows))
        return

    def number(value: object) -> str:
        """A figure as the table shows it (– when unmeasured)."""
        return "–" if value is None else f"{float(value):.3g}"  # type: ignore[arg-type]

    print_table(
        ("problem", "related", "family distance", "fitness distance (n)", "shared sub-GCs (n)"),
        (
            (
                str(row["problem"]),
                "yes" if row["related"] else "no",
                number(row["family_distance"]),
                f"{number(row['fitness_distance'])} ({row['fitness_measurements']})",
                f"{number(row['shared_sub_gcs'])} ({row['shared_measurements']})",
            )
            for row in rows
        ),
        keys=("problem",),
    )
