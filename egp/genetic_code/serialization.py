"""The JSON form of a GC: what travels between processes and databases. References only, never code.

`to_json` gives a plain JSON object; `from_json` validates *everything* — structure, types, the row rules,
stability, that the sub-GCs exist with matching interfaces, that a codon is one of the local trusted
registry's, the size fields and that the recomputed signature equals the claimed one — and raises
GCValidationError with a precise message on the first violation. The round trip is exact. The JSON shape
(keys, JSON types, integer ranges) is json_shapes.GCShape's; what the values mean is checked here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from egp.genetic_code.codons import CodonRegistry, codon_registry
from egp.genetic_code.gc import EGP_EPOCH, GeneticCode, build_gc, check_sub_interfaces, sizes_from
from egp.genetic_code.graph import GCValidationError, graph_from_json
from egp.genetic_code.json_shapes import GCShape, gc_problem
from egp.genetic_code.properties import KNOWN_BITS, CGraphType, GCType, gc_type_of, graph_type_of
from egp.genetic_code.signature import parse_signature

_REF_FIELDS = ("gca", "gcb", "ancestora", "ancestorb", "pgc")


def to_json(gc: GeneticCode) -> dict[str, Any]:
    """The JSON object of a stored GC (signatures as hex, no code other than a codon's own template)."""
    obj: dict[str, Any] = {
        "signature": gc.signature.hex(),
        "graph": gc.graph.to_json(),
        "gca": gc.gca.hex() if gc.gca else None,
        "gcb": gc.gcb.hex() if gc.gcb else None,
        "ancestora": gc.ancestora.hex() if gc.ancestora else None,
        "ancestorb": gc.ancestorb.hex() if gc.ancestorb else None,
        "pgc": gc.pgc.hex() if gc.pgc else None,
        "creator": str(gc.creator),
        "created": gc.created.isoformat(),
        "properties": gc.properties,
        "code_depth": gc.code_depth,
        "num_codes": gc.num_codes,
        "num_codons": gc.num_codons,
        "generation": gc.generation,
    }
    if gc.codon is not None:
        obj["codon"] = {"name": gc.codon.name, "inline": gc.codon.inline, "description": gc.codon.description}
    return obj


def _ref(value: str | None, key: str) -> bytes | None:
    """The bytes of a hex reference (None stays None); GCValidationError naming `key` if it is not one."""
    if value is None:
        return None
    try:
        return parse_signature(value)
    except ValueError as error:
        raise GCValidationError(f"{key}: {error}") from None


def from_json(
    obj: Any,
    store: Mapping[bytes, GeneticCode],
    registry: CodonRegistry | None = None,
) -> GeneticCode:
    """Validate a JSON GC against `store` (its sub-GCs) and the codon registry; return the stored GC."""
    registry = registry if registry is not None else codon_registry()
    try:
        shape = GCShape.model_validate(obj)
    except ValidationError as error:
        raise GCValidationError(gc_problem(error)) from None
    claimed = _ref(shape.signature, "signature")
    assert claimed is not None  # the shape has a string there
    refs = {key: _ref(getattr(shape, key), key) for key in _REF_FIELDS}
    try:
        creator = UUID(shape.creator)
    except ValueError:
        raise GCValidationError(f"creator {shape.creator!r} is not a UUID") from None
    try:
        created = datetime.fromisoformat(shape.created)
    except ValueError:
        raise GCValidationError(f"created {shape.created!r} is not an ISO timestamp") from None
    if created.tzinfo is None:
        raise GCValidationError("created must carry a time zone")
    if created < EGP_EPOCH:
        raise GCValidationError("created is before the EGP epoch")
    properties = shape.properties
    if properties & ~KNOWN_BITS:
        raise GCValidationError(f"properties has unknown bits set: {properties & ~KNOWN_BITS:#x}")
    try:
        gc_type = gc_type_of(properties)
        declared_graph_type = graph_type_of(properties)
    except ValueError:
        raise GCValidationError(f"properties {properties:#x} name an unknown GC or graph type") from None
    graph = graph_from_json(shape.graph)
    if graph.graph_type is not declared_graph_type:
        raise GCValidationError(
            f"properties say {declared_graph_type.name} but the graph is {graph.graph_type.name}"
        )
    sizes = {"code_depth": shape.code_depth, "num_codes": shape.num_codes, "num_codons": shape.num_codons}
    generation = shape.generation

    if gc_type is GCType.CODON:
        if graph.graph_type is not CGraphType.PRIMITIVE:
            raise GCValidationError("a codon must have a PRIMITIVE graph")
        if refs["gca"] or refs["gcb"] or refs["ancestora"] or refs["ancestorb"]:
            raise GCValidationError("a codon has no sub-GCs and no ancestors")
        known = registry.get(claimed)
        if known is None:
            raise GCValidationError(f"codon {claimed.hex()} is not in the local codon registry")
        if shape.codon is None or shape.codon.inline != (known.codon.inline if known.codon else None):
            raise GCValidationError(f"codon {claimed.hex()} does not match the registry's template")
        if (
            graph != known.graph
            or properties != known.properties
            or creator != known.creator
            or refs["pgc"] != known.pgc
            or (sizes["code_depth"], sizes["num_codes"], sizes["num_codons"], generation) != (1, 1, 1, 1)
        ):
            raise GCValidationError(f"codon {claimed.hex()} differs from the registry's definition")
        return known
    if graph.graph_type is CGraphType.PRIMITIVE:
        raise GCValidationError("only codons have PRIMITIVE graphs")
    if "codon" in shape.model_fields_set:
        raise GCValidationError("an ordinary GC may not carry a codon template")
    subs: list[GeneticCode | None] = []
    for key in ("gca", "gcb"):
        ref = refs[key]
        if ref is None:
            subs.append(None)
            continue
        sub = store.get(ref) or registry.get(ref)
        if sub is None:
            raise GCValidationError(f"{key} {ref.hex()} is not known")
        subs.append(sub)
    gca, gcb = subs
    check_sub_interfaces(graph, gca, gcb)
    depth, codes, codons, min_generation = sizes_from(graph.graph_type, gca, gcb)
    if (sizes["code_depth"], sizes["num_codes"], sizes["num_codons"]) != (depth, codes, codons):
        raise GCValidationError("size fields (code_depth, num_codes, num_codons) do not match the sub-GCs")
    if generation < min_generation:
        raise GCValidationError(f"generation {generation} is below its sub-GCs' ({min_generation})")
    gc = build_gc(
        graph,
        gca,
        gcb,
        ancestora=refs["ancestora"],
        ancestorb=refs["ancestorb"],
        pgc=refs["pgc"],
        creator=creator,
        created=created,
        generation_floor=generation,
    )
    if gc.signature != claimed:
        raise GCValidationError(f"signature mismatch: claimed {claimed.hex()}, computed {gc.signature.hex()}")
    if gc.properties != properties:
        raise GCValidationError(f"properties {properties:#x} do not match the sub-GCs ({gc.properties:#x})")
    return gc
