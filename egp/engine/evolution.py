"""The evolution engine: islands of GCs evolving under pGCs that evolve too (meta-evolution).

One generation of an island: pick parents weighted by survivability; for each, pick a pGC with the 4/2/1
category rule (the master selector z0) and run it on the parent; the offspring is stabilised by the physics
or is stillborn. Offspring already scored on the problem are not scored again (signature lookup); the
others are scored on the problem's cases, computing only their new sub-GCs. Then Δ = child − parent
fitness updates the parent's evolvability and the pGC's layer-0 fitness ((Δ/2 + 0.5) as a running mean)
and evolvability (max(Δ, 0)); Δ rolls up the chain of pGCs that made the pGC. After every N uses at layer
d a pGC is itself mutated by a layer-(d+1) pGC. Survivors are the island's elite plus the fittest offspring
by survivability, one per behaviour first; the rest are retired (they stay in the Gene Pool). Islands
exchange migrants at epoch boundaries, where each island's writes go to the Gene Pool in one
`record_epoch`.

Everything random flows from `random.Random` instances seeded from (seed, island, epoch), and no iteration
depends on hash order, so the same seed, settings and code give the same best GC.
"""

from __future__ import annotations

import gc as garbage_collector
import hashlib
import random
import sys
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any
from uuid import UUID

import numpy as np
import numpy.typing as npt

from egp.engine.evaluation import CaseEvaluator, Score
from egp.engine.gene_pool import EpochRecord, GenePool, MemoryGenePool, PgcStats, ProblemStats
from egp.errors import EGPError
from egp.genetic_code.assembly import Assembler, ExpressionMaker
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import ANONYMOUS_CREATOR, GeneticCode
from egp.genetic_code.types import TYPES
from egp.physics.context import CURRENT, PhysicsContext, Stillborn
from egp.problems.base import Problem

PARENTAL_PROTECTION = 0.75  # a new child's survivability is at least this share of its parent's
PGC_INHERITANCE = 0.75  # a new pGC starts at this share of its parent's fitness (Gen II)
CATEGORY_WEIGHTS = (4.0, 2.0, 1.0)  # effective pGCs, pGCs with fitness > 0.5, the rest
LITERAL_PERTURBATION = "pgc_perturb_literal"  # the pGC codon that needs literal codons to act on


# A layer's pGCs for the 4/2/1 choice: fitness by signature, then the pGCs > 0.5 with their cumulative
# selection weights, and the rest with theirs.
PgcCategories = tuple[dict[bytes, float], list[bytes], list[float], list[bytes], list[float]]


def donor_index_of(donors: Sequence[GeneticCode]) -> dict[bytes, int] | None:
    """Where each donor's signature sits in `donors` (crossover skips the target by index); None if one
    repeats."""
    index = {gc.signature: k for k, gc in enumerate(donors)}
    return index if len(index) == len(donors) else None


class EvolutionError(EGPError):
    """A bad evolution setting or a problem the engine cannot work on."""


@dataclass(frozen=True)
class EvolutionConfig:
    """How an evolution run works; defaults solve the shipped problems on a laptop."""

    population: int = 500
    generations: int = 200
    islands: int = 1
    seed: int = 0
    target: float | None = None
    # False: a solution (with no target) does not end the run; it goes on to a budget (e.g. to measure
    # throughput over fixed work, or to keep breeding smaller solutions).
    stop_when_solved: bool = True
    max_evaluations: int | None = None
    wall_seconds: float | None = None
    meta_evolution: bool = True
    pgc_evolve_every: int = 8
    pgc_layers: int = 4
    epoch_generations: int = 10
    migrants: int = 2
    # Program size limits; None: the problem's own (Problem.max_codons, Problem.initial_max_codons).
    max_codons: int | None = None
    max_pgc_codons: int = 4
    initial_max_codons: int | None = None
    selection_pressure: float = 16.0
    elitism: float = 0.5
    stagnation: int = 20
    survivability: str | None = None  # "fitness" or "niche"; None: the problem's own preference
    # Niche survivability's size efficiency z = min(Z_thr/Z, Z_comp/Z, 1) (domain spec §4.6): this is Z_thr
    # (the spec's default is 2). None (the default) leaves size out, η = 1: with Z_thr = 2 a GC's share of
    # a case falls as 1/size, and even-parity-3 solved 4 of 40 seeds, multiplexer-6 3 of 40 (without it: 75
    # and 78 of 80).
    niche_size_threshold: float | None = None
    # Share of a stagnant island replaced by spontaneous GCs (1: a restart). None: the problem's own
    # preference (Problem.reseed).
    reseed: float | None = None
    pgc_pool_limit: int = 20
    # Neutral drift: an offspring that behaves like a kept GC takes its place if it is at most this many
    # codons larger. None: the problem's own preference (Problem.drift_growth).
    drift_growth: int | None = None
    creator: UUID = ANONYMOUS_CREATOR
    l1_cache_bytes: int = 1_000_000
    l2_cache_bytes: int = 1_000_000_000

    def check(self) -> None:
        """Raise EvolutionError naming the first setting out of range."""
        positive = (
            "population",
            "generations",
            "islands",
            "pgc_evolve_every",
            "epoch_generations",
            "max_codons",
            "initial_max_codons",
        )
        for name in positive:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise EvolutionError(f"{name} must be at least 1, got {value}")
        if self.pgc_layers < 1:
            raise EvolutionError(f"pgc_layers must be at least 1, got {self.pgc_layers}")
        if self.drift_growth is not None and self.drift_growth < 0:
            raise EvolutionError(f"drift_growth must be at least 0, got {self.drift_growth}")
        if self.target is not None and not 0.0 <= self.target <= 1.0:
            raise EvolutionError(f"target must be in [0, 1], got {self.target}")
        if self.max_evaluations is not None and self.max_evaluations < 1:
            raise EvolutionError(f"max_evaluations must be at least 1, got {self.max_evaluations}")
        if self.wall_seconds is not None and self.wall_seconds <= 0:
            raise EvolutionError(f"wall_seconds must be positive, got {self.wall_seconds}")
        if self.migrants < 0 or self.migrants >= self.population:
            raise EvolutionError(f"migrants must be in [0, population), got {self.migrants}")
        if self.niche_size_threshold is not None and not self.niche_size_threshold > 0:
            raise EvolutionError(f"niche_size_threshold must be positive, got {self.niche_size_threshold}")
        if self.survivability not in (None, "fitness", "niche"):
            raise EvolutionError(f"survivability must be 'fitness' or 'niche', got {self.survivability!r}")
        if self.reseed is not None and not 0.0 <= self.reseed <= 1.0:
            raise EvolutionError(f"reseed must be in [0, 1], got {self.reseed}")
        if self.selection_pressure < 0:
            raise EvolutionError(f"selection_pressure must be >= 0, got {self.selection_pressure}")


@dataclass
class GenerationRecord:
    """One generation's figures across all islands."""

    generation: int
    best: float
    mean: float
    evaluations: int
    stillborn_rate: float
    distinct: int


@dataclass
class EvolutionResult:
    """What a run produced: the best GC, the effort spent and the per-generation history."""

    problem: str
    solved: bool
    best_fitness: float
    best_signature: str
    best_source: str
    best: GeneticCode
    evaluations: int
    generations: int
    seconds: float
    history: list[GenerationRecord] = field(default_factory=list)
    offspring: int = 0
    stillborn: int = 0
    score_cache_hits: int = 0
    output_cache_hit_rate: float = 0.0
    pgcs_evolved: int = 0
    profile: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The JSON summary printed by `egp evolve --json`."""
        return {
            "problem": self.problem,
            "solved": self.solved,
            "best_fitness": self.best_fitness,
            "evaluations": self.evaluations,
            "generations": self.generations,
            "seconds": round(self.seconds, 3),
            "best_signature": self.best_signature,
            "best_source": self.best_source,
            "offspring": self.offspring,
            "stillborn": self.stillborn,
            "score_cache_hits": self.score_cache_hits,
            "output_cache_hit_rate": round(self.output_cache_hit_rate, 4),
            "pgcs_evolved": self.pgcs_evolved,
        }

    def history_dicts(self) -> list[dict[str, Any]]:
        """The history as plain dictionaries."""
        return [asdict(record) for record in self.history]


def epoch_rng(seed: int, island: int, epoch: int) -> random.Random:
    """The RNG of one island epoch, derived from (seed, island, epoch) so a re-run repeats it exactly."""
    digest = hashlib.sha256(f"egp:{seed}:{island}:{epoch}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


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


@dataclass(frozen=True)
class Offspring:
    """One breeding: the parent's signature, the pGC that mutated it and the child (None if stillborn)."""

    parent: bytes
    pgc: GeneticCode
    child: GeneticCode | None


@dataclass
class Island:
    """One island's population: member signatures and their fitness and survivability."""

    index: int
    members: list[bytes] = field(default_factory=list)
    record: EpochRecord | None = None
    best: float = -1.0
    stale: int = 0


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
    ) -> None:
        """An engine for `problem` with `config`, reading from and writing to `gene_pool`.

        `evaluator`, an earlier engine's evaluator for the same problem, keeps its sub-GC output cache warm
        (content-keyed, so no result changes); it looks sub-GCs up in this engine's store from now on.
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
            self.solution_codons = [c for c in registry if not c.is_pgc and _usable(c)]
        self.literals = [c for c in self.solution_codons if not c.inputs]
        self.functions = [c for c in self.solution_codons if c.inputs]
        self._expressions = ExpressionMaker(self.functions, self.inputs, self.literals)
        # A problem without literal codons can never have a literal perturbed: leaving that pGC codon out
        # keeps every pGC built from it (and its certain stillborns) out of the run.
        self.pgc_codons = [
            c for c in registry if c.is_pgc and (self.literals or c.name != LITERAL_PERTURBATION)
        ]
        self.scores = ScoreBook()
        self.niche = (config.survivability or problem.survivability) == "niche"
        self.max_codons = config.max_codons if config.max_codons is not None else problem.max_codons
        self.initial_max_codons = (
            config.initial_max_codons if config.initial_max_codons is not None else problem.initial_max_codons
        )
        self.drift_growth = config.drift_growth if config.drift_growth is not None else problem.drift_growth
        self.reseed = config.reseed if config.reseed is not None else problem.reseed
        if config.reseed is None and not 0.0 <= problem.reseed <= 1.0:  # the run's own is checked by check()
            raise EvolutionError(f"problem {problem.name}: reseed must be in [0, 1], got {problem.reseed}")
        self.survivability: dict[bytes, float] = {}
        self.evolvability: dict[bytes, tuple[float, int]] = {}
        self.effective: dict[bytes, tuple[bytes, ...]] = {}
        self._effective_pending: dict[bytes, tuple[bytes, ...]] = {}
        self.pgc_pool: list[list[bytes]] = [
            [c.signature for c in self.pgc_codons] for _ in range(config.pgc_layers)
        ]
        self.pgc_stats: list[dict[bytes, PgcStats]] = [{} for _ in range(config.pgc_layers)]
        # select_pgc's view of each layer's pool, rebuilt after any statistic of that layer changes.
        self._pgc_categories: list[PgcCategories | None] = [None] * config.pgc_layers
        # GCs written to (or read from) the Gene Pool, and the shipped codons, which every database has.
        self.persisted: set[bytes] = {codon.signature for codon in registry}
        # What the Gene Pool is known to hold (with sub-GCs): the codons, what was read from it and what was
        # committed to it. `persisted` also holds what is queued for the epoch's commit.
        self.in_gene_pool: set[bytes] = set(self.persisted)
        # Offspring already given their first statistics, and those statistics until the GC is stored.
        self._credited: set[bytes] = set()
        self._pending: dict[bytes, ProblemStats] = {}
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
        self._generation_evaluations = 0
        self._generation_stillborn = 0
        self._generation_offspring = 0
        self._donors: Sequence[GeneticCode] | None = None
        # The context pGCs run in, reused for every run (the fields that change are set per run).
        self._physics = PhysicsContext(
            rng=random.Random(0),
            store=self.store,
            solution_codons=self.solution_codons,
            pgc_codons=self.pgc_codons,
            creator=config.creator,
        )
        self._load_pgc_stats()

    # -- set up ---------------------------------------------------------------------------------------------
    def _load_pgc_stats(self) -> None:
        """Bring the Gene Pool's best pGCs (and their statistics) into the per-layer pGC pools."""
        for layer in range(self.config.pgc_layers):
            for gc in self.pool.best_pgcs(layer, self.config.pgc_pool_limit):
                if gc.signature not in self.pgc_pool[layer] and self.load_closure([gc.signature]):
                    self.pgc_pool[layer].append(gc.signature)
            stats = self.pool.pgc_stats(layer, self.pgc_pool[layer])
            for signature, value in stats.items():
                self.pgc_stats[layer][signature] = PgcStats(
                    value.fitness_total,
                    value.fitness_count,
                    value.evolvability_total,
                    value.evolvability_count,
                )
        self._load_pgc_chains()

    def _load_pgc_chains(self) -> None:
        """Load the pGCs that made each pooled pGC: Δ rolls up that chain and may evolve any of them."""
        wanted = [s for layer in self.pgc_pool for s in layer]
        seen: set[bytes] = set()
        while wanted:
            self.load_closure(wanted)
            following: list[bytes] = []
            for signature in wanted:
                if signature in seen:
                    continue
                seen.add(signature)
                gc = self.store.get(signature)
                if gc is not None and gc.pgc is not None and gc.pgc not in seen:
                    following.append(gc.pgc)
            wanted = following

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
                gc = found[signature]
                self.store[signature] = gc
                self.persisted.add(signature)
                self.in_gene_pool.add(signature)
                for sub in (gc.gca, gc.gcb):
                    if sub is not None and sub not in self.store and registry.get(sub) is None:
                        following.append(sub)
            wanted = list(dict.fromkeys(following))
        return True

    def initial_population(self, island: int) -> list[bytes]:
        """BEST GCs already scored on this problem, then SPONTANEOUS assembly (underflow NEXT)."""
        size = self.config.population
        members: list[bytes] = []
        best = self.pool.best(self.problem_id, size * self.config.islands)
        share = best[island :: self.config.islands][: size // 2]
        for gc in share:
            if gc.inputs == self.inputs and gc.outputs == self.outputs and self.load_closure([gc.signature]):
                members.append(gc.signature)
        rng = epoch_rng(self.config.seed, island, -1)
        with self.quiet():
            members += self._distinct_spontaneous(rng, members)
            if not members:
                raise EvolutionError(f"cannot assemble any GC for {self.problem.name} from its codons")
            members = self._within_budget(members)
            for signature in members:
                self._score(self.gc(signature))
        return members

    def _distinct_spontaneous(self, rng: random.Random, taken: Sequence[bytes]) -> list[bytes]:
        """Signatures of new spontaneous GCs, distinct from each other and from `taken`, enough to fill a
        population after `taken` (fewer if 20 attempts per member do not find them)."""
        assembler = Assembler(self.store, self.inputs, self.config.creator, self._physics.created)
        seen = set(taken)
        found: list[bytes] = []
        wanted = self.config.population - len(taken)
        attempts = 0
        while len(found) < wanted and attempts < self.config.population * 20:
            attempts += 1
            gc = self._spontaneous(rng, assembler)
            if gc is not None and gc.signature not in seen:
                seen.add(gc.signature)
                found.append(gc.signature)
        return found

    def _spontaneous(self, rng: random.Random, assembler: Assembler) -> GeneticCode | None:
        """Assemble a GC with the problem's interface from its codons (incremental spontaneous assembly)."""
        if len(self.outputs) != 1:
            raise EvolutionError("spontaneous assembly supports single-output problems")
        size = rng.randint(2, max(2, self.initial_max_codons))
        try:
            filler = self.literals[0] if self.literals else None
            return assembler.random_gc(self._expressions, rng, self.outputs[0], size, filler)
        except (ValueError, EGPError):
            return None

    # -- scoring and statistics ------------------------------------------------------------------------------
    def _score(self, gc: GeneticCode) -> Score:
        cached = self.scores.get(gc.signature)
        if cached is not None:
            self.score_hits += 1
            return cached
        started = time.perf_counter()
        score = self.evaluator.score(gc)
        self.timing["evaluate"] += time.perf_counter() - started
        self.scores[gc.signature] = score
        self.evaluations += 1
        self._generation_evaluations += 1
        self.survivability.setdefault(gc.signature, score.fitness)
        if score.solved and self.solved_by is None:
            self.solved_by = gc
        return score

    def gc(self, signature: bytes) -> GeneticCode:
        """A GC known to this run: in the working store, or a codon."""
        return self.executor._lookup(signature)

    def fitness(self, signature: bytes) -> float:
        """The fitness of a scored GC."""
        return self.scores[signature].fitness

    def _pgc_stats(self, layer: int, signature: bytes) -> PgcStats:
        table = self.pgc_stats[layer]
        stats = table.get(signature)
        if stats is None:
            stats = table[signature] = PgcStats()
        return stats

    def _pgc_delta(self, record: EpochRecord, layer: int, signature: bytes, delta: float) -> None:
        """Update a pGC's layer statistics with Δ (fitness (Δ/2 + 0.5), evolvability max(Δ, 0))."""
        fitness, evolvability = delta / 2 + 0.5, delta if delta > 0.0 else 0.0
        for stats in (self._pgc_stats(layer, signature), _stats_of(record.pgc_stats, (signature, layer))):
            stats.fitness_total += fitness
            stats.fitness_count += 1
            stats.evolvability_total += evolvability
            stats.evolvability_count += 1
        self._pgc_categories[layer] = None

    def _problem_delta(self, record: EpochRecord, signature: bytes) -> ProblemStats:
        stats = record.problem_stats.get(signature)
        if stats is None:
            stats = record.problem_stats[signature] = ProblemStats()
        return stats

    # -- pGC selection and meta-evolution --------------------------------------------------------------------
    def select_pgc(
        self,
        target: GeneticCode,
        layer: int,
        rng: random.Random,
        categories: PgcCategories | None = None,
    ) -> GeneticCode:
        """The master selector z0's pGC (`choose_pgc`) for `target` from layer `layer`'s pool (`categories`:
        that layer's, as breeding fixed them for its generation)."""
        chosen = choose_pgc(
            categories if categories is not None else self._layer_categories(layer),
            self.effective.get(target.signature),
            rng.random,
        )
        return self.executor._lookup(chosen)

    def _layer_categories(self, layer: int) -> PgcCategories:
        """`_categorise_pgcs(layer)`, cached until a statistic of that layer changes."""
        cached = self._pgc_categories[layer]
        if cached is None:
            cached = self._pgc_categories[layer] = self._categorise_pgcs(layer)
        return cached

    def _categorise_pgcs(self, layer: int) -> PgcCategories:
        """Each pooled pGC's fitness, and the > 0.5 and the other pGCs with their selection weights."""
        get = self.pgc_stats[layer].get
        fitness_of: dict[bytes, float] = {}
        for signature in self.pgc_pool[layer]:
            stats = get(signature)
            fitness_of[signature] = (
                stats.fitness_total / stats.fitness_count
                if stats is not None and stats.fitness_count
                else 0.5
            )
        return categorise_pgcs(fitness_of)

    def _run_pgc(
        self,
        pgc: GeneticCode,
        target: GeneticCode,
        rng: random.Random,
        donors: Sequence[GeneticCode],
        donor_index: dict[bytes, int] | None,
        max_codons: int | None = None,
    ) -> tuple[GeneticCode | None, list[GeneticCode]]:
        """Execute a pGC on a target; returns the stabilised offspring (None if stillborn) and new GCs.

        `donor_index` is `donor_index_of(donors)`, made once by the caller: breeding resumes on its
        generation's donors after every pGC evolved (on the pGC pool) in between.
        """
        ctx = self._physics
        ctx.rng = rng
        ctx.pgc = pgc.signature
        if donors is not self._donors:
            # A new donor list: crossover finds the target in it by index.
            self._donors = donors
            ctx.donors = lambda _t: donors
            ctx.donor_index = donor_index
        ctx.max_codons = max_codons if max_codons is not None else self.max_codons
        ctx.new_gcs = []
        token = CURRENT.set(ctx)
        try:
            # Numpy warnings are already silenced for the whole generation (see `generation`).
            result = self.executor._evaluate(pgc, [target])[0]
        except Stillborn:
            return None, ctx.new_gcs
        except RecursionError:
            return None, ctx.new_gcs
        finally:
            CURRENT.reset(token)
        if not isinstance(result, GeneticCode):
            return None, ctx.new_gcs
        if result.inputs != target.inputs or result.outputs != target.outputs:
            return None, ctx.new_gcs
        return result, ctx.new_gcs

    def _use_pgc(
        self, record: EpochRecord, pgc: GeneticCode, layer: int, delta: float, rng: random.Random
    ) -> None:
        """Credit Δ to the pGC and the chain of pGCs that made it; evolve any that reached N uses."""
        signature: bytes | None = pgc.signature
        depth = layer
        while signature is not None and depth < self.config.pgc_layers:
            self._pgc_delta(record, depth, signature, delta)
            stats = self._pgc_stats(depth, signature)
            if (
                self.config.meta_evolution
                and depth + 1 < self.config.pgc_layers
                and stats.fitness_count % self.config.pgc_evolve_every == 0
            ):
                self._evolve_pgc(record, self.executor._lookup(signature), depth, rng)
            creator = self.store.get(signature)
            signature = creator.pgc if creator is not None else None
            if signature is not None and signature not in self.store and not codon_registry().get(signature):
                break  # the pGC that made this one is not in the Gene Pool (any more): the roll-up ends here
            depth += 1

    def _evolve_pgc(self, record: EpochRecord, pgc: GeneticCode, layer: int, rng: random.Random) -> None:
        """Mutate a pGC with a layer-(d+1) pGC; the child inherits 0.75× its parent's layer statistics."""
        mutator = self.select_pgc(pgc, layer + 1, rng)
        donors = [self.executor._lookup(s) for s in self.pgc_pool[layer]]
        # pGCs stay small: every codon of a pGC is a mutation run on each use, so a long chain costs as much
        # as that many offspring and mostly breaks what the first link made.
        child, _new = self._run_pgc(
            mutator, pgc, rng, donors, donor_index_of(donors), self.config.max_pgc_codons
        )
        if child is None or not child.is_pgc or child.signature in dict.fromkeys(self.pgc_pool[layer]):
            if child is None:
                self._pgc_delta(record, layer + 1, mutator.signature, -1.0)
            return
        self.persist(record, child)
        parent = self._pgc_stats(layer, pgc.signature)
        inherited = PgcStats(
            PGC_INHERITANCE * parent.fitness * 2, 2, PGC_INHERITANCE * parent.evolvability * 2, 2
        )
        self.pgc_stats[layer][child.signature] = inherited
        self._pgc_categories[layer] = None
        record.pgc_stats.setdefault((child.signature, layer), PgcStats()).add(inherited)
        pool = self.pgc_pool[layer]
        pool.append(child.signature)
        self.pgcs_evolved += 1
        if len(pool) > self.config.pgc_pool_limit:
            # Retire the weakest evolved pGC (the bootstrap codons always stay).
            bootstrap = {c.signature for c in self.pgc_codons}
            evolved = [s for s in pool if s not in bootstrap]
            weakest = min(evolved, key=lambda s: (self.pgc_stats[layer][s].fitness, s))
            pool.remove(weakest)

    # -- persistence -----------------------------------------------------------------------------------------
    def persist(self, record: EpochRecord, gc: GeneticCode) -> None:
        """Queue `gc` and any of its sub-GCs not yet written for this epoch's record (sub-GCs first)."""
        persisted = self.persisted  # holds the shipped codons from the start: they are in every database
        if gc.signature in persisted:
            return
        pending: list[GeneticCode] = []
        stack = [gc]
        lookup = self.executor._lookup
        while stack:
            node = stack.pop()
            signature = node.signature
            if signature in persisted:
                continue
            persisted.add(signature)
            pending.append(node)
            for sub in (node.gca, node.gcb):
                if sub is not None and sub not in persisted:
                    stack.append(lookup(sub))
        record.new_gcs.extend(reversed(pending))

    # -- one generation --------------------------------------------------------------------------------------
    def generation(self, island: Island, rng: random.Random) -> None:
        """Breed one generation on `island`, score the new offspring and keep the survivors.

        In this process each offspring is bred just before it is scored, so a run that stops mid-generation
        (solved, target, budget) does not breed offspring it would never look at: in a koza-quartic run that
        was a quarter of all breeding. A batched evaluator (the executor pool) gets the whole generation
        first, to score it in one fan-out. Both see the same offspring: breeding has its own RNG stream and
        reads only what the generation started with.
        """
        with self.quiet():
            self.integrate(island, self.breeding(island, rng), rng)

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Silence numpy's floating-point warnings once for a batch of scoring and breeding.

        GCs divide by zero and overflow as a matter of course; entering numpy's error state once per GC costs
        more than scoring a small one. New GCs made in the batch share one creation time stamp.
        """
        evaluator = self.evaluator
        outer = getattr(evaluator, "numpy_quiet", False)
        self._physics.created = datetime.now(UTC)
        # A generation allocates hundreds of thousands of small objects, nearly all of them kept (the new
        # GCs, their graphs, cached outputs), and the cyclic garbage collector scanned that growing working
        # store again and again: 13 % of a koza-quartic run. It is paused for the batch, and what the batch
        # left alive is then frozen (moved out of the collector's sight) instead of being scanned on the
        # next allocation. The engine makes no reference cycles of its own (its closures recurse through
        # weak proxies), so frozen objects are still freed by reference counting when dropped; `flush`
        # unfreezes at every epoch boundary, so any cycle made meanwhile is collected as usual afterwards.
        collecting = garbage_collector.isenabled()
        garbage_collector.disable()
        with np.errstate(all="ignore"):
            evaluator.numpy_quiet = True
            try:
                yield
            finally:
                evaluator.numpy_quiet = outer
                if collecting:
                    garbage_collector.freeze()
                    garbage_collector.enable()

    def breed(self, island: Island, rng: random.Random) -> list[Offspring]:
        """One generation's offspring, all bred now (what `breeding` yields)."""
        return list(self.breeding(island, rng))

    def breeding(self, island: Island, rng: random.Random) -> Iterator[Offspring]:
        """One generation's offspring, bred one by one as they are asked for: parents picked by
        survivability, each mutated by a pGC (4/2/1 choice).

        Nothing is scored or credited here, so the offspring can be scored anywhere (in this process or by
        the fitness executors) before `integrate` takes them in. Everything breeding reads is fixed now,
        before the first offspring: the parents, the donors, the pGC statistics (the start of the
        generation's), and a breeding RNG drawn from `rng`. So the offspring are the same however their
        breeding interleaves with integrating them.
        """
        config = self.config
        members = island.members
        top = max(self.survivability[s] for s in members) or 1.0
        weights = [max(self.survivability[s] / top, 1e-9) ** config.selection_pressure for s in members]
        donors = [self.gc(s) for s in members]
        donor_index = donor_index_of(donors)
        breeding_rng = random.Random(rng.getrandbits(64))
        parents = breeding_rng.choices(members, weights, k=config.population)
        categories = self._layer_categories(0)
        return self._bred(parents, donors, donor_index, categories, breeding_rng)

    def _bred(
        self,
        parents: list[bytes],
        donors: list[GeneticCode],
        donor_index: dict[bytes, int] | None,
        categories: PgcCategories,
        rng: random.Random,
    ) -> Iterator[Offspring]:
        timing = self.timing
        clock = time.perf_counter
        for parent_sig in parents:
            started = clock()
            parent = self.gc(parent_sig)
            pgc = self.select_pgc(parent, 0, rng, categories)
            child, _ = self._run_pgc(pgc, parent, rng, donors, donor_index)
            timing["breed"] += clock() - started
            yield Offspring(parent_sig, pgc, child)

    def unscored(self, bred: Sequence[Offspring]) -> list[GeneticCode]:
        """The distinct offspring in `bred` that have no score on the problem yet (in breeding order)."""
        new: dict[bytes, GeneticCode] = {}
        for offspring in bred:
            child = offspring.child
            if child is not None and child.signature not in self.scores:
                new.setdefault(child.signature, child)
        return list(new.values())

    def integrate(self, island: Island, bred: Iterable[Offspring], rng: random.Random) -> None:
        """Score the offspring (from the score cache where possible), credit Δ to parents and pGCs (evolving
        the pGCs that reached N uses), keep the survivors and reseed a stagnant island.

        Stops taking offspring in as soon as the run should stop (solved, target or evaluation budget).
        """
        record = island.record
        assert record is not None
        # Remote fitness: the whole generation is bred first, for the executor pool to score its new
        # offspring in one fan-out. In-process `bred` may stay lazy (`breeding`), bred as the loop asks.
        if self.evaluator.batched:
            bred = list(bred)
            self.evaluator.prefetch(self.unscored(bred))
        children: list[bytes] = []
        pending = iter(bred)
        # The stop test comes before the next offspring is asked for: a lazy one is not even bred.
        while not self.stop_now():
            offspring = next(pending, None)
            if offspring is None:
                break
            parent_sig, pgc, child = offspring.parent, offspring.pgc, offspring.child
            self.offspring += 1
            self._generation_offspring += 1
            if child is None:
                self.stillborn += 1
                self._generation_stillborn += 1
                delta = -1.0
            else:
                score = self._score(child)
                delta = score.fitness - self.fitness(parent_sig)
                started = time.perf_counter()
                self._child_statistics(record, self.gc(parent_sig), child, score, delta, pgc)
                children.append(child.signature)
                self.timing["bookkeeping"] += time.perf_counter() - started
            started = time.perf_counter()
            parent_delta = self._problem_delta(record, parent_sig)
            parent_delta.evolvability_total += max(delta, 0.0)
            parent_delta.evolvability_count += 1
            self._use_pgc(record, pgc, 0, delta, rng)
            self.timing["bookkeeping"] += time.perf_counter() - started
        # The pGCs that improved this generation's children count for breeding from the next generation on
        # (breeding reads only what its generation started with; see `breeding`).
        self.effective.update(self._effective_pending)
        self._effective_pending.clear()
        self.select_survivors(island, children)
        self._store_new_members(island)
        self._check_stagnation(island, rng)

    def _store_new_members(self, island: Island) -> None:
        """Note the offspring that entered the population, with their first statistics, for `flush`.

        Offspring that did not survive selection are not stored: their evaluation is counted, and it still
        credits their parent (evolvability, descendants) and the pGCs that made them. A Gene Pool that kept
        every offspring would write about ten rows per evaluation (each offspring's new path of nodes) and
        fill with GCs that were never part of any population.
        """
        record = island.record
        assert record is not None
        pending = self._pending
        persisted = self.persisted
        joined = self.joined
        for signature in island.members:
            if signature in persisted or signature in joined:
                continue
            stats = pending.pop(signature, None)
            if stats is None:  # credited in an earlier generation, and in the population only now
                stats = ProblemStats(self.fitness(signature), 1, survivability=self.survivability[signature])
            joined[signature] = island.index
            self._problem_delta(record, signature).add(stats)
        pending.clear()

    def _check_stagnation(self, island: Island, rng: random.Random) -> None:
        """After `stagnation` generations without a better best, replace the weakest `reseed` share of the
        island with spontaneous GCs (with reseed = 1, all of it: a restart).

        An island that has converged on one local optimum can only re-explore with new material: the
        SPONTANEOUS source that seeded it supplies it again (the retired GCs stay in the Gene Pool).
        """
        best = max(self.fitness(s) for s in island.members)
        if best > island.best:
            island.best, island.stale = best, 0
            return
        island.stale += 1
        if island.stale < self.config.stagnation or self.reseed <= 0:
            return
        island.stale = 0
        # With reseed = 1 nothing is kept: the island starts again from new material (the run's best GC and
        # score stay known, and the pGCs keep what they learnt).
        keep = island.members[: len(island.members) - round(self.reseed * len(island.members))]
        fresh = {s: self.gc(s) for s in self._within_budget(self._distinct_spontaneous(rng, keep))}
        # One batch: in remote-fitness mode the executor pool scores them in one fan-out.
        self.evaluator.prefetch([gc for s, gc in fresh.items() if s not in self.scores])
        for signature, gc in fresh.items():
            self._score(gc)
            new = signature not in self.persisted and signature not in self.joined
            if island.record is not None and new:
                self.joined[signature] = island.index
                stats = self._problem_delta(island.record, signature)
                stats.fitness_total += self.fitness(signature)
                stats.fitness_count += 1
        if keep or fresh:
            island.members = [*keep, *fresh]

    def _within_budget(self, signatures: Iterable[bytes]) -> list[bytes]:
        """`signatures` cut to the GCs the evaluation budget can still score (in order; scored ones are free).

        The budget is a hard limit: a reseed (or an initial population) larger than what is left of it takes
        in only what it can still score, so no run is charged, or solves, beyond `max_evaluations`.
        """
        limit = self.config.max_evaluations
        if limit is None:
            return list(signatures)
        room = limit - self.evaluations
        kept: list[bytes] = []
        for signature in signatures:
            if signature not in self.scores:
                if room <= 0:
                    continue
                room -= 1
            kept.append(signature)
        return kept

    def _child_statistics(
        self,
        record: EpochRecord,
        parent: GeneticCode,
        child: GeneticCode,
        score: Score,
        delta: float,
        pgc: GeneticCode,
    ) -> None:
        signature = child.signature
        parent_sig = parent.signature
        if signature not in self._credited and signature not in self.persisted:
            self._credited.add(signature)
            protected = max(score.fitness, PARENTAL_PROTECTION * self.survivability[parent_sig])
            self.survivability[signature] = protected
            # Kept aside until selection: only offspring that enter the population are stored.
            self._pending[signature] = ProblemStats(score.fitness, 1, survivability=protected)
            self._problem_delta(record, parent_sig).descendants += 1
        if delta > 0:
            # The pGCs that improved this lineage, most recent first; a child that did not improve on its
            # parent starts without any, so one lucky pGC cannot take over every lineage descending from it.
            pending = self._effective_pending
            earlier = pending.get(parent_sig) or self.effective.get(parent_sig, ())
            pending[signature] = (pgc.signature, *earlier[:1])

    def select_survivors(self, island: Island, children: Sequence[bytes]) -> None:
        """Keep the island's elite, then the fittest offspring by survivability, one per behaviour first.

        Only `elitism` of the places go to parents: truncating parents and offspring together lets one lineage
        take the whole island within a few generations. Offspring that differ only in lineage or dead code
        behave exactly alike; a second GC with an already-kept behaviour ranks after every distinct one (ties:
        fitness, size, signature). Retired GCs stay in the Gene Pool. With niche survivability the island's
        survivabilities are recomputed first, over the members and the offspring together.
        """
        if self.niche:
            self._niche_survivability([*island.members, *children])
        ranked = self._rank(island.members)
        elite = ranked[: max(1, round(self.config.elitism * self.config.population))]
        in_elite = set(elite)
        fresh = self._rank([s for s in dict.fromkeys(children) if s not in in_elite])
        rest = [s for s in ranked if s not in in_elite]
        island.members = self._distinct_first([*elite, *fresh, *rest], fresh)[: self.config.population]

    def _niche_survivability(self, signatures: Sequence[bytes]) -> None:
        """Niche competition (domain spec §4.6): a test group's reward is shared among the GCs scoring in it.

        Every test case is its own group. A GC's survivability is Σ_g f_g·η / Σ_{competitors in g} η: solving
        a case few others solve is worth more than solving a crowded one, and within a group smaller GCs take
        a bigger share. Efficiency η is the size term z = min(Z_thr/Z, Z_comp/Z, 1), with Z the GC's codon
        count and Z_comp its group's competitors' mean (η = 1 with `niche_size_threshold=None`). The spec's
        time term is left out: measured times would make selection depend on the machine's timing noise and
        break determinism.
        """
        unique = list(dict.fromkeys(signatures))
        cases = [self.scores[s].cases for s in unique]
        if any(c is None for c in cases):
            return
        matrix = np.vstack(cases)
        scoring = matrix > 0
        competitors = np.count_nonzero(scoring, axis=0)
        threshold = self.config.niche_size_threshold
        if threshold is None:
            shared = matrix / np.maximum(competitors, 1)
        else:
            sizes = np.array([self.gc(s).num_codons for s in unique], dtype=np.float64)
            eta = niche_size_efficiency(sizes, scoring, threshold)
            weighted = np.where(scoring, eta, 0.0)
            shared = matrix * eta / np.maximum(weighted.sum(axis=0), sys.float_info.min)
        for signature, value in zip(unique, shared.sum(axis=1).tolist(), strict=True):
            self.survivability[signature] = value

    def _rank(self, signatures: Sequence[bytes]) -> list[bytes]:
        return sorted(
            dict.fromkeys(signatures),
            key=lambda s: (-self.survivability[s], -self.scores[s].fitness, self.gc(s).num_codons, s),
        )

    def _distinct_first(self, ordered: list[bytes], newer: Sequence[bytes] = ()) -> list[bytes]:
        """`distinct_first` by behaviour on the problem; a newer GC takes a behaviour's place from an older
        one only if it is at most `drift_growth` codons larger."""
        grow = self.drift_growth
        scores = self.scores
        gc = self.gc
        return distinct_first(
            ordered,
            newer,
            lambda signature: scores[signature].behaviour,
            None if grow is None else lambda new, old: gc(new).num_codons <= gc(old).num_codons + grow,
        )

    # -- termination -----------------------------------------------------------------------------------------
    def stop_now(self) -> bool:
        """Whether the run should stop: solved (with no target), the target reached, or the budget spent."""
        if self.solved_by is not None and self.config.target is None and self.config.stop_when_solved:
            return True
        if self.config.target is not None and self.scores.top_fitness >= self.config.target:
            return True
        return self.config.max_evaluations is not None and self.evaluations >= self.config.max_evaluations

    def best_signature(self) -> bytes | None:
        """The fittest scored GC so far (ties: fewer codons, then signature)."""
        if self.solved_by is not None:
            return self.solved_by.signature
        if not self.scores:
            return None
        return min(
            self.scores,
            key=lambda s: (-self.scores[s].fitness, self.gc(s).num_codons, s),
        )

    def record_members(self, island: Island) -> None:
        """Queue the island's members (e.g. its initial population) and their first scores for storage,
        so every offspring's lineage can be followed back through the Gene Pool."""
        record = island.record
        assert record is not None
        for signature in island.members:
            if signature in self.persisted or signature in record.problem_stats:
                continue
            self.persist(record, self.gc(signature))
            stats = self._problem_delta(record, signature)
            stats.fitness_total += self.fitness(signature)
            stats.fitness_count += 1
            stats.survivability = self.survivability[signature]

    def flush(self, island: Island) -> None:
        """Write the island's epoch record to the Gene Pool: its members, the best GC so far, and everything
        they are made of or descend from that the Gene Pool does not hold yet, with their statistics."""
        record = island.record
        if record is None:
            return
        self._store_lineage(island)
        record.members = list(island.members)
        record.best, record.stale = island.best, island.stale
        for signature in island.members:
            stats = record.problem_stats.get(signature)
            if stats is not None:
                stats.survivability = self.survivability[signature]
        self.pool.record_epoch(record)
        self.in_gene_pool.update(gc.signature for gc in record.new_gcs)
        island.record = None
        garbage_collector.unfreeze()  # see `quiet`: what the generations froze is the collector's again

    def _store_lineage(self, island: Island) -> None:
        """Queue the island's members and the best GC with their sub-GCs and ancestors made since the last
        flush; drop the statistics of the GCs that were in the population only in between.

        A GC that entered the population and left it again before the epoch ended, with no descendant still
        there, is treated like an offspring that never entered: counted and credited, not stored. That is
        most of them (each new member brings its path of new nodes), so an epoch writes a third to a tenth of
        the rows it would otherwise, and the lineage of every stored GC is still unbroken in the Gene Pool.
        """
        record = island.record
        assert record is not None
        persisted = self.persisted
        roots = list(island.members)
        best = self.best_signature()
        if best is not None and best not in persisted:
            roots.append(best)
            if best not in self.joined:  # it never entered a population: its first statistics go here
                fitness = self.fitness(best)
                first = ProblemStats(fitness, 1, survivability=self.survivability.get(best, fitness))
                self._problem_delta(record, best).add(first)
        store = self.store
        stack = [s for s in roots if s not in persisted]
        while stack:
            signature = stack.pop()
            gc = store.get(signature)
            if gc is None or signature in persisted:
                continue  # stored already, or read from the Gene Pool (so in it)
            self.persist(record, gc)
            stack.extend(a for a in (gc.ancestora, gc.ancestorb) if a is not None and a not in persisted)
        for signature in [s for s in record.problem_stats if s not in persisted]:
            del record.problem_stats[signature]
        for signature in [s for s, index in self.joined.items() if index == island.index]:
            del self.joined[signature]


def niche_size_efficiency(
    sizes: npt.NDArray[np.float64], scoring: npt.NDArray[np.bool_], threshold: float
) -> npt.NDArray[np.float64]:
    """z = min(Z_thr/Z, Z_comp/Z, 1) per (GC, group): `sizes` Z per GC, `scoring` which GCs score in which
    group (Z_comp is the mean size of those), `threshold` Z_thr; floored at the smallest positive float."""
    counts = np.count_nonzero(scoring, axis=0)
    mean = (scoring * sizes[:, None]).sum(axis=0) / np.maximum(counts, 1)
    z = np.minimum(np.minimum(threshold, mean)[None, :] / np.maximum(sizes, 1.0)[:, None], 1.0)
    result: npt.NDArray[np.float64] = np.maximum(z, sys.float_info.min)
    return result


def categorise_pgcs(fitness_of: dict[bytes, float]) -> PgcCategories:
    """The 4/2/1 choice's view of a layer's pool from each pGC's fitness (in pool order): `fitness_of`, the
    pGCs above 0.5 with cumulative weights (fitness − 0.5), and the rest with cumulative weights (fitness)."""
    positive: list[bytes] = []
    positive_w: list[float] = []
    negative: list[bytes] = []
    negative_w: list[float] = []
    for signature, value in fitness_of.items():
        if value > 0.5:
            positive.append(signature)
            positive_w.append(value - 0.5)
        else:
            negative.append(signature)
            negative_w.append(value if value > 1e-6 else 1e-6)
    return fitness_of, positive, list(accumulate(positive_w)), negative, list(accumulate(negative_w))


def choose_pgc(
    categories: PgcCategories, recorded: Sequence[bytes] | None, draw: Callable[[], float]
) -> bytes:
    """The master selector z0 on a layer's `categories`: a category by weight 4/2/1 (the target lineage's
    effective pGCs `recorded`, fitness > 0.5, the rest), then a pGC within it, from two `draw()`s.

    Within a category, pGCs above 0.5 are weighted by (fitness − 0.5), the rest by their fitness and
    effective ones by their fitness (domain spec §4.4). Runs once per offspring: kept to plain loops.
    """
    fitness_of, positive, positive_cum, negative, negative_cum = categories
    effective = [s for s in recorded if s in fitness_of] if recorded else []
    # Cumulative weights, as random.choices would accumulate them from the 4/2/1 category weights (an
    # empty category weighs 0): the same draws, without building the lists per offspring.
    first = CATEGORY_WEIGHTS[0] if effective else 0.0
    second = first + (CATEGORY_WEIGHTS[1] if positive else 0.0)
    third = second + (CATEGORY_WEIGHTS[2] if negative else 0.0)
    category = bisect_right((first, second, third), draw() * third, 0, 2)  # 0, 1 or 2
    if category == 0:
        return _pick(effective, list(accumulate([max(fitness_of[s], 1e-6) for s in effective])), draw())
    if category == 1:
        return _pick(positive, positive_cum, draw())
    return _pick(negative, negative_cum, draw())


def distinct_first(
    ordered: list[bytes],
    newer: Sequence[bytes],
    behaviour: Callable[[bytes], bytes],
    may_replace: Callable[[bytes, bytes], bool] | None = None,
) -> list[bytes]:
    """`ordered` with one GC per behaviour first (in order of first appearance), the repeats after.

    A behaviour's representative is its first GC in `ordered`, unless one of the `newer` GCs (this
    generation's offspring) has it: then the first of those (if `may_replace(new, old)` allows). A child
    that behaves exactly like its parent thus takes the parent's place (neutral drift), so an island can
    walk across a fitness plateau instead of freezing on the first GC that reached it.
    """
    fresh = set(newer)
    chosen: dict[bytes, bytes] = {}
    for signature in ordered:
        value = behaviour(signature)
        current = chosen.get(value)
        if current is None or (
            signature in fresh
            and current not in fresh
            and (may_replace is None or may_replace(signature, current))
        ):
            chosen[value] = signature
    distinct = list(chosen.values())
    kept = set(distinct)
    return distinct + [s for s in ordered if s not in kept]


def _stats_of(table: dict[tuple[bytes, int], PgcStats], key: tuple[bytes, int]) -> PgcStats:
    """The delta under `key` in an epoch record's pGC statistics, created empty if missing."""
    stats = table.get(key)
    if stats is None:
        stats = table[key] = PgcStats()
    return stats


def _pick(population: Sequence[bytes], cum_weights: Sequence[float], draw: float) -> bytes:
    """`rng.choices(population, cum_weights=cum_weights)[0]` given the draw `rng.random()`: the same pick,
    without choices' list and checks (this runs for every offspring)."""
    return population[bisect_right(cum_weights, draw * cum_weights[-1], 0, len(population) - 1)]


def _usable(codon: GeneticCode) -> bool:
    """Codons whose types a problem-level program can use (no GC-typed endpoints)."""
    gc_types = {TYPES.uid("GCABC"), TYPES.uid("GGCode"), TYPES.uid("EGCode")}
    return not any(t in gc_types for t in (*codon.inputs, *codon.outputs))


def evolve_problem(
    problem: Problem,
    config: EvolutionConfig,
    gene_pool: GenePool | None = None,
    *,
    progress: Callable[[GenerationRecord], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    job: str | None = None,
) -> EvolutionResult:
    """Run evolution of `problem` until solved (or the target), a budget, the deadline, or cancel."""
    started = time.perf_counter()
    engine = Engine(problem, config, gene_pool, job=job)
    islands = [Island(index, engine.initial_population(index)) for index in range(config.islands)]
    history: list[GenerationRecord] = []
    generation = 0
    stop = engine.stop_now()
    epoch = 0
    while not stop and generation < config.generations:
        rngs = [epoch_rng(config.seed, island.index, epoch) for island in islands]
        for island in islands:
            island.record = EpochRecord(problem=engine.problem_id, job=job, island=island.index, epoch=epoch)
            if epoch == 0:
                engine.record_members(island)
        for _ in range(config.epoch_generations):
            engine._generation_evaluations = 0
            engine._generation_stillborn = 0
            engine._generation_offspring = 0
            for island, rng in zip(islands, rngs, strict=True):
                engine.generation(island, rng)
                if engine.stop_now():
                    break
            generation += 1
            record = _generation_record(engine, islands, generation)
            history.append(record)
            if progress is not None:
                progress(record)
            stop = (
                engine.stop_now()
                or generation >= config.generations
                or (config.wall_seconds is not None and time.perf_counter() - started >= config.wall_seconds)
                or (cancel is not None and cancel())
            )
            if stop:
                break
        _migrate(engine, islands)
        for island in islands:
            engine.flush(island)
        epoch += 1
    best_sig = engine.best_signature()
    assert best_sig is not None
    best = engine.gc(best_sig)
    score = engine.scores[best_sig]
    solved = score.solved if config.target is None else score.fitness >= config.target
    return EvolutionResult(
        problem=problem.name,
        solved=solved,
        best_fitness=score.fitness,
        best_signature=best_sig.hex(),
        best_source=engine.executor.source(best),
        best=best,
        evaluations=engine.evaluations,
        generations=generation,
        seconds=time.perf_counter() - started,
        history=history,
        offspring=engine.offspring,
        stillborn=engine.stillborn,
        score_cache_hits=engine.score_hits,
        output_cache_hit_rate=engine.evaluator.hit_rate,
        pgcs_evolved=engine.pgcs_evolved,
        profile=dict(engine.timing),
    )


def _migrate(engine: Engine, islands: list[Island]) -> None:
    """Copy each island's best few members to the next island, replacing its weakest."""
    count = engine.config.migrants
    if len(islands) < 2 or count == 0:
        return
    emigrants = [island.members[:count] for island in islands]
    for index, island in enumerate(islands):
        arrivals = [s for s in emigrants[index - 1] if s not in island.members]
        if arrivals:
            island.members = island.members[: len(island.members) - len(arrivals)] + arrivals
            engine.select_survivors(island, [])


def _generation_record(engine: Engine, islands: list[Island], generation: int) -> GenerationRecord:
    fitnesses = [engine.fitness(s) for island in islands for s in island.members]
    distinct = len({s for island in islands for s in island.members})
    offspring = engine._generation_offspring
    return GenerationRecord(
        generation=generation,
        best=max(fitnesses),
        mean=sum(fitnesses) / len(fitnesses),
        evaluations=engine.evaluations,
        stillborn_rate=engine._generation_stillborn / offspring if offspring else 0.0,
        distinct=distinct,
    )
