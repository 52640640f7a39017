"""The job spec: what a client asks for, validated before anything is written or queued."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from egp.config import Settings
from egp.engine.config import EvolutionConfig, EvolutionError
from egp.errors import EGPError
from egp.problems.base import Problem
from egp.problems.registry import get_problem
from egp.run_settings import JobSettings


class JobError(EGPError):
    """A job spec is invalid, or a job is unknown or cannot do what was asked."""


class JobSpec(JobSettings):
    """An evolution job: the problem and its run settings (`egp.run_settings`); unknown keys are refused."""

    problem: str = Field(
        description="A problem name (see `egp problems list`) or a module:attribute reference."
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
        config = EvolutionConfig(**(self.engine_values(settings) | overrides))
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
