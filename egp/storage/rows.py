"""The row codec of stored GCs: a GeneticCode as a `genetic_codes` row and back, exactly.

Reads rebuild exact `GeneticCode` objects: the graph is parsed and validated from its canonical JSON and the
signature recomputed and compared, so a corrupted row is an error, never a silently different GC. Runtime
literal codons (constants made by physics) are rebuilt from their literal and registered.
"""

from __future__ import annotations

import ast
import functools
import struct
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from egp.db import as_utc
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode, make_codon
from egp.genetic_code.graph import GCValidationError, graph_from_text
from egp.genetic_code.properties import LITERAL
from egp.genetic_code.signature import compute_signature
from egp.genetic_code.types import TYPES
from egp.storage.row_limits import check_json_text, check_text_column, loads_bounded

# Columns of a stored GC, in the order rows are built, copied and read.
GC_COLUMNS: tuple[str, ...] = (
    "signature",
    "gca",
    "gcb",
    "ancestora",
    "ancestorb",
    "pgc",
    "creator",
    "created",
    "properties",
    "graph",
    "code_depth",
    "num_codes",
    "num_codons",
    "generation",
    "input_types",
    "output_types",
    "interface_key",
    "codon_name",
    "codon_inline",
    "codon_description",
    "job",
    "island",
    "epoch",
    "worker",
)

_BOOL, _INT, _FLOAT = TYPES.uid("bool"), TYPES.uid("int"), TYPES.uid("float")
_LITERAL_TYPES: dict[int, type] = {_BOOL: bool, _INT: int, _FLOAT: float}


def interface_key(inputs: Sequence[int], outputs: Sequence[int]) -> bytes:
    """The exact, ordered interface as bytes: input count, input uids, output count, output uids (uint16)."""
    return _interface_key(tuple(inputs), tuple(outputs))


@functools.lru_cache(maxsize=4096)
def _interface_key(inputs: tuple[int, ...], outputs: tuple[int, ...]) -> bytes:
    return struct.pack(f">H{len(inputs)}HH{len(outputs)}H", len(inputs), *inputs, len(outputs), *outputs)


@functools.lru_cache(maxsize=4096)
def _type_set(types: tuple[int, ...], postgres: bool) -> list[int] | str:
    """Sorted unique type uids: an INT[] value on Postgres, text "1,5,7" on SQLite (shared: never mutate)."""
    uids = sorted(set(types))
    return uids if postgres else ",".join(map(str, uids))


def gc_row(
    gc: GeneticCode,
    postgres: bool,
    job: str | None = None,
    island: int | None = None,
    epoch: int | None = None,
    worker: str | None = None,
) -> tuple[Any, ...]:
    """The `genetic_codes` row of a GC, in GC_COLUMNS order."""
    codon = gc.codon
    return (
        gc.signature,
        gc.gca,
        gc.gcb,
        gc.ancestora,
        gc.ancestorb,
        gc.pgc,
        gc.creator if postgres else gc.creator.hex,
        gc.created if postgres else sqlite_timestamp(gc.created),
        gc.properties,
        gc.graph.canonical_json(),
        gc.code_depth,
        gc.num_codes,
        gc.num_codons,
        gc.generation,
        _type_set(gc.inputs, postgres),
        _type_set(gc.outputs, postgres),
        interface_key(gc.inputs, gc.outputs),
        codon.name if codon else None,
        codon.inline if codon else None,
        codon.description if codon else None,
        job,
        island,
        epoch,
        worker,
    )


def sqlite_timestamp(moment: datetime) -> str:
    """A timestamp as SQLAlchemy stores DateTime on SQLite: naive UTC text with microseconds."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def bind_time(moment: datetime, postgres: bool) -> datetime | str:
    """A timestamp as this backend's bound parameter (SQLite: sqlite_timestamp text)."""
    return moment if postgres else sqlite_timestamp(moment)


def as_uuid(value: Any) -> UUID:
    """A UUID column's value (SQLite stores hex text) as a UUID."""
    return value if isinstance(value, UUID) else UUID(str(value))


def _opt_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def is_runtime_literal(
    name: str | None, inline: str | None, inputs: Sequence[int], outputs: Sequence[int]
) -> bool:
    """True when a codon row is a plain literal (a bool, int or float constant of its single output type)."""
    if name is None or inline is None or inputs or len(outputs) != 1 or outputs[0] not in _LITERAL_TYPES:
        return False
    try:
        value = ast.literal_eval(inline)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False
    return type(value) is _LITERAL_TYPES[outputs[0]]


def runtime_literal_codon(
    name: str,
    inline: str,
    description: str,
    graph_outputs: Sequence[int],
    properties: int,
    pgc: bytes | None,
    creator: UUID,
    created: datetime,
    signature: bytes,
) -> GeneticCode:
    """Rebuild a runtime literal codon, check its signature, and register it; GCValidationError otherwise."""
    if not is_runtime_literal(name, inline, (), graph_outputs) or not properties & LITERAL:
        raise GCValidationError(
            f"codon {name!r} is not in the local codon registry and is not a plain literal"
        )
    # Physics makes runtime literals with the shipped literal codons' properties; nothing else is trusted.
    model = codon_registry().by_name("lit_float_1" if graph_outputs[0] == _FLOAT else "lit_int_1")
    if properties != model.properties:
        raise GCValidationError(f"codon {name!r}: properties {properties:#x} are not a runtime literal's")
    codon = make_codon(
        name,
        inline,
        (),
        tuple(graph_outputs),
        properties,
        description,
        pgc=pgc,
        creator=creator,
        created=created,
    )
    if codon.signature != signature:
        raise GCValidationError(
            f"codon {signature.hex()}: recomputed signature {codon.signature.hex()} differs"
        )
    codon_registry().add_runtime_codon(codon)
    return codon


def gc_from_row(row: Mapping[Any, Any]) -> GeneticCode:
    """Rebuild the exact GeneticCode of a `genetic_codes` row; GCValidationError if it is inconsistent."""
    signature = bytes(row["signature"])
    known = codon_registry().get(signature)
    if known is not None:
        return known
    try:
        graph = graph_from_text(check_json_text(row["graph"]))
    except GCValidationError as error:
        raise GCValidationError(f"GC {signature.hex()}: {error}") from None
    creator = as_uuid(row["creator"])
    created = as_utc(row["created"])
    pgc = _opt_bytes(row["pgc"])
    if row["codon_inline"] is not None:
        return runtime_literal_codon(
            row["codon_name"],
            row["codon_inline"],
            row["codon_description"] or "",
            graph.outputs,
            int(row["properties"]),
            pgc,
            creator,
            created,
            signature,
        )
    refs = [_opt_bytes(row[key]) for key in ("ancestora", "ancestorb", "gca", "gcb")]
    computed = compute_signature(refs[0], refs[1], refs[2], refs[3], pgc, creator, graph.canonical_json())
    if computed != signature:
        raise GCValidationError(f"GC {signature.hex()}: recomputed signature {computed.hex()} differs")
    return GeneticCode(
        signature=signature,
        graph=graph,
        gca=refs[2],
        gcb=refs[3],
        ancestora=refs[0],
        ancestorb=refs[1],
        pgc=pgc,
        creator=creator,
        properties=int(row["properties"]),
        code_depth=int(row["code_depth"]),
        num_codes=int(row["num_codes"]),
        num_codons=int(row["num_codons"]),
        generation=int(row["generation"]),
        created=created,
        codon=None,
    )


def gc_json_from_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The JSON object (serialization.to_json form) of a `genetic_codes` row, for from_json validation.

    The row may come from another database: its graph is parsed under the limits of `row_limits` and its
    codon texts bounded, so a hostile row raises GCValidationError (or a TypeError/ValueError of a column of
    the wrong type) instead of exhausting the parser.
    """

    def hexed(key: str) -> str | None:
        """The column `key` as hex text (None stays None)."""
        value = row[key]
        return None if value is None else bytes(value).hex()

    graph = loads_bounded(row["graph"])
    obj: dict[str, Any] = {
        "signature": hexed("signature"),
        "graph": graph,
        "gca": hexed("gca"),
        "gcb": hexed("gcb"),
        "ancestora": hexed("ancestora"),
        "ancestorb": hexed("ancestorb"),
        "pgc": hexed("pgc"),
        "creator": str(as_uuid(row["creator"])),
        "created": as_utc(row["created"]).isoformat(),
        "properties": int(row["properties"]),
        "code_depth": int(row["code_depth"]),
        "num_codes": int(row["num_codes"]),
        "num_codons": int(row["num_codons"]),
        "generation": int(row["generation"]),
    }
    if row["codon_inline"] is not None:
        obj["codon"] = {
            "name": check_text_column(row["codon_name"], "codon name"),
            "inline": check_text_column(row["codon_inline"], "codon inline"),
            "description": check_text_column(row["codon_description"], "codon description") or "",
        }
    return obj


__all__ = [
    "GC_COLUMNS",
    "as_uuid",
    "bind_time",
    "gc_from_row",
    "gc_json_from_row",
    "gc_row",
    "interface_key",
    "is_runtime_literal",
    "runtime_literal_codon",
    "sqlite_timestamp",
]
