"""Real `celery` processes of the EGP pools, started as subprocesses on one Gene Pool and one broker.

One harness for every integration test that needs workers: the module-scoped `celery_pools` (one solo worker
per queue) and the distributed tests' `make_cluster` (prefork pools, beat, faults injected per process).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from egp.client import Client
from egp.config import Settings, load_settings
from egp.db import get_engine

CELERY = str(Path(sys.executable).parent / "celery")
REPO_ROOT = Path(__file__).resolve().parents[2]

# The same entry points and arguments as the compose services (hosts on 127.0.0.1).
COMMANDS = {
    "worker": ["-A", "workers.app", "worker", "-Q", "evolution"],
    "executor": ["-A", "executors.app", "worker", "-Q", "fitness"],
    "dbmanager": ["-A", "dbmanager.app", "worker", "-Q", "dbmanager", "-c", "1"],
    "beat": ["-A", "dbmanager.app", "beat"],
}
#: The process kind serving each queue.
KIND_OF_QUEUE = {"evolution": "worker", "fitness": "executor", "dbmanager": "dbmanager"}


class CeleryCluster:
    """Real celery processes of the EGP pools on one Gene Pool and one broker, each with its own log file."""

    def __init__(
        self,
        gene_pool_url: str,
        log_dir: Path,
        broker_url: str,
        settings: dict[str, Any] | None = None,
        pythonpath: tuple[Path, ...] = (),
        **env: str,
    ) -> None:
        """A cluster with no process started yet.

        `settings` (Settings field names) go both to the processes' environment and to `self.settings`;
        `env` are further variables for the processes only; `pythonpath` is prepended to their PYTHONPATH.
        """
        self.gene_pool_url = gene_pool_url
        self.log_dir = log_dir
        self.run_id = uuid.uuid4().hex[:8]
        settings = settings or {}
        self.env = os.environ | {
            "EGP_BROKER_URL": broker_url,
            "EGP_RESULT_BACKEND": broker_url,
            "EGP_GENE_POOL_URL": gene_pool_url,
            **{f"EGP_{key.upper()}": str(value) for key, value in settings.items()},
        }
        if pythonpath:
            paths = [*map(str, pythonpath), os.environ.get("PYTHONPATH", "")]
            self.env["PYTHONPATH"] = os.pathsep.join(paths)
        self.env.update(env)
        self.settings: Settings = load_settings(
            broker_url=broker_url, result_backend=broker_url, gene_pool_url=gene_pool_url, **settings
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.nodes: dict[str, str] = {}

    def start(self, name: str, kind: str, *arguments: str) -> subprocess.Popen[bytes]:
        """Start a `kind` process (worker, executor, dbmanager, beat) named `name`, in its own session."""
        extra = list(arguments)
        if kind == "beat":
            extra += ["-s", str(self.log_dir / f"{name}-schedule")]
        else:
            self.nodes[name] = f"{name}-{self.run_id}@test"
            extra += ["-n", self.nodes[name], "--without-gossip", "--without-mingle"]
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [CELERY, *COMMANDS[kind], *extra, "-l", "info"],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def children(self, name: str) -> list[int]:
        """The pool (child) processes of a prefork worker."""
        found = subprocess.run(
            ["pgrep", "-P", str(self.processes[name].pid)], capture_output=True, text=True, check=False
        )
        return [int(p) for p in found.stdout.split()]

    def wait_ready(self, name: str, count: int = 1, deadline_s: float = 60.0) -> None:
        """Wait until the worker `name` has `count` pool processes and says it is ready."""
        log = self.log_dir / f"{name}.log"
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
            if "ready." in log.read_text() and len(self.children(name)) >= count:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{name} not ready within {deadline_s}s: {log.read_text()[-2000:]}")

    def client(self) -> Client:
        """A client of this cluster."""
        return Client(self.settings)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop one process group (warm shutdown; killed if it does not stop)."""
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, sig)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        """Stop every process started."""
        for name in list(self.processes):
            self.stop(name)

    def log(self, name: str) -> str:
        """The tail of a process's log, for assertion messages."""
        return (self.log_dir / f"{name}.log").read_text()[-3000:]

    def query(self, sql: str, **params: Any) -> list[Any]:
        """Rows of a query on the Gene Pool."""
        with get_engine(self.gene_pool_url).connect() as connection:
            return list(connection.execute(text(sql), params).all())
