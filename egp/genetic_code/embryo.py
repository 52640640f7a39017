"""The embryonic GC: the mutable form of a GC that physics builds and stabilises, and `freeze`.

An `EmbryonicGC` has fixed interfaces but may have unconnected destinations (it is unstable until every one is
connected); its sub-GCs may be stored GCs or embryos themselves. `freeze` turns a stable embryo (and any
embryonic sub-GCs, bottom-up) into stored, content-addressed GCs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from datetime import datetime
from typing import cast
from uuid import UUID

from egp.genetic_code.gc import ANONYMOUS_CREATOR, GeneticCode, build_gc
from egp.genetic_code.graph import (
    ROW_A,
    ROW_B,
    ROW_F,
    ROW_I,
    ROW_O,
    ROW_P,
    Connection,
    GCValidationError,
    Row,
    check_graph,
    make_graph,
)
from egp.genetic_code.properties import CGraphType
from egp.genetic_code.types import TYPES

_BOOL_UID = TYPES.uid("bool")


class EmbryonicGC:
    """A mutable GC under construction: interfaces are fixed, connections may be missing (unstable)."""

    __slots__ = (
        "ancestora",
        "ancestorb",
        "creator",
        "dest_conns",
        "dest_types",
        "gca",
        "gcb",
        "generation",
        "graph_type",
        "input_locked",
        "inputs",
        "pgc",
    )

    def __init__(
        self,
        graph_type: CGraphType,
        inputs: list[int],
        outputs: list[int],
        gca: GeneticCode | EmbryonicGC | None = None,
        gcb: GeneticCode | EmbryonicGC | None = None,
        *,
        ancestora: bytes | None = None,
        ancestorb: bytes | None = None,
        pgc: bytes | None = None,
        creator: UUID = ANONYMOUS_CREATOR,
        input_locked: bool = True,
        generation: int = 0,
    ) -> None:
        """An embryo with the given interface and sub-GCs; every destination starts unconnected."""
        self.graph_type = graph_type
        self.inputs = list(inputs)
        self.gca = gca
        self.gcb = gcb
        self.ancestora = ancestora
        self.ancestorb = ancestorb
        self.pgc = pgc
        self.creator = creator
        self.input_locked = input_locked
        self.generation = generation
        # Rows in the order O, A, B, (F, P): the random connection stage visits them in this order.
        dest_types: dict[Row, list[int]] = {ROW_O: list(outputs)}
        dest_conns: dict[Row, list[Connection | None]] = {ROW_O: [None] * len(outputs)}
        if gca is not None:
            dest_types[ROW_A] = list(gca.inputs)
            dest_conns[ROW_A] = [None] * len(gca.inputs)
        if gcb is not None:
            dest_types[ROW_B] = list(gcb.inputs)
            dest_conns[ROW_B] = [None] * len(gcb.inputs)
        if graph_type is CGraphType.IF_THEN or graph_type is CGraphType.IF_THEN_ELSE:
            dest_types[ROW_F] = [_BOOL_UID]
            dest_conns[ROW_F] = [None]
            dest_types[ROW_P] = list(outputs)
            dest_conns[ROW_P] = [None] * len(outputs)
        self.dest_types = dest_types
        self.dest_conns = dest_conns

    @property
    def outputs(self) -> list[int]:
        """Output types (row O)."""
        return self.dest_types[ROW_O]

    def source_types(self, row: Row) -> list[int] | tuple[int, ...]:
        """Types of the source endpoints of row I, A or B."""
        if row is ROW_I:
            return self.inputs
        sub = self.gca if row is ROW_A else self.gcb
        if sub is None:
            return ()
        return gca_outputs(sub)

    def sub_source_types(self) -> dict[Row, tuple[int, ...]]:
        """As/Bs interfaces of the present sub-GCs."""
        result: dict[Row, tuple[int, ...]] = {}
        if self.gca is not None:
            result[ROW_A] = tuple(gca_outputs(self.gca))
        if self.gcb is not None:
            result[ROW_B] = tuple(gca_outputs(self.gcb))
        return result

    def unconnected(self) -> list[tuple[Row, int]]:
        """Every destination endpoint without a connection."""
        return [
            (row, idx) for row, conns in self.dest_conns.items() for idx, c in enumerate(conns) if c is None
        ]

    def is_stable(self) -> bool:
        """True when every destination is connected."""
        for conns in self.dest_conns.values():  # noqa: SIM110  (a loop: no generator frame on a hot path)
            if None in conns:
                return False
        return True

    def check(self, *, require_stable: bool = False) -> None:
        """Raise GCValidationError if any connection breaks a rule (and, optionally, if unstable)."""
        check_graph(
            self.graph_type,
            self.inputs,
            self.dest_types,
            self.dest_conns,
            self.sub_source_types(),
            require_stable=require_stable,
        )


def gca_inputs(gc: GeneticCode | EmbryonicGC) -> tuple[int, ...] | list[int]:
    """Input types of a stored or embryonic GC."""
    return gc.inputs


def gca_outputs(gc: GeneticCode | EmbryonicGC) -> tuple[int, ...] | list[int]:
    """Output types of a stored or embryonic GC."""
    return gc.outputs if isinstance(gc, GeneticCode) else gc.dest_types[ROW_O]


def freeze(
    embryo: EmbryonicGC,
    store: MutableMapping[bytes, GeneticCode],
    *,
    created: datetime | None = None,
    on_new: Callable[[GeneticCode], None] | None = None,
) -> GeneticCode:
    """Turn a stable embryo (and its embryonic sub-GCs, bottom-up) into stored GCs, adding them to `store`."""
    subs: list[GeneticCode | None] = []
    for sub in (embryo.gca, embryo.gcb):
        if isinstance(sub, EmbryonicGC):
            subs.append(freeze(sub, store, created=created, on_new=on_new))
        else:
            subs.append(sub)
    gca, gcb = subs
    for row, conns in embryo.dest_conns.items():
        if None in conns:
            idx = conns.index(None)
            raise GCValidationError(f"destination {row.value}[{idx}] is not connected (unstable graph)")
    source_types: dict[Row, tuple[int, ...]] = {}
    if gca is not None:
        source_types[ROW_A] = gca.graph.out_types
    if gcb is not None:
        source_types[ROW_B] = gcb.graph.out_types
    graph = make_graph(
        embryo.graph_type,
        embryo.inputs,
        embryo.dest_types,
        # Checked above: no None remains.
        cast("Mapping[Row, Sequence[Connection]]", embryo.dest_conns),
        source_types,
    )
    gc = build_gc(
        graph,
        gca,
        gcb,
        ancestora=embryo.ancestora,
        ancestorb=embryo.ancestorb,
        pgc=embryo.pgc,
        creator=embryo.creator,
        created=created,
        generation_floor=embryo.generation,
    )
    if gc.signature not in store:
        store[gc.signature] = gc
        if on_new is not None:
            on_new(gc)
    return store[gc.signature]
