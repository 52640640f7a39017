"""Flower shows a running epoch's progress: through its result API and through the task's events."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from celery_harness import CELERY, REPO_ROOT, CeleryCluster


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, Any]:
    """GET a Flower URL: the status code and the decoded JSON body (None when it is not JSON)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read()
            return response.status, json.loads(body) if body.strip().startswith((b"{", b"[")) else None
    except urllib.error.HTTPError as error:
        return error.code, None
    except urllib.error.URLError:  # not listening yet
        return 0, None


def test_flower_shows_a_running_epochs_progress(make_cluster: Callable[..., CeleryCluster]) -> None:
    """`celery -A workers.flower flower`: /api/task/result answers PROGRESS; the task page shows the meta."""
    cluster = make_cluster()
    cluster.start("worker", "worker", "-c", "1")
    cluster.wait_ready("worker", 1)
    port = _free_port()
    log = (cluster.log_dir / "flower.log").open("ab")
    flower = subprocess.Popen(
        [CELERY, "-A", "workers.flower", "flower", f"--port={port}", "--address=127.0.0.1"],
        env=cluster.env | {"FLOWER_UNAUTHENTICATED_API": "true"},
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    job = None
    try:
        deadline = time.monotonic() + 60
        while _get(f"{base}/healthcheck")[0] != 200:
            assert time.monotonic() < deadline and flower.poll() is None, (
                cluster.log_dir / "flower.log"
            ).read_text()
            time.sleep(0.5)
        # One long epoch that does not stop at a solution: it is still running while we look.
        job = cluster.client().submit(
            "even-parity-5",
            islands=1,
            population=50,
            generations=100_000,
            epoch_generations=100_000,
            stop_when_solved=False,
            wall_seconds=120,
        )
        result: dict[str, Any] | None = None
        info: dict[str, Any] | None = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            status, tasks = _get(f"{base}/api/tasks?taskname=evolution.epoch")
            assert status == 200
            for task_id in tasks or {}:
                status, result = _get(f"{base}/api/task/result/{task_id}")
                assert status == 200, "Flower cannot read results: the app is not its default app"
                status, info = _get(f"{base}/api/task/info/{task_id}")
                if result and result.get("state") == "PROGRESS" and info and info.get("state") == "PROGRESS":
                    break
            else:
                time.sleep(0.5)
                continue
            break
        assert result is not None and result["state"] == "PROGRESS", (result, cluster.log("worker"))
        # Flower's result API gives a running task's state only; the meta comes with the task's events.
        assert info is not None and f"'job': '{job.id}'" in info["result"], info
        assert "'generation'" in info["result"] and "'best_fitness'" in info["result"], info
    finally:
        if job is not None:
            job.cancel()
        os.killpg(flower.pid, signal.SIGTERM)
        flower.wait(timeout=20)


def test_a_healthcheck_ping_needs_no_app(make_cluster: Callable[..., CeleryCluster]) -> None:
    """compose's pool healthcheck, `celery --broker URL inspect ping -d NODE`, answers without `-A`."""
    cluster = make_cluster()
    cluster.start("worker", "worker", "-c", "1")
    cluster.wait_ready("worker", 1)
    node = f"worker-{cluster.run_id}@test"
    broker = cluster.env["EGP_BROKER_URL"]
    ping = subprocess.run(
        [CELERY, "--broker", broker, "inspect", "ping", "-d", node],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cluster.log_dir,
    )
    assert ping.returncode == 0 and "pong" in ping.stdout, ping.stdout + ping.stderr
