"""One run-settings model: the same defaults embedded and as a job, and typed options generated from it."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from egp.api import evolve
from egp.cli.run_options import run_options
from egp.config import Settings, load_settings
from egp.engine.config import EvolutionConfig
from egp.jobs.spec import JobSpec, make_spec
from egp.run_settings import JobSettings, RunSettings
from tests.unit.test_cli_output import run_egp

RUN_FIELDS = tuple(RunSettings.model_fields)


def test_one_set_of_defaults() -> None:
    """RunSettings, evolve() and the engine agree on every default; a job differs only in its islands."""
    run, engine = RunSettings(), EvolutionConfig()
    for name in RUN_FIELDS:
        if name == "epoch_generations":  # None: the process setting, whose default is the engine's
            assert run.epoch_generations is None
            assert Settings.model_fields[name].default == engine.epoch_generations
        else:
            assert getattr(run, name) == getattr(engine, name), name
    parameters = inspect.signature(evolve).parameters
    assert {name: parameters[name].default for name in RUN_FIELDS} == run.model_dump()
    job = JobSettings()
    differing = {name for name in RUN_FIELDS if getattr(job, name) != getattr(run, name)}
    assert differing == {"islands"} and (run.islands, job.islands) == (1, 2)
    assert set(JobSpec.model_fields) == set(JobSettings.model_fields) | {"problem"}


def test_a_one_island_job_runs_the_embedded_configuration() -> None:
    """A job's engine configuration is what evolve() builds from the same settings."""
    process = load_settings()
    for values in ({"seed": 7}, {"seed": 2, "population": 200, "migrants": 0, "epoch_generations": 3}):
        spec, _ = make_spec("koza-quartic", process, islands=1, **values)
        embedded = EvolutionConfig(**RunSettings(islands=1, **values).engine_values(process))
        assert spec.evolution_config(process) == embedded


def _recorder() -> tuple[typer.Typer, list[dict[str, Any]]]:
    """A one-command app with the generated job options that records what the command receives."""
    app = typer.Typer()
    seen: list[dict[str, Any]] = []

    @app.command()
    @run_options(JobSettings)
    def command(name: Annotated[str, typer.Argument()], *, run: dict[str, Any]) -> None:
        seen.append({"name": name, **run})

    return app, seen


def _argument(name: str, value: Any) -> list[str]:
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return [flag if value else "--no-" + flag[2:]]
    return [flag, str(value)]


@settings(max_examples=60, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "population": st.integers(1, 10_000),
            "generations": st.integers(1, 10_000),
            "islands": st.integers(1, 64),
            "seed": st.integers(-(2**31), 2**31),
            "target": st.floats(0, 1),
            "stop_when_solved": st.booleans(),
            "max_evaluations": st.integers(1, 10**9),
            "wall_seconds": st.floats(0.001, 1e6),
            "meta_evolution": st.booleans(),
            "epoch_generations": st.integers(1, 1000),
            "migrants": st.integers(0, 100),
            "fitness_mode": st.sampled_from(["local", "remote"]),
            "lease_s": st.integers(5, 10_000),
        },
    )
)
def test_generated_options_give_exactly_what_was_typed(values: dict[str, Any]) -> None:
    """Every setting typed as an option reaches the command with its value; nothing untyped does."""
    app, seen = _recorder()
    arguments = ["quartic"] + [part for k, v in values.items() for part in _argument(k, v)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    received = seen[-1]
    assert received.pop("name") == "quartic"
    assert set(received) == set(values)
    for key, value in values.items():
        assert received[key] == value or float(received[key]) == float(value)


def test_every_setting_is_an_option_of_both_commands() -> None:
    """`egp evolve` and `egp job submit` list one option per field of their model (and the old --meta)."""
    from egp.cli import app

    runner = CliRunner()
    evolve_help = runner.invoke(app, ["evolve", "--help"], env={"COLUMNS": "250"}).output
    submit_help = runner.invoke(app, ["job", "submit", "--help"], env={"COLUMNS": "250"}).output
    for name in RunSettings.model_fields:
        flag = "--" + name.replace("_", "-")
        assert flag in evolve_help and flag in submit_help, name
    assert "--fitness-mode" in submit_help and "--lease-s" in submit_help
    assert "--fitness-mode" not in evolve_help
    assert "--no-meta" in evolve_help and "--set" in submit_help


def test_evolve_no_meta_still_works() -> None:
    """The pre-generated spelling `--no-meta` still turns meta-evolution off."""
    app, seen = _recorder()
    assert CliRunner().invoke(app, ["q", "--no-meta"]).exit_code == 0
    assert seen[-1]["meta_evolution"] is False


def test_submit_refuses_a_setting_given_twice_and_a_bad_option(tmp_path: Path) -> None:
    """A typed option and --set naming the same setting, or a value out of range: one line, exit code 2."""
    broker = {"EGP_BROKER_URL": "redis://127.0.0.1:1/0", "EGP_GENE_POOL_URL": f"sqlite:///{tmp_path}/p.db"}
    twice = run_egp(
        "job", "submit", "koza-quartic", "--population", "3", "--set", "population=4", cwd=tmp_path, **broker
    )
    assert twice.returncode == 2 and twice.stderr.count("\n") == 1
    assert "--population given both as an option and with --set" in twice.stderr
    bad = run_egp("job", "submit", "koza-quartic", "--population", "0", cwd=tmp_path, **broker)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "population" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "p.db").exists()  # nothing written for a refused spec
