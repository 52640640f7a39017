"""The job spec: defaults, one-line errors for bad input, and the engine configuration it makes."""

from __future__ import annotations

import pytest

from egp.config import FitnessMode, load_settings
from egp.jobs.recovery import next_epochs
from egp.jobs.spec import JobError, JobSpec, make_spec


def test_defaults_come_from_the_settings() -> None:
    """fitness_mode and epoch_generations default to EGP_FITNESS_MODE and EGP_EPOCH_GENERATIONS."""
    settings = load_settings(fitness_mode="remote", epoch_generations=7)
    spec, problem = make_spec("koza-quartic", settings, seed=4)
    assert problem.name == "koza-quartic"
    assert spec.fitness_mode == FitnessMode.REMOTE and spec.epoch_generations == 7
    config = spec.evolution_config(settings)
    assert (config.seed, config.epoch_generations, config.islands) == (4, 7, spec.islands)
    assert config.stop_when_solved
    spec, _ = make_spec("koza-quartic", settings, stop_when_solved=False)
    assert spec.evolution_config(settings).stop_when_solved is False


@pytest.mark.parametrize(
    ("problem", "values", "expected"),
    [
        ("nope", {}, "bad job spec: unknown problem 'nope'"),
        ("koza-quartic", {"population": -1}, "bad job spec: population: "),
        ("koza-quartic", {"populaton": 10}, "bad job spec: unknown setting 'populaton'"),
        ("koza-quartic", {"target": 2.0}, "bad job spec: target: "),
        (
            "koza-quartic",
            {"population": 2, "migrants": 2},
            "bad job spec: migrants must be in [0, population)",
        ),
    ],
)
def test_a_bad_spec_is_one_line(problem: str, values: dict[str, object], expected: str) -> None:
    """Each mistake is one JobError line naming it."""
    with pytest.raises(JobError) as raised:
        make_spec(problem, load_settings(), **values)
    assert str(raised.value).startswith(expected) and "\n" not in str(raised.value)


def test_a_spec_round_trips_through_json() -> None:
    """The jobs row stores the spec as JSON and reads back the same spec."""
    spec, _ = make_spec("koza-quartic", load_settings(), seed=9, target=0.9)
    assert JobSpec.model_validate(spec.model_dump(mode="json")) == spec


def test_next_epochs_of_a_finished_job_is_empty() -> None:
    """Nothing is re-dispatched for a job that ended."""
    from datetime import UTC, datetime

    from egp.jobs.store import JobInfo, JobStatus

    spec, _ = make_spec("koza-quartic", load_settings())
    info = JobInfo("x", spec, JobStatus.FINISHED, {}, datetime.now(UTC), datetime.now(UTC))
    assert next_epochs(None, info) == []  # type: ignore[arg-type]
