"""The settings of one evolution run, embedded or distributed: one model and one set of defaults.

`RunSettings` is what `evolve()`, `egp evolve`, `Client.submit` and `egp job submit` all take; the typed
options of both commands are generated from it (`egp.cli.run_options`). `JobSettings` adds what only a job
has (where fitness is evaluated, the watchdog's lease) and the one default a job keeps apart: `islands`.

The defaults are the embedded run's. A job took population 100 with 50-generation epochs before; 500 with
10-generation epochs is the same work per epoch task (5,000 GC evaluations), so a task's fixed cost stays as
small beside it, and the same seed now means the same settings in both modes.

This module imports pydantic and nothing heavy: `egp --help` builds the options from it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from egp.config import FitnessMode, Settings
from egp.errors import EGPError


class RunSettings(BaseModel):
    """How one evolution run works, embedded or as a job; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    population: int = Field(default=500, ge=1, description="GCs per island.")
    generations: int = Field(default=500, ge=1, description="Generation budget per island.")
    islands: int = Field(
        default=1, ge=1, description="Islands; the best of each migrate to the next at epoch boundaries."
    )
    seed: int = Field(
        default=0,
        description="Random seed: the same seed and settings on the same Gene Pool give the same result"
        " (an empty Gene Pool, e.g. memory://, reproduces it anywhere).",
    )
    target: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Stop at this fitness (default: when solved)."
    )
    stop_when_solved: bool = Field(
        default=True, description="End at a solution (with no target); off: run on to a budget."
    )
    max_evaluations: int | None = Field(
        default=None, ge=1, description="Evaluation budget (over all islands)."
    )
    wall_seconds: float | None = Field(default=None, gt=0, description="Wall-clock budget in seconds.")
    meta_evolution: bool = Field(default=True, description="Evolve the pGCs too (meta-evolution).")
    epoch_generations: int | None = Field(
        default=None,
        ge=1,
        description="Generations per island epoch (between migrations; one task in a job);"
        " default EGP_EPOCH_GENERATIONS.",
    )
    migrants: int = Field(
        default=2, ge=0, description="Best members copied from the previous island at each epoch boundary."
    )
    sources: str | None = Field(
        default=None,
        description="Initial generation sources, e.g. 'best=0.5,related=0.25:none' (NAME=SHARE[:next|none]"
        " of best, diverse, related, unrelated, spontaneous); default best=0.5:none, related=0.25, the"
        " rest spontaneous.",
    )

    @field_validator("sources")
    @classmethod
    def _valid_sources(cls, value: str | None) -> str | None:
        """Sources must parse (one clear error otherwise)."""
        if value is not None:
            from egp.engine.sources import parse_sources

            try:
                parse_sources(value)
            except EGPError as error:
                raise ValueError(str(error)) from None
        return value

    def engine_values(self, settings: Settings) -> dict[str, Any]:
        """The EvolutionConfig keyword arguments of these settings, process settings filled in."""
        values = {name: getattr(self, name) for name in RunSettings.model_fields}
        if self.sources is not None:
            from egp.engine.sources import parse_sources

            values["sources"] = parse_sources(self.sources)
        return values | {
            "epoch_generations": self.epoch_generations or settings.epoch_generations,
            "creator": settings.creator,
            "l1_cache_bytes": settings.l1_cache_bytes,
            "l2_cache_bytes": settings.l2_cache_bytes,
        }


class JobSettings(RunSettings):
    """A run's settings as a job: where fitness is evaluated and the watchdog's lease besides."""

    # The one default a job keeps apart. A job's islands are its parallelism: each is its own chain of epoch
    # tasks, run by whichever worker is free, so one island would leave every other worker idle. In one
    # process islands run in turn and only split the same work, so an embedded run defaults to one.
    islands: int = Field(
        default=2, ge=1, description="Islands, each evolved by its own chain of epoch tasks (in parallel)."
    )
    fitness_mode: FitnessMode | None = Field(
        default=None,
        description="local (in the worker), remote (executor pool) or auto (measured at the start);"
        " default EGP_FITNESS_MODE.",
    )
    lease_s: int = Field(
        default=15,
        ge=5,
        description="Seconds without a recorded epoch, while no process runs any of its islands, before the"
        " watchdog re-dispatches the job.",
    )


EMBEDDED_DEFAULTS = RunSettings()

__all__ = ["EMBEDDED_DEFAULTS", "JobSettings", "RunSettings"]
