"""`egp gc`: inspect one genetic code, by signature or from a JSON file.

A signature is looked up in the stores of `GC_STORES`, in order: the codon registry, then the Gene Pool
(`egp.cli.pool_cmd` appends a factory that returns a read-only mapping, signature → GeneticCode, over the
pool); everything else here works on any such mapping. What a store knows about a GC beyond its definition
(the Gene Pool: its lineage and statistics) comes from the providers of `GC_HISTORIES`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from egp.cli import app
from egp.errors import EGPError
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.properties import (
    ABSTRACT,
    CONSTANT,
    DETERMINISTIC,
    IS_PGC,
    LITERAL,
    PYTHON,
    SIDE_EFFECTS,
    STATIC_CREATION,
    VECTORISABLE,
    gc_type_of,
    graph_type_of,
)
from egp.genetic_code.serialization import from_json
from egp.genetic_code.signature import SIGNATURE_LENGTH
from egp.genetic_code.types import TYPES

gc_app = typer.Typer(help="Inspect genetic codes.", no_args_is_help=True)
app.add_typer(gc_app, name="gc")

_HEX = re.compile(r"[0-9a-fA-F]+")
_FLAG_BITS: tuple[tuple[str, int], ...] = (
    ("constant", CONSTANT),
    ("deterministic", DETERMINISTIC),
    ("abstract", ABSTRACT),
    ("side_effects", SIDE_EFFECTS),
    ("static_creation", STATIC_CREATION),
    ("is_pgc", IS_PGC),
    ("literal", LITERAL),
    ("python", PYTHON),
    ("vectorisable", VECTORISABLE),
)


class GCNotFoundError(EGPError):
    """No store knows a GC with the given signature."""


class GCInputError(EGPError):
    """The argument is neither a well-formed signature nor a readable JSON file of GCs."""


class _RegistryStore(Mapping[bytes, GeneticCode]):
    """The shipped codon registry seen as a read-only signature → codon mapping."""

    def __getitem__(self, signature: bytes) -> GeneticCode:
        gc = codon_registry().get(signature)
        if gc is None:
            raise KeyError(signature)
        return gc

    def __iter__(self) -> Iterator[bytes]:
        return (codon.signature for codon in codon_registry())

    def __len__(self) -> int:
        return len(codon_registry())


StoreFactory = Callable[[], Mapping[bytes, GeneticCode]]

# Where `egp gc show SIGNATURE` looks, in order. The Gene Pool lookup is appended by egp.cli.pool_cmd.
GC_STORES: list[StoreFactory] = [_RegistryStore]


class GCHistory(NamedTuple):
    """What a store knows about a GC beyond its definition: JSON keys to add and the lines that show them."""

    fields: dict[str, Any]
    lines: list[str]


# Providers of a GC's history for `egp gc show SIGNATURE` (the Gene Pool's lineage and statistics, appended by
# egp.cli.pool_cmd); None when the provider has nothing to read from.
GC_HISTORIES: list[Callable[[GeneticCode], GCHistory | None]] = []
# The keys `egp gc show SIGNATURE --json` always has: null when no provider (no Gene Pool) filled them.
HISTORY_KEYS: tuple[str, ...] = ("lineage", "statistics")


class _StoreChain(Mapping[bytes, GeneticCode]):
    """Several read-only stores seen as one; the first that knows a signature wins."""

    def __init__(self, stores: list[Mapping[bytes, GeneticCode]]) -> None:
        self._stores = stores

    def __getitem__(self, signature: bytes) -> GeneticCode:
        for store in self._stores:
            gc = store.get(signature)
            if gc is not None:
                return gc
        raise KeyError(signature)

    def __iter__(self) -> Iterator[bytes]:
        seen: set[bytes] = set()
        for store in self._stores:
            for signature in store:
                if signature not in seen:
                    seen.add(signature)
                    yield signature

    def __len__(self) -> int:
        return sum(1 for _ in self)


def lookup_store() -> Mapping[bytes, GeneticCode]:
    """One read-only mapping over every store of GC_STORES, in order."""
    return _StoreChain([factory() for factory in GC_STORES])


def parse_signature_argument(text: str) -> bytes:
    """The bytes of a 64-hex-digit signature; GCInputError naming the problem otherwise."""
    if not _HEX.fullmatch(text):
        raise GCInputError(f"{text!r} is neither a JSON file nor a hex signature")
    if len(text) != 2 * SIGNATURE_LENGTH:
        raise GCInputError(f"a signature is {2 * SIGNATURE_LENGTH} hex digits, got {len(text)}")
    return bytes.fromhex(text)


def find_gc(signature: bytes, store: Mapping[bytes, GeneticCode] | None = None) -> GeneticCode:
    """The GC with this signature from `store` (default: every store of GC_STORES)."""
    store = store if store is not None else lookup_store()
    gc = store.get(signature)
    if gc is None:
        raise GCNotFoundError(f"no GC with signature {signature.hex()} (looked in the codon registry)")
    return gc


def load_gc_file(path: Path) -> tuple[GeneticCode, dict[bytes, GeneticCode]]:
    """Validate a JSON file of one GC or a list of GCs (sub-GCs first); return the last GC and the store."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise GCInputError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise GCInputError(f"{path} is not valid JSON: {error}") from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise GCInputError(f"{path} holds an empty list of GCs")
    store: dict[bytes, GeneticCode] = {}
    gc: GeneticCode | None = None
    for position, item in enumerate(items):
        try:
            gc = from_json(item, store)
        except EGPError as error:
            where = f"{path} item {position}" if isinstance(data, list) else str(path)
            raise type(error)(f"{where}: {error}") from None
        store[gc.signature] = gc
    assert gc is not None
    return gc, store


def property_flags(properties: int) -> dict[str, Any]:
    """The properties bitfield as named fields."""
    flags: dict[str, Any] = {
        "bits": properties,
        "gc_type": gc_type_of(properties).name,
        "graph_type": graph_type_of(properties).name,
    }
    flags.update({name: bool(properties & bit) for name, bit in _FLAG_BITS})
    return flags


def describe(gc: GeneticCode, store: Mapping[bytes, GeneticCode]) -> dict[str, Any]:
    """What `egp gc show --json` prints about a GC."""
    from egp.genetic_code.execution import Executor  # numpy: only when a GC is shown

    return {
        "signature": gc.signature.hex(),
        "name": gc.name,
        "inputs": [TYPES.name(t) for t in gc.inputs],
        "outputs": [TYPES.name(t) for t in gc.outputs],
        "graph_type": gc.graph_type.name,
        "graph": gc.graph.to_json(),
        "gca": gc.gca.hex() if gc.gca else None,
        "gcb": gc.gcb.hex() if gc.gcb else None,
        "code_depth": gc.code_depth,
        "num_codes": gc.num_codes,
        "num_codons": gc.num_codons,
        "generation": gc.generation,
        "created": gc.created.isoformat(),
        "creator": str(gc.creator),
        "properties": property_flags(gc.properties),
        "source": Executor(store).source(gc),
    }


def _resolve(target: str) -> tuple[GeneticCode, Mapping[bytes, GeneticCode], bool]:
    """The GC named by a signature or held in a JSON file, a store holding its sub-GCs, and True when it
    was looked up by signature (so the stores' histories apply)."""
    path = Path(target)
    if path.is_file():
        return (*load_gc_file(path), False)
    if target.endswith(".json") or "/" in target:
        raise GCInputError(f"no such file: {target}")
    store = lookup_store()
    return find_gc(parse_signature_argument(target), store), store, True


def histories(gc: GeneticCode) -> list[GCHistory]:
    """What every provider of GC_HISTORIES knows about `gc`."""
    return [h for h in (provider(gc) for provider in GC_HISTORIES) if h is not None]


@gc_app.command("show")
def show_command(
    target: Annotated[
        str,
        typer.Argument(help="A 64-hex-digit signature, or a JSON file of one GC or a list (sub-GCs first)."),
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show a GC's interface, graph type, sizes, properties, canonical graph JSON and generated Python;
    for a signature also its lineage and statistics from the Gene Pool (ancestors, the pGC that made it,
    statistics per problem and per pGC layer)."""
    gc, store, by_signature = _resolve(target)
    info = describe(gc, store)
    found = histories(gc) if by_signature else []
    info.update(dict.fromkeys(HISTORY_KEYS))
    for history in found:
        info.update(history.fields)
    if json_output:
        typer.echo(json.dumps(info, indent=2))
        return
    console = Console(highlight=False, soft_wrap=True)
    table = Table(show_header=False, box=None, title=Text(f"GC {info['name']}"))
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")

    def add_row(field: str, value: str) -> None:
        table.add_row(field, Text(value))  # Text: type names like `list[str]` are not markup

    add_row("signature", info["signature"])
    add_row("inputs", ", ".join(info["inputs"]) or "-")
    add_row("outputs", ", ".join(info["outputs"]) or "-")
    add_row("graph type", info["graph_type"])
    for key in ("gca", "gcb"):
        if info[key]:
            add_row(key, info[key])
    add_row(
        "sizes",
        f"code_depth={gc.code_depth} num_codes={gc.num_codes} num_codons={gc.num_codons}"
        f" generation={gc.generation}",
    )
    flags = info["properties"]
    names = [name for name, _ in _FLAG_BITS if flags[name]]
    add_row("properties", f"{gc.properties:#x} {flags['gc_type']} {' '.join(names)}")
    console.print(table)
    for history in found:
        for line in history.lines:
            console.print(line, markup=False)
    console.print("graph:", style="bold")
    console.print(gc.graph.canonical_json(), markup=False)
    console.print("source:", style="bold")
    console.print(info["source"], markup=False, end="")
