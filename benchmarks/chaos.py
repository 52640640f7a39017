"""Chaos soak: `python -m benchmarks chaos [--json] [--minutes N]`.

Each round runs the same work twice on its own stack (a fresh Gene Pool and Genomic Library on Postgres, a
private redis-server, an evolution worker, a fitness executor, a DB manager and its beat pushing to and
pulling from the library every few seconds): a multi-island job with local fitness, then one with remote
fitness, with the same seed. The first run is left alone; during the second a driver injects a fault every
few seconds at a random moment: kill -9 of an evolution worker's child or of the whole worker, of the
executor, of the DB manager (some while a push is half done: its batch is prepared locally but not yet
applied upstream), of beat; a restart of Redis (no persistence: queued tasks are lost); termination of every
Postgres backend of both databases. Killed processes are restarted after a random pause.

At the end of a round every count, digest and statistic of the disturbed run must equal the undisturbed one:
GCs, statistics and pGC statistics (exact, compared with ==), population members, the ledger with each
epoch's best and snapshot, each job's progress, the library's GCs and statistics; and the library's totals
must equal the pool's exactly (the sum of the pool's deltas, nothing counted twice).

Figures: faults survived by kind, the longest recovery (a fault's restart to the next recorded epoch, for
the faults that stop progress) and wall-time overhead (disturbed / undisturbed wall time per round).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from benchmarks._local import free_port, libpq, start_private_redis

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CELERY = str(Path(sys.executable).parent / "celery")
ROOT = Path(__file__).resolve().parents[1]
# (name, celery arguments) of each process a stack runs.
PROCESSES: dict[str, list[str]] = {
    "worker": ["-A", "workers.app", "worker", "-Q", "evolution", "-c", "2"],
    "executor": ["-A", "executors.app", "worker", "-Q", "fitness", "-c", "1"],
    "dbmanager": ["-A", "dbmanager.app", "worker", "-Q", "dbmanager", "-c", "1"],
    "beat": ["-A", "dbmanager.app", "beat"],
}
# Faults and their weights: the evolution worker is where a job's progress lives, so it is hit most.
FAULTS = {
    "worker_child": 3,
    "worker": 3,
    "executor": 2,
    "dbmanager_mid_push": 2,
    "dbmanager": 1,
    "beat": 1,
    "redis": 2,
    "postgres_backends": 2,
}
# Faults after which the job cannot progress until the process is back: their recovery is measured.
STOPPING = {"worker", "worker_child", "redis", "executor"}


class Stack:
    """Two databases, a private Redis and the four EGP processes, each one killable and restartable."""

    def __init__(self, tag: str, sync_interval_s: float) -> None:
        """Create the databases (at head), start Redis; the processes start with `start_all`."""
        from egp.config import DatabaseRole
        from egp.migrations import upgrade

        self.dir = Path(tempfile.mkdtemp(prefix=f"egp-chaos-{tag}-"))
        self.names = {role: f"egp_chaos_{tag}_{role}_{uuid.uuid4().hex[:8]}" for role in ("pool", "library")}
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            for name in self.names.values():
                connection.execute(f'CREATE DATABASE "{name}"')
        self.urls = {k: f"postgresql+psycopg://postgres@127.0.0.1:5432/{v}" for k, v in self.names.items()}
        upgrade(self.urls["pool"], DatabaseRole.POOL)
        upgrade(self.urls["library"], DatabaseRole.LIBRARY)
        self.port = free_port()
        self.redis: subprocess.Popen[bytes] | None = None
        self.start_redis()
        broker = f"redis://127.0.0.1:{self.port}/0"
        self.env = os.environ | {
            "EGP_GENE_POOL_URL": self.urls["pool"],
            "EGP_LIBRARY_URLS": json.dumps([self.urls["library"]]),
            "EGP_BROKER_URL": broker,
            "EGP_RESULT_BACKEND": broker,
            "EGP_SYNC_INTERVAL_S": str(sync_interval_s),
            "EGP_PROMOTE_MIN_FITNESS": "-1e9",  # every scored GC travels: the library must equal the pool
            "EGP_ARCHIVE_INTERVAL_S": "86400",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        # Processes that exited by themselves and were restarted (by name).
        self.exits: dict[str, int] = {}

    def start_redis(self) -> None:
        """Start the private redis-server (no persistence) and wait until it answers."""
        self.redis = start_private_redis(self.port)

    def restart_redis(self, pause: float) -> None:
        """Kill Redis with -9 (its queues are lost) and start it again after `pause` seconds."""
        assert self.redis is not None
        self.redis.send_signal(signal.SIGKILL)
        self.redis.wait()
        time.sleep(pause)
        self.start_redis()

    def start(self, name: str) -> None:
        """Start process `name` (its log appended to the stack's directory)."""
        command = [CELERY, *PROCESSES[name]]
        if name == "beat":
            pidfile = self.dir / "beat.pid"
            pidfile.unlink(missing_ok=True)  # a beat killed with -9 leaves its pidfile behind
            command += ["-s", str(self.dir / "beat-schedule"), "--pidfile", str(pidfile)]
        else:
            command += ["-n", f"{name}-{self.names['pool']}@chaos", "--without-gossip", "--without-mingle"]
        self.processes[name] = subprocess.Popen(
            [*command, "-l", "info"],
            env=self.env,
            cwd=ROOT,
            stdout=(self.dir / f"{name}.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_all(self) -> None:
        """Start every process and wait until the worker's children are up."""
        for name in PROCESSES:
            self.start(name)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(self.children("worker")) < 2:
            time.sleep(0.2)
        time.sleep(2.0)

    def supervise(self) -> None:
        """Restart any process that exited by itself, as the deployment's `restart: unless-stopped` does (a
        Celery worker exits on an unrecoverable broker error, e.g. Redis gone while it restores messages)."""
        for name, process in list(self.processes.items()):
            if process.poll() is not None:
                self.exits[name] = self.exits.get(name, 0) + 1
                self.start(name)

    def children(self, name: str) -> list[int]:
        """Pids of the children of process `name`."""
        out = subprocess.run(["pgrep", "-P", str(self.processes[name].pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def kill(self, name: str) -> None:
        """kill -9 of process `name` and all of its children (its process group)."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def terminate_backends(self) -> int:
        """pg_terminate_backend of every session on both databases; returns how many."""
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                (list(self.names.values()),),
            ).fetchall()
        return len(rows)

    def query(self, role: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of `sql` on database `role`."""
        with psycopg.connect(libpq(self.urls[role])) as connection:
            return [tuple(r) for r in connection.execute(sql, params).fetchall()]

    def close(self) -> None:
        """Stop every process and Redis, drop both databases."""
        for name in list(self.processes):
            self.kill(name)
        if self.redis is not None:
            self.redis.send_signal(signal.SIGKILL)
            self.redis.wait()
        from egp.db import dispose_engines

        dispose_engines()
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            for name in self.names.values():
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _digest(rows: list[tuple[Any, ...]]) -> str:
    """A short sha256 of rows (bytes as hex)."""
    text = json.dumps([[v.hex() if isinstance(v, bytes) else str(v) for v in r] for r in rows])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def outcome(stack: Stack, jobs: list[str]) -> dict[str, Any]:
    """Everything a round wrote that must not depend on faults, job ids replaced by submission order."""
    index = {job: str(k) for k, job in enumerate(jobs)}

    def named(text: str) -> str:
        for job, k in index.items():
            text = text.replace(job, f"job{k}")
        return text

    values = (
        "fitness_total::text, fitness_count, evolvability_total::text, evolvability_count,"
        " survivability::text, descendants"
    )
    pgc_values = "fitness_total::text, fitness_count, evolvability_total::text, evolvability_count"
    parts: dict[str, list[tuple[Any, ...]]] = {}
    for role in ("pool", "library"):
        parts[f"{role}_gcs"] = stack.query(role, "SELECT signature FROM genetic_codes ORDER BY signature")
        parts[f"{role}_stats"] = stack.query(
            role, f"SELECT signature, problem, {values} FROM gc_problem_stats ORDER BY signature, problem"
        )
        parts[f"{role}_pgc_stats"] = stack.query(
            role, f"SELECT signature, layer, {pgc_values} FROM pgc_stats ORDER BY signature, layer"
        )
    parts["members"] = sorted(
        (index.get(r[0], r[0]), *r[1:])
        for r in stack.query("pool", "SELECT job, island, signature, position FROM population_members")
    )
    parts["ledger"] = sorted(
        (
            index.get(r[0], r[0]),
            r[1],
            r[2],
            r[3],
            r[4],
            hashlib.sha256(named(r[5] or "").encode()).hexdigest(),
        )
        for r in stack.query("pool", "SELECT job, island, epoch, best, stale, state FROM epochs")
    )
    progress = []
    for job in jobs:
        row = stack.query("pool", "SELECT status, progress FROM jobs WHERE id = %s", job)[0]
        data = json.loads(row[1]) if isinstance(row[1], str) else row[1]
        progress.append(
            (row[0], *(str(data.get(k)) for k in ("best", "evaluations", "generation", "reason", "solved")))
        )
    parts["jobs"] = progress
    return {
        "digests": {key: _digest(rows) for key, rows in parts.items()},
        "counts": {key: len(rows) for key, rows in parts.items()},
        "rows": parts,
    }


def library_missing(result: dict[str, Any]) -> int:
    """Pool statistics rows with an evaluation that the library lacks after the last push: with every scored
    GC promoted, any is a delta the last push left behind (0 expected)."""
    rows = result["rows"]
    held = {(r[0], r[1]) for r in rows["library_stats"]}
    return sum(1 for r in rows["pool_stats"] if r[3] >= 1 and (r[0], r[1]) not in held)


def library_equals_pool(result: dict[str, Any]) -> bool:
    """The library's statistics rows are exactly the pool's (for the rows the library holds): every delta of
    the pool arrived once, whatever was killed mid-push."""
    rows = result["rows"]
    pool_stats = {(r[0], r[1]): r[2:] for r in rows["pool_stats"]}
    pool_pgc = {(r[0], r[1]): r[2:] for r in rows["pool_pgc_stats"]}
    return (
        bool(rows["library_stats"])
        and all(pool_stats.get((r[0], r[1])) == r[2:] for r in rows["library_stats"])
        and all(pool_pgc.get((r[0], r[1])) == r[2:] for r in rows["library_pgc_stats"])
    )


class Driver:
    """Injects a random fault every few seconds and measures how long progress takes to resume."""

    def __init__(self, stack: Stack, rng: random.Random, gap: tuple[float, float]) -> None:
        """Faults on `stack`, drawn from `rng`, one every `gap` (min, max) seconds."""
        self.stack, self.rng, self.gap = stack, rng, gap
        self.next_at = time.monotonic() + rng.uniform(*gap)
        self.survived: dict[str, int] = {}
        self.recoveries: list[dict[str, Any]] = []
        self.mid_push_hits = 0

    def tick(self, running: list[str]) -> None:
        """Inject the next fault if it is due (while a job of `running` runs)."""
        self.stack.supervise()
        if time.monotonic() < self.next_at:
            return
        kinds = list(FAULTS)
        kind = self.rng.choices(kinds, [FAULTS[k] for k in kinds])[0]
        before = self._epochs()
        restarted = self._inject(kind)
        self.survived[kind] = self.survived.get(kind, 0) + 1
        if kind in STOPPING:
            self._measure(kind, before, restarted, running)
        self.next_at = time.monotonic() + self.rng.uniform(*self.gap)

    def _epochs(self) -> int:
        """Epochs recorded so far (retrying while the backends are being terminated)."""
        for _ in range(50):
            try:
                return int(self.stack.query("pool", "SELECT count(*) FROM epochs")[0][0])
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError("the Gene Pool does not answer")

    def _inject(self, kind: str) -> float:
        """Apply fault `kind`; returns the moment everything was running again."""
        stack, pause = self.stack, self.rng.uniform(0.5, 3.0)
        if kind == "worker_child":
            children = stack.children("worker")
            if children:
                os.kill(self.rng.choice(children), signal.SIGKILL)
        elif kind in ("worker", "executor", "dbmanager", "beat"):
            stack.kill(kind)
            time.sleep(pause)
            stack.start(kind)
        elif kind == "dbmanager_mid_push":
            # Wait for a push whose batch is prepared locally but not yet applied upstream, then kill.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if stack.query("pool", "SELECT 1 FROM sync_state WHERE pending IS NOT NULL"):
                    self.mid_push_hits += 1
                    break
                time.sleep(0.005)
            stack.kill("dbmanager")
            time.sleep(pause)
            stack.start("dbmanager")
        elif kind == "redis":
            stack.restart_redis(pause)
        elif kind == "postgres_backends":
            stack.terminate_backends()
        return time.monotonic()

    def _measure(self, kind: str, before: int, restarted: float, running: list[str]) -> None:
        """Wait for the next recorded epoch after a fault that stops progress; record the delay."""
        deadline = restarted + 300
        while time.monotonic() < deadline:
            if self._epochs() > before or not _unfinished(self.stack, running):
                self.recoveries.append({"fault": kind, "seconds": round(time.monotonic() - restarted, 2)})
                return
            time.sleep(0.1)
        self.recoveries.append({"fault": kind, "seconds": None})


def _unfinished(stack: Stack, jobs: list[str]) -> list[str]:
    """The jobs of `jobs` not yet in a final state (retrying while the backends are being terminated)."""
    for _ in range(50):
        try:
            rows = stack.query(
                "pool", "SELECT id FROM jobs WHERE id = ANY(%s) AND status IN ('queued', 'running')", jobs
            )
            return [r[0] for r in rows]
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise RuntimeError("the Gene Pool does not answer")


def run(args: argparse.Namespace, seed: int, disturbed: bool) -> dict[str, Any]:
    """One run of the round's jobs on a fresh stack, with or without faults; its outcome and figures."""
    from egp.client import Client
    from egp.config import load_settings
    from egp.storage.sync import promote

    stack = Stack("d" if disturbed else "u", args.sync_interval)
    driver = Driver(stack, random.Random(seed * 7919), (args.min_gap, args.max_gap)) if disturbed else None
    try:
        stack.start_all()
        settings = load_settings(
            gene_pool_url=stack.urls["pool"],
            broker_url=stack.env["EGP_BROKER_URL"],
            result_backend=stack.env["EGP_BROKER_URL"],
            library_urls=[stack.urls["library"]],
            promote_min_fitness=-1e9,
        )
        client = Client(settings)
        jobs: list[str] = []
        started = time.perf_counter()
        for mode, islands in (("local", args.islands), ("remote", args.remote_islands)):
            job = client.submit(
                args.problem,
                population=args.population,
                generations=args.generations,
                islands=islands,
                epoch_generations=args.epoch_generations,
                seed=seed,
                fitness_mode=mode,
                stop_when_solved=False,
            )
            jobs.append(job.id)
            deadline = time.monotonic() + args.job_timeout
            while _unfinished(stack, [job.id]) and time.monotonic() < deadline:
                if driver is not None:
                    driver.tick([job.id])
                else:
                    stack.supervise()
                time.sleep(0.1)
        wall = time.perf_counter() - started
        client.close()
        for name in list(stack.processes):
            stack.kill(name)
        # The last push, with nothing running: a batch a killed DB manager left half done is applied once.
        # The sync lock of a process just killed is freed when its backend notices: until then it is skipped.
        deadline = time.monotonic() + 60
        while promote(stack.urls["pool"], settings).skipped and time.monotonic() < deadline:
            time.sleep(0.2)
        result = outcome(stack, jobs)
        figures: dict[str, Any] = {
            "wall_s": round(wall, 2),
            "statuses": [r[0] for r in result["rows"]["jobs"]],
        }
        figures["library_equals_pool"] = library_equals_pool(result)
        figures["library_missing_rows"] = library_missing(result)
        figures["self_exits_restarted"] = dict(stack.exits)
        figures["library_quarantined"] = stack.query("library", "SELECT count(*) FROM quarantine")[0][0]
        if driver is not None:
            figures |= {
                "faults": driver.survived,
                "mid_push_kills": driver.mid_push_hits,
                "recoveries": driver.recoveries,
            }
        return {"outcome": result, "figures": figures}
    finally:
        stack.close()


def _difference(calm: list[tuple[Any, ...]], chaos: list[tuple[Any, ...]]) -> dict[str, Any]:
    """How two row lists differ: rows only in each, and the first of each (hex for bytes)."""
    only_calm = sorted(set(calm) - set(chaos))
    only_chaos = sorted(set(chaos) - set(calm))

    def shown(rows: list[tuple[Any, ...]]) -> list[str] | None:
        """The first row, printable."""
        return [v.hex()[:16] if isinstance(v, bytes) else str(v) for v in rows[0]] if rows else None

    return {
        "only_undisturbed": len(only_calm),
        "only_disturbed": len(only_chaos),
        "first_undisturbed": shown(only_calm),
        "first_disturbed": shown(only_chaos),
    }


def main(argv: list[str]) -> dict[str, Any]:
    """Run rounds (undisturbed, then disturbed, same seed) until the minutes are spent; report the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks chaos")
    parser.add_argument(
        "--minutes", type=float, default=10.0, help="soak length (whole rounds; at least one)"
    )
    parser.add_argument("--problem", default="koza-quartic")
    parser.add_argument("--population", type=int, default=40)
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--epoch-generations", type=int, default=4)
    parser.add_argument("--islands", type=int, default=3, help="islands of the local-fitness job")
    parser.add_argument("--remote-islands", type=int, default=2, help="islands of the remote-fitness job")
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--min-gap", type=float, default=2.0, help="least seconds between two faults")
    parser.add_argument("--max-gap", type=float, default=6.0, help="most seconds between two faults")
    parser.add_argument("--sync-interval", type=float, default=2.0, help="DB manager push/pull period, s")
    parser.add_argument("--job-timeout", type=float, default=1200.0)
    args = parser.parse_args(argv)
    soak_started = time.monotonic()
    rounds: list[dict[str, Any]] = []
    while not rounds or time.monotonic() - soak_started < args.minutes * 60:
        seed = args.seed + len(rounds)
        calm = run(args, seed, disturbed=False)
        chaos = run(args, seed, disturbed=True)
        differences = {
            key: _difference(calm["outcome"]["rows"][key], chaos["outcome"]["rows"][key])
            for key in calm["outcome"]["rows"]
            if calm["outcome"]["rows"][key] != chaos["outcome"]["rows"][key]
        }
        recoveries = [r["seconds"] for r in chaos["figures"]["recoveries"]]
        rounds.append(
            {
                "seed": seed,
                "identical": not differences,
                "differences": differences,
                "counts": chaos["outcome"]["counts"],
                "digests_equal": calm["outcome"]["digests"] == chaos["outcome"]["digests"],
                "faults": sum(chaos["figures"]["faults"].values()),
                "by_kind": chaos["figures"]["faults"],
                "mid_push_kills": chaos["figures"]["mid_push_kills"],
                "longest_recovery_s": max((r for r in recoveries if r is not None), default=None),
                "unrecovered": sum(r is None for r in recoveries),
                "undisturbed_wall_s": calm["figures"]["wall_s"],
                "disturbed_wall_s": chaos["figures"]["wall_s"],
                "overhead": chaos["figures"]["wall_s"] / calm["figures"]["wall_s"],
                "library_equals_pool": calm["figures"]["library_equals_pool"]
                and chaos["figures"]["library_equals_pool"],
                "library_missing_rows": [
                    calm["figures"]["library_missing_rows"],
                    chaos["figures"]["library_missing_rows"],
                ],
                "statuses": chaos["figures"]["statuses"],
                "self_exits_restarted": chaos["figures"]["self_exits_restarted"],
                "library_quarantined": [
                    calm["figures"]["library_quarantined"],
                    chaos["figures"]["library_quarantined"],
                ],
                "recoveries": chaos["figures"]["recoveries"],
            }
        )
    by_kind: dict[str, int] = {}
    for entry in rounds:
        for kind, n in entry["by_kind"].items():
            by_kind[kind] = by_kind.get(kind, 0) + n
    longest = [r["longest_recovery_s"] for r in rounds if r["longest_recovery_s"] is not None]
    return {
        "minutes": round((time.monotonic() - soak_started) / 60, 2),
        "rounds": len(rounds),
        "identical": all(r["identical"] for r in rounds),
        "library_equals_pool": all(r["library_equals_pool"] for r in rounds),
        # Every scored GC's statistics reached the library in both runs (the last push left nothing behind).
        "library_complete": all(r["library_missing_rows"] == [0, 0] for r in rounds),
        "faults_survived": sum(by_kind.values()),
        "faults_by_kind": by_kind,
        "mid_push_kills": sum(r["mid_push_kills"] for r in rounds),
        "longest_recovery_s": max(longest, default=None),
        "unrecovered": sum(r["unrecovered"] for r in rounds),
        "overhead_median": sorted(r["overhead"] for r in rounds)[len(rounds) // 2],
        "goals": {"faults_min": 20, "recovery_max_s": 30.0},
        "per_round": [{k: v for k, v in r.items() if k != "recoveries"} for r in rounds],
        "recoveries": [r for entry in rounds for r in entry["recoveries"]],
    }
