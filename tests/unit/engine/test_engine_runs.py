"""Whole runs: determinism (same seed → same best and history, also across processes with different hash
seeds), a misbehaving problem never stopping a run, configuration errors and the `egp evolve` CLI errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from engine_support import BadKoza, small_config

from egp.engine import evolve as evolve_module
from egp.engine.config import EvolutionConfig, EvolutionError
from egp.engine.evolve import evolve_problem
from egp.engine.gene_pool import MemoryGenePool
from egp.problems import EvenParity3, KozaQuartic

EGP = str(Path(sys.executable).parent / "egp")
REPO = Path(__file__).resolve().parents[3]

RUN_SCRIPT = """
import json
from egp.engine.config import EvolutionConfig
from egp.engine.evolve import evolve_problem
from egp.engine.gene_pool import MemoryGenePool
from egp.problems import KozaQuartic
config = EvolutionConfig(population=24, generations=6, epoch_generations=3, islands=2, migrants=2, seed=11)
result = evolve_problem(KozaQuartic(), config, MemoryGenePool())
print(json.dumps({"best": result.best_signature, "history": result.history_dicts(),
                  "evaluations": result.evaluations}))
"""


def run_summary(seed: int) -> dict[str, object]:
    config = EvolutionConfig(
        population=24, generations=6, epoch_generations=3, islands=2, migrants=2, seed=seed
    )
    result = evolve_problem(KozaQuartic(), config, MemoryGenePool())
    return {
        "best": result.best_signature,
        "history": result.history_dicts(),
        "evaluations": result.evaluations,
    }


def test_one_seed_gives_one_result_in_process() -> None:
    """Two runs with seed 11 (fresh Gene Pools) agree on the best signature and the whole history."""
    first, second = run_summary(11), run_summary(11)
    assert first == second
    assert 1 <= len(first["history"]) <= 12  # type: ignore[arg-type]  # one per island generation; fewer if solved


def test_one_seed_gives_one_result_across_processes() -> None:
    """Different PYTHONHASHSEEDs (set and dict order of str/bytes differ) give the same best and history."""
    outputs = []
    for hash_seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", RUN_SCRIPT], capture_output=True, text=True, timeout=120, env=env, cwd=REPO
        )
        assert done.returncode == 0, done.stderr
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0] == json.loads(json.dumps(run_summary(11)))


def test_different_seeds_differ() -> None:
    """The seed matters (otherwise the determinism tests above would prove nothing)."""
    assert run_summary(11)["history"] != run_summary(12)["history"]


@pytest.mark.parametrize("mode", ["raise", "nan", "out_of_range"])
def test_a_bad_problem_does_not_stop_the_run(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An assess that raises, returns NaN or returns 1.7 on some programs: the run completes all its
    generations; those programs score 0 with the reason recorded; the others are scored normally."""
    engines: list[evolve_module.Engine] = []

    class Watched(evolve_module.Engine):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            engines.append(self)

    monkeypatch.setattr(evolve_module, "Engine", Watched)
    problem = BadKoza()
    problem.mode = mode
    result = evolve_problem(problem, small_config(population=16, generations=4, seed=5), MemoryGenePool())
    assert result.generations == 4 and len(result.history) == 4
    (engine,) = engines
    failed = [score for score in engine.scores.values() if score.reason is not None]
    assert failed, "no program triggered the bad assessment"
    expected = {
        "raise": "assess raised RuntimeError",
        "nan": "fitness is NaN",
        "out_of_range": "outside [0, 1]",
    }
    for score in failed:
        assert score.fitness == 0.0 and not score.solved
        assert expected[mode] in (score.reason or "")
    assert len(failed) < len(engine.scores), "every program failed: the normal path was not exercised"
    assert 0.0 < result.best_fitness <= 1.0


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"population": 0}, "population must be at least 1"),
        ({"generations": 0}, "generations must be at least 1"),
        ({"islands": 0}, "islands must be at least 1"),
        ({"pgc_evolve_every": 0}, "pgc_evolve_every must be at least 1"),
        ({"pgc_layers": 0}, "pgc_layers must be at least 1"),
        ({"target": 2.0}, "target must be in [0, 1]"),
        ({"target": -0.1}, "target must be in [0, 1]"),
        ({"max_evaluations": 0}, "max_evaluations must be at least 1"),
        ({"wall_seconds": 0.0}, "wall_seconds must be positive"),
        ({"population": 4, "migrants": 4}, "migrants must be in [0, population)"),
        ({"migrants": -1}, "migrants must be in [0, population)"),
        ({"selection_pressure": -1.0}, "selection_pressure must be >= 0"),
        ({"reseed": 1.5}, "reseed must be in [0, 1]"),
        ({"reseed": -0.1}, "reseed must be in [0, 1]"),
    ],
)
def test_config_check_names_the_bad_setting(setting: dict[str, object], message: str) -> None:
    """EvolutionConfig.check raises EvolutionError naming the first setting out of range."""
    with pytest.raises(EvolutionError) as caught:
        EvolutionConfig(**setting).check()  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_the_engine_checks_its_config() -> None:
    """A run with a bad config fails before doing anything."""
    with pytest.raises(EvolutionError, match="population"):
        evolve_problem(EvenParity3(), EvolutionConfig(population=0), MemoryGenePool())
    EvolutionConfig().check()


def run_egp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EGP, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_cli_unknown_problem_is_one_line(tmp_path: Path) -> None:
    """`egp evolve no-such-problem` fails with one `error:` line naming the problem, no traceback."""
    done = run_egp("evolve", "no-such-problem", "--gene-pool", "memory://", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "no-such-problem" in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--population", "0"], "population must be at least 1, got 0"),
        (["--target", "2"], "target must be in [0, 1], got 2.0"),
        (["--generations", "-3"], "generations must be at least 1, got -3"),
    ],
)
def test_cli_bad_option_is_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    """A bad option value is one `error:` line, exit code 2, no traceback."""
    done = run_egp("evolve", "even-parity-3", "--gene-pool", "memory://", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"error: {needle}"


def test_cli_malformed_option_is_a_usage_error(tmp_path: Path) -> None:
    """A value of the wrong kind is Typer's usage error (exit 2), not a traceback."""
    done = run_egp("evolve", "even-parity-3", "--population", "many", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "Usage: egp evolve" in done.stderr


@pytest.mark.parametrize("budget", [7, 31, 58, 95])
def test_the_evaluation_budget_is_never_exceeded(budget: int) -> None:
    """max_evaluations is a hard limit, also for an initial population or a reseed larger than what is left
    (stagnation 1, reseed 0.9: every unimproved generation assembles and scores 27 fresh GCs)."""
    from egp.problems import EvenParity5

    config = EvolutionConfig(
        population=30, generations=50, seed=3, max_evaluations=budget, stagnation=1, reseed=0.9
    )
    result = evolve_problem(EvenParity5(), config, MemoryGenePool())
    assert result.evaluations == budget
