"""What the CLI prints: programs that parse, whole ids in tables, exit codes and errors as the help says."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from egp.cli import output
from egp.cli.evolve_cmd import Budget, RunTracker, program_text
from egp.cli.job_cmd import _line as job_line
from egp.cli.job_cmd import island_rows, watch_table
from egp.config import load_settings
from egp.engine.config import GenerationRecord
from egp.jobs.spec import make_spec
from egp.jobs.store import JobInfo, JobStatus, JobStore
from egp.migrations import upgrade

EGP = str(Path(sys.executable).parent / "egp")


def run_egp(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `egp ARGS` with stdout and stderr piped and only the given EGP_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EGP_")} | env
    return subprocess.run([EGP, *args], capture_output=True, text=True, timeout=180, cwd=cwd, env=clean)


def make_job(tmp_path: Path, progress: dict[str, Any] | None = None) -> tuple[str, str]:
    """A SQLite Gene Pool at head holding one job (queued unless `progress` says otherwise)."""
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    upgrade(url)
    spec, problem = make_spec("koza-quartic", load_settings(gene_pool_url=url), generations=100)
    store = JobStore(url)
    job_id = store.create(spec, problem.identity)
    if progress is not None:
        with store.engine.begin() as connection:
            store.write(connection, job_id, JobStatus.RUNNING, progress)
    return url, job_id


def test_a_piped_program_is_valid_python(tmp_path: Path) -> None:
    """`egp evolve ... > best.py` writes a file that parses, header included (no line cropped to 80)."""
    result = run_egp("evolve", "koza-quartic", "--seed", "1", "--fresh", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ast.parse(result.stdout)
    assert result.stdout.startswith("# koza-quartic: ")
    assert max(len(line) for line in result.stdout.splitlines()) > 80  # long lines kept whole
    assert list(tmp_path.iterdir()) == []  # --fresh stores nothing


def test_program_text_comments_the_header() -> None:
    """The report lines become comments and the source follows unchanged."""
    text = program_text(["a: solved", "best GC ab"], "def f(x):\n    return x\n")
    assert text == "# a: solved\n# best GC ab\ndef f(x):\n    return x\n"
    ast.parse(text)


def test_fresh_runs_with_one_seed_repeat(tmp_path: Path) -> None:
    """--fresh with the same seed gives the same result (the reproducibility --seed's help promises)."""
    runs = [
        json.loads(
            run_egp("evolve", "even-parity-3", "--seed", "4", "--fresh", "--json", cwd=tmp_path).stdout
        )
        for _ in range(2)
    ]
    for key in ("best_signature", "evaluations", "generations", "best_fitness"):
        assert runs[0][key] == runs[1][key]
    assert len(runs[0]["history"]) == runs[0]["generations"]  # --json keeps the per-generation history
    assert {"generation", "best", "mean", "evaluations"} <= set(runs[0]["history"][0])


def test_fresh_and_a_gene_pool_conflict(tmp_path: Path) -> None:
    """--fresh with a persistent --gene-pool is one line and exit code 2."""
    result = run_egp("evolve", "koza-quartic", "--fresh", "--gene-pool", "sqlite:///x.db", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--fresh" in result.stderr


def test_progress_shows_the_best_so_far_and_the_binding_budget() -> None:
    """The bar keeps the run's best when a generation's best falls, and follows the evaluation budget."""
    tracker = RunTracker(Budget(generations=500, max_evaluations=1000), started=0.0)
    first = tracker.update(GenerationRecord(10, 0.625, 0.3, 400, 0.0, 50), now=2.0)
    second = tracker.update(GenerationRecord(20, 0.59, 0.3, 800, 0.0, 50), now=4.0)
    assert first["best"] == second["best"] == 0.625
    assert second["completed"] == pytest.approx(0.8)  # 800/1000 evaluations, not 20/500 generations
    assert second["rate"] == pytest.approx(200.0)
    assert Budget(100, wall_seconds=10).fraction(5, 50, 9.0) == pytest.approx(0.9)
    assert Budget(100).fraction(150, 0, 0.0) == 1.0


def test_piped_tables_keep_whole_names_and_ids(tmp_path: Path) -> None:
    """Piped, `egp problems list` and `egp codons list` are tab-separated with every name and id whole."""
    problems = run_egp("problems", "list", cwd=tmp_path)
    assert problems.returncode == 0, problems.stderr
    lines = problems.stdout.splitlines()
    assert lines[0].split("\t") == ["name", "family", "inputs → outputs", "cases", "description"]
    assert all(len(line.split("\t")) == 5 for line in lines)
    assert "even-parity-6\teven-parity n=6\t" in problems.stdout
    assert "tic-tac-toe-next-state" in [line.split("\t")[0] for line in lines]
    assert "…" not in problems.stdout
    codons = run_egp("codons", "list", cwd=tmp_path)
    rows = [line.split("\t") for line in codons.stdout.splitlines()[1:]]
    assert rows and all(len(row) == 6 and len(row[1]) == 64 for row in rows)


def test_terminal_tables_never_cut_key_columns(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """On an 80-column terminal the key columns stay whole; the other columns wrap instead."""
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")
    job_id = "3f77adf0c1b24e8f9a7d6c5b4a392817"
    output.print_table(
        ("id", "problem", "description"),
        [(job_id, "tic-tac-toe-next-state", "a long description " * 8)],
        keys=("id", "problem"),
    )
    shown = capsys.readouterr().out
    assert job_id in shown and "tic-tac-toe-next-state" in shown


def test_job_list_piped_shows_whole_ids(tmp_path: Path) -> None:
    """`egp job list | cat` prints the full job id."""
    url, job_id = make_job(tmp_path)
    result = run_egp("job", "list", cwd=tmp_path, EGP_GENE_POOL_URL=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split("\t")[:3] == [job_id, "queued", "koza-quartic"]


def test_wait_timeout_exits_1_as_the_help_says(tmp_path: Path) -> None:
    """`egp job wait --timeout` on a job that does not end exits 1 (did not finish), not 2 (usage)."""
    url, job_id = make_job(tmp_path)
    result = run_egp("job", "wait", job_id, "--timeout", "0.5", cwd=tmp_path, EGP_GENE_POOL_URL=url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "still queued" in result.stderr and "Traceback" not in result.stderr
    assert "exit 1" in run_egp("job", "wait", "--help", cwd=tmp_path).stdout


def test_status_json_has_the_history(tmp_path: Path) -> None:
    """`egp job status --json` includes the per-island-epoch history a user can plot."""
    history = [{"island": 0, "epoch": 0, "generation": 50, "evaluations": 900, "best": 0.5, "mean": 0.2}]
    url, job_id = make_job(tmp_path, {"history": history, "generation": 50, "evaluations": 900, "best": 0.5})
    result = run_egp("job", "status", job_id, "--json", cwd=tmp_path, EGP_GENE_POOL_URL=url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["history"] == history


def test_watch_view_per_island() -> None:
    """The watch view has a row per island with evaluations per second and an ETA to the budget."""
    created = datetime(2025, 1, 1, tzinfo=UTC)
    spec, _ = make_spec("koza-quartic", load_settings(), generations=100)
    islands = {
        "1": {
            "epoch": 1,
            "generation": 50,
            "evaluations": 1000,
            "best": 0.9,
            "mean": 0.5,
            "updated": (created + timedelta(seconds=10)).isoformat(),
        },
        "0": {
            "epoch": 0,
            "generation": 25,
            "evaluations": 400,
            "best": 0.7,
            "mean": 0.4,
            "updated": (created + timedelta(seconds=5)).isoformat(),
        },
    }
    info = JobInfo("j1", spec, JobStatus.RUNNING, {"islands": islands, "best": 0.9}, created=created)
    rows = island_rows(info, now=created + timedelta(seconds=12))
    assert [row["island"] for row in rows] == [0, 1]
    assert rows[1]["evals_per_s"] == pytest.approx(100.0)
    assert rows[1]["eta_s"] == pytest.approx(10.0)  # 50 more generations at 5 per second
    assert watch_table(info).row_count == 2


def test_submit_without_a_broker_refuses(tmp_path: Path) -> None:
    """Embedded mode: `egp job submit` refuses in one line pointing to `egp evolve`, and writes nothing."""
    result = run_egp("job", "submit", "koza-quartic", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "egp evolve" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_database_error_is_one_line(tmp_path: Path) -> None:
    """An unreachable Gene Pool is one line on stderr, without SQLAlchemy's "Background on this error"."""
    url = "postgresql://postgres@127.0.0.1:1/nothing"
    result = run_egp("job", "list", cwd=tmp_path, EGP_GENE_POOL_URL=url)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Background" not in result.stderr and "Connection refused" in result.stderr


def test_help_loads_no_heavy_library() -> None:
    """`egp --help` imports neither SQLAlchemy, Celery, numpy nor Alembic (it was 1.3 s with them)."""
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom egp.cli import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "print(sorted(m for m in ('sqlalchemy', 'celery', 'numpy', 'alembic', 'redis') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_a_job_line_says_where_it_scores_and_why() -> None:
    """`egp job status` shows fitness_mode auto's choice with its reason (the two measured figures)."""
    spec, _ = make_spec("koza-quartic", load_settings(gene_pool_url="sqlite://"))
    choice = {
        "mode": "local",
        "reason": "one evaluation (0.041 ms) costs less than 2x the worker's own share of a hop",
        "evaluation_ms": 0.041,
        "hop_ms": 0.43,
    }
    line = job_line(JobInfo("j1", spec, JobStatus.RUNNING, {"best": 0.5, "fitness": choice}))
    assert line.endswith(f"; fitness local: {choice['reason']}")
    assert "fitness" not in job_line(JobInfo("j2", spec, JobStatus.QUEUED, {}))
