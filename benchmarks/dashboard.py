"""The dashboard's page response times on a Gene Pool of 10⁵ GCs (target: each page under 300 ms).

`python -m benchmarks dashboard --json [--gcs 100000] [--requests 30] [--backends postgres,sqlite]`

For each backend: a scratch Gene Pool gets `--gcs` real random GCs (with their sub-GCs, each with a statistics
row, written by SQLGenePool.record_epoch), two real embedded runs (koza-quartic, so runs have histories,
lineages and best programs) and one jobs row whose progress holds the 2,000-entry history a long job keeps,
each entry with its stillborn rate and four pGC layers' figures as a worker records them (written through
JobStore: there is no worker in this benchmark). Then `egp dashboard` serves it on
127.0.0.1 and every page and its JSON endpoint is fetched `--requests` times over HTTP after two warm-up
fetches; medians and p95 in milliseconds, and each median as a ratio of the 300 ms target, side by side per
backend. The Gene Pool page's aggregates (counts, problems, most reused building blocks) are recomputed in
the background every half minute, so their own scan time is reported apart. Scratch databases are dropped at
the end.
"""

from __future__ import annotations

import argparse
import gc
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.storage import epoch_of, generate_gcs, scratch_databases
from egp.api import evolve
from egp.config import DatabaseRole
from egp.dashboard.pool_view import aggregates
from egp.jobs.spec import JobSpec
from egp.jobs.store import JobStatus, JobStore
from egp.migrations import upgrade
from egp.problems.registry import get_problem

TARGET_MS = 300.0
EGP = str(Path(sys.executable).parent / "egp")


def fill(url: str, gcs: list[Any]) -> dict[str, str]:
    """Store `gcs` with statistics, two real runs and a long job's row; the ids and signatures pages use."""
    from egp.storage.sql_pool import SQLGenePool

    pool = SQLGenePool(url)
    for start in range(0, len(gcs), 20_000):
        pool.record_epoch(epoch_of(gcs[start : start + 20_000]))
    first = evolve("koza-quartic", population=100, generations=30, islands=2, seed=1, gene_pool=url)
    evolve("koza-quartic", population=100, generations=30, seed=2, gene_pool=url, stop_when_solved=False)
    store = JobStore(url)
    spec = JobSpec(problem="koza-quartic", islands=4, generations=5000)
    job_id = store.create(spec, get_problem("koza-quartic").identity)
    begun = datetime.now(UTC) - timedelta(hours=1)
    history = [
        {
            "island": i % 4,
            "epoch": i // 4,
            "generation": 10 * (i // 4 + 1),
            "evaluations": 500 * (i + 1),
            "best": min(1.0, 0.5 + i / 4000),
            "mean": 0.4,
            "updated": (begun + timedelta(seconds=i)).isoformat(),
            # What a worker records per epoch (egp.jobs.epoch.epoch_figures): the job page plots these.
            "stillborn_rate": 0.04,
            "pgc": [[20, 0.1 + layer / 100, 0.002] for layer in range(4)],
        }
        for i in range(2000)
    ]
    progress = {"history": history, "evaluations": 10**6, "generation": 5000, "best": 1.0}
    progress["best_signature"] = first.best_signature
    with store.engine.begin() as connection:
        store.write(connection, job_id, JobStatus.RUNNING, progress)
    assert first.run_id is not None
    stored = gcs[-1].signature.hex()
    return {"run": first.run_id, "job": job_id, "gc": first.best_signature, "stored_gc": stored}


def fetch_ms(url: str) -> float:
    """Milliseconds to GET `url` and read the whole answer (which must be 200)."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            answer.read()
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{url}: HTTP {error.code}") from None
    return (time.perf_counter() - started) * 1000


def measure(url: str, ids: dict[str, str], requests: int) -> list[dict[str, Any]]:
    """Serve `url` with `egp dashboard` and time every page and JSON endpoint."""
    port = free_port()
    log = Path(tempfile.mkdtemp()) / "dashboard.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [EGP, "dashboard", "--gene-pool", url, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                fetch_ms(base + "/api/runs")
                break
            except OSError:
                time.sleep(0.2)
        pages = {
            "runs": "/",
            "run": f"/runs/{ids['run']}",
            "job (2,000 epochs)": f"/runs/{ids['job']}",
            "lineage (best GC)": f"/gc/{ids['gc']}",
            "lineage (stored GC)": f"/gc/{ids['stored_gc']}",
            "gene pool": "/pool",
        }
        rows = []
        for name, path in pages.items():
            row: dict[str, Any] = {"page": name}
            api = "/api/runs" if path == "/" else "/api" + path
            for kind, target in (("html", path), ("json", api)):
                for _ in range(2):
                    fetch_ms(base + target)
                times = sorted(fetch_ms(base + target) for _ in range(requests))
                median = statistics.median(times)
                row[f"{kind}_p50_ms"] = round(median, 1)
                row[f"{kind}_p95_ms"] = round(times[max(0, int(len(times) * 0.95) - 1)], 1)
                row[f"{kind}_p50_over_target"] = round(median / TARGET_MS, 3)
            rows.append(row)
        return rows
    finally:
        server.terminate()
        server.wait(timeout=10)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (closed again, for the server to take)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str]) -> dict[str, Any]:
    """Fill each backend's Gene Pool and time the dashboard's pages on it."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks dashboard")
    parser.add_argument("--gcs", type=int, default=100_000, help="random GCs stored before the runs")
    parser.add_argument("--requests", type=int, default=30, help="timed fetches of each page")
    parser.add_argument("--backends", default="postgres,sqlite", help="postgres, sqlite or both")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    gcs = generate_gcs(args.gcs, seed=1)
    gc.collect()
    gc.freeze()
    generated = time.perf_counter() - started
    results: dict[str, Any] = {}
    counts: dict[str, int] = {}
    aggregates_ms: dict[str, float] = {}
    with scratch_databases() as create, tempfile.TemporaryDirectory() as scratch:
        for backend in [b for b in args.backends.split(",") if b]:
            if backend == "postgres":
                url = create(DatabaseRole.POOL)
            elif backend == "sqlite":
                url = f"sqlite:///{Path(scratch) / 'pool.db'}"
                upgrade(url)
            else:
                raise SystemExit(f"unknown backend {backend!r}: postgres or sqlite")
            ids = fill(url, gcs)
            from egp.storage.sql_pool import SQLGenePool

            pool = SQLGenePool(url)
            counts[backend] = pool.counts()["genetic_codes"]
            results[backend] = measure(url, ids, args.requests)
            # The Gene Pool page serves these from its background refresh: their cost off the request path.
            scans = []
            for _ in range(5):
                begun = time.perf_counter()
                aggregates(pool)
                scans.append((time.perf_counter() - begun) * 1000)
            aggregates_ms[backend] = round(statistics.median(scans), 1)
    slowest = max(
        (row[key], backend, row["page"])
        for backend, rows in results.items()
        for row in rows
        for key in ("html_p50_ms", "json_p50_ms")
    )
    return {
        "benchmark": "dashboard",
        "target_ms": TARGET_MS,
        "stored_gcs": counts,
        "pages": results,
        "pool_aggregates_background_p50_ms": aggregates_ms,
        "slowest_p50": {"ms": slowest[0], "backend": slowest[1], "page": slowest[2]},
        "goals": {"every_page_p50_under_300ms": slowest[0] < TARGET_MS},
        "gc_generation_s": round(generated, 1),
        "total_s": round(time.perf_counter() - started, 1),
    }
