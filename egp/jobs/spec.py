"""The job spec: what a client asks for, validated before anything is written or queued."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from egp.config import FitnessMode, Settings
from egp.engine.config import EvolutionConfig, EvolutionError
from egp.errors import EGPError
from egp.problems.base import Problem
from egp.problems.registry import get_problem


class JobError(EGPError):
    """A job spec is invalid, or a job is unknown or cannot do what was asked."""


class JobSpec(BaseModel):
    """An evolution job: the problem and how to evolve it; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    problem: str = Field(
        description="A problem name (see `egp problems list`) or a module:attribute reference."
    )
    population: int = Field(default=100, ge=1, description="GCs per island.")
    generations: int = Field(default=500, ge=1, description="Generation budget per island.")
    islands: int = Field(
        default=2, ge=1, description="Islands, each evolved by its own chain of epoch tasks."
    )
    seed: int = Field(default=0, description="Random seed: the same seed gives the same epochs.")
    target: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Stop at this fitness (default: solved)."
    )
    stop_when_solved: bool = Field(
        default=True, description="End the job at a solution (no target); False: run to a budget."
    )
    max_evaluations: int | None = Field(default=None, ge=1, description="Evaluation budget over all islands.")
    wall_seconds: float | None = Field(default=None, gt=0, description="Wall-clock budget from submission.")
    meta_evolution: bool = Field(default=True, description="Evolve the pGCs too.")
    fitness_mode: FitnessMode | None = Field(
        default=None, description="local (in the worker) or remote (executor pool); default EGP_FITNESS_MODE."
    )
    epoch_generations: int | None = Field(
        default=None, ge=1, description="Generations per epoch task; default EGP_EPOCH_GENERATIONS."
    )
    migrants: int = Field(default=2, ge=0, description="Members copied from the previous island each epoch.")
    lease_s: int = Field(
        default=15,
        ge=5,
        description="Seconds without a recorded epoch, while no process runs any of its islands, before the"
        " watchdog re-dispatches the job.",
    )

    def resolved(self, settings: Settings) -> JobSpec:
        """This spec with the defaults taken from `settings` filled in."""
        return self.model_copy(
            update={
                "fitness_mode": self.fitness_mode or settings.fitness_mode,
                "epoch_generations": self.epoch_generations or settings.epoch_generations,
            }
        )

    def evolution_config(self, settings: Settings, **overrides: Any) -> EvolutionConfig:
        """The engine configuration of this job (checked)."""
        values: dict[str, Any] = {
            "population": self.population,
            "generations": self.generations,
            "islands": self.islands,
            "seed": self.seed,
            "target": self.target,
            "stop_when_solved": self.stop_when_solved,
            "max_evaluations": self.max_evaluations,
            "wall_seconds": self.wall_seconds,
            "meta_evolution": self.meta_evolution,
            "epoch_generations": self.epoch_generations or settings.epoch_generations,
            "migrants": self.migrants,
            "creator": settings.creator,
            "l1_cache_bytes": settings.l1_cache_bytes,
            "l2_cache_bytes": settings.l2_cache_bytes,
        }
        config = EvolutionConfig(**(values | overrides))
        config.check()
        return config


def _spec_error(error: ValidationError) -> JobError:
    """One line naming every offending setting."""
    parts = []
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]) or "spec"
        if item["type"] == "extra_forbidden":
            known = ", ".join(k for k in JobSpec.model_fields if k != "problem")
            parts.append(f"unknown setting {name!r} (known: {known})")
        else:
            parts.append(f"{name}: {item['msg']} (got {item.get('input')!r})")
    return JobError("bad job spec: " + "; ".join(parts))


def make_spec(problem: str | Problem, settings: Settings, **values: Any) -> tuple[JobSpec, Problem]:
    """Validate a job spec completely (problem, every setting, the engine check); one JobError if bad."""
    name = problem if isinstance(problem, str) else getattr(problem, "ref", None) or problem.name
    try:
        spec = JobSpec(problem=name, **values).resolved(settings)
    except ValidationError as error:
        raise _spec_error(error) from None
    try:
        chosen = problem if isinstance(problem, Problem) else get_problem(name)
    except EGPError as error:
        raise JobError(f"bad job spec: {error}") from None
    try:
        spec.evolution_config(settings)
    except EvolutionError as error:
        raise JobError(f"bad job spec: {error}") from None
    return spec, chosen


__all__ = ["JobError", "JobSpec", "make_spec"]
