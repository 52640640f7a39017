"""The compose services' own commands, run as local processes (hosts on 127.0.0.1), run a real job."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from egp.jobs.store import JobStatus

from .conftest import REDIS_URL, REPO_ROOT, CeleryCluster

COMPOSE_FILE = REPO_ROOT / "compose.yaml"
BIN = Path(sys.executable).parent


def service_command(compose: dict[str, Any], name: str, node: str) -> list[str]:
    """A service's command with `${VAR:-default}` resolved to its default and the node name made unique."""
    words = [str(w) for w in compose["services"][name]["command"]]
    words = [re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", w) for w in words]
    words = [w.replace("%h", node) for w in words]
    return [str(BIN / words[0]), *words[1:]]


@pytest.fixture
def stack(
    make_cluster: Callable[..., CeleryCluster], tmp_path: Path
) -> Iterator[tuple[CeleryCluster, list[str]]]:
    """worker, executor and dbmanager started exactly as compose.yaml starts them."""
    cluster = make_cluster()
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    processes: list[subprocess.Popen[bytes]] = []
    logs = []
    for name in ("worker", "executor", "dbmanager"):
        log = tmp_path / f"compose-{name}.log"
        logs.append(str(log))
        processes.append(
            subprocess.Popen(
                service_command(compose, name, f"test-{cluster.run_id}"),
                env=cluster.env,
                cwd=REPO_ROOT,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all("ready." in Path(p).read_text() for p in logs):
        assert all(p.poll() is None for p in processes), [Path(p).read_text()[-1500:] for p in logs]
        time.sleep(0.2)
    yield cluster, logs
    for process in processes:
        os.killpg(process.pid, 15)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@pytest.mark.slow
def test_the_compose_commands_run_a_remote_fitness_job(stack: tuple[CeleryCluster, list[str]]) -> None:
    """The README's client snippet against the compose services: a remote-fitness job finishes."""
    cluster, logs = stack
    assert cluster.env["EGP_BROKER_URL"] == REDIS_URL
    job = cluster.client().submit("koza-quartic", seed=3, fitness_mode="remote", generations=60)
    assert job.wait(timeout=240) == JobStatus.FINISHED, [Path(p).read_text()[-1500:] for p in logs]
    best = job.best()
    assert (
        best is not None and best.fitness > 0.5 and job.info().progress["reason"] in ("solved", "generations")
    )
    assert cluster.query("SELECT count(*) FROM fitness_results")[0][0] > 0
