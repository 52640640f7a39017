"""The JSON form of a GC: what travels between processes and databases. References only, never code.

`to_json` gives a plain JSON object; `from_json` validates *everything* — structure, types, the row rules,
stability, that the sub-GCs exist with matching interfaces, that a codon is one of the local trusted
registry's, the size fields and that the recomputed signature equals the claimed one — and raises
GCValidationError with a precise message on the first violation. The round trip is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from egp.genetic_code.codons import CodonRegistry, codon_registry
from egp.genetic_code.gc import EGP_EPOCH, GeneticCode, build_gc, check_sub_interfaces, sizes_from
from egp.genetic_code.graph import GCValidationError, graph_from_json
from egp.genetic_code.properties import KNOWN_BITS, CGraphType, GCType, gc_type_of, graph_type_of
from egp.genetic_code.signature import parse_signature

_REF_FIELDS = ("gca", "gcb", "ancestora", "ancestorb", "pgc")
_FIELDS = (
    "signature",
    "graph",
    *_REF_FIELDS,
    "creator",
    "created",
    "properties",
    "code_depth",
    "num_codes",
    "num_codons",
    "generation",
)


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


def _ref(obj: Mapping[str, Any], key: str) -> bytes | None:
    value = obj[key]
    if value is None:
        return None
    if not isinstance(value, str):
        raise GCValidationError(f"{key} must be a hex signature or null")
    try:
        return parse_signature(value)
    except ValueError as error:
        raise GCValidationError(f"{key}: {error}") from None


def _int_field(obj: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = obj[key]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise GCValidationError(f"{key} must be an integer in [{low}, {high}], got {value!r}")
    return value


def from_json(
    obj: Any,
    store: Mapping[bytes, GeneticCode],
    registry: CodonRegistry | None = None,
) -> GeneticCode:
    """Validate a JSON GC against `store` (its sub-GCs) and the codon registry; return the stored GC."""
    registry = registry if registry is not None else codon_registry()
    if not isinstance(obj, dict):
        raise GCValidationError("a GC must be a JSON object")
    for key in _FIELDS:
        if key not in obj:
            raise GCValidationError(f"GC JSON lacks field {key!r}")
    unknown = set(obj) - set(_FIELDS) - {"codon"}
    if unknown:
        raise GCValidationError(f"GC JSON has unknown field(s) {sorted(unknown)}")
    claimed = _ref(obj, "signature")
    if claimed is None:
        raise GCValidationError("signature must not be null")
    refs = {key: _ref(obj, key) for key in _REF_FIELDS}
    try:
        creator = UUID(str(obj["creator"]))
    except ValueError:
        raise GCValidationError(f"creator {obj['creator']!r} is not a UUID") from None
    try:
        created = datetime.fromisoformat(str(obj["created"]))
    except ValueError:
        raise GCValidationError(f"created {obj['created']!r} is not an ISO timestamp") from None
    if created.tzinfo is None:
        raise GCValidationError("created must carry a time zone")
    if created < EGP_EPOCH:
        raise GCValidationError("created is before the EGP epoch")
    properties = _int_field(obj, "properties", 0, 2**63 - 1)
    if properties & ~KNOWN_BITS:
        raise GCValidationError(f"properties has unknown bits set: {properties & ~KNOWN_BITS:#x}")
    try:
        gc_type = gc_type_of(properties)
        declared_graph_type = graph_type_of(properties)
    except ValueError:
        raise GCValidationError(f"properties {properties:#x} name an unknown GC or graph type") from None
    graph = graph_from_json(obj["graph"])
    if graph.graph_type is not declared_graph_type:
        raise GCValidationError(
            f"properties say {declared_graph_type.name} but the graph is {graph.graph_type.name}"
        )
    sizes = {key: _int_field(obj, key, 0, 2**31 - 1) for key in ("code_depth", "num_codes", "num_codons")}
    generation = _int_field(obj, "generation", 1, 2**63 - 1)

    if gc_type is GCType.CODON:
        if graph.graph_type is not CGraphType.PRIMITIVE:
            raise GCValidationError("a codon must have a PRIMITIVE graph")
        if refs["gca"] or refs["gcb"] or refs["ancestora"] or refs["ancestorb"]:
            raise GCValidationError("a codon has no sub-GCs and no ancestors")
        known = registry.get(claimed)
        if known is None:
            raise GCValidationError(f"codon {claimed.hex()} is not in the local codon registry")
        codon = obj.get("codon")
        if not isinstance(codon, dict) or codon.get("inline") != (
            known.codon.inline if known.codon else None
        ):
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
    if "codon" in obj:
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
