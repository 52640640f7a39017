"""How a run is set up and what it reports: EvolutionConfig, GenerationRecord and EvolutionResult."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from egp.errors import EGPError
from egp.genetic_code.gc import ANONYMOUS_CREATOR, GeneticCode

if TYPE_CHECKING:
    from egp.engine.sources import SourceSpec


class EvolutionError(EGPError):
    """A bad evolution setting or a problem the engine cannot work on."""


@dataclass(frozen=True)
class EvolutionConfig:
    """How an evolution run works; the run settings' defaults are RunSettings' (egp/run_settings.py)."""

    population: int = 500
    generations: int = 500
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
    # (the spec's default is 2). None (the default) leaves size out, η = 1: at Z_thr = 2 a GC's share of a
    # case falls as 1/size, which starves the larger programs the Boolean problems need on the way to a
    # solution (benchmarks/README.md has the measurement).
    niche_size_threshold: float | None = None
    # Share of a stagnant island replaced by spontaneous GCs (1: a restart). None: the problem's own
    # preference (Problem.reseed).
    reseed: float | None = None
    pgc_pool_limit: int = 20
    # Neutral drift: an offspring that behaves like a kept GC takes its place if it is at most this many
    # codons larger. None: the problem's own preference (Problem.drift_growth).
    drift_growth: int | None = None
    # Initial generation sources in order (egp.engine.sources; None: DEFAULT_SOURCES).
    sources: tuple[SourceSpec, ...] | None = None
    # Insertion may draw building blocks from the Gene Pool (the block library of egp.engine.blocks).
    building_blocks: bool = True
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
        for source in self.sources or ():
            source.check()


@dataclass
class GenerationRecord:
    """One island generation's figures: the island's members after it, and the run's evaluations so far."""

    generation: int
    best: float
    mean: float
    evaluations: int
    stillborn_rate: float
    distinct: int
    island: int = 0


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
    # The run's id in its Gene Pool's `runs` table, where it was recorded (None: not recorded).
    run_id: str | None = None

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
        } | ({"run_id": self.run_id} if self.run_id is not None else {})

    def history_dicts(self) -> list[dict[str, Any]]:
        """The history as plain dictionaries."""
        return [asdict(record) for record in self.history]
