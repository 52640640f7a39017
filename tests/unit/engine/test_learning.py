"""Learning across problems: initial generation sources and their underflow, problem relations, the block
library and its weighting, building-block insertion, and curricula."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from egp.curriculum import evolve_curriculum
from egp.engine.blocks import BlockLibrary, load_blocks
from egp.engine.config import EvolutionConfig, EvolutionError
from egp.engine.engine import Engine
from egp.engine.gene_pool import EpochRecord, MemoryGenePool, ProblemStats
from egp.engine.relations import (
    family_distance,
    record_run_knowledge,
    related_problems,
)
from egp.engine.sources import DEFAULT_SOURCES, SourceSpec, parse_sources
from egp.genetic_code.assembly import Assembler, Expr
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.types import TYPES
from egp.physics.blocks import inverse_stack_block, stack_block
from egp.physics.context import PhysicsContext, Stillborn
from egp.problems.base import Problem
from egp.problems.registry import get_problem

BOOL = TYPES.uid("bool")
FLOAT = TYPES.uid("float")


def codon(name: str) -> GeneticCode:
    """The shipped codon with this name."""
    return codon_registry().by_name(name)


PARTS: dict[bytes, GeneticCode] = {}  # every GC the helpers assemble, so a test can store a program whole


def parity_programs(count: int, width: int = 3) -> list[GeneticCode]:
    """`count` distinct bool programs of `width` inputs: gate(gate(a, b), c) over the inputs."""
    assembler = Assembler(PARTS, [BOOL] * width)
    gates = [codon(n) for n in ("bool_and", "bool_or", "bool_nand", "bool_nor")]
    made: dict[bytes, GeneticCode] = {}
    rng = random.Random(width)
    while len(made) < count:
        a, b, c = (Expr(None, (), rng.randrange(width)) for _ in range(3))
        gc = assembler.assemble(Expr(rng.choice(gates), (Expr(rng.choice(gates), (a, b)), c)))
        made[gc.signature] = gc
    return list(made.values())


def store_scored(
    pool: MemoryGenePool, problem: Problem, gcs: list[GeneticCode], fitness: list[float]
) -> None:
    """Put `gcs` (with their sub-GCs) in `pool` with these fitnesses on `problem`, as a run would."""
    record = EpochRecord(problem=problem.identity, problem_name=problem.name)
    seen: set[bytes] = set()
    for gc in gcs:
        stack = [gc]
        while stack:
            node = stack.pop()
            if node.codon is None and node.signature not in seen:
                seen.add(node.signature)
                record.new_gcs.append(node)
                stack.extend(PARTS[s] for s in (node.gca, node.gcb) if s is not None and s in PARTS)
    record.new_gcs.sort(key=lambda g: g.code_depth)
    for gc, value in zip(gcs, fitness, strict=True):
        record.problem_stats[gc.signature] = ProblemStats(value, 1, survivability=value)
    pool.record_epoch(record)


def config(**overrides: object) -> EvolutionConfig:
    """A small run configuration."""
    values: dict[str, object] = {"population": 40, "generations": 2, "epoch_generations": 2, "seed": 5}
    values.update(overrides)
    return EvolutionConfig(**values)  # type: ignore[arg-type]


# --- sources and underflow ------------------------------------------------------------------------------


def test_an_empty_gene_pool_gives_only_spontaneous_members() -> None:
    """Every source but SPONTANEOUS is empty on an empty Gene Pool: the population is all new GCs."""
    engine = Engine(get_problem("even-parity-3"), config())
    members = engine.initial_population(0)
    assert len(members) == 40 and not engine.blocks


def test_best_takes_its_share_and_spontaneous_fills_the_rest() -> None:
    """BEST at 0.25 of 40 takes 10 of the 30 stored programs; SPONTANEOUS fills the other 30 places."""
    pool = MemoryGenePool()
    problem = get_problem("even-parity-3")
    programs = parity_programs(30)
    store_scored(pool, problem, programs, [0.5 + k / 100 for k in range(30)])
    engine = Engine(problem, config(sources=parse_sources("best=0.25,related=0")), pool)
    members = engine.initial_population(0)
    best = [
        g.signature
        for g in sorted(programs, key=lambda g: -pool.stats[problem.identity][g.signature].fitness)
    ]
    assert members[:10] == best[:10] and len(members) == 40
    assert not set(members[10:]) & set(best)


def test_underflow_none_drops_a_quota_and_next_passes_it_on() -> None:
    """A BEST quota of 30 with 5 programs: NEXT passes the 25 missing to SPONTANEOUS (population 40); NONE
    drops them, and SPONTANEOUS at 0.25 adds only its own 10."""
    pool = MemoryGenePool()
    problem = get_problem("even-parity-3")
    store_scored(pool, problem, parity_programs(5), [0.6] * 5)
    passing = Engine(problem, config(sources=parse_sources("best=0.75,related=0,spontaneous=0.25")), pool)
    assert len(passing.initial_population(0)) == 5 + 25 + 10
    dropping = Engine(
        problem, config(sources=parse_sources("best=0.75:none,related=0,spontaneous=0.25")), pool
    )
    assert len(dropping.initial_population(0)) == 5 + 10


def test_related_takes_same_interface_programs_of_related_problems() -> None:
    """polynomial-2's programs are RELATED members of polynomial-3 (same interface, re-scored on it);
    parity-3's are not members of parity-4 (another interface: they come in as building blocks)."""
    pool = MemoryGenePool()
    from egp import evolve

    evolve("polynomial-2", seed=3, gene_pool=pool, population=60, generations=3)
    source = get_problem("polynomial-2")
    stored = [g.signature for g in pool.best(source.identity, 10)]
    engine = Engine(get_problem("polynomial-3"), config(sources=parse_sources("best=0,related=0.25")), pool)
    members = engine.initial_population(0)
    assert members[:10] == stored[:10] and len(members) == 40
    assert all(
        engine.scores[s].fitness == engine.evaluator.score(engine.lookup(s)).fitness for s in members[:10]
    )
    store_scored(pool, get_problem("even-parity-3"), parity_programs(12), [0.75] * 12)
    parity = Engine(get_problem("even-parity-4"), config(sources=parse_sources("best=0,related=0.25")), pool)
    assert not set(parity.initial_population(0)) & set(pool.gcs) and parity.blocks


def test_unrelated_draws_same_interface_gcs_of_unrelated_problems() -> None:
    """multiplexer-6 and even-parity-6 share (bool×6) → bool but no family: multiplexer GCs come in only
    through UNRELATED."""
    pool = MemoryGenePool()
    store_scored(pool, get_problem("multiplexer-6"), parity_programs(8, width=6), [0.6] * 8)
    target = get_problem("even-parity-6")
    assert related_problems(target, pool) == []
    off = Engine(target, config(sources=parse_sources("best=0,related=0,unrelated=0")), pool)
    on = Engine(target, config(sources=parse_sources("best=0,related=0,unrelated=0.2")), pool)
    stored = set(pool.gcs)
    assert not set(off.initial_population(0)) & stored
    assert len(set(on.initial_population(0)) & stored) == 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("best=-1", "limit must be in [0, 1]"),
        ("best=2", "limit must be in [0, 1]"),
        ("bestest=0.5", "unknown source 'bestest'"),
        ("best=half", "expected NAME=LIMIT"),
        ("related=0.2:sometimes", "underflow must be 'next' or 'none'"),
    ],
)
def test_a_bad_source_is_one_clear_error(text: str, message: str) -> None:
    """Malformed sources name what is wrong, in one line."""
    with pytest.raises(EvolutionError) as info:
        parse_sources(text)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_sources_keep_the_spec_order_and_defaults() -> None:
    """Unnamed sources keep their defaults; the walk is BEST, DIVERSE, RELATED, UNRELATED, SPONTANEOUS."""
    parsed = parse_sources("spontaneous=1,related=0.1:none")
    assert [s.name for s in parsed] == [s.name for s in DEFAULT_SOURCES]
    assert parsed[2] == SourceSpec("related", 0.1, "none") and parsed[0] == DEFAULT_SOURCES[0]


# --- relations -------------------------------------------------------------------------------------------


def test_family_distances() -> None:
    """Distance between parameters within a family; None across families."""
    assert family_distance("even-parity-3", "even-parity-5") == 2.0
    assert family_distance("polynomial-2", "koza-quartic") == 2.0
    assert family_distance("number-tree-3-5-44", "number-tree-3-5-47") == 3.0
    assert family_distance("even-parity-3", "multiplexer-6") is None
    assert family_distance("even-parity-3", None) is None


def test_a_finished_run_records_its_relations_and_pgc_layers() -> None:
    """After polynomial-2 then polynomial-3 on one Gene Pool: one relation with family distance 1, a fitness
    distance measured on the equal interface, a shared similarity in [0, 1], and pGC figures per layer."""
    pool = MemoryGenePool()
    for name in ("polynomial-2", "polynomial-3"):
        from egp import evolve

        evolve(name, seed=2, gene_pool=pool, population=60, max_evaluations=3000)
    first, second = get_problem("polynomial-2"), get_problem("polynomial-3")
    (relation,) = pool.problem_relations(second.identity)
    assert relation.other(second.identity) == first.identity
    assert relation.family_distance == 1.0
    assert relation.fitness_distance_count == 1 and relation.fitness_distance is not None
    assert relation.shared_count == 1 and 0.0 <= (relation.shared or 0.0) <= 1.0
    figures = pool.pgc_layer_figures("polynomial")
    assert [f.layer for f in figures] == [0, 1, 2, 3] and all(f.runs == 2 for f in figures)
    assert [r.identity for r in related_problems(second, pool)] == [first.identity]


def test_recording_relations_twice_adds_the_evidence() -> None:
    """Relations merge: a second record doubles the counts."""
    pool = MemoryGenePool()
    from egp import evolve

    evolve("polynomial-2", seed=1, gene_pool=pool, population=40, max_evaluations=1000)
    engine = Engine(get_problem("polynomial-3"), config(), pool)
    record_run_knowledge(engine)
    record_run_knowledge(engine)
    (relation,) = pool.problem_relations(engine.problem_id)
    assert relation.shared_count == 2


# --- building blocks ---------------------------------------------------------------------------------------


def test_a_heavier_block_is_drawn_more_often() -> None:
    """Draws follow the weights (9 : 1); a block is never drawn for a place it cannot fit."""
    light, heavy = parity_programs(2)
    library = BlockLibrary([(heavy, 9.0), (light, 1.0)])
    rng = random.Random(3)
    counts = Counter(library.draw(rng, BOOL, (BOOL, BOOL)) for _ in range(5000))
    assert set(counts) == {heavy, light}
    assert abs(counts[heavy] / 5000 - 0.9) < 0.02
    assert library.draw(rng, BOOL, (FLOAT,)) is None  # no bool source to feed the block's inputs
    assert library.draw(rng, FLOAT, (BOOL,)) is None  # no block makes a float


def _two_programs_sharing_a_part() -> tuple[MemoryGenePool, GeneticCode, GeneticCode, bytes]:
    """even-parity-3 programs and(p, x0) (fitness 0.5) and nor(p, x1) (0.75) sharing p = nand(or(x0, x1), x2),
    stored in a Gene Pool; returns the pool, both programs and p's signature."""
    pool = MemoryGenePool()
    problem = get_problem("even-parity-3")
    store: dict[bytes, GeneticCode] = {}
    assembler = Assembler(store, [BOOL] * 3)
    x = [Expr(None, (), k) for k in range(3)]  # a store of its own: only these programs' parts
    inner = Expr(codon("bool_nand"), (Expr(codon("bool_or"), (x[0], x[1])), x[2]))
    first = assembler.assemble(Expr(codon("bool_and"), (inner, x[0])))
    second = assembler.assemble(Expr(codon("bool_nor"), (inner, x[1])))
    shared = next(s for s in (first.gca, first.gcb) if s in store and s in (second.gca, second.gcb))
    record = EpochRecord(problem=problem.identity, problem_name=problem.name)
    record.new_gcs = sorted(store.values(), key=lambda g: g.code_depth)
    record.problem_stats = {first.signature: ProblemStats(0.5, 1), second.signature: ProblemStats(0.75, 1)}
    pool.record_epoch(record)
    return pool, first, second, shared


def test_a_block_weighs_its_largest_share_of_a_good_program_times_the_problems_nearness() -> None:
    """Weight = nearness × fitness × share of the program's codons, the largest over programs: for
    even-parity-4 (parity-3 is at distance 1, nearness 1/2) each whole program weighs half its fitness and the
    shared 2-codon part 0.5 × 0.75 × 2/3 (its share of the better program)."""
    pool, first, second, shared = _two_programs_sharing_a_part()
    engine = Engine(get_problem("even-parity-4"), config(), pool)
    weights = {gc.signature: weight for gc, weight in load_blocks(engine).blocks}
    assert weights[first.signature] == pytest.approx(0.25) and weights[second.signature] == pytest.approx(
        0.375
    )
    assert weights[shared] == pytest.approx(0.5 * 0.75 * 2 / 3)
    assert engine.blocks.learned_functions(1) == [second]


def test_trivial_blocks_are_dropped_and_equal_behaviours_share_one_entry() -> None:
    """A block computing a constant (or(x0, nand(x0, x0)) is always True) or passing an input through
    (and(x1, or(x1, x1))) is no block; two GCs computing one function are one entry, the smaller GC."""
    pool = MemoryGenePool()
    problem = get_problem("even-parity-3")
    store: dict[bytes, GeneticCode] = {}
    assembler = Assembler(store, [BOOL] * 3)
    x = [Expr(None, (), k) for k in range(3)]
    constant = assembler.assemble(Expr(codon("bool_or"), (x[0], Expr(codon("bool_nand"), (x[0], x[0])))))
    passing = assembler.assemble(Expr(codon("bool_and"), (x[1], Expr(codon("bool_or"), (x[1], x[1])))))
    small = assembler.assemble(Expr(codon("bool_or"), (Expr(codon("bool_nand"), (x[0], x[1])), x[2])))
    # or(small, x2) computes what small does (small = or(nand(x0, x1), x2)): one entry, the smaller GC.
    same = assembler.assemble(
        Expr(codon("bool_or"), (Expr(codon("bool_or"), (Expr(codon("bool_nand"), (x[0], x[1])), x[2])), x[2]))
    )
    record = EpochRecord(problem=problem.identity, problem_name=problem.name)
    record.new_gcs = sorted(store.values(), key=lambda g: g.code_depth)
    record.problem_stats = {g.signature: ProblemStats(0.5, 1) for g in (constant, passing, small, same)}
    pool.record_epoch(record)
    engine = Engine(get_problem("even-parity-4"), config(), pool)
    kept = {gc.signature for gc, _ in load_blocks(engine).blocks}
    assert constant.signature not in kept and passing.signature not in kept
    assert small.signature in kept
    assert same.signature not in kept
    behaviours = [
        tuple(engine.executor.evaluate(gc, [a, b, c])[0] for a in (0, 1) for b in (0, 1) for c in (0, 1))
        for gc, _ in load_blocks(engine).blocks
    ]
    assert len(behaviours) == len(set(behaviours))


def test_learned_functions_enter_spontaneous_assembly_only_when_warm() -> None:
    """A warm engine's spontaneous GCs call the related problem's best program as a function (within the
    codon limit); a cold engine's use codons only, as before."""
    from egp.engine.population import distinct_spontaneous, epoch_rng

    pool, _first, second, _shared = _two_programs_sharing_a_part()
    warm = Engine(get_problem("even-parity-4"), config(population=200), pool)
    members = [warm.lookup(s) for s in distinct_spontaneous(warm, epoch_rng(1, 0, -1), [])]
    assert any(_contains(gc, second.signature, warm.store) for gc in members)
    assert all(gc.num_codons <= warm.max_codons and gc.inputs == warm.inputs for gc in members)
    cold = Engine(get_problem("even-parity-4"), config(population=200))
    cold_members = [cold.lookup(s) for s in distinct_spontaneous(cold, epoch_rng(1, 0, -1), [])]
    assert not any(_contains(gc, second.signature, cold.store) for gc in cold_members)


def test_a_lone_function_block_on_some_inputs_is_wrapped_to_the_full_interface() -> None:
    """An expression that is one 1-input block on the second of two inputs assembles to a 2-input GC that
    computes the block on that input."""
    store: dict[bytes, GeneticCode] = {}
    y = Expr(None, (), 0)
    block = Assembler(store, [FLOAT]).assemble(
        Expr(codon("float_add"), (y, Expr(codon("float_mul"), (y, y))))
    )
    gc = Assembler(store, [FLOAT, FLOAT]).assemble(
        Expr(block, (Expr(None, (), 1),)), filler=codon("lit_float_1")
    )
    assert gc.inputs == (FLOAT, FLOAT) and _contains(gc, block.signature, store)
    from egp.genetic_code.execution import Executor

    store.update({c.signature: c for c in codon_registry()})
    assert Executor(store).evaluate(gc, [5.0, 3.0])[0] == pytest.approx(12.0)


@pytest.mark.parametrize("mutation", [stack_block, inverse_stack_block])
def test_block_insertion_builds_a_block_into_the_program(mutation: object) -> None:
    """With a library, the offspring contains the block and keeps the interface; without one, stillborn."""
    block = parity_programs(1)[0]
    target = parity_programs(3, width=4)[2]
    store: dict[bytes, GeneticCode] = dict(PARTS)
    library = BlockLibrary([(block, 1.0)])
    gates = [codon(n) for n in ("bool_and", "bool_or", "bool_nand", "bool_nor")]
    made = 0
    for seed in range(20):
        ctx = PhysicsContext(random.Random(seed), store, gates, [], draw_block=library.draw)
        try:
            child = mutation(target, ctx)  # type: ignore[operator]
        except Stillborn:
            continue
        made += 1
        assert child.inputs == target.inputs and child.outputs == target.outputs
        assert _contains(child, block.signature, store)
    assert made > 0
    with pytest.raises(Stillborn):
        mutation(target, PhysicsContext(random.Random(0), store, gates, []))  # type: ignore[operator]


def _contains(gc: GeneticCode, signature: bytes, store: dict[bytes, GeneticCode]) -> bool:
    """Whether `signature` is `gc` or one of its sub-GCs."""
    if gc.signature == signature:
        return True
    return any(
        s is not None and s in store and _contains(store[s], signature, store) for s in (gc.gca, gc.gcb)
    )


def test_block_pgcs_join_the_pool_only_with_building_blocks() -> None:
    """A cold run has no block pGC codons (its draws are unchanged); a warm one has both."""
    cold = Engine(get_problem("even-parity-4"), config())
    assert not {"pgc_stack_block", "pgc_inverse_stack_block"} & {c.name for c in cold.pgc_codons}
    pool = MemoryGenePool()
    store_scored(pool, get_problem("even-parity-3"), parity_programs(4), [0.75] * 4)
    warm = Engine(get_problem("even-parity-4"), config(), pool)
    assert {"pgc_stack_block", "pgc_inverse_stack_block"} <= {c.name for c in warm.pgc_codons}
    off = Engine(get_problem("even-parity-4"), config(building_blocks=False), pool)
    assert not off.blocks


# --- curricula ---------------------------------------------------------------------------------------------


def test_a_curriculum_is_deterministic_per_seed() -> None:
    """Two curricula with one seed on fresh Gene Pools: the same evaluations and best programs."""

    def run() -> list[tuple[bool, int, str]]:
        results = evolve_curriculum(
            ["polynomial-2", "polynomial-3"],
            gene_pool="memory://",
            seed=4,
            population=60,
            max_evaluations=2000,
        )
        return [(r.solved, r.evaluations, r.best_signature) for r in results]

    assert run() == run()


def test_a_warm_curriculum_step_on_sqlite_is_deterministic_per_seed(tmp_path: Path) -> None:
    """even-parity-3 then even-parity-4 on two fresh SQLite Gene Pools with one seed: the same block library
    (read back from the database, learned functions first) and the same results, step by step."""
    from egp.migrations import upgrade
    from egp.storage.sql_pool import SQLGenePool

    def run(name: str) -> tuple[list[tuple[bool, int, str]], list[bytes]]:
        url = f"sqlite:///{tmp_path / name}"
        upgrade(url)
        results = evolve_curriculum(
            ["even-parity-3", "even-parity-4"], gene_pool=url, seed=2, population=80, max_evaluations=3000
        )
        pool = SQLGenePool(url)
        try:
            engine = Engine(get_problem("even-parity-4"), EvolutionConfig(seed=2), pool)
            library = [gc.signature for gc, _ in engine.blocks.blocks]
        finally:
            pool.close()
        return [(r.solved, r.evaluations, r.best_signature) for r in results], library

    first, again = run("a.db"), run("b.db")
    assert first == again
    assert first[1]  # the second step had parity-3's programs to learn from


def test_sources_are_a_run_setting_of_evolve_and_of_a_job_spec() -> None:
    """`evolve(sources=...)` and a job spec take sources as text; a bad one is one clear error each."""
    from egp import evolve
    from egp.config import load_settings
    from egp.jobs.spec import JobError, make_spec

    result = evolve("koza-quartic", seed=1, gene_pool="memory://", sources="best=0.5:none,spontaneous=1")
    assert result.evaluations == 523  # a cold run: the sources change nothing on an empty Gene Pool
    with pytest.raises(EvolutionError, match="limit must be in"):
        evolve("koza-quartic", gene_pool="memory://", sources="related=2")
    settings = load_settings(gene_pool_url="sqlite:///unused.db")
    spec, _ = make_spec("koza-quartic", settings, sources="related=0.1:none")
    assert spec.evolution_config(settings).sources == parse_sources("related=0.1:none")
    with pytest.raises(JobError, match="unknown source 'bestest'"):
        make_spec("koza-quartic", settings, sources="bestest=0.5")
