"""Stabilisation: connecting an embryo's unconnected destinations so it becomes a stored GC (domain §4.3).

The stages run in order and stop at the first that leaves the graph stable: direct connection (index to index
along the primary routes I→A, A→B, B→O, …) with compatible types, the same allowing downcasts, then random
connection among all allowed sources with compatible types, then allowing downcasts. The random stages are
retried up to MAX_ATTEMPTS times. If a destination has no possible source at all, a *steady-state exception*
is resolved by insertion: a small GC that produces the missing type from the GC's inputs is bundled beside
sub-GC A, whose new output can then feed the destination. An embryo that still cannot be stabilised is
stillborn.
"""

from __future__ import annotations

from egp.genetic_code.assembly import Assembler, random_expression
from egp.genetic_code.embryo import EmbryonicGC, freeze
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.graph import (
    ALLOWED,
    ROW_A,
    ROW_B,
    ROW_I,
    ROW_O,
    ROW_P,
    Connection,
    GCValidationError,
    Row,
)
from egp.genetic_code.properties import CGraphType
from egp.genetic_code.types import is_compatible, is_downcast
from egp.physics.context import PhysicsContext, Stillborn

MAX_ATTEMPTS = 8

# Primary (direct) routes: destination row → the source row whose endpoint k feeds destination endpoint k.
_DIRECT: dict[CGraphType, dict[Row, Row]] = {
    CGraphType.STANDARD: {ROW_A: ROW_I, ROW_B: ROW_A, ROW_O: ROW_B},
    CGraphType.IF_THEN: {ROW_A: ROW_I, ROW_O: ROW_A, ROW_P: ROW_I},
    CGraphType.IF_THEN_ELSE: {ROW_A: ROW_I, ROW_B: ROW_I, ROW_O: ROW_A, ROW_P: ROW_B},
}


def _fits(source: int, destination: int, downcast: bool) -> bool:
    return is_compatible(source, destination) or (downcast and is_downcast(source, destination))


def candidates(embryo: EmbryonicGC, row: Row, dtype: int, downcast: bool) -> list[Connection]:
    """Every allowed source endpoint that could feed destination `row` of type `dtype`."""
    allowed = ALLOWED[embryo.graph_type]
    found: list[Connection] = []
    for src_row in (ROW_I, ROW_A, ROW_B):
        if row not in allowed.get(src_row, ()):
            continue
        for idx, stype in enumerate(embryo.source_types(src_row)):
            if _fits(stype, dtype, downcast):
                found.append((src_row, idx))
    return found


def _connect_direct(embryo: EmbryonicGC, downcast: bool) -> None:
    routes = _DIRECT.get(embryo.graph_type, {})
    for row, conns in embryo.dest_conns.items():
        src_row = routes.get(row)
        if src_row is None:
            continue
        src_types = embryo.source_types(src_row)
        dst_types = embryo.dest_types[row]
        for idx, conn in enumerate(conns):
            if conn is None and idx < len(src_types) and _fits(src_types[idx], dst_types[idx], downcast):
                conns[idx] = (src_row, idx)


def _connect_random(embryo: EmbryonicGC, ctx: PhysicsContext, downcast: bool) -> bool:
    """Connect every unconnected destination at random; False if some destination has no source at all."""
    complete = True
    rng = ctx.rng
    for row, idx in embryo.unconnected():
        options = candidates(embryo, row, embryo.dest_types[row][idx], downcast)
        if options:
            embryo.dest_conns[row][idx] = options[rng.randrange(len(options))]
        else:
            complete = False
    return complete


def stabilise(embryo: EmbryonicGC, ctx: PhysicsContext) -> GeneticCode:
    """Connect, freeze and keep the embryo (and any embryonic sub-GCs); raise Stillborn if impossible.

    The graph rules refuse a downcast connection, so a downcast stage that leaves the embryo stable but
    unfreezable is undone and the next stage runs from where the compatible stages left it.
    """
    if embryo.is_stable():
        return _freeze(embryo, ctx)
    _connect_direct(embryo, downcast=False)
    if embryo.is_stable():
        return _freeze(embryo, ctx)
    initial = _snapshot(embryo)
    _connect_direct(embryo, downcast=True)
    if embryo.is_stable():
        frozen = _try_freeze(embryo, ctx)
        if frozen is not None:
            return frozen
        embryo.dest_conns = _snapshot_of(initial)
    for _attempt in range(MAX_ATTEMPTS):
        if _connect_random(embryo, ctx, downcast=False):
            return _freeze(embryo, ctx)
        possible = _connect_random(embryo, ctx, downcast=True)
        if possible:
            frozen = _try_freeze(embryo, ctx)
            if frozen is not None:
                return frozen
        embryo.dest_conns = _snapshot_of(initial)
        if not possible:
            break  # no retry can find a source that does not exist
    _connect_random(embryo, ctx, downcast=False)  # every destination that has a compatible source
    if _insert_providers(embryo, ctx) and embryo.is_stable():
        return _freeze(embryo, ctx)
    raise Stillborn("embryo could not be stabilised")


def _snapshot(embryo: EmbryonicGC) -> dict[Row, list[Connection | None]]:
    return _snapshot_of(embryo.dest_conns)


def _snapshot_of(conns: dict[Row, list[Connection | None]]) -> dict[Row, list[Connection | None]]:
    return {row: list(row_conns) for row, row_conns in conns.items()}


def _try_freeze(embryo: EmbryonicGC, ctx: PhysicsContext) -> GeneticCode | None:
    """The frozen embryo, or None if the graph rules refuse it (a downcast connection)."""
    try:
        return _freeze(embryo, ctx)
    except Stillborn:
        return None


def _insert_providers(embryo: EmbryonicGC, ctx: PhysicsContext) -> bool:
    """Resolve steady-state exceptions in rows B/O/P by bundling a provider GC beside sub-GC A."""
    if embryo.graph_type is not CGraphType.STANDARD or not isinstance(embryo.gca, GeneticCode):
        return False
    missing = [(row, idx) for row, idx in embryo.unconnected() if row in (ROW_B, ROW_O)]
    if len(missing) != len(embryo.unconnected()):
        return False
    template = embryo.gcb if isinstance(embryo.gcb, GeneticCode) else embryo.gca
    codons = [c for c in ctx.codons_for(template) if c.inputs]
    fillers = [c for c in ctx.codons_for(template) if not c.inputs]
    assembler = Assembler(ctx.store, embryo.inputs, ctx.creator)
    for row, idx in missing:
        if embryo.dest_conns[row][idx] is not None:
            continue
        dtype = embryo.dest_types[row][idx]
        try:
            expr = random_expression(ctx.rng, codons, embryo.inputs, dtype, ctx.rng.randint(1, 2), fillers)
            provider = assembler.assemble(expr, fillers[0] if fillers else None)
        except (ValueError, GCValidationError):
            return False
        ctx.keep(provider)
        old_a = embryo.gca
        assert isinstance(old_a, GeneticCode)
        bundle = EmbryonicGC(
            CGraphType.STANDARD,
            embryo.inputs,
            [*old_a.outputs, provider.outputs[0]],
            old_a,
            provider,
            ancestora=old_a.signature,
            pgc=ctx.pgc,
            creator=ctx.creator,
        )
        bundle.dest_conns[ROW_A] = list(embryo.dest_conns[ROW_A])
        bundle.dest_conns[ROW_B] = [(ROW_I, k) for k in range(len(provider.inputs))]
        out_conns: list[Connection | None] = [(ROW_A, k) for k in range(len(old_a.outputs))]
        bundle.dest_conns[ROW_O] = [*out_conns, (ROW_B, 0)]
        new_a = _freeze(bundle, ctx)
        embryo.gca = new_a
        embryo.dest_types[ROW_A] = list(new_a.inputs)
        embryo.dest_conns[ROW_A] = [(ROW_I, k) for k in range(len(new_a.inputs))]
        embryo.dest_conns[row][idx] = (ROW_A, len(new_a.outputs) - 1)
    return True


def _freeze(embryo: EmbryonicGC, ctx: PhysicsContext) -> GeneticCode:
    try:
        return freeze(embryo, ctx.store, created=ctx.created, on_new=ctx.new_gcs.append)
    except GCValidationError as error:
        raise Stillborn(f"embryo is invalid: {error}") from None
