"""The genetic code (GC): an immutable, content-addressed typed function, and how one is built.

A stored `GeneticCode` is a codon (a PRIMITIVE graph whose row A is the codon's template) or an ordinary GC
with sub-GCs GCA/GCB referenced by signature, so a shared sub-GC is stored once and the whole program is a
DAG. Its mutable form under construction is egp.genetic_code.embryo's EmbryonicGC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from egp.genetic_code.graph import (
    ROW_A,
    ROW_B,
    ROW_I,
    ROW_O,
    ConnectionGraph,
    GCValidationError,
    make_graph,
)
from egp.genetic_code.properties import (
    IS_PGC,
    CGraphType,
    GCType,
    gc_type_of,
    graph_type_of,
    merge_properties,
)
from egp.genetic_code.signature import compute_signature, creator_bytes, lineage_signature, subs_signature
from egp.genetic_code.types import TYPES

# Constants from the original EGP (domain spec §1.4).
EGP_EPOCH = datetime(2019, 12, 25, 16, 26, tzinfo=UTC)
SHAPEDSUNDEW9_UUID = UUID("22c23596-df90-4b87-88a4-9409a0ea764f")
ANONYMOUS_CREATOR = UUID("1f8f45ca-0ce8-11f0-a067-73ab69491a6f")
_EGCODE_UID = TYPES.uid("EGCode")
_BOOL_UID = TYPES.uid("bool")
_PRIMITIVE = CGraphType.PRIMITIVE
_STANDARD = CGraphType.STANDARD


@dataclass(frozen=True, slots=True)
class CodonInfo:
    """What only a codon has: its name, expression template and description."""

    name: str
    inline: str
    description: str


_GC_FIELDS = (
    "signature",
    "graph",
    "gca",
    "gcb",
    "ancestora",
    "ancestorb",
    "pgc",
    "creator",
    "properties",
    "code_depth",
    "num_codes",
    "num_codons",
    "generation",
    "created",
    "codon",
)


class _GeneticCodeFields:
    """The storage of a GeneticCode, filled by plain assignment (the immutable class forbids it)."""

    __slots__ = _GC_FIELDS
    signature: bytes
    graph: ConnectionGraph
    gca: bytes | None
    gcb: bytes | None
    ancestora: bytes | None
    ancestorb: bytes | None
    pgc: bytes | None
    creator: UUID
    properties: int
    code_depth: int
    num_codes: int
    num_codons: int
    generation: int
    created: datetime
    codon: CodonInfo | None

    def __init__(
        self,
        signature: bytes,
        graph: ConnectionGraph,
        gca: bytes | None,
        gcb: bytes | None,
        ancestora: bytes | None,
        ancestorb: bytes | None,
        pgc: bytes | None,
        creator: UUID,
        properties: int,
        code_depth: int,
        num_codes: int,
        num_codons: int,
        generation: int,
        created: datetime,
        codon: CodonInfo | None = None,
    ) -> None:
        self.signature = signature
        self.graph = graph
        self.gca = gca
        self.gcb = gcb
        self.ancestora = ancestora
        self.ancestorb = ancestorb
        self.pgc = pgc
        self.creator = creator
        self.properties = properties
        self.code_depth = code_depth
        self.num_codes = num_codes
        self.num_codons = num_codons
        self.generation = generation
        self.created = created
        self.codon = codon


class GeneticCode(_GeneticCodeFields):
    """An immutable stored GC. Identity (equality, hash) is its signature.

    Every rebuilt node of every mutation is one of these, so construction is a plain slot fill followed by a
    class switch to this immutable class (a frozen dataclass's per-field `object.__setattr__` costs several
    times more); any later write raises.
    """

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> GeneticCode:
        """A GC with the given fields (in `_GC_FIELDS` order, or by name)."""
        gc = _GeneticCodeFields(*args, **kwargs)
        gc.__class__ = GeneticCode
        return gc  # type: ignore[return-value]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to do: `__new__` filled the fields."""

    def __setattr__(self, name: str, value: Any) -> None:
        """Stored GCs never change."""
        raise AttributeError(f"GeneticCode is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        """Stored GCs never change."""
        raise AttributeError(f"GeneticCode is immutable: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle by fields (the default slot restore would write attributes)."""
        return (GeneticCode, tuple(getattr(self, name) for name in _GC_FIELDS))

    @property
    def inputs(self) -> tuple[int, ...]:
        """Input type UIDs (row I)."""
        return self.graph.inputs

    @property
    def outputs(self) -> tuple[int, ...]:
        """Output type UIDs (row O)."""
        return self.graph.out_types

    @property
    def is_codon(self) -> bool:
        """True for a codon (a primitive leaf)."""
        return self.codon is not None

    @property
    def is_pgc(self) -> bool:
        """True for a physical GC: one that outputs a new GC."""
        return bool(self.properties & IS_PGC)

    @property
    def graph_type(self) -> CGraphType:
        """The graph type."""
        return self.graph.graph_type

    @property
    def name(self) -> str:
        """A short human name: the codon name, or the signature's first 8 hex digits."""
        return self.codon.name if self.codon else "gc_" + self.signature.hex()[:8]

    def __eq__(self, other: object) -> bool:
        """Two GCs are the same when their signatures are."""
        return isinstance(other, GeneticCode) and other.signature == self.signature

    def __hash__(self) -> int:
        """Hash of the signature."""
        return hash(self.signature)

    def __repr__(self) -> str:
        """Short description for debugging."""
        return f"GeneticCode({self.name}, {self.graph.graph_type.name}, codons={self.num_codons})"


def _new_gc(
    signature: bytes,
    graph: ConnectionGraph,
    gca: bytes | None,
    gcb: bytes | None,
    ancestora: bytes | None,
    ancestorb: bytes | None,
    pgc: bytes | None,
    creator: UUID,
    properties: int,
    code_depth: int,
    num_codes: int,
    num_codons: int,
    generation: int,
    created: datetime,
) -> GeneticCode:
    """GeneticCode(...) for an ordinary GC without the constructor's argument forwarding (hot path)."""
    gc = _GeneticCodeFields(
        signature,
        graph,
        gca,
        gcb,
        ancestora,
        ancestorb,
        pgc,
        creator,
        properties,
        code_depth,
        num_codes,
        num_codons,
        generation,
        created,
    )
    gc.__class__ = GeneticCode
    return gc  # type: ignore[return-value]


def make_codon(
    name: str,
    inline: str,
    inputs: tuple[int, ...],
    outputs: tuple[int, ...],
    properties: int,
    description: str = "",
    *,
    pgc: bytes | None = None,
    creator: UUID = SHAPEDSUNDEW9_UUID,
    created: datetime = EGP_EPOCH,
) -> GeneticCode:
    """Build the stored GC of a codon: I feeds the template's inputs (row A), A's outputs are the GC's."""
    graph = make_graph(
        CGraphType.PRIMITIVE,
        inputs,
        {ROW_A: inputs, ROW_O: outputs},
        {ROW_A: [(ROW_I, k) for k in range(len(inputs))], ROW_O: [(ROW_A, k) for k in range(len(outputs))]},
        {ROW_A: outputs},
    )
    if gc_type_of(properties) is not GCType.CODON or graph_type_of(properties) is not CGraphType.PRIMITIVE:
        raise GCValidationError(f"codon {name}: properties must say CODON and PRIMITIVE")
    signature = compute_signature(None, None, None, None, pgc, creator, graph.canonical_json(), inline)
    return GeneticCode(
        signature=signature,
        graph=graph,
        gca=None,
        gcb=None,
        ancestora=None,
        ancestorb=None,
        pgc=pgc,
        creator=creator,
        properties=properties,
        code_depth=1,
        num_codes=1,
        num_codons=1,
        generation=1,
        created=created,
        codon=CodonInfo(name, inline, description),
    )


def sizes_from(
    graph_type: CGraphType, gca: GeneticCode | None, gcb: GeneticCode | None, generation_floor: int = 0
) -> tuple[int, int, int, int]:
    """code_depth, num_codes, num_codons, generation of an ordinary GC from its sub-GCs."""
    if gca is None and gcb is None:
        return 1, 1, 0, max(1, generation_floor)
    if gca is None or gcb is None:
        only = gca if gca is not None else gcb
        assert only is not None
        generation = only.generation + 1
        return (
            only.code_depth + 1,
            only.num_codes + 1,
            only.num_codons,
            generation if generation > generation_floor else generation_floor,
        )
    # Both present (the common case): explicit comparisons, this runs for every node an offspring rebuilds.
    depth = (gca.code_depth if gca.code_depth > gcb.code_depth else gcb.code_depth) + 1
    generation = (gca.generation if gca.generation > gcb.generation else gcb.generation) + 1
    return (
        depth,
        gca.num_codes + gcb.num_codes + 1,
        gca.num_codons + gcb.num_codons,
        generation if generation > generation_floor else generation_floor,
    )


def build_gc(
    graph: ConnectionGraph,
    gca: GeneticCode | None,
    gcb: GeneticCode | None,
    *,
    ancestora: bytes | None = None,
    ancestorb: bytes | None = None,
    pgc: bytes | None = None,
    creator: UUID = ANONYMOUS_CREATOR,
    created: datetime | None = None,
    generation_floor: int = 0,
) -> GeneticCode:
    """Make a stored ordinary GC from a validated graph and its stored sub-GCs, computing its signature."""
    if graph.graph_type is _PRIMITIVE:
        raise GCValidationError("only codons have PRIMITIVE graphs")
    check_sub_interfaces(graph, gca, gcb)
    a_props = gca.properties if gca is not None else (gcb.properties if gcb is not None else 0)
    properties = _merged(graph.graph_type, a_props, gcb.properties if gcb is not None else None)
    if _EGCODE_UID in graph.out_types:
        properties |= IS_PGC
    else:
        properties &= ~IS_PGC
    depth, codes, codons, generation = sizes_from(graph.graph_type, gca, gcb, generation_floor)
    a_sig = gca.signature if gca is not None else None
    b_sig = gcb.signature if gcb is not None else None
    signature = compute_signature(ancestora, ancestorb, a_sig, b_sig, pgc, creator, graph.json_bytes)
    return _new_gc(
        signature,
        graph,
        a_sig,
        b_sig,
        ancestora,
        ancestorb,
        pgc,
        creator,
        properties,
        depth,
        codes,
        codons,
        generation,
        created if created is not None else datetime.now(UTC),
    )


def build_standard_gc(
    graph: ConnectionGraph, gca: GeneticCode, gcb: GeneticCode, creator: UUID, created: datetime
) -> GeneticCode:
    """`build_gc(graph, gca, gcb, creator=creator, created=created)` for a STANDARD graph made from the
    sub-GCs' own interfaces (so they match it by construction) and no lineage: the same GC, without the
    interface checks and the general signature recipe (spontaneous assembly builds thousands per run)."""
    properties = _merged(_STANDARD, gca.properties, gcb.properties)
    properties = properties | IS_PGC if _EGCODE_UID in graph.out_types else properties & ~IS_PGC
    a_sig, b_sig = gca.signature, gcb.signature
    signature = subs_signature(a_sig, b_sig, creator_bytes(creator), graph.json_bytes)
    depth = (gca.code_depth if gca.code_depth > gcb.code_depth else gcb.code_depth) + 1
    generation = (gca.generation if gca.generation > gcb.generation else gcb.generation) + 1
    return _new_gc(
        signature,
        graph,
        a_sig,
        b_sig,
        None,
        None,
        None,
        creator,
        properties,
        depth,
        gca.num_codes + gcb.num_codes + 1,
        gca.num_codons + gcb.num_codons,
        generation,
        created,
    )


def rebuild_gc(
    parent: GeneticCode,
    gca: GeneticCode,
    gcb: GeneticCode | None,
    *,
    ancestora: bytes,
    pgc: bytes | None,
    creator: UUID,
    created: datetime | None = None,
) -> GeneticCode:
    """`parent` with new sub-GCs of *exactly* the old sub-GCs' interfaces: the graph is reused as it is.

    The fast path of mutation, which rebuilds every node from a changed node up to the root: the caller
    guarantees the interfaces are unchanged, so no graph is built or checked again.
    """
    graph = parent.graph
    b_props = gcb.properties if gcb is not None else None
    properties = _merged(graph.graph_type, gca.properties, b_props)
    properties = properties | IS_PGC if parent.properties & IS_PGC else properties & ~IS_PGC
    a_sig = gca.signature
    if gcb is not None:
        b_sig: bytes | None = gcb.signature
        depth = (gca.code_depth if gca.code_depth > gcb.code_depth else gcb.code_depth) + 1
        generation = (gca.generation if gca.generation > gcb.generation else gcb.generation) + 1
        codes = gca.num_codes + gcb.num_codes + 1
        codons = gca.num_codons + gcb.num_codons
    else:
        b_sig = None
        depth, codes, codons, generation = sizes_from(graph.graph_type, gca, None)
    if b_sig is not None and pgc is not None:
        signature = lineage_signature(ancestora, a_sig, b_sig, pgc, creator_bytes(creator), graph.json_bytes)
    else:
        signature = compute_signature(ancestora, None, a_sig, b_sig, pgc, creator, graph.json_bytes)
    return _new_gc(
        signature,
        graph,
        a_sig,
        b_sig,
        ancestora,
        None,
        pgc,
        creator,
        properties,
        depth,
        codes,
        codons,
        generation,
        created if created is not None else datetime.now(UTC),
    )


def rebuild_lineage_gc(
    parent: GeneticCode,
    gca: GeneticCode,
    gcb: GeneticCode,
    pgc: bytes,
    creator: UUID,
    creator_sig: bytes,
    created: datetime | None,
) -> GeneticCode:
    """`rebuild_gc(parent, gca, gcb, ancestora=parent.signature, pgc=pgc, creator=creator, created=created)`
    with both sub-GCs and a pGC (`creator_sig`: `creator_bytes(creator)`): the same GC, positional and
    without the optional cases (every node a mutation rebuilds takes this path)."""
    graph = parent.graph
    properties = _merged(graph.graph_type, gca.properties, gcb.properties)
    properties = properties | IS_PGC if parent.properties & IS_PGC else properties & ~IS_PGC
    a_sig, b_sig, ancestora = gca.signature, gcb.signature, parent.signature
    signature = lineage_signature(ancestora, a_sig, b_sig, pgc, creator_sig, graph.json_bytes)
    a_depth, b_depth, a_gen, b_gen = gca.code_depth, gcb.code_depth, gca.generation, gcb.generation
    return _new_gc(
        signature,
        graph,
        a_sig,
        b_sig,
        ancestora,
        None,
        pgc,
        creator,
        properties,
        (a_depth if a_depth > b_depth else b_depth) + 1,
        gca.num_codes + gcb.num_codes + 1,
        gca.num_codons + gcb.num_codons,
        (a_gen if a_gen > b_gen else b_gen) + 1,
        created if created is not None else datetime.now(UTC),
    )


_MERGED: dict[tuple[CGraphType, int, int | None], int] = {}


def _merged(graph_type: CGraphType, a: int, b: int | None) -> int:
    """merge_properties, cached: a run meets a handful of property combinations millions of times."""
    key = (graph_type, a, b)
    found = _MERGED.get(key)
    if found is None:
        found = _MERGED[key] = merge_properties(graph_type, a, b)
    return found


def check_sub_interfaces(graph: ConnectionGraph, gca: GeneticCode | None, gcb: GeneticCode | None) -> None:
    """Raise GCValidationError unless rows A and B match the sub-GCs' interfaces exactly."""
    dest_types, source_types = graph.dest_types, graph.source_types
    if (
        gca is not None
        and gcb is not None
        and dest_types.get(ROW_A) == gca.graph.inputs
        and dest_types.get(ROW_B) == gcb.graph.inputs
        and source_types.get(ROW_A) == gca.graph.out_types
        and source_types.get(ROW_B) == gcb.graph.out_types
    ):
        return  # the common case, both sub-GCs matching; otherwise the checks below name the mismatch
    for row, sub in ((ROW_A, gca), (ROW_B, gcb)):
        if (row in graph.dest_types) != (sub is not None):
            raise GCValidationError(f"row {row.value} exists if and only if gc{row.value.lower()} is set")
        if sub is None:
            continue
        if graph.dest_types[row] != sub.inputs:
            raise GCValidationError(f"row {row.value}d types differ from gc{row.value.lower()}'s inputs")
        if graph.source_types[row] != sub.outputs:
            raise GCValidationError(f"row {row.value}s types differ from gc{row.value.lower()}'s outputs")


def sub_gcs(
    gc: GeneticCode, store: Mapping[bytes, GeneticCode]
) -> tuple[GeneticCode | None, GeneticCode | None]:
    """The stored sub-GCs (GCA, GCB) of `gc`; raises KeyError if the store lacks one."""
    gca = store[gc.gca] if gc.gca is not None else None
    gcb = store[gc.gcb] if gc.gcb is not None else None
    return gca, gcb
