"""Distributed evolution against the in-process engine on this machine: `python -m benchmarks distributed`.

(a) the in-process engine, 2 processes with one island each (memory Gene Pool), on koza-quartic and on a
    CPU-heavy problem (multiplexer-6 by default);
(b) the same work as one job of 2 islands through Celery + Redis + Postgres on a worker with 2 processes,
    local fitness;
(c) remote fitness: 1 worker process + an executor with 2 processes;
(d) the CPU-heavy job on 1 vs 2 worker processes;
(e) remote fitness that pays: the expensive problem (koza-quintic-100k by default, 100,000 rows) on 1 worker
    process + an executor with 2 processes, against 1 worker process scoring locally;
(f) `fitness_mode=auto` (1 worker process + 2 executor processes): which mode a job chooses on koza-quartic
    and on the expensive problem, with the two measured figures behind the choice.

Figures: evaluations per second (wall time from submission to the job's end, including the start task,
every epoch's database transaction and the polling client), tasks per second, (b)/(a) and the (d) speed-up.
Each configuration runs on a fresh Postgres database; Redis database 15 is flushed before each run.
Every run goes on to its generation budget after a solution (`stop_when_solved=False`), so each configuration
does the same work: most seeds solve koza-quartic within a few generations, and a job that short measures
start-up latency, not throughput.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import redis

from egp.config import Settings
from egp.run_settings import JobSettings

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/15"
CELERY = str(Path(sys.executable).parent / "celery")
ROOT = Path(__file__).resolve().parents[1]
# GCs per island, and generations per epoch task (and per in-process flush): an epoch here is the work of
# one epoch task of a default job (500 GCs, EGP_EPOCH_GENERATIONS generations), so a task's fixed cost
# weighs as it does there.
POPULATION = 100
EPOCH_GENERATIONS: int = (
    JobSettings().population * Settings.model_fields["epoch_generations"].default // POPULATION
)


def _in_process_island(problem: str, population: int, generations: int, seed: int, epoch: int) -> int:
    """One island of the in-process engine, run to its generation budget; returns its evaluations."""
    from egp.engine.config import EvolutionConfig
    from egp.engine.evolve import evolve_problem
    from egp.engine.gene_pool import MemoryGenePool
    from egp.problems.registry import get_problem

    config = EvolutionConfig(
        population=population,
        generations=generations,
        islands=1,
        seed=seed,
        epoch_generations=epoch,
        stop_when_solved=False,
    )
    return evolve_problem(get_problem(problem), config, MemoryGenePool()).evaluations


def _ready(_: int) -> None:
    """Import the engine (and wait a moment, so each pool process takes one call)."""
    import egp.engine.evolve  # noqa: F401

    time.sleep(0.5)


def in_process(problem: str, population: int, generations: int, seed: int, epoch: int) -> dict[str, Any]:
    """(a): two processes, one island each, at the same time (timed once both have imported the engine, as
    the Celery workers of (b) have before their job is submitted)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        pool.map(_ready, range(2), chunksize=1)
        started = time.perf_counter()
        evaluations = pool.starmap(
            _in_process_island,
            [(problem, population, generations, seed + k, epoch) for k in range(2)],
            chunksize=1,
        )
        seconds = time.perf_counter() - started
    return {
        "evaluations": sum(evaluations),
        "seconds": round(seconds, 3),
        "evals_per_s": sum(evaluations) / seconds,
    }


class Stack:
    """A fresh Gene Pool and real celery processes for one measurement."""

    def __init__(self) -> None:
        self.name = f"egp_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"
        from egp.migrations import upgrade

        upgrade(self.url)
        redis.Redis.from_url(REDIS_URL).flushdb()
        self.env = os.environ | {
            "EGP_GENE_POOL_URL": self.url,
            "EGP_BROKER_URL": REDIS_URL,
            "EGP_RESULT_BACKEND": REDIS_URL,
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, app: str, queue: str, concurrency: int) -> None:
        """Start `celery -A app worker -Q queue -c concurrency` and wait until it is ready."""
        log = Path(f"/tmp/{self.name}-{queue}.log")
        command = [CELERY, "-A", app, "worker", "-Q", queue, "-c", str(concurrency)]
        command += [
            "-n",
            f"{queue}-{self.name}@bench",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
        ]
        process = subprocess.Popen(
            command,
            env=self.env,
            cwd=ROOT,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        self.logs.append(log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            children = subprocess.run(
                ["pgrep", "-P", str(process.pid)], capture_output=True, text=True
            ).stdout
            if len(children.split()) >= concurrency:
                time.sleep(1.0)  # the consumer connects after forking
                return
            time.sleep(0.2)
        raise RuntimeError(f"{app} did not start: {log.read_text()[-2000:]}")

    def run(self, problem: str, **spec: Any) -> dict[str, Any]:
        """Submit one job and time it to its end."""
        from egp.client import Client
        from egp.config import load_settings

        client = Client(load_settings(gene_pool_url=self.url, broker_url=REDIS_URL, result_backend=REDIS_URL))
        started = time.perf_counter()
        job = client.submit(problem, **spec)
        job.wait(timeout=1800, poll_s=0.1)
        seconds = time.perf_counter() - started
        info = job.info()
        evaluations = int(info.progress.get("evaluations", 0))
        epochs = len(info.progress.get("history") or [])
        with psycopg.connect(self.url.replace("+psycopg", "")) as connection:
            batches = connection.execute("SELECT count(*) FROM fitness_results").fetchone()
        client.close()
        tasks = 1 + epochs  # start + one epoch task per recorded island epoch
        if spec.get("fitness_mode") in ("remote", "auto"):
            # One fitness.evaluate_batch per batch of new GCs (counted in the executor's log).
            tasks += sum(
                line.count("fitness.evaluate_batch") * ("succeeded" in line)
                for log in self.logs
                if "fitness" in log.name
                for line in log.read_text().splitlines()
            )
        result = {
            "status": str(info.status),
            "reason": info.progress.get("reason"),
            "best": info.progress.get("best"),
            "evaluations": evaluations,
            "seconds": round(seconds, 3),
            "evals_per_s": evaluations / seconds,
            "epoch_tasks": epochs,
            "tasks_per_s": tasks / seconds,
        }
        if spec.get("fitness_mode") in ("remote", "auto"):
            result["remote_scores"] = int(batches[0]) if batches else 0
        if "fitness" in info.progress:
            result["fitness"] = info.progress["fitness"]
        return result

    def close(self) -> None:
        """Stop the processes and drop the database."""
        for process in self.processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        from egp.db import dispose_engines

        dispose_engines()
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def through_celery(problem: str, workers: int, executors: int, **spec: Any) -> dict[str, Any]:
    """One job on `workers` evolution processes (and `executors` fitness processes when remote)."""
    stack = Stack()
    try:
        stack.start("workers.app", "evolution", workers)
        if executors:
            stack.start("executors.app", "fitness", executors)
        return stack.run(problem, **spec)
    finally:
        stack.close()


def main(argv: list[str]) -> dict[str, Any]:
    """Run (a)-(d) and return every figure with the ratios."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks distributed")
    parser.add_argument("--population", type=int, default=POPULATION)
    parser.add_argument("--generations", type=int, default=300)
    parser.add_argument("--heavy", default="multiplexer-6", help="the CPU-heavy problem")
    parser.add_argument("--heavy-generations", type=int, default=300)
    parser.add_argument("--expensive", default="koza-quintic-100k", help="the expensive problem of (e), (f)")
    parser.add_argument("--expensive-generations", type=int, default=30)
    parser.add_argument("--auto-generations", type=int, default=10, help="generations of the (f) jobs")
    parser.add_argument(
        "--only", choices=("all", "remote"), default="all", help="remote: only (e) and (f), not (a)-(d)"
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--epoch-generations", type=int, default=EPOCH_GENERATIONS, help="generations per epoch task"
    )
    args = parser.parse_args(argv)
    common = {
        "population": args.population,
        "seed": args.seed,
        "islands": 2,
        "epoch_generations": args.epoch_generations,
        # Every run goes to its generation budget: most seeds solve koza-quartic within a few generations,
        # and a job that stops there measures start-up latency, not throughput; equal work also keeps the
        # 1- and 2-worker runs of (d) comparable.
        "stop_when_solved": False,
    }
    result: dict[str, Any] = {
        "machine_cpus": os.cpu_count(),
        "population": args.population,
        "generations": args.generations,
        "heavy_generations": args.heavy_generations,
        "epoch_generations": args.epoch_generations,
    }
    if args.only == "all":
        runs: dict[str, Any] = {}
        for problem, generations in (
            ("koza-quartic", args.generations),
            (args.heavy, args.heavy_generations),
        ):
            spec = common | {"generations": generations}
            a = in_process(problem, args.population, generations, args.seed, args.epoch_generations)
            b = through_celery(problem, 2, 0, **spec)
            runs[problem] = {
                "a_in_process_2": a,
                "b_celery_2_workers": b,
                "b_over_a": b["evals_per_s"] / a["evals_per_s"],
            }
        heavy = common | {"generations": args.heavy_generations}
        c = through_celery(args.heavy, 1, 2, **heavy, fitness_mode="remote")
        d1 = through_celery(args.heavy, 1, 0, **heavy)
        d2 = runs[args.heavy]["b_celery_2_workers"]
        result["runs"] = runs
        result["c_remote_1_worker_2_executors"] = c
        result["d_1_worker"] = d1
        result["d_speedup_2_over_1"] = d2["evals_per_s"] / d1["evals_per_s"]
    # (e): local first, then remote, each on its own fresh stack; equal work (the same job: remote scores
    # are local's, so both take the same course).
    expensive = common | {"generations": args.expensive_generations}
    e_local = through_celery(args.expensive, 1, 0, **expensive, fitness_mode="local")
    e_remote = through_celery(args.expensive, 1, 2, **expensive, fitness_mode="remote")
    result["e_expensive"] = {
        "problem": args.expensive,
        "generations": args.expensive_generations,
        "local_1_worker": e_local,
        "remote_1_worker_2_executors": e_remote,
        "remote_over_local": e_remote["evals_per_s"] / e_local["evals_per_s"],
        "same_result": (e_local["best"], e_local["evaluations"])
        == (e_remote["best"], e_remote["evaluations"]),
    }
    short = common | {"generations": args.auto_generations}
    result["f_auto"] = {
        problem: through_celery(problem, 1, 2, **short, fitness_mode="auto").get("fitness")
        for problem in ("koza-quartic", args.expensive)
    }
    result["goals"] = {
        "b_over_a_min": 0.8,
        "d_speedup_min": 1.7,
        "e_remote_over_local_min": 1.6,
        "f_auto": {"koza-quartic": "local", args.expensive: "remote"},
    }
    return result
