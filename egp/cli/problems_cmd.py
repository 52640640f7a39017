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
    from egp.problems.families import FAMILIES

    for family in FAMILIES:
        pattern = f"{family.name}-{'-'.join(p.upper() for p in family.parameters)}"
        typer.echo(f"family {pattern}: {family.allowed}")


def _family_text(family: str | None, parameters: dict[str, int]) -> str:
    """A problem's family and parameters as the table shows them, e.g. `even-parity n=3`."""
    if family is None:
        return ""
    return " ".join([family, *(f"{k}={v}" for k, v in parameters.items())])
