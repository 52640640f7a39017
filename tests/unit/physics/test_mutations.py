"""Every mutation on random valid GCs: a stable stored GC with the target's interface, or Stillborn.

For each function set (Koza float, bool parity, int with comparisons and selects, pGCs made of mutation
codons) and each mutation, seeded random targets are mutated. The offspring, when there is one, has exactly
the target's interface; every GC of its DAG is stored (or a codon) and survives the to_json → from_json round
trip (sub-GCs first, into a fresh store), which re-validates every graph rule, stability and the signature;
it executes; it records the target as `ancestora` and the pGC as `pgc`. The target and every GC stored
before are left untouched. Anything but Stillborn escaping a mutation fails the test.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from physics_support import (
    FUNCTION_SETS,
    PGC_CODONS,
    REGISTRY,
    TEST_PGC,
    FunctionSet,
    json_round_trip,
    lookup,
    make_context,
    random_target,
    run_pgc,
    sample_inputs,
    sub_gcs_first,
)

from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.serialization import to_json
from egp.physics.context import PhysicsContext, Stillborn, current
from egp.physics.mutations import literal_codon, perturb_literal
from egp.physics.registry import MUTATIONS, PHYSICS_NAMES

TARGETS_PER_SET = 24
# Mutations that must produce offspring on at least some targets of each set (the others may legitimately
# find nothing to act on, e.g. perturb_literal without literals).
MUST_SUCCEED = ("stack", "inverse_stack", "wrap", "insert_above_o", "rewire", "crossover")


def check_offspring(
    result: GeneticCode, target: GeneticCode, ctx: PhysicsContext, fset: FunctionSet, name: str
) -> None:
    """The invariants of a successful mutation."""
    assert result.inputs == target.inputs, name
    assert result.outputs == target.outputs, name
    assert result.signature != target.signature, name
    assert result.codon is None, f"{name}: a bare codon cannot record its lineage"
    assert ctx.store.get(result.signature) is result, f"{name}: offspring not kept in the store"
    assert result.ancestora == target.signature, f"{name}: ancestora is not the target"
    assert result.pgc == ctx.pgc, f"{name}: pgc is not the pGC being executed"
    assert result.num_codons <= ctx.max_codons
    for node in sub_gcs_first(result, ctx.store):
        assert node.codon is not None or node.signature in ctx.store
    json_round_trip(result, ctx.store)
    executor = Executor(ctx.store)
    if fset.output == FUNCTION_SETS["pgc"].output:
        # A pGC offspring runs: on a solution GC it gives a new GC or a stillborn, nothing else.
        solution_store: dict[bytes, GeneticCode] = dict(ctx.store)
        koza = FUNCTION_SETS["koza_float"]
        victim = random_target(random.Random(len(name)), koza, solution_store)
        child = run_pgc(result, victim, make_context(koza, solution_store, seed=7))
        assert child is None or (child.inputs, child.outputs) == (victim.inputs, victim.outputs)
        return
    columns, scalars = sample_inputs(result.inputs)
    vector = executor.evaluate(result, columns)
    scalar = executor.execute(result, scalars)
    assert len(vector) == len(scalar) == len(result.outputs)


def mutate_everything(set_name: str, mutation_name: str) -> Counter[str]:
    fset = FUNCTION_SETS[set_name]
    mutation = MUTATIONS[mutation_name]
    outcomes: Counter[str] = Counter()
    for seed in range(TARGETS_PER_SET):
        rng = random.Random(f"{set_name}:{seed}")
        store: dict[bytes, GeneticCode] = {}
        target = random_target(rng, fset, store)
        donors = [random_target(rng, fset, store) for _ in range(3)]
        before = {signature: gc for signature, gc in store.items()}
        target_json = json.dumps(to_json(target))
        ctx = make_context(fset, store, seed=seed, donors=donors)
        try:
            result = mutation(target, ctx)
        except Stillborn:
            outcomes["stillborn"] += 1
        else:
            check_offspring(result, target, ctx, fset, mutation_name)
            outcomes["offspring"] += 1
        # Immutability: the target and everything stored before are the very same, unchanged objects.
        assert json.dumps(to_json(target)) == target_json
        for signature, gc in before.items():
            assert store[signature] is gc
        # New GCs are only ever added, and each one is recorded once.
        assert len({gc.signature for gc in ctx.new_gcs}) == len(ctx.new_gcs)
        assert all(store[gc.signature] is gc for gc in ctx.new_gcs)
    return outcomes


@pytest.mark.parametrize("mutation_name", sorted(MUTATIONS))
@pytest.mark.parametrize("set_name", sorted(FUNCTION_SETS))
def test_mutation_gives_a_stable_typed_offspring_or_stillborn(set_name: str, mutation_name: str) -> None:
    """On random targets: a valid, stored, executable offspring with its lineage, or Stillborn."""
    outcomes = mutate_everything(set_name, mutation_name)
    assert sum(outcomes.values()) == TARGETS_PER_SET
    if mutation_name in MUST_SUCCEED:
        assert outcomes["offspring"] > 0, outcomes


def test_every_mutation_has_a_pgc_codon_that_runs_it() -> None:
    """Each mutation is shipped as the pGC codon `pgc_<name>` whose template calls it by name."""
    names = {c.codon.name for c in PGC_CODONS if c.codon}
    assert names == {f"pgc_{name}" for name in MUTATIONS}
    assert set(PHYSICS_NAMES) == set(MUTATIONS)
    for name in MUTATIONS:
        codon = REGISTRY.by_name(f"pgc_{name}")
        assert codon.is_pgc
        assert codon.codon is not None and codon.codon.inline == f"{name}({{i0}})"


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_pgc_codon_mutates_through_the_executor(name: str) -> None:
    """Running `pgc_<name>` with the executor under a physics context behaves like the mutation itself."""
    fset = FUNCTION_SETS["koza_float"]
    offspring = 0
    for seed in range(8):
        rng = random.Random(f"codon:{name}:{seed}")
        store: dict[bytes, GeneticCode] = {}
        target = random_target(rng, fset, store)
        donors = [random_target(rng, fset, store) for _ in range(3)]
        pgc = REGISTRY.by_name(f"pgc_{name}")
        ctx = make_context(fset, store, seed, donors)
        ctx.pgc = pgc.signature
        result = run_pgc(pgc, target, ctx)
        if result is not None:
            offspring += 1
            assert result.pgc == pgc.signature
            assert result.ancestora == target.signature
            assert (result.inputs, result.outputs) == (target.inputs, target.outputs)
    if name in MUST_SUCCEED:
        assert offspring > 0


def test_physics_outside_a_pgc_execution_is_stillborn() -> None:
    """Without an engine-set context the physics refuse to run (Stillborn, not a LookupError)."""
    with pytest.raises(Stillborn):
        current()
    store: dict[bytes, GeneticCode] = {}
    target = random_target(random.Random(1), FUNCTION_SETS["koza_float"], store)
    with pytest.raises(Stillborn):
        PHYSICS_NAMES["stack"](target)
    with pytest.raises(Stillborn, match="stored GC"):
        PHYSICS_NAMES["stack"](1.5)


def test_max_codons_is_enforced() -> None:
    """An offspring above the context's codon limit is stillborn."""
    fset = FUNCTION_SETS["koza_float"]
    store: dict[bytes, GeneticCode] = {}
    target = random_target(random.Random(3), fset, store)
    ctx = make_context(fset, store, seed=3, max_codons=target.num_codons)
    with pytest.raises(Stillborn, match="limit"):
        MUTATIONS["stack"](target, ctx)


def test_crossover_without_donors_is_stillborn() -> None:
    """Crossover needs another GC to take a node from."""
    fset = FUNCTION_SETS["koza_float"]
    store: dict[bytes, GeneticCode] = {}
    target = random_target(random.Random(4), fset, store)
    with pytest.raises(Stillborn, match="donor"):
        MUTATIONS["crossover"](target, make_context(fset, store, seed=4, donors=[target]))


def test_delete_at_the_root_keeps_the_lineage() -> None:
    """Deleting down to a sub-GC (even a lone codon) still makes a new GC that records target and pGC."""
    fset = FUNCTION_SETS["koza_float"]
    seen_codon_root = False
    for seed in range(60):
        store: dict[bytes, GeneticCode] = {}
        target = random_target(random.Random(f"delete:{seed}"), fset, store, max_codons=2)
        ctx = make_context(fset, store, seed)
        try:
            result = MUTATIONS["delete"](target, ctx)
        except Stillborn:
            continue
        assert result.ancestora == target.signature and result.pgc == TEST_PGC
        assert result.codon is None
        a = lookup(store, result.gca) if result.gca else None
        if a is not None and a.codon is not None and result.num_codons == 2 and result.gcb == result.gca:
            seen_codon_root = True
        json_round_trip(result, store)
    assert seen_codon_root, "no deletion down to a single codon was exercised"


def test_perturb_literal_makes_a_nearby_runtime_literal() -> None:
    """A float literal moves by a small Gaussian step, an int by ±1, a bool flips; the new codon validates."""
    fset = FUNCTION_SETS["koza_float"]
    store: dict[bytes, GeneticCode] = {}
    ctx = make_context(fset, store, seed=5)
    codon = literal_codon(2.5, ctx)
    assert codon.codon is not None and codon.codon.inline == "2.5" and codon.pgc == TEST_PGC
    assert REGISTRY.get(codon.signature) is codon
    assert literal_codon(3, ctx).codon.inline == "3"  # type: ignore[union-attr]
    assert literal_codon(True, ctx).codon.inline == "True"  # type: ignore[union-attr]
    with pytest.raises(Stillborn):
        literal_codon(float("nan"), ctx)
    values = []
    for seed in range(20):
        store = {}
        target = random_target(random.Random(f"lit:{seed}"), fset, store)
        ctx = make_context(fset, store, seed)
        try:
            result = perturb_literal(target, ctx)
        except Stillborn:
            continue
        new = [g for g in sub_gcs_first(result, store) if g.codon is not None and g.pgc == TEST_PGC]
        assert len(new) == 1
        assert new[0].codon is not None
        values.append(float(new[0].codon.inline))
        json_round_trip(result, store)
    assert values, "no target had a literal"
    # Shipped float literals are -1, 0.5 and 1: every perturbed value stays near one of them.
    assert all(min(abs(v - c) for c in (-1.0, 0.5, 1.0)) < 1.0 for v in values)
