"""The README's job example solves on a fresh Gene Pool with the default run settings, as in the stack."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

from celery_harness import CeleryCluster

from egp.client import Client
from egp.config import load_settings
from egp.jobs.store import JobStatus

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_submit_call() -> tuple[str, dict[str, object]]:
    """The problem and keyword arguments of the README's `Client().submit(...)` example."""
    match = re.search(r"Client\(\)\.submit\((.*?)\)\s", README.read_text())
    assert match, "the README has no Client().submit(...) example"
    call = ast.parse(f"f({match.group(1)})", mode="eval").body
    assert isinstance(call, ast.Call)
    problem = ast.literal_eval(call.args[0])
    return problem, {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}


def test_the_readme_job_example_solves(make_cluster: Callable[..., CeleryCluster]) -> None:
    """`Client().submit(<README's arguments>)` on a new Gene Pool finishes solved, as the README says."""
    cluster = make_cluster()  # 10-generation epochs: the default of EGP_EPOCH_GENERATIONS, as in the stack
    cluster.start("worker", "worker", "-c", "2")
    cluster.wait_ready("worker", 2)
    problem, arguments = readme_submit_call()
    settings = load_settings(
        broker_url=cluster.settings.broker_url,
        result_backend=cluster.settings.result_backend,
        gene_pool_url=cluster.gene_pool_url,
    )
    client = Client(settings)
    job = client.submit(problem, **arguments)  # type: ignore[arg-type]
    assert job.wait(timeout=300) == JobStatus.FINISHED, cluster.log("worker")
    best = job.best()
    assert best is not None and best.solved and best.fitness == 1.0, job.info().progress
    client.close()
