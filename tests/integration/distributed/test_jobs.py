"""Jobs through the Client on real worker and executor processes: local and remote fitness, bad specs."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import redis

from egp.jobs.spec import JobError
from egp.jobs.store import JobStatus

from .conftest import REDIS_URL, CeleryCluster


@pytest.mark.slow
def test_a_job_solves_koza_quartic_with_two_worker_processes(
    make_cluster: Callable[..., CeleryCluster],
) -> None:
    """Local fitness: two islands on a two-process worker reach the target; every GC carries provenance."""
    cluster = make_cluster()
    cluster.start("worker", "worker", "-c", "2")
    cluster.wait_ready("worker", 2)
    job = cluster.client().submit("koza-quartic", seed=3)
    assert job.wait(timeout=240) == JobStatus.FINISHED, cluster.log("worker")
    best = job.best()
    assert best is not None and best.fitness >= 0.99, job.info().progress
    assert "def gc_" in best.source and len(best.signature) == 64
    assert {h["island"] for h in job.history()} == {0, 1}
    missing = cluster.query(
        "SELECT count(*) FROM genetic_codes"
        " WHERE job IS NULL OR island IS NULL OR epoch IS NULL OR worker IS NULL"
    )
    assert missing[0][0] == 0, cluster.query(
        "SELECT job IS NULL, island, epoch, worker IS NULL, count(*) FROM genetic_codes GROUP BY 1, 2, 3, 4"
    )
    workers = cluster.query("SELECT DISTINCT worker FROM genetic_codes")
    assert all(w[0].startswith("worker-") for w in workers)


@pytest.mark.slow
def test_a_job_solves_koza_quartic_in_remote_fitness_mode(make_cluster: Callable[..., CeleryCluster]) -> None:
    """Remote fitness: executors score every new GC, and the job reaches the target."""
    cluster = make_cluster()
    cluster.start("worker", "worker", "-c", "2")
    cluster.start("executor", "executor", "-c", "1")
    cluster.wait_ready("worker", 2)
    cluster.wait_ready("executor", 1)
    # The test stops at a target so it checks the remote pipeline end to end rather than how lucky a search
    # was. (It used to stall at 0.884 in about one run in three: remote scores carried no behaviour digest,
    # so islands filled with neutral variants; see test_remote_fitness.py.)
    job = cluster.client().submit("koza-quartic", seed=3, fitness_mode="remote", target=0.95)
    assert job.wait(timeout=240) == JobStatus.FINISHED, cluster.log("worker") + cluster.log("executor")
    best = job.best()
    assert best is not None and best.fitness >= 0.95, job.info().progress
    scored = cluster.query(
        "SELECT count(*), count(DISTINCT worker) FROM fitness_results WHERE job = :j", j=job.id
    )
    assert scored[0][0] >= job.info().progress["evaluations"] * 0.5
    assert scored[0][1] == 1  # the executor's one pool process scored them, not the worker
    # Selection needs each score's behaviour digest (one survivor per behaviour first), not only its fitness.
    without = cluster.query(
        "SELECT count(*) FROM fitness_results WHERE job = :j AND reason IS NULL AND behaviour IS NULL",
        j=job.id,
    )
    assert without[0][0] == 0


@pytest.mark.parametrize(
    ("problem", "settings", "message"),
    [
        ("no-such-problem", {}, "unknown problem 'no-such-problem'"),
        ("koza-quartic", {"population": -5}, "population"),
        ("koza-quartic", {"colour": "red"}, "unknown setting 'colour'"),
        ("koza-quartic", {"fitness_mode": "cloud"}, "fitness_mode"),
    ],
)
def test_a_bad_spec_is_one_clear_error_and_nothing_is_queued(
    make_cluster: Callable[..., CeleryCluster], problem: str, settings: dict[str, object], message: str
) -> None:
    """Unknown problem, negative population, unknown setting: one line, no jobs row, no message queued."""
    cluster = make_cluster()
    with pytest.raises(JobError) as raised:
        cluster.client().submit(problem, **settings)
    text = str(raised.value)
    assert message in text and "\n" not in text and text.startswith("bad job spec: ")
    assert cluster.query("SELECT count(*) FROM jobs")[0][0] == 0
    assert redis.Redis.from_url(REDIS_URL).llen("evolution") == 0


@pytest.mark.slow
def test_a_cancelled_job_stops_and_a_wall_deadline_ends_a_job(
    make_cluster: Callable[..., CeleryCluster],
) -> None:
    """cancel() stops a running job within its epoch (no epoch is recorded after it settles); a job with
    `wall_seconds` ends with that reason long before its generation budget."""
    cluster = make_cluster(EGP_EPOCH_GENERATIONS="1000")  # one long epoch: the stop must come mid-epoch
    cluster.start("worker", "worker", "-c", "2")
    cluster.wait_ready("worker", 2)
    client = cluster.client()
    # 100 GCs, as when this timing was set: short generations, so the cancel lands seconds after the start.
    spec = {
        "population": 100,
        "generations": 100_000,
        "islands": 1,
        "epoch_generations": 1000,
        "stop_when_solved": False,
    }
    job = client.submit("even-parity-5", seed=1, **spec)
    deadline = time.monotonic() + 60
    while job.status() != JobStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)
    assert job.cancel()
    assert job.wait(timeout=60) == JobStatus.CANCELLED
    time.sleep(3)  # the running epoch sees the cancel within STATUS_CHECK_SECONDS and records what it did
    recorded = cluster.query("SELECT count(*) FROM epochs WHERE job = :j AND epoch >= 0", j=job.id)[0][0]
    assert recorded == 1, cluster.log("worker")
    time.sleep(2)
    assert cluster.query("SELECT count(*) FROM epochs WHERE job = :j", j=job.id)[0][0] == recorded + 1
    timed = client.submit("even-parity-5", seed=2, wall_seconds=3, **spec)
    started = time.monotonic()
    assert timed.wait(timeout=120) == JobStatus.FINISHED, cluster.log("worker")
    assert timed.info().progress["reason"] == "wall_seconds"
    assert time.monotonic() - started < 60


def test_a_job_gives_the_same_result_every_time(make_cluster: Callable[..., CeleryCluster]) -> None:
    """The same two-island job (with migration) on two fresh Gene Pools, each on a two-process worker: the
    same best GC, evaluations, and island snapshots, whichever process ran which epoch when; and the job
    with remote fitness (two executor processes) gives exactly the same."""
    spec = {"population": 40, "generations": 40, "islands": 2, "migrants": 2, "epoch_generations": 5}
    outcomes = []
    for mode in ("local", "local", "remote"):
        cluster = make_cluster()
        cluster.start("worker", "worker", "-c", "2")
        cluster.wait_ready("worker", 2)
        if mode == "remote":
            cluster.start("executor", "executor", "-c", "2")
            cluster.wait_ready("executor", 2)
        job = cluster.client().submit("even-parity-3", seed=11, fitness_mode=mode, **spec)
        assert job.wait(timeout=240) == JobStatus.FINISHED, cluster.log("worker")
        progress = job.info().progress
        snapshots = cluster.query(
            "SELECT island, epoch, state FROM epochs WHERE job = :j ORDER BY 1, 2", j=job.id
        )
        workers = cluster.query("SELECT count(DISTINCT worker) FROM genetic_codes WHERE job = :j", j=job.id)
        outcomes.append(
            {
                "reason": progress["reason"],
                "best": (progress["best_signature"], progress["best"]),
                "evaluations": progress["evaluations"],
                "snapshots": [tuple(row) for row in snapshots],
            }
        )
        cluster.stop_all()
        assert workers[0][0] >= 1
    assert outcomes[0]["evaluations"] > 0 and len(outcomes[0]["snapshots"]) >= 4
    assert outcomes[0] == outcomes[1]
    assert outcomes[2] == outcomes[0]


def test_auto_fitness_mode_chooses_from_measured_costs(make_cluster: Callable[..., CeleryCluster]) -> None:
    """The default fitness mode (auto) on a worker with an executor pool: koza-quartic is scored in the worker
    (its evaluations are cheaper than a hop) and a problem with a 50-ms evaluation by the executors; each
    job's progress says which it chose and the two measured figures."""
    cluster = make_cluster()
    cluster.start("worker", "worker", "-c", "1")
    cluster.start("executor", "executor", "-c", "2")
    cluster.wait_ready("worker", 1)
    cluster.wait_ready("executor", 2)
    client = cluster.client()
    spec = {"population": 12, "generations": 2, "islands": 2, "seed": 3, "stop_when_solved": False}
    chosen = {}
    for problem in ("koza-quartic", "poison_problems:SlowQuartic"):
        job = client.submit(problem, **spec)
        assert job.info().spec.fitness_mode == "auto"
        assert job.wait(timeout=240) == JobStatus.FINISHED, cluster.log("worker") + cluster.log("executor")
        chosen[problem] = job.info().progress["fitness"]
        scored = cluster.query("SELECT count(*) FROM fitness_results WHERE job = :j", j=job.id)[0][0]
        assert (scored > 0) == (chosen[problem]["mode"] == "remote"), (chosen, scored)
    assert chosen["koza-quartic"]["mode"] == "local", chosen
    assert chosen["poison_problems:SlowQuartic"]["mode"] == "remote", chosen
    for choice in chosen.values():
        assert choice["evaluation_ms"] > 0 and choice["hop_ms"] > 0 and choice["reason"]
