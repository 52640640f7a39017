"""A federation on one machine: `python -m benchmarks federation [--json] [--pools 20] [--biomes 4]
[--minutes M]`.

N Gene Pools → B biome libraries → 1 biosphere, each a Postgres database on the local server (unique names,
dropped at the end), each with its own real DB manager (`celery -A dbmanager.app worker -B`, its own
Redis database on a private redis-server) pushing to and pulling from its upstream every `--period`
seconds. The schedules are aligned to the UTC clock by level (EGP_PROMOTE_PHASE_S, EGP_PULL_PHASE_S):
pools push and pull in the first quarter of a period (spread, so few sync at once), biomes push at a third
of it and pull at two thirds, so a GC a pool pushes reaches the biosphere and comes back down to every
biome before the pools' next pull.

Short evolution runs (embedded `egp.api.evolve` on the pool's database URL, one at a time, round robin,
in a child process) feed the pools, and a driver kills a random DB manager with -9 every few seconds,
most often in the middle of a push (its batch prepared locally, not yet applied upstream), restarting it
after a pause.

Independent accounting: a trigger in every pool logs, in the epoch's own transaction, every change the
evolution runs make to `gc_problem_stats` and `pgc_stats` (recognised by their connection's
application_name), so the benchmark knows each pool's own deltas without trusting push or pull. After the
run every DB manager is killed and the hierarchy is drained (pools push, then biomes; then biomes and
pools pull); then, with exact Decimal arithmetic, for every statistic of every row:

    biosphere = Σ pools' evolved deltas − Σ pools' unsent deltas − Σ biomes' unsent deltas

where a database's unsent delta is V − V_snap (deltas of rows below the promotion thresholds stay local by
design). Any delta lost or counted twice breaks the equality. Figures: whether it held, quarantined rows,
how long each new best GC (a run's best that beats every earlier run's) took to be present in every
other pool, in sync periods, and the sync throughput (GCs landed per second of DB-manager sync work, from
the DB managers' task logs; and of the final drain).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from benchmarks._local import free_port, libpq, start_private_redis
from egp.storage.sync.delta import PGC_VALUES, STATS_VALUES

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CELERY = str(Path(sys.executable).parent / "celery")
ROOT = Path(__file__).resolve().parents[1]
# The evolution runs' connections carry this name: the trigger logs only their changes.
EVOLVE_APP = "egp-fed-evolve"
# The mergeable statistics: the ledger sums each independently of the sync code that merges them.
STATS = STATS_VALUES
PGC = PGC_VALUES


def _ledger_sql(table: str, key: str, values: tuple[str, ...]) -> str:
    """DDL of the evolution ledger of `table`: a summary table and the trigger adding each evolved change."""
    ledger = f"fed_evolved_{table}"
    news = ", ".join(f"NEW.{v} - COALESCE(old_{v}, 0)" for v in values)
    declare = " ".join(f"old_{v} NUMERIC;" for v in values)
    olds = " ".join(f"old_{v} := OLD.{v};" for v in values)
    return f"""
CREATE TABLE {ledger} (signature BYTEA, {key}, {", ".join(f"{v} NUMERIC NOT NULL" for v in values)},
    PRIMARY KEY (signature, {key.split()[0]}));
CREATE FUNCTION {ledger}_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE {declare}
BEGIN
    IF current_setting('application_name') <> '{EVOLVE_APP}' THEN RETURN NEW; END IF;
    IF TG_OP = 'UPDATE' THEN {olds} END IF;
    INSERT INTO {ledger} VALUES (NEW.signature, NEW.{key.split()[0]}, {news})
    ON CONFLICT (signature, {key.split()[0]}) DO UPDATE SET
    {", ".join(f"{v} = {ledger}.{v} + excluded.{v}" for v in values)};
    RETURN NEW;
END $$;
CREATE TRIGGER {ledger}_log AFTER INSERT OR UPDATE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {ledger}_log();
"""


# When each GC arrived in a pool (the server's clock, which the benchmark reads too).
ARRIVALS_DDL = """
CREATE TABLE fed_arrivals (signature BYTEA PRIMARY KEY, arrived DOUBLE PRECISION NOT NULL);
CREATE FUNCTION fed_arrivals_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fed_arrivals VALUES (NEW.signature, extract(epoch FROM clock_timestamp()))
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER fed_arrivals_log AFTER INSERT ON genetic_codes
    FOR EACH ROW EXECUTE FUNCTION fed_arrivals_log();
"""
LEDGER_DDL = (
    ARRIVALS_DDL
    + _ledger_sql("gc_problem_stats", "problem BYTEA", STATS)
    + _ledger_sql("pgc_stats", "layer INTEGER", PGC)
)


class Node:
    """One database of the federation and its DB manager process."""

    def __init__(self, name: str, level: str, url: str, upstream: Node | None, index: int) -> None:
        """`level` is pool, biome or biosphere; `index` picks the DB manager's Redis database."""
        self.name, self.level, self.url, self.upstream, self.index = name, level, url, upstream, index
        self.process: subprocess.Popen[bytes] | None = None

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of `sql` on this database."""
        with psycopg.connect(libpq(self.url)) as connection:
            return [tuple(r) for r in connection.execute(sql, params).fetchall()]


class Federation:
    """The databases, a private Redis and one DB manager per database, each killable and restartable."""

    def __init__(self, args: argparse.Namespace) -> None:
        """Create and migrate every database, install the pools' ledgers, start Redis."""
        from egp.config import DatabaseRole
        from egp.migrations import upgrade

        self.args = args
        self.dir = Path(tempfile.mkdtemp(prefix="egp-federation-"))
        tag = uuid.uuid4().hex[:6]
        self.prefix = f"egp_fed_{tag}_"
        self.nodes: list[Node] = []
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True)
        try:

            def node(level: str, k: int, upstream: Node | None) -> Node:
                name = f"egp_fed_{tag}_{level}{k}"
                admin.execute(f'CREATE DATABASE "{name}"')
                made = Node(
                    name,
                    level,
                    f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
                    upstream,
                    len(self.nodes),
                )
                self.nodes.append(made)
                return made

            self.biosphere = node("biosphere", 0, None)
            self.biomes = [node("biome", k, self.biosphere) for k in range(args.biomes)]
            self.pools = [node("pool", k, self.biomes[k % args.biomes]) for k in range(args.pools)]
        finally:
            admin.close()
        for n in self.nodes:
            upgrade(n.url, DatabaseRole.POOL if n.level == "pool" else DatabaseRole.LIBRARY)
        for n in self.pools:
            with psycopg.connect(libpq(n.url), autocommit=True) as connection:
                connection.execute(LEDGER_DDL)
        from egp.db import close_engines

        close_engines()  # the migrations' connections: the shared server's connections are few
        self.port = free_port()
        self.redis = start_private_redis(self.port, databases=len(self.nodes) + 1)
        self.restarts = 0

    def env(self, n: Node) -> dict[str, str]:
        """The DB manager's environment: its database, upstream, broker and aligned schedule."""
        period = self.args.period
        # Pools spread over the first quarter (fewer syncs at once), biomes push at a third and pull at two
        # thirds: a pool's push is in the biosphere, and back in every biome, before the pools' next pull.
        spread = period / 4 * (self.pools.index(n) / len(self.pools) if n.level == "pool" else 0.0)
        phases = {"pool": (spread, spread), "biome": (period / 3, 2 * period / 3), "biosphere": (0.0, 0.0)}
        broker = f"redis://127.0.0.1:{self.port}/{n.index}"
        return os.environ | {
            "EGP_GENE_POOL_URL": n.url,
            "EGP_LIBRARY_URLS": json.dumps([n.upstream.url] if n.upstream else []),
            "EGP_BROKER_URL": broker,
            "EGP_RESULT_BACKEND": broker,
            "EGP_SYNC_INTERVAL_S": str(period),
            "EGP_PROMOTE_PHASE_S": str(phases[n.level][0]),
            "EGP_PULL_PHASE_S": str(phases[n.level][1]),
            "EGP_PROMOTE_MIN_FITNESS": str(self.args.promote_min_fitness),
            # No jobs run here (the evolution is embedded) and nothing is old enough to archive.
            "EGP_WATCHDOG_INTERVAL_S": "3600",
            "EGP_ARCHIVE_INTERVAL_S": "86400",
        }

    def start(self, n: Node) -> None:
        """Start the DB manager of `n`: one solo worker with its beat embedded, in its own session."""
        self.process_log(n).parent.mkdir(parents=True, exist_ok=True)
        pidfile = self.dir / f"{n.name}.pid"
        pidfile.unlink(missing_ok=True)  # a beat killed with -9 leaves its pidfile behind
        n.process = subprocess.Popen(
            [
                CELERY,
                "-A",
                "dbmanager.app",
                "worker",
                "-Q",
                "dbmanager",
                "-P",
                "solo",
                "-B",
                "-s",
                str(self.dir / f"{n.name}-schedule"),
                "--pidfile",
                str(pidfile),
                "-n",
                f"dbmanager-{n.name}@federation",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "info",
            ],
            env=self.env(n),
            cwd=ROOT,
            stdout=self.process_log(n).open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, deadline_s: float = 300.0) -> None:
        """Wait until every DB manager says it is ready (started, its database prepared)."""
        deadline = time.monotonic() + deadline_s
        waiting = list(self.nodes)
        while waiting and time.monotonic() < deadline:
            waiting = [n for n in waiting if "ready." not in self.process_log(n).read_text(errors="replace")]
            time.sleep(0.5)
        if waiting:
            raise RuntimeError(f"DB managers not ready after {deadline_s} s: {[n.name for n in waiting]}")

    def process_log(self, n: Node) -> Path:
        """The DB manager's log file."""
        return self.dir / "logs" / f"{n.name}.log"

    def kill(self, n: Node) -> None:
        """kill -9 of the DB manager of `n` (its whole process group)."""
        if n.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(n.process.pid, signal.SIGKILL)
            n.process.wait()
            n.process = None

    def supervise(self) -> None:
        """Restart a DB manager that exited by itself (as a deployment's restart policy would)."""
        for n in self.nodes:
            if n.process is not None and n.process.poll() is not None:
                self.restarts += 1
                self.start(n)

    def close(self) -> None:
        """Stop every process and Redis, drop every database, remove the logs."""
        for n in self.nodes:
            self.kill(n)
        self.redis.send_signal(signal.SIGKILL)
        self.redis.wait()
        from egp.db import dispose_engines

        dispose_engines()
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            for n in self.nodes:
                connection.execute(f'DROP DATABASE IF EXISTS "{n.name}" WITH (FORCE)')
        shutil.rmtree(self.dir, ignore_errors=True)


def _evolver(jobs: Any, results: Any, problem: str, population: int, generations: int) -> None:
    """Child process: run each (pool URL, seed) of `jobs` as an embedded evolution; report its best."""
    from egp.api import evolve
    from egp.db import close_engines

    while (job := jobs.get()) is not None:
        url, seed = job
        try:
            result = evolve(
                problem,
                population=population,
                generations=generations,
                seed=seed,
                stop_when_solved=False,
                gene_pool=f"{url}?application_name={EVOLVE_APP}",
            )
            results.put((url, bytes.fromhex(result.best_signature), result.best_fitness, None))
        except Exception as error:  # reported by the parent, which stops the benchmark
            results.put((url, b"", 0.0, f"{type(error).__name__}: {error}"))
        finally:
            close_engines()  # one engine per pool: none keeps a connection between its runs


class Propagation:
    """New best GCs and when each arrived in every pool (from the pools' arrival logs), in sync periods."""

    def __init__(self, federation: Federation, period: float, timeout_periods: float, pull_best: int) -> None:
        """No event yet; pulls fetch `pull_best` GCs per problem."""
        self.federation, self.period, self.timeout = federation, period, timeout_periods * period
        self.pull_best = pull_best
        self.events: list[dict[str, Any]] = []

    def add(self, origin: Node, signature: bytes, fitness: float) -> None:
        """A new best GC, made by a run on `origin`."""
        self.events.append({"origin": origin, "signature": signature, "fitness": fitness})

    def arrivals(self) -> dict[str, dict[bytes, float]]:
        """Per pool: when each event's GC arrived there (UTC seconds), for those it holds."""
        wanted = [e["signature"] for e in self.events]
        return {
            pool.name: {
                bytes(r[0]): float(r[1])
                for r in pool.query(
                    "SELECT signature, arrived FROM fed_arrivals WHERE signature = ANY(%s)", wanted
                )
            }
            for pool in self.federation.pools
        }

    def settle(self) -> dict[str, dict[bytes, float]]:
        """Wait until every event's GC is in every pool, or the last event is `timeout` old; the arrivals."""
        while True:
            arrived = self.arrivals()
            missing = [e for e in self.events if any(e["signature"] not in held for held in arrived.values())]
            origins = [arrived[e["origin"].name].get(e["signature"], time.time()) for e in self.events]
            if not missing or time.time() - max(origins, default=0.0) > self.timeout:
                return arrived
            time.sleep(3.0)

    def _superseded(self, event: dict[str, Any], lacking: list[Node]) -> bool:
        """True when, in the biome of every pool lacking it, the event's GC is out of the best `pull_best`
        GCs of its problem (newer bests took its place), so by design no pull fetches it any more."""
        rank = (
            "SELECT count(*) FROM gc_problem_stats s"
            " JOIN gc_problem_stats me ON me.problem = s.problem AND me.signature = %s"
            " WHERE s.fitness > me.fitness OR (s.fitness = me.fitness AND s.signature < me.signature)"
        )
        held = "SELECT count(*) FROM gc_problem_stats WHERE signature = %s"
        for pool in lacking:
            biome = pool.upstream
            assert biome is not None
            if not biome.query(held, event["signature"])[0][0]:
                return False
            if biome.query(rank, event["signature"])[0][0] < self.pull_best:
                return False
        return True

    def figures(self, arrived: dict[str, dict[bytes, float]]) -> dict[str, Any]:
        """Per event: the delay from its arrival in its own pool until the last other pool held it, in
        periods; and their summary."""
        done, each, superseded, timed_out = [], [], 0, 0
        for event in self.events:
            t0 = arrived[event["origin"].name][event["signature"]]
            others = [p for p in self.federation.pools if p is not event["origin"]]
            lacking = [p for p in others if event["signature"] not in arrived[p.name]]
            delays = [
                (arrived[p.name][event["signature"]] - t0) / self.period for p in others if p not in lacking
            ]
            each += delays
            if not lacking:
                done.append(max(delays))
            elif self._superseded(event, lacking):
                superseded += 1
            else:
                timed_out += 1
        each.sort()
        return {
            "new_best_events": len(self.events),
            "reached_every_pool": len(done),
            # Out of the best GCs pulls fetch before it reached every pool: newer bests took its place.
            "superseded": superseded,
            "timed_out": timed_out,
            "all_pools_periods_max": round(max(done), 2) if done else None,
            "all_pools_periods_median": round(sorted(done)[len(done) // 2], 2) if done else None,
            "one_pool_periods_median": round(each[len(each) // 2], 2) if each else None,
            "per_event_periods": [round(v, 2) for v in done],
        }


class Connections:
    """Samples the federation's Postgres connections once a second (the server is shared: keep it low)."""

    def __init__(self, prefix: str) -> None:
        """Counts the sessions on databases named `prefix`*, in a thread."""
        self.prefix, self.samples = prefix, [0]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        """One count a second."""
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            while not self.stop.wait(1.0):
                row = connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE %s", (self.prefix + "%",)
                ).fetchone()
                self.samples.append(int(row[0]) if row else 0)

    def finish(self) -> dict[str, Any]:
        """Stop sampling; the peak and the mean."""
        self.stop.set()
        self.thread.join()
        return {"peak": max(self.samples), "mean": round(sum(self.samples) / len(self.samples), 1)}


class Killer:
    """Kills a random DB manager with -9 every few seconds, mostly mid-push, and restarts it after a pause."""

    def __init__(self, federation: Federation, rng: random.Random, gap: tuple[float, float]) -> None:
        """One kill every `gap` (min, max) seconds, in a thread."""
        self.federation, self.rng, self.gap = federation, rng, gap
        self.kills: dict[str, int] = {}
        self.mid_push = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        """Pick a DB manager of a pool or a biome; wait for a prepared, unapplied batch; kill; restart."""
        federation = self.federation
        while not self.stop.wait(self.rng.uniform(*self.gap)):
            victim = self.rng.choice(federation.pools + federation.biomes)
            deadline = time.monotonic() + federation.args.period * 1.2
            caught = False
            with contextlib.suppress(psycopg.Error), psycopg.connect(libpq(victim.url)) as connection:
                connection.autocommit = True
                while time.monotonic() < deadline and not self.stop.is_set():
                    found = connection.execute("SELECT 1 FROM sync_state WHERE pending IS NOT NULL")
                    if found.fetchone():
                        caught = True
                        break
                    time.sleep(0.005)
            if self.stop.is_set():
                return
            federation.kill(victim)
            self.mid_push += caught
            self.kills[victim.level] = self.kills.get(victim.level, 0) + 1
            time.sleep(self.rng.uniform(0.5, 3.0))
            federation.start(victim)

    def finish(self) -> None:
        """Stop killing (the victim of a kill in progress is restarted first)."""
        self.stop.set()
        self.thread.join()


_TASK_LINE = re.compile(r"Task (dbmanager\.(?:promote|pull))\[[^\]]+\] succeeded in ([0-9.e-]+)s: (\{.*\})")


def task_figures(federation: Federation) -> dict[str, Any]:
    """From the DB managers' logs: sync tasks run, GCs they landed and seconds they took (in all, and per
    level and direction)."""
    runs, gcs, busy, skipped, failed = 0, 0, 0.0, 0, 0
    kinds: dict[str, dict[str, float]] = {}
    for n in federation.nodes:
        log = federation.process_log(n)
        if not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            if "raised unexpected" in line:
                failed += 1
            match = _TASK_LINE.search(line)
            if match is None:
                continue
            report = ast.literal_eval(match.group(3))
            seconds, landed = float(match.group(2)), int(report.get("gcs_new", 0))
            runs += 1
            busy += seconds
            gcs += landed
            skipped += report.get("skipped") is not None
            kind = kinds.setdefault(f"{n.level} {match.group(1).split('.')[1]}", {"n": 0, "s": 0.0, "gcs": 0})
            kind["n"] += 1
            kind["s"] += seconds
            kind["gcs"] += landed
    return {
        "sync_tasks": runs,
        "sync_tasks_skipped": skipped,
        "sync_tasks_failed": failed,
        "gcs_landed_by_sync_tasks": gcs,
        "sync_busy_s": round(busy, 1),
        "sync_throughput_gcs_per_busy_s": round(gcs / busy, 1) if busy else None,
        "sync_tasks_by_kind": {
            name: {
                "runs": int(k["n"]),
                "mean_s": round(k["s"] / k["n"], 3),
                "gcs_per_run": round(k["gcs"] / k["n"], 1),
            }
            for name, k in sorted(kinds.items())
        },
    }


def _sync_until_done(direction: str, n: Node, settings: Any) -> int:
    """One promote (or pull) of `n`, retried while a killed DB manager's sync lock is held; GCs landed."""
    from egp.storage.sync import promote, pull

    assert n.upstream is not None
    deadline = time.monotonic() + 60
    while True:
        report = (promote if direction == "promote" else pull)(n.url, settings, n.upstream.url)
        if report.skipped is None or time.monotonic() > deadline:
            if report.skipped is not None:
                raise RuntimeError(f"{n.name}: {direction} skipped for 60 s: {report.skipped}")
            return int(report.gcs_new)
        time.sleep(0.2)


def drain(federation: Federation) -> dict[str, Any]:
    """Push every level up (pools, then biomes), then pull every level down; GCs landed and seconds."""
    from egp.config import load_settings

    settings = load_settings(
        promote_min_fitness=federation.args.promote_min_fitness,
        pull_best_per_problem=federation.args.pull_best,
    )
    started = time.perf_counter()
    up = sum(_sync_until_done("promote", n, settings) for n in [*federation.pools, *federation.biomes])
    down = sum(_sync_until_done("pull", n, settings) for n in [*federation.biomes, *federation.pools])
    seconds = time.perf_counter() - started
    return {
        "drain_gcs_up": up,
        "drain_gcs_down": down,
        "drain_s": round(seconds, 2),
        "drain_throughput_gcs_per_s": round((up + down) / seconds, 1) if seconds else None,
    }


def _rows(
    n: Node, table: str, key: str, values: tuple[str, ...], snap: bool
) -> dict[tuple[Any, ...], list[Decimal]]:
    """Rows of `table` as exact Decimals: the values, or (snap) their unsent part V − V_snap."""
    columns = ", ".join(f"{v} - {v}_snap" if snap else v for v in values)
    return {
        (bytes(r[0]), r[1] if isinstance(r[1], int) else bytes(r[1])): [Decimal(x) for x in r[2:]]
        for r in n.query(f"SELECT signature, {key}, {columns} FROM {table}")
    }


def exact_check(federation: Federation) -> dict[str, Any]:
    """Every biosphere statistic against Σ evolved − Σ unsent, computed here with exact Decimals."""
    result: dict[str, Any] = {}
    for table, key, values in (("gc_problem_stats", "problem", STATS), ("pgc_stats", "layer", PGC)):
        expected: dict[tuple[Any, ...], list[Decimal]] = {}

        def add(
            rows: dict[tuple[Any, ...], list[Decimal]],
            sign: int,
            expected: dict[tuple[Any, ...], list[Decimal]] = expected,
            values: tuple[str, ...] = values,
        ) -> None:
            """Add `rows` times `sign` into `expected`."""
            for row_key, row in rows.items():
                total = expected.setdefault(row_key, [Decimal(0)] * len(values))
                for k, value in enumerate(row):
                    total[k] += sign * value

        for pool in federation.pools:
            add(_rows(pool, f"fed_evolved_{table}", key, values, snap=False), 1)
            add(_rows(pool, table, key, values, snap=True), -1)
        for biome in federation.biomes:
            add(_rows(biome, table, key, values, snap=True), -1)
        held = _rows(federation.biosphere, table, key, values, snap=False)
        zero = [Decimal(0)] * len(values)
        wrong = [k for k in set(expected) | set(held) if held.get(k, zero) != expected.get(k, zero)]
        unsent = sum(
            1
            for pool in [*federation.pools, *federation.biomes]
            for row in _rows(pool, table, key, values, snap=True).values()
            if any(row)
        )
        result[table] = {
            "biosphere_rows": len(held),
            "rows_differing": len(wrong),
            "rows_with_unsent_deltas_below_thresholds": unsent,
            "evolved_deltas_total_fitness_count": int(
                sum(
                    row[values.index("fitness_count")]
                    for pool in federation.pools
                    for row in _rows(pool, f"fed_evolved_{table}", key, values, snap=False).values()
                )
            ),
        }
    result["exact"] = all(result[t]["rows_differing"] == 0 for t in ("gc_problem_stats", "pgc_stats"))
    return result


def back_down(federation: Federation, top: int) -> bool:
    """After the drain: the biosphere's `top` best rows of each problem are in every pool, values equal."""
    values = ", ".join(f"{v}::text" for v in STATS)
    best = federation.biosphere.query(
        f"SELECT signature, problem, {values} FROM (SELECT *, row_number() OVER"
        " (PARTITION BY problem ORDER BY fitness DESC, signature) AS k FROM gc_problem_stats) r"
        " WHERE k <= %s",
        top,
    )
    for pool in federation.pools:
        held = {
            (bytes(r[0]), bytes(r[1])): r[2:]
            for r in pool.query(
                f"SELECT signature, problem, {values} FROM gc_problem_stats WHERE signature = ANY(%s)",
                [bytes(r[0]) for r in best],
            )
        }
        if any(held.get((bytes(r[0]), bytes(r[1]))) != r[2:] for r in best):
            return False
    return bool(best)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build the federation, evolve and sync under kills, drain, check; the figures."""
    rng = random.Random(args.seed)
    built = time.perf_counter()
    federation = Federation(args)
    context = multiprocessing.get_context("spawn")
    jobs, results = context.Queue(), context.Queue()
    evolver = context.Process(
        target=_evolver, args=(jobs, results, args.problem, args.population, args.generations), daemon=True
    )
    try:
        for n in federation.nodes:
            federation.start(n)
        evolver.start()
        federation.wait_ready()
        setup_s = time.perf_counter() - built
        propagation = Propagation(federation, args.period, args.timeout_periods, args.pull_best)
        sampler = Connections(federation.prefix)
        killer = Killer(federation, rng, (args.min_kill_gap, args.max_kill_gap)) if args.kills else None
        started = time.monotonic()
        record, runs, errors = float("-inf"), 0, []
        by_url = {p.url: p for p in federation.pools}
        k = 0
        while time.monotonic() - started < args.minutes * 60:
            pool = federation.pools[k % len(federation.pools)]
            k += 1
            jobs.put((pool.url, args.seed * 100_003 + k))
            url, signature, fitness, error = results.get(timeout=600)
            runs += 1
            if error is not None:
                errors.append(error)
                break
            if fitness > record:
                record = fitness
                propagation.add(by_url[url], signature, fitness)
            federation.supervise()
            time.sleep(args.run_gap)
        evolving_s = time.monotonic() - started
        jobs.put(None)
        if killer is not None:
            killer.finish()
        arrived = propagation.settle()
        tasks = task_figures(federation)
        for n in federation.nodes:
            federation.kill(n)
        drained = drain(federation)
        check = exact_check(federation)
        quarantined = {n.level: 0 for n in federation.nodes}
        for n in federation.nodes:
            quarantined[n.level] += int(n.query("SELECT count(*) FROM quarantine")[0][0])
        figures = propagation.figures(arrived)
        connections = sampler.finish()
        return {
            "pools": args.pools,
            "biomes": args.biomes,
            "period_s": args.period,
            "minutes_evolving": round(evolving_s / 60, 2),
            "setup_s": round(setup_s, 1),
            "evolution_runs": runs,
            "evolution_errors": errors,
            "best_fitness": record,
            "kills": killer.kills if killer else {},
            "mid_push_kills": killer.mid_push if killer else 0,
            "self_exits_restarted": federation.restarts,
            "biosphere_gcs": int(federation.biosphere.query("SELECT count(*) FROM genetic_codes")[0][0]),
            "pool_gcs_total": sum(
                int(p.query("SELECT count(*) FROM genetic_codes")[0][0]) for p in federation.pools
            ),
            "exact_totals": check["exact"],
            "statistics": {t: check[t] for t in ("gc_problem_stats", "pgc_stats")},
            "quarantined": quarantined,
            "best_rows_back_down_equal": back_down(federation, 5),
            "propagation": figures,
            "postgres_connections": connections,
            **tasks,
            **drained,
            "goals": {"exact_totals": True, "propagation_max_periods": 3.0},
            "meets_goals": check["exact"]
            and not any(quarantined.values())
            and figures["all_pools_periods_max"] is not None
            and figures["all_pools_periods_max"] <= 3.0
            and figures["timed_out"] == 0,
        }
    finally:
        if evolver.is_alive():
            evolver.terminate()
        evolver.join(timeout=10)
        federation.close()


def main(argv: list[str]) -> dict[str, Any]:
    """Parse the options and run the federation once."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks federation")
    parser.add_argument("--pools", type=int, default=20)
    parser.add_argument("--biomes", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=5.0, help="how long evolution runs feed the pools")
    parser.add_argument(
        "--period",
        type=float,
        default=None,
        help="DB managers' sync period, s (default: 1.5 s a pool, >= 10)",
    )
    parser.add_argument("--problem", default="nguyen-5")
    parser.add_argument("--population", type=int, default=30)
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--run-gap", type=float, default=1.0, help="seconds between two evolution runs")
    parser.add_argument("--promote-min-fitness", type=float, default=0.5)
    parser.add_argument("--pull-best", type=int, default=100, help="best GCs per problem a pull fetches")
    parser.add_argument("--kills", type=int, default=1, help="0: no DB manager is killed")
    parser.add_argument("--min-kill-gap", type=float, default=4.0)
    parser.add_argument("--max-kill-gap", type=float, default=12.0)
    parser.add_argument(
        "--timeout-periods",
        type=float,
        default=8.0,
        help="a new best GC not in every pool by then: timed out",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.pools < 2 or args.biomes < 1 or args.biomes > args.pools:
        parser.error("need at least 2 pools and 1 to --pools biomes")
    if args.period is None:
        # Every pool syncs once a period on a 2-core machine: the period grows with the pools.
        args.period = max(10.0, 1.5 * args.pools)
    return run(args)
