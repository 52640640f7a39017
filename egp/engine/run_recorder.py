"""What an embedded run tells whoever records it: the `RunRecorder` protocol and the figures of a generation.

The engine imports no storage: `evolve_problem` calls a recorder, if it is given one, when the run starts,
after each island generation and when the run ends. `egp.storage.runs.SQLRunRecorder` writes a Gene Pool's
`runs` and `run_history` rows from these calls, so an embedded run can be shown the way a job is.
"""

from __future__ import annotations

from typing import Any, Protocol

from egp.engine.config import EvolutionConfig, EvolutionResult, GenerationRecord
from egp.engine.engine import Engine
from egp.problems.base import Problem

# A pGC whose mean fitness is above this improved its targets more often than it harmed them (0.5: neutral).
NEUTRAL_PGC_FITNESS = 0.5


class RunRecorder(Protocol):
    """Receives one embedded run's start, generations and end."""

    def started(self, problem: Problem, config: EvolutionConfig) -> None:
        """The run begins on `problem` with `config`."""
        ...

    def generation(self, record: GenerationRecord, figures: dict[str, Any]) -> None:
        """An island finished a generation: its record and the run's figures (see `generation_figures`)."""
        ...

    def finished(self, result: EvolutionResult | None, status: str, reason: str | None) -> None:
        """The run ended with `status` ('finished', 'failed', 'cancelled'); `result` unless it failed."""
        ...


def pgc_layer_figures(engine: Engine) -> list[dict[str, Any]]:
    """Each pGC layer's pool: its size, the share of its pGCs above neutral fitness and their mean
    evolvability (pGCs never used count as neutral, evolvability 0)."""
    layers: list[dict[str, Any]] = []
    for layer, pool in enumerate(engine.pgcs.pool):
        stats = engine.pgcs.stats[layer]
        fitness = [stats[s].fitness if s in stats else NEUTRAL_PGC_FITNESS for s in pool]
        evolvability = [stats[s].evolvability if s in stats else 0.0 for s in pool]
        size = len(pool)
        layers.append(
            {
                "layer": layer,
                "pgcs": size,
                "above_neutral": sum(f > NEUTRAL_PGC_FITNESS for f in fitness) / size if size else 0.0,
                "evolvability": sum(evolvability) / size if size else 0.0,
            }
        )
    return layers


def generation_figures(engine: Engine) -> dict[str, Any]:
    """The run's cache hit rates so far and its pGC layers' figures, after a generation."""
    looked_up = engine.evaluations + engine.score_hits
    return {
        "score_hit_rate": engine.score_hits / looked_up if looked_up else 0.0,
        "output_cache_hit_rate": engine.evaluator.hit_rate,
        "offspring": engine.offspring,
        "stillborn": engine.stillborn,
        "pgc_layers": pgc_layer_figures(engine),
    }
