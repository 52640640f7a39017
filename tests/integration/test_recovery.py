"""The watchdog's stall rule on real Postgres: a job is stalled only when nothing advanced it within its lease
and no live process holds one of its island locks; a process killed with -9 releases its lock at once, so
its job is re-dispatched without waiting for a long lease; a starting worker resumes idle jobs at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

from sqlalchemy import text

from egp.config import load_settings
from egp.db import get_engine
from egp.jobs.epoch import start_job
from egp.jobs.process import reset_process_state
from egp.jobs.recovery import redispatch_stalled, resume_idle_jobs, stalled_jobs
from egp.jobs.spec import make_spec
from egp.jobs.store import JobStore
from egp.migrations import upgrade
from egp.storage.locks import lock_key
from egp.task_names import EPOCH_TASK

HOLD_LOCK = """
import sys, time, psycopg
connection = psycopg.connect(sys.argv[1], autocommit=True)
connection.execute("SELECT pg_advisory_lock(%s)", (int(sys.argv[2]),))
print("held", flush=True)
time.sleep(600)
"""


def _started_job(url: str) -> str:
    """A two-island job whose initial populations are recorded (running, epoch 0 due), made idle for 60 s."""
    reset_process_state()
    upgrade(url)
    settings = load_settings(gene_pool_url=url)
    spec, problem = make_spec("koza-quartic", settings, population=12, generations=8, islands=2, seed=3)
    job = JobStore(url).create(spec, problem.identity, job_id="job-recovery")
    start_job(settings, job, "test")
    with get_engine(url).begin() as connection:
        connection.execute(text("UPDATE jobs SET updated = updated - interval '60 seconds'"))
        connection.execute(text("UPDATE epochs SET committed = committed - interval '60 seconds'"))
    return job


def test_a_held_island_lock_means_running_and_a_killed_holder_releases_it(postgres_url: str) -> None:
    """Past its lease but with island 1 being evolved (lock held by a live process): not stalled. The
    holder killed with -9: stalled at once, and the watchdog sends the next epoch of both islands."""
    job = _started_job(postgres_url)
    libpq = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, libpq, str(lock_key(f"island:{job}:1"))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert stalled_jobs(postgres_url) == []
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        deadline = time.monotonic() + 5
        while not stalled_jobs(postgres_url) and time.monotonic() < deadline:
            time.sleep(0.05)  # the server notices the closed connection within moments
        assert [s["job"] for s in stalled_jobs(postgres_url)] == [job]
    finally:
        holder.kill()
    sent: list[tuple[str, list[Any]]] = []
    redispatch_stalled(postgres_url, lambda name, args: sent.append((name, args)))
    assert sorted(sent) == [(EPOCH_TASK, [job, 0, 0]), (EPOCH_TASK, [job, 1, 0])]
    # The re-dispatch restarted the lease: nothing is sent twice while it runs.
    assert stalled_jobs(postgres_url) == []


def test_a_starting_worker_resumes_an_idle_job_without_waiting_for_the_lease(postgres_url: str) -> None:
    """resume_idle_jobs (run when a worker is ready) re-dispatches a job idle for a few seconds, well inside
    its lease; a job advanced within the idle time is left alone."""
    job = _started_job(postgres_url)
    with get_engine(postgres_url).begin() as connection:
        connection.execute(text("UPDATE jobs SET lease_s = 3600"))
    assert stalled_jobs(postgres_url) == []  # the watchdog would wait an hour
    sent: list[tuple[str, list[Any]]] = []
    resumed = resume_idle_jobs(postgres_url, lambda name, args: sent.append((name, args)), idle_s=2.0)
    assert [r["job"] for r in resumed] == [job] and len(sent) == 2
    assert resume_idle_jobs(postgres_url, lambda name, args: sent.append((name, args)), idle_s=2.0) == []
