"""The SFSS stages on hand-built embryos: direct compatible, direct downcast, random compatible, random
downcast (up to MAX_ATTEMPTS), then provider insertion for a type no source has — or Stillborn.

The graph rules refuse a downcast connection (a `Real` source cannot feed a `float` destination), so an embryo
that only a downcast could connect is never stored: the downcast stages connect it, the freeze refuses it, and
the later stages (or Stillborn) decide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from physics_support import (
    BOOL,
    FLOAT,
    FUNCTION_SETS,
    REAL,
    REGISTRY,
    json_round_trip,
    lookup,
    make_context,
    sample_inputs,
)

import egp.physics.stabilise as stabilise_module
from egp.genetic_code.embryo import EmbryonicGC
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.graph import Row
from egp.genetic_code.properties import CGraphType
from egp.physics.context import PhysicsContext, Stillborn
from egp.physics.stabilise import MAX_ATTEMPTS, candidates, stabilise


def codon(name: str) -> GeneticCode:
    return REGISTRY.by_name(name)


def embryo(
    inputs: Sequence[int], outputs: Sequence[int], gca: GeneticCode, gcb: GeneticCode | None
) -> EmbryonicGC:
    graph_type = CGraphType.STANDARD if gcb is not None else CGraphType.IF_THEN
    return EmbryonicGC(graph_type, list(inputs), list(outputs), gca, gcb)


def context(seed: int = 0, set_name: str = "koza_float") -> PhysicsContext:
    return make_context(FUNCTION_SETS[set_name], {}, seed)


def conns(gc: GeneticCode, row: Row) -> tuple[tuple[Row, int], ...]:
    return tuple(gc.graph.dest_conns[row])


def test_max_attempts_is_eight() -> None:
    """The domain's SFSS retry bound."""
    assert MAX_ATTEMPTS == 8


def test_stage_1_direct_compatible_connection_suffices() -> None:
    """I→A, A→B, B→O index to index; no random draw is made."""
    ctx = context()
    state = ctx.rng.getstate()
    gc = stabilise(embryo([FLOAT], [FLOAT], codon("float_neg"), codon("float_psin")), ctx)
    assert ctx.rng.getstate() == state
    assert conns(gc, Row.A) == ((Row.I, 0),)
    assert conns(gc, Row.B) == ((Row.A, 0),)
    assert conns(gc, Row.O) == ((Row.B, 0),)
    assert ctx.store[gc.signature] is gc and ctx.new_gcs == [gc]
    assert Executor(ctx.store).execute(gc, [0.5])[0] == pytest.approx(math.sin(-0.5))


def test_an_already_stable_embryo_is_frozen_as_it_is() -> None:
    """Existing connections are kept (stabilisation only fills gaps)."""
    e = embryo([FLOAT, FLOAT], [FLOAT], codon("float_neg"), codon("float_psin"))
    e.dest_conns[Row.A] = [(Row.I, 1)]
    gc = stabilise(e, context())
    assert conns(gc, Row.A) == ((Row.I, 1),)


def test_stage_2_a_direct_downcast_is_found_but_never_stored() -> None:
    """A Real input is the only source for a float destination: the downcast stage connects it, the graph
    rules refuse it, no provider can feed row A, so the embryo is stillborn and nothing is stored."""
    e = embryo([REAL], [FLOAT], codon("float_neg"), codon("float_psin"))
    stabilise_module._connect_direct(e, downcast=False)
    assert e.dest_conns[Row.A] == [None]
    stabilise_module._connect_direct(e, downcast=True)
    assert e.dest_conns[Row.A] == [(Row.I, 0)]
    ctx = context()
    with pytest.raises(Stillborn):
        stabilise(embryo([REAL], [FLOAT], codon("float_neg"), codon("float_psin")), ctx)
    assert ctx.store == {} and ctx.new_gcs == []


def test_a_direct_downcast_does_not_preempt_a_random_compatible_source() -> None:
    """With a downcast on the direct route (I0: Real) and a compatible source elsewhere (I1: float), the
    compatible one is used: the downcast stage must not make the embryo stillborn."""
    for seed in range(5):
        ctx = context(seed)
        gc = stabilise(embryo([REAL, FLOAT], [FLOAT], codon("float_neg"), codon("float_psin")), ctx)
        assert conns(gc, Row.A) == ((Row.I, 1),)
        json_round_trip(gc, ctx.store)


def test_stage_3_random_compatible_connection() -> None:
    """float_add needs two inputs but I has one: A[1] has no direct source, so a random compatible one is
    drawn; the second output has no direct source either and is drawn among A0 and B0 over the seeds."""
    drawn = set()
    for seed in range(30):
        ctx = context(seed)
        gc = stabilise(embryo([FLOAT], [FLOAT, FLOAT], codon("float_add"), codon("float_psin")), ctx)
        assert conns(gc, Row.A) == ((Row.I, 0), (Row.I, 0))
        assert conns(gc, Row.B) == ((Row.A, 0),)
        assert conns(gc, Row.O)[0] == (Row.B, 0)
        drawn.add(conns(gc, Row.O)[1])
        json_round_trip(gc, ctx.store)
    assert drawn == {(Row.A, 0), (Row.B, 0)}


def test_candidates_follow_the_graph_rules_and_types() -> None:
    """Sources offered for a destination: only rows allowed to feed it, compatible (or downcast) types."""
    e = embryo([FLOAT, BOOL], [FLOAT], codon("float_neg"), codon("float_gt"))
    assert candidates(e, Row.A, FLOAT, False) == [(Row.I, 0)]
    assert candidates(e, Row.B, FLOAT, False) == [(Row.I, 0), (Row.A, 0)]
    assert candidates(e, Row.O, FLOAT, False) == [(Row.A, 0)]
    # bool is an int; an int destination takes a bool (compatible); a bool destination takes no float.
    assert candidates(e, Row.O, BOOL, False) == [(Row.B, 0)]
    assert candidates(e, Row.A, REAL, False) == [(Row.I, 0), (Row.I, 1)]
    # Downcast: a Real destination's sources are compatible; a float destination from Real would downcast.
    d = embryo([REAL], [FLOAT], codon("float_neg"), codon("float_psin"))
    assert candidates(d, Row.A, FLOAT, False) == []
    assert candidates(d, Row.A, FLOAT, True) == [(Row.I, 0)]


def test_stage_4_random_downcasts_are_retried_at_most_max_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A destination only a downcast can feed: random connection is tried MAX_ATTEMPTS times, then stops."""
    calls = {"compatible": 0, "downcast": 0}
    real = stabilise_module._connect_random

    def counting(e: EmbryonicGC, ctx: PhysicsContext, downcast: bool) -> bool:
        calls["downcast" if downcast else "compatible"] += 1
        return real(e, ctx, downcast)

    monkeypatch.setattr(stabilise_module, "_connect_random", counting)
    with pytest.raises(Stillborn):
        stabilise(embryo([REAL], [FLOAT], codon("float_neg"), codon("float_psin")), context())
    assert calls["downcast"] == MAX_ATTEMPTS
    assert calls["compatible"] <= MAX_ATTEMPTS + 1


def test_a_missing_source_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """When a destination has no source at all (not even by downcast) retrying cannot help: one attempt."""
    calls: list[bool] = []
    real = stabilise_module._connect_random

    def counting(e: EmbryonicGC, ctx: PhysicsContext, downcast: bool) -> bool:
        calls.append(downcast)
        return real(e, ctx, downcast)

    monkeypatch.setattr(stabilise_module, "_connect_random", counting)
    with pytest.raises(Stillborn):
        # No bool source and the Koza codons cannot make a bool: nothing can feed O[1].
        stabilise(embryo([FLOAT], [FLOAT, BOOL], codon("float_neg"), codon("float_psin")), context())
    assert calls.count(True) == 1


def test_provider_insertion_supplies_a_missing_type() -> None:
    """No source of bool exists for O[1]: a provider GC making a bool from the inputs is bundled beside A."""
    made = 0
    for seed in range(10):
        ctx = make_context(FUNCTION_SETS["int"], {}, seed)
        ctx.solution_codons = [codon("float_gt"), codon("float_lt"), codon("lit_float_0")]
        try:
            gc = stabilise(embryo([FLOAT], [FLOAT, BOOL], codon("float_neg"), codon("float_psin")), ctx)
        except Stillborn:
            continue
        made += 1
        assert gc.outputs == (FLOAT, BOOL)
        bundle = lookup(ctx.store, gc.gca)  # type: ignore[arg-type]
        assert bundle.codon is None and bundle.gca == codon("float_neg").signature
        assert bundle.outputs == (FLOAT, BOOL)
        assert conns(gc, Row.O)[1] == (Row.A, 1)
        provider = lookup(ctx.store, bundle.gcb)  # type: ignore[arg-type]
        assert provider.outputs == (BOOL,) and provider.inputs == (FLOAT,)
        json_round_trip(gc, ctx.store)
        columns, _ = sample_inputs(gc.inputs)
        out = Executor(ctx.store).evaluate(gc, columns)
        assert len(out) == 2
    assert made > 0


def test_provider_insertion_only_repairs_rows_b_and_o() -> None:
    """A missing A input (only A may be fed from I) cannot be repaired by a provider: stillborn."""
    ctx = context()
    ctx.solution_codons = [codon("float_gt"), codon("lit_float_0")]
    with pytest.raises(Stillborn):
        stabilise(embryo([BOOL], [BOOL], codon("float_gt"), codon("bool_and")), ctx)


def test_no_provider_and_no_source_is_stillborn_and_stores_nothing() -> None:
    """The Koza set makes no bool: O[1] stays unconnected, the embryo is stillborn, the store is untouched."""
    ctx = context()
    with pytest.raises(Stillborn):
        stabilise(embryo([FLOAT], [FLOAT, BOOL], codon("float_neg"), codon("float_psin")), ctx)
    assert ctx.store == {} and ctx.new_gcs == []


def test_a_conditional_embryo_connects_f_and_p() -> None:
    """IF_THEN: F takes the bool input, A and P their direct/random sources."""
    for seed in range(5):
        ctx = context(seed, "bool_parity")
        gc = stabilise(embryo([BOOL, BOOL], [BOOL], codon("bool_and"), None), ctx)
        assert gc.graph_type is CGraphType.IF_THEN
        assert conns(gc, Row.A) == ((Row.I, 0), (Row.I, 1))
        assert conns(gc, Row.O) == ((Row.A, 0),)
        assert conns(gc, Row.F)[0][0] is Row.I and conns(gc, Row.P)[0][0] is Row.I
        json_round_trip(gc, ctx.store)


def test_random_stabilisation_is_reproducible() -> None:
    """The same seed gives the same connections."""
    made = [
        stabilise(embryo([FLOAT], [FLOAT, FLOAT], codon("float_add"), codon("float_psin")), context(11))
        for _ in range(2)
    ]
    assert made[0].signature == made[1].signature
