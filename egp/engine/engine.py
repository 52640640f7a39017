"""The Engine: one problem's evolution state against one Gene Pool, and one generation of an island.

One generation: pick parents weighted by survivability; for each, pick a pGC with the 4/2/1 category rule
(the master selector z0) and run it on the parent; the offspring is stabilised by the physics or is
stillborn. Offspring already scored on the problem are not scored again (signature lookup); the others are
scored on the problem's cases, computing only their new sub-GCs. Δ = child − parent fitness updates the
parent's evolvability and rolls up the chain of pGCs that made the pGC (meta-evolution). Survivors are the
island's elite plus the fittest offspring, one per behaviour first.

Everything random flows from `random.Random` instances seeded from (seed, island, epoch), and no iteration
depends on hash order, so the same seed, settings and code give the same best GC.
"""

from __future__ import annotations

import functools
import gc
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import numpy as np

from egp.engine import breeding, lineage, population, sources, survival
from egp.engine.blocks import BlockLibrary, load_blocks
from egp.engine.breeding import Offspring
from egp.engine.config import EvolutionConfig, EvolutionError
from egp.engine.evaluation import CaseEvaluator, Score
from egp.engine.gene_pool import EpochRecord, GenePool, MemoryGenePool, ProblemStats
from egp.engine.meta_evolution import use_pgc
from egp.engine.pgc_pool import PgcCategories, PgcPools, choose_pgc
from egp.engine.population import Island
from egp.engine.relations import RelatedProblem, related_problems
from egp.genetic_code.assembly import Assembler, ExpressionMaker
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.types import TYPES
from egp.physics.context import PhysicsContext
from egp.problems.base import Problem

LITERAL_PERTURBATION = "pgc_perturb_literal"  # the pGC codon that needs literal codons to act on
BLOCK_PGCS = ("pgc_stack_block", "pgc_inverse_stack_block")  # the pGC codons that need building blocks
_GC_TYPES = ("GCABC", "GGCode", "EGCode")  # endpoint types of codons that act on GCs, not on problem data


class ScoreBook(dict[bytes, Score]):
    """The engine's scores by signature, keeping the highest fitness stored so far.

    stop_now runs after every scored offspring; with a target fitness it needs only that maximum, which a scan
    of every score would make O(scores) per offspring.
    """

    top_fitness: float = float("-inf")

    def __setitem__(self, signature: bytes, score: Score) -> None:
        """Store `score` and raise top_fitness if it is higher."""
        super().__setitem__(signature, score)
        if score.fitness > self.top_fitness:
            self.top_fitness = score.fitness


class Engine:
    """Runs evolution of one problem against one Gene Pool."""

    def __init__(
        self,
        problem: Problem,
        config: EvolutionConfig,
        gene_pool: GenePool | None = None,
        *,
        job: str | None = None,
        evaluator: CaseEvaluator | None = None,
        load_pgcs: bool = True,
        blocks: BlockLibrary | None = None,
    ) -> None:
        """An engine for `problem` with `config`, reading from and writing to `gene_pool`.

        `evaluator`, an earlier engine's evaluator for the same problem, keeps its sub-GC output cache warm
        (content-keyed, so no result changes); it looks sub-GCs up in this engine's store from now on.
        `load_pgcs=False` starts from the bootstrap pGC codons (a job's island restores its own pools);
        `blocks`, a building-block library fixed elsewhere (a job's), instead of one read from the Gene Pool.
        """
        config.check()
        self.problem = problem
        self.config = config
        self.pool: GenePool = gene_pool if gene_pool is not None else MemoryGenePool()
        self.job = job
        self.problem_id = problem.identity
        registry = codon_registry()
        # The working store starts with the shipped codons, so every sub-GC lookup on the hot paths is one
        # dictionary probe (codons are never persisted: persist skips shipped signatures).
        self.store: dict[bytes, GeneticCode] = {codon.signature: codon for codon in registry}
        self.executor = Executor(self.store, config.l1_cache_bytes)
        if evaluator is not None and evaluator.problem.identity == problem.identity:
            evaluator.executor = self.executor
            self.evaluator = evaluator
        else:
            self.evaluator = CaseEvaluator(problem, self.executor, config.l2_cache_bytes)
        self.inputs = tuple(TYPES.uid(t) for t in problem.inputs)
        self.outputs = tuple(TYPES.uid(t) for t in problem.outputs)
        if problem.codons is not None:
            self.solution_codons = [registry.by_name(name) for name in problem.codons]
        else:
            gc_types = {TYPES.uid(name) for name in _GC_TYPES}
            self.solution_codons = [
                c
                for c in registry
                if not c.is_pgc and not any(t in gc_types for t in (*c.inputs, *c.outputs))
            ]
        self.literals = [c for c in self.solution_codons if not c.inputs]
        self.functions = [c for c in self.solution_codons if c.inputs]
        # GCs written to (or read from) the Gene Pool, and the shipped codons, which every database has.
        self.persisted: set[bytes] = {codon.signature for codon in registry}
        # What the Gene Pool is known to hold (with sub-GCs): the codons, what was read from it and what was
        # committed to it. `persisted` also holds what is queued for the epoch's commit.
        self.in_gene_pool: set[bytes] = set(self.persisted)
        self.max_codons = config.max_codons if config.max_codons is not None else problem.max_codons
        # Building blocks from the Gene Pool (empty on an empty one, or with building_blocks off).
        if not config.building_blocks:
            self.blocks = BlockLibrary([])
        elif blocks is not None:
            self.blocks = blocks
            self.load_closure([block.signature for block, _ in blocks.blocks])
        else:
            self.blocks = load_blocks(self)
        # Spontaneous assembly draws from the codons and the heaviest building blocks (at most half as many
        # as there are function codons): what earlier problems taught enters as functions, as ADFs would.
        # On an empty Gene Pool there are none and spontaneous GCs are exactly those of a cold run.
        learned = self.blocks.learned_functions((len(self.functions) + 1) // 2)
        self.expressions = ExpressionMaker([*self.functions, *learned], self.inputs, self.literals)
        # A problem without literal codons can never have a literal perturbed, nor a run without building
        # blocks insert one: leaving those pGC codons out keeps every pGC built from them (and their certain
        # stillborns) out of the run.
        self.pgc_codons = [
            c
            for c in registry
            if c.is_pgc
            and (self.literals or c.name != LITERAL_PERTURBATION)
            and (self.blocks or c.name not in BLOCK_PGCS)
        ]
        self.scores = ScoreBook()
        self.niche = (config.survivability or problem.survivability) == "niche"
        self.initial_max_codons = (
            config.initial_max_codons if config.initial_max_codons is not None else problem.initial_max_codons
        )
        self.drift_growth = config.drift_growth if config.drift_growth is not None else problem.drift_growth
        self.reseed = config.reseed if config.reseed is not None else problem.reseed
        if config.reseed is None and not 0.0 <= problem.reseed <= 1.0:  # the run's own is checked by check()
            raise EvolutionError(f"problem {problem.name}: reseed must be in [0, 1], got {problem.reseed}")
        self.survivability: dict[bytes, float] = {}
        self.evolvability: dict[bytes, tuple[float, int]] = {}
        # The pGCs that improved each lineage (for the 4/2/1 choice), and this generation's additions.
        self.effective: dict[bytes, tuple[bytes, ...]] = {}
        self.effective_pending: dict[bytes, tuple[bytes, ...]] = {}
        self.pgcs = PgcPools(self.pgc_codons, config.pgc_layers, config.pgc_pool_limit)
        # Offspring already given their first statistics, and those statistics until the GC is stored.
        self.credited: set[bytes] = set()
        self.pending_stats: dict[bytes, ProblemStats] = {}
        # GCs that entered a population since its island's last flush (and the island): their first
        # statistics are in that island's record, and `flush` decides whether they are stored.
        self.joined: dict[bytes, int] = {}
        self.evaluations = 0
        self.offspring = 0
        self.stillborn = 0
        self.score_hits = 0
        self.pgcs_evolved = 0
        self.solved_by: GeneticCode | None = None
        self.timing: dict[str, float] = {"breed": 0.0, "evaluate": 0.0, "bookkeeping": 0.0}
        # This generation's figures (reset by `generation`).
        self.generation_evaluations = 0
        self.generation_stillborn = 0
        self.generation_offspring = 0
        self.current_donors: Sequence[GeneticCode] | None = None
        # Each pGC layer's pool as crossover donors for evolving pGCs, with the pool they were made from.
        # The assembler of spontaneous GCs, kept for the run (egp.engine.population.distinct_spontaneous).
        self.assembler: Assembler | None = None
        self.pool_donors: dict[int, tuple[list[bytes], list[GeneticCode], dict[bytes, int] | None]] = {}
        # The context pGCs run in, reused for every run (the fields that change are set per run).
        self.physics = PhysicsContext(
            rng=random.Random(0),
            store=self.store,
            solution_codons=self.solution_codons,
            pgc_codons=self.pgc_codons,
            creator=config.creator,
            draw_block=self.blocks.draw,
        )
        if load_pgcs:
            self.pgcs.load(self.pool, self.load_closure)
            self.load_pgc_chains()

    @functools.cached_property
    def related(self) -> list[RelatedProblem]:
        """The Gene Pool's problems related to this one, closest first, read once when first needed (the
        block library and the RELATED and UNRELATED sources all use them)."""
        return related_problems(self.problem, self.pool)

    # -- the working store -------------------------------------------------------------------------------
    def load_closure(self, signatures: Sequence[bytes]) -> bool:
        """Copy GCs and their sub-GCs from the Gene Pool into the working store (False if one is missing)."""
        registry = codon_registry()
        wanted = [s for s in signatures if s not in self.store and registry.get(s) is None]
        while wanted:
            found = self.pool.get_many(wanted)
            if len(found) != len(set(wanted)):
                return False
            following: list[bytes] = []
            for signature in wanted:
                loaded = found[signature]
                self.store[signature] = loaded
                self.persisted.add(signature)
                self.in_gene_pool.add(signature)
                for sub in (loaded.gca, loaded.gcb):
                    if sub is not None and sub not in self.store and registry.get(sub) is None:
                        following.append(sub)
            wanted = list(dict.fromkeys(following))
        return True

    def load_pgc_chains(self) -> None:
        """Load the pGCs that made each pooled pGC: Δ rolls up that chain and may evolve any of them."""
        wanted = [s for layer in self.pgcs.pool for s in layer]
        seen: set[bytes] = set()
        while wanted:
            self.load_closure(wanted)
            following: list[bytes] = []
            for signature in wanted:
                if signature in seen:
                    continue
                seen.add(signature)
                made = self.store.get(signature)
                if made is not None and made.pgc is not None and made.pgc not in seen:
                    following.append(made.pgc)
            wanted = following

    def lookup(self, signature: bytes) -> GeneticCode:
        """A GC known to this run: in the working store, or a codon."""
        return self.executor._lookup(signature)

    # -- scores ------------------------------------------------------------------------------------------
    def score(self, genetic_code: GeneticCode) -> Score:
        """The score of `genetic_code` on the problem: from the score book, or evaluated (and counted)."""
        cached = self.scores.get(genetic_code.signature)
        if cached is not None:
            self.score_hits += 1
            return cached
        started = time.perf_counter()
        score = self.evaluator.score(genetic_code)
        self.timing["evaluate"] += time.perf_counter() - started
        self.scores[genetic_code.signature] = score
        self.evaluations += 1
        self.generation_evaluations += 1
        self.survivability.setdefault(genetic_code.signature, score.fitness)
        if score.solved and self.solved_by is None:
            self.solved_by = genetic_code
        return score

    def fitness(self, signature: bytes) -> float:
        """The fitness of a scored GC."""
        return self.scores[signature].fitness

    def best_signature(self) -> bytes | None:
        """The fittest scored GC so far (ties: fewer codons, then signature)."""
        if self.solved_by is not None:
            return self.solved_by.signature
        if not self.scores:
            return None
        return min(self.scores, key=lambda s: (-self.scores[s].fitness, self.lookup(s).num_codons, s))

    def stop_now(self) -> bool:
        """Whether the run should stop: solved (with no target), the target reached, or the budget spent."""
        config = self.config
        if self.solved_by is not None and config.target is None and config.stop_when_solved:
            return True
        if config.target is not None and self.scores.top_fitness >= config.target:
            return True
        return config.max_evaluations is not None and self.evaluations >= config.max_evaluations

    # -- pGC selection -----------------------------------------------------------------------------------
    def select_pgc(
        self, target: GeneticCode, layer: int, rng: random.Random, categories: PgcCategories | None = None
    ) -> GeneticCode:
        """The master selector z0's pGC (`choose_pgc`) for `target` from layer `layer`'s pool (`categories`:
        that layer's, as breeding fixed them for its generation)."""
        chosen = choose_pgc(
            categories if categories is not None else self.pgcs.categories(layer),
            self.effective.get(target.signature),
            rng.random,
        )
        return self.executor._lookup(chosen)

    # -- one generation ----------------------------------------------------------------------------------
    def generation(self, island: Island, rng: random.Random) -> None:
        """Breed one generation on `island`, score the new offspring and keep the survivors.

        In this process each offspring is bred just before it is scored, so a run that stops mid-generation
        (solved, target, budget) does not breed offspring it would never look at. A batched evaluator (the
        executor pool) gets the whole generation first, to score it in one fan-out. Both see the same
        offspring: breeding has its own RNG stream and reads only what the generation started with.
        """
        self.generation_evaluations = 0
        self.generation_stillborn = 0
        self.generation_offspring = 0
        with self.generation_scope():
            self.integrate(island, self.breed(island, rng), rng)

    @contextmanager
    def generation_scope(self) -> Iterator[None]:
        """The hot loop's conditions for a batch of breeding and scoring: numpy's floating-point warnings
        silenced, one creation time stamp for the new GCs, the cyclic garbage collector paused and what the
        batch left alive frozen out of its sight afterwards.

        GCs divide by zero and overflow as a matter of course; entering numpy's error state once per GC costs
        more than scoring a small one. A generation allocates many small objects that it nearly all keeps
        (new GCs, graphs, cached outputs), which the collector would otherwise scan again and again. The
        engine makes no reference cycles of its own (its closures recurse through weak proxies), so frozen
        objects are still freed by reference counting when dropped; `flush` unfreezes at every epoch
        boundary, so any cycle made meanwhile is collected as usual afterwards.
        """
        evaluator = self.evaluator
        outer = getattr(evaluator, "numpy_quiet", False)
        self.physics.created = datetime.now(UTC)
        collecting = gc.isenabled()
        gc.disable()
        with np.errstate(all="ignore"):
            evaluator.numpy_quiet = True
            try:
                yield
            finally:
                evaluator.numpy_quiet = outer
                if collecting:
                    gc.freeze()
                    gc.enable()

    def breed(self, island: Island, rng: random.Random) -> Iterator[Offspring]:
        """One generation's offspring, bred one by one as they are asked for (`breeding.breed`)."""
        return breeding.breed(self, island, rng)

    def unscored(self, bred: Sequence[Offspring]) -> list[GeneticCode]:
        """The distinct offspring in `bred` that have no score on the problem yet (in breeding order)."""
        return breeding.unscored(self, bred)

    def integrate(self, island: Island, bred: Iterable[Offspring], rng: random.Random) -> None:
        """Score the offspring (from the score book where possible), credit Δ to parents and pGCs (evolving
        the pGCs that reached N uses), keep the survivors and reseed a stagnant island.

        Stops taking offspring in as soon as the run should stop (solved, target or evaluation budget).
        """
        record = island.record
        assert record is not None
        # Remote fitness: the whole generation is bred first, for the executor pool to score its new
        # offspring in one fan-out. In-process `bred` may stay lazy, bred as the loop asks.
        if self.evaluator.batched:
            # An evaluator that can `stream` sends offspring out in chunks while the rest are bred.
            stream = getattr(self.evaluator, "stream", None)
            if stream is not None:
                bred = stream(bred, self.unscored)
            else:
                bred = list(bred)
                self.evaluator.prefetch(self.unscored(bred))
        children: list[bytes] = []
        pending = iter(bred)
        timing = self.timing
        clock = time.perf_counter
        # The stop test comes before the next offspring is asked for: a lazy one is not even bred.
        while not self.stop_now():
            offspring = next(pending, None)
            if offspring is None:
                break
            parent_sig, pgc, child = offspring.parent, offspring.pgc, offspring.child
            self.offspring += 1
            self.generation_offspring += 1
            if child is None:
                self.stillborn += 1
                self.generation_stillborn += 1
                delta = -1.0
            else:
                score = self.score(child)
                delta = score.fitness - self.fitness(parent_sig)
                started = clock()
                lineage.child_statistics(self, record, parent_sig, child, score, delta, pgc)
                children.append(child.signature)
                timing["bookkeeping"] += clock() - started
            started = clock()
            parent_delta = lineage.problem_delta(record, parent_sig)
            parent_delta.evolvability_total += max(delta, 0.0)
            parent_delta.evolvability_count += 1
            use_pgc(self, record, pgc, 0, delta, rng)
            timing["bookkeeping"] += clock() - started
        # The pGCs that improved this generation's children count for breeding from the next generation on
        # (breeding reads only what its generation started with).
        self.effective.update(self.effective_pending)
        self.effective_pending.clear()
        self.select_survivors(island, children)
        lineage.store_new_members(self, island)
        population.check_stagnation(self, island, rng)

    # -- islands -----------------------------------------------------------------------------------------
    def initial_population(self, island: int) -> list[bytes]:
        """The island's first members from the initial generation sources (egp.engine.sources)."""
        return sources.initial_population(self, island)

    def select_survivors(self, island: Island, children: Sequence[bytes]) -> None:
        """Keep the island's elite, then the fittest offspring by survivability, one per behaviour first."""
        survival.select_survivors(self, island, children)

    def persist(self, record: EpochRecord, genetic_code: GeneticCode) -> None:
        """Queue `genetic_code` and its sub-GCs not yet written for the epoch's record (sub-GCs first)."""
        lineage.persist(self, record, genetic_code)

    def record_members(self, island: Island) -> None:
        """Queue the island's members (e.g. its initial population) with their first scores for storage."""
        lineage.record_members(self, island)

    def flush(self, island: Island) -> None:
        """Write the island's epoch record to the Gene Pool (see `lineage.flush`)."""
        if island.record is None:
            return
        lineage.flush(self, island)
        gc.unfreeze()  # see `generation_scope`: what the generations froze is the collector's again
