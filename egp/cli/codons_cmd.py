"""`egp codons`: the shipped codon library (the only code a GC can ever run)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from egp.cli import app
from egp.cli.output import print_table
from egp.genetic_code.codons import CodonRegistry, codon_registry
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.types import TYPES

codons_app = typer.Typer(help="Inspect the shipped codon library.", no_args_is_help=True)
app.add_typer(codons_app, name="codons")

FLAGS: tuple[str, ...] = ("vectorisable", "deterministic", "side_effects", "literal", "is_pgc")


def type_names(uids: tuple[int, ...]) -> list[str]:
    """The names of a tuple of type UIDs."""
    return [TYPES.name(uid) for uid in uids]


def codon_record(registry: CodonRegistry, codon: GeneticCode) -> dict[str, Any]:
    """What `egp codons list --json` prints about one codon."""
    spec = registry.spec(codon.name)
    return {
        "name": codon.name,
        "signature": codon.signature.hex(),
        "family": spec.family,
        "inputs": type_names(codon.inputs),
        "outputs": type_names(codon.outputs),
        "inline": spec.inline,
        "description": spec.description,
        "properties": {flag: bool(getattr(spec, flag)) for flag in FLAGS},
    }


def codon_records(registry: CodonRegistry | None = None) -> list[dict[str, Any]]:
    """One record per shipped codon, in definition order (family files sorted by name)."""
    registry = registry if registry is not None else codon_registry()
    return [codon_record(registry, codon) for codon in registry]


@codons_app.command("list")
def list_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list of codon objects.")] = False,
) -> None:
    """List every codon: name, signature, input and output types, properties and family."""
    records = codon_records()
    if json_output:
        typer.echo(json.dumps(records, indent=2))
        return
    rows = []
    for record in records:
        props = record["properties"]
        letters = "".join(letter if props[flag] else "-" for letter, flag in zip("VDSLP", FLAGS, strict=True))
        rows.append(
            (
                record["name"],
                record["signature"],
                ", ".join(record["inputs"]) or "-",
                ", ".join(record["outputs"]),
                letters,
                record["family"],
            )
        )
    print_table(
        ("name", "signature", "inputs", "outputs", "props", "family"),
        rows,
        keys=("name", "signature", "props", "family"),
        title=f"{len(records)} codons",
        caption="properties: V vectorisable, D deterministic, S side effects, L literal, P is_pgc",
    )
