"""Faults on a running job: a killed worker process, dropped Postgres connections, a restarted Redis, and
fitness functions that hang or allocate without bound."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from egp.client import Job
from egp.jobs.store import JobStatus

from .conftest import CeleryCluster

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# A job that takes several epochs and is not solved early, so a fault lands mid-job.
LONG_JOB: dict[str, Any] = {"population": 100, "generations": 80, "islands": 1, "seed": 5, "migrants": 0}


def wait_for_epoch(cluster: CeleryCluster, job: Job, epoch: int, deadline_s: float = 120.0) -> None:
    """Wait until island 0 of the job recorded `epoch`."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        rows = cluster.query("SELECT max(epoch) FROM epochs WHERE job = :j", j=job.id)
        if rows[0][0] is not None and rows[0][0] >= epoch:
            return
        time.sleep(0.05)
    raise AssertionError(f"epoch {epoch} not recorded: {cluster.log('worker')}")


def outcome(cluster: CeleryCluster) -> dict[str, Any]:
    """Everything a run wrote that must not depend on faults: GCs, statistics, members, ledger."""
    return {
        "gcs": cluster.query("SELECT signature, island, epoch FROM genetic_codes ORDER BY signature"),
        "stats": cluster.query(
            "SELECT signature, problem, fitness_total, fitness_count, evolvability_total, evolvability_count,"
            " survivability, descendants FROM gc_problem_stats ORDER BY signature, problem"
        ),
        "pgc": cluster.query(
            "SELECT signature, layer, fitness_total, fitness_count, evolvability_total, evolvability_count"
            " FROM pgc_stats ORDER BY signature, layer"
        ),
        "members": cluster.query("SELECT island, signature, position FROM population_members ORDER BY 1, 3"),
        "ledger": cluster.query("SELECT island, epoch FROM epochs ORDER BY 1, 2"),
    }


def run_long_job(cluster: CeleryCluster, fault: Callable[[Job], None] | None = None) -> dict[str, Any]:
    """Run LONG_JOB on a one-process worker, applying `fault` mid-job; returns its outcome."""
    cluster.start("worker", "worker", "-c", "1")
    cluster.wait_ready("worker", 1)
    job = cluster.client().submit("even-parity-5", **LONG_JOB)
    if fault is not None:
        fault(job)
    assert job.wait(timeout=240) == JobStatus.FINISHED, cluster.log("worker")
    assert job.info().progress["reason"] == "generations"
    cluster.stop_all()  # the next cluster shares the broker: no worker of this one may take its tasks
    return outcome(cluster)


@pytest.mark.slow
def test_kill_9_of_a_worker_mid_epoch_changes_nothing(make_cluster: Callable[..., CeleryCluster]) -> None:
    """The killed epoch is redelivered and re-run; GCs and every statistic equal an undisturbed run's."""
    undisturbed = run_long_job(make_cluster())
    cluster = make_cluster()
    killed: list[int] = []

    def kill_mid_epoch(job: Job) -> None:
        wait_for_epoch(cluster, job, 1)
        time.sleep(0.3)  # well inside epoch 2
        for pid in cluster.children("worker"):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    disturbed = run_long_job(cluster, kill_mid_epoch)
    assert killed
    log = (cluster.log_dir / "worker.log").read_text()
    for pid in killed:  # the pool saw each child die of our signal (billiard's supervisor logs it)
        assert f"pid:{pid} exited with 'signal 9 (SIGKILL)'" in log, cluster.log("worker")
    assert len(disturbed["gcs"]) == len(undisturbed["gcs"])
    for key in undisturbed:
        assert disturbed[key] == undisturbed[key], key


@pytest.mark.slow
def test_postgres_connections_dropped_mid_epoch(make_cluster: Callable[..., CeleryCluster]) -> None:
    """Terminating every backend of the Gene Pool mid-job: the tasks retry and the job finishes unchanged."""
    undisturbed = run_long_job(make_cluster())
    cluster = make_cluster()
    database = cluster.gene_pool_url.rsplit("/", 1)[1]

    def terminate_backends(job: Job) -> None:
        wait_for_epoch(cluster, job, 0)
        for _ in range(3):
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
                connection.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                )
            time.sleep(0.7)

    disturbed = run_long_job(cluster, terminate_backends)
    for key in undisturbed:
        assert disturbed[key] == undisturbed[key], key


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def private_redis() -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start (and restart) a throwaway redis-server without persistence on a free port."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    servers: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        """Start the server on the fixture's port and wait until it answers."""
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        servers.append(server)
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        server.port = port  # type: ignore[attr-defined]
        return server

    yield start
    for server in servers:
        server.kill()
        server.wait()


@pytest.mark.slow
def test_redis_restarted_mid_job_the_watchdog_redispatches(
    make_cluster: Callable[..., CeleryCluster], private_redis: Callable[[], subprocess.Popen[bytes]]
) -> None:
    """Redis dies with the queued epochs; after it restarts the DB manager's watchdog re-sends them."""
    server = private_redis()
    broker = f"redis://127.0.0.1:{server.port}/0"  # type: ignore[attr-defined]
    cluster = make_cluster(broker, EGP_WATCHDOG_INTERVAL_S="2")
    cluster.start("worker", "worker", "-c", "1")
    cluster.start("dbmanager", "dbmanager")
    cluster.start("beat", "beat")
    cluster.wait_ready("worker", 1)
    cluster.wait_ready("dbmanager", 1)
    # Three islands on one process: when the first records epoch 0, the process takes the second's epoch 0
    # and the third's waits in Redis, and dies with it; the other islands then wait for the third (epochs
    # advance in step) until the watchdog sends it again.
    job = cluster.client().submit("even-parity-5", **(LONG_JOB | {"islands": 3, "lease_s": 6}))
    wait_for_epoch(cluster, job, 0)
    server.kill()
    server.wait()
    time.sleep(1.5)
    private_redis()
    assert job.wait(timeout=180) == JobStatus.FINISHED, cluster.log("worker") + cluster.log("dbmanager")
    assert job.info().progress["reason"] == "generations"
    assert "'dispatched': [[" in (cluster.log_dir / "dbmanager.log").read_text()


@pytest.mark.slow
def test_hanging_and_hungry_fitness_functions_score_zero(make_cluster: Callable[..., CeleryCluster]) -> None:
    """Remote fitness: a GC whose fitness hangs or allocates without bound scores 0 with the reason; the
    executor process survives and the jobs finish."""
    cluster = make_cluster(EGP_FITNESS_TIME_LIMIT_S="0.5", EGP_EXECUTOR_MEMORY_LIMIT_MB="700")
    cluster.start("worker", "worker", "-c", "1")
    cluster.start("executor", "executor", "-c", "1")
    cluster.wait_ready("worker", 1)
    cluster.wait_ready("executor", 1)
    executor_pids = cluster.children("executor")
    client = cluster.client()
    settings = {
        "population": 20,
        "generations": 4,
        "islands": 1,
        "fitness_mode": "remote",
        "epoch_generations": 2,
    }
    jobs = [
        client.submit(f"poison_problems:{name}", **settings) for name in ("SleepyQuartic", "HungryQuartic")
    ]
    for job in jobs:
        assert job.wait(timeout=180) == JobStatus.FINISHED, cluster.log("worker") + cluster.log("executor")
    reasons = [r[0] for r in cluster.query("SELECT reason FROM fitness_results WHERE reason IS NOT NULL")]
    assert any(r.startswith("timeout") for r in reasons), reasons
    assert any("MemoryError" in r for r in reasons), reasons
    zero = cluster.query("SELECT max(fitness) FROM fitness_results WHERE reason IS NOT NULL")
    assert zero[0][0] == 0.0
    assert cluster.children("executor") == executor_pids  # the same pool process did all of it


@pytest.mark.slow
def test_egp_job_resume_after_every_process_was_killed(
    make_cluster: Callable[..., CeleryCluster], private_redis: Callable[[], subprocess.Popen[bytes]]
) -> None:
    """The worker and Redis (with every queued task) killed mid-job, no watchdog, no worker running: the job
    stalls until `egp job resume` re-sends its next epoch; a worker started then finishes it with the same
    GCs and statistics as an undisturbed run."""
    undisturbed = run_long_job(make_cluster())
    server = private_redis()
    broker = f"redis://127.0.0.1:{server.port}/0"  # type: ignore[attr-defined]
    cluster = make_cluster(broker)
    cluster.start("worker", "worker", "-c", "1")
    cluster.wait_ready("worker", 1)
    job = cluster.client().submit("even-parity-5", **LONG_JOB)
    wait_for_epoch(cluster, job, 1)
    time.sleep(0.3)  # inside epoch 2
    cluster.stop("worker", signal.SIGKILL)
    server.kill()
    server.wait()
    private_redis()  # the same port, empty: every task is gone
    recorded = cluster.query("SELECT count(*) FROM epochs WHERE job = :j", j=job.id)[0][0]
    time.sleep(3)
    assert cluster.query("SELECT count(*) FROM epochs WHERE job = :j", j=job.id)[0][0] == recorded, (
        "not stalled"
    )
    assert job.status() == JobStatus.RUNNING
    egp = str(Path(sys.executable).parent / "egp")
    resumed = subprocess.run(
        [egp, "job", "resume", job.id],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    cluster.start("worker-again", "worker", "-c", "1")
    assert job.wait(timeout=240) == JobStatus.FINISHED, cluster.log("worker-again")
    assert job.info().progress["reason"] == "generations"
    cluster.stop_all()
    disturbed = outcome(cluster)
    for key in undisturbed:
        assert disturbed[key] == undisturbed[key], key


MULTI_ISLAND_JOB: dict[str, Any] = LONG_JOB | {"islands": 3, "migrants": 2, "generations": 60, "seed": 8}


def run_multi_island_job(
    cluster: CeleryCluster, fault: Callable[[Job], None] | None = None
) -> dict[str, Any]:
    """Run MULTI_ISLAND_JOB on a two-process worker, applying `fault` mid-job; returns its outcome."""
    cluster.start("worker", "worker", "-c", "2")
    cluster.wait_ready("worker", 2)
    job = cluster.client().submit("even-parity-5", **MULTI_ISLAND_JOB)
    if fault is not None:
        fault(job)
    assert job.wait(timeout=300) == JobStatus.FINISHED, cluster.log("worker")
    cluster.stop_all()
    result = outcome(cluster)
    # Which island a GC is credited to is provenance, not a result: two islands that make the same GC in
    # the same epoch race to store it first. The GCs themselves must be the same.
    result["gcs"] = [row[0] for row in result["gcs"]]
    return result


@pytest.mark.slow
def test_multi_island_job_killed_worker_and_lost_queue_resume_on_worker_start(
    make_cluster: Callable[..., CeleryCluster], private_redis: Callable[[], subprocess.Popen[bytes]]
) -> None:
    """A three-island job: the whole worker killed with -9 and Redis restarted empty (every queued epoch
    lost), no watchdog. The restarted worker re-sends the job's next epochs itself: progress within 30 s of
    its start, and every GC, statistic (==, exact), member and ledger row equals an undisturbed run's."""
    undisturbed = run_multi_island_job(make_cluster())
    server = private_redis()
    broker = f"redis://127.0.0.1:{server.port}/0"  # type: ignore[attr-defined]
    cluster = make_cluster(broker)
    recovery: list[float] = []

    def kill_everything(job: Job) -> None:
        wait_for_epoch(cluster, job, 2)
        cluster.stop("worker", signal.SIGKILL)  # the whole process group: main process and children
        server.kill()
        server.wait()
        private_redis()
        recorded = cluster.query("SELECT count(*) FROM epochs WHERE job = :j", j=job.id)[0][0]
        cluster.start("worker", "worker", "-c", "2")
        started = time.monotonic()
        while cluster.query("SELECT count(*) FROM epochs WHERE job = :j", j=job.id)[0][0] == recorded:
            assert time.monotonic() - started < 30, cluster.log("worker")
            time.sleep(0.1)
        recovery.append(time.monotonic() - started)

    disturbed = run_multi_island_job(cluster, kill_everything)
    assert recovery and recovery[0] < 30
    for key in undisturbed:
        assert disturbed[key] == undisturbed[key], key
