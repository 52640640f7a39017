"""A running job's dashboard page in a real headless Chromium updates without a reload: a job evolves on a
real worker process while `egp dashboard` serves its Gene Pool; its figures and summary move, and its JSON
endpoint has its islands' history."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from browser_harness import ARTEFACTS, browser_page, chromium_path, dashboard_server

from egp.dashboard.pages import run_page
from egp.dashboard.report import html_report
from egp.jobs.store import JobStatus
from egp.storage.sql_pool import SQLGenePool

from .conftest import CeleryCluster


@pytest.mark.slow
def test_a_running_jobs_page_updates_without_reload(
    make_cluster: Callable[..., CeleryCluster], tmp_path: Path
) -> None:
    chromium_path()
    cluster = make_cluster()
    cluster.start("worker", "worker", "-c", "2")
    cluster.wait_ready("worker", 2)
    job = cluster.client().submit(
        "koza-quartic", seed=4, islands=2, population=120, generations=100_000, stop_when_solved=False
    )
    try:
        deadline = time.monotonic() + 120
        # Two initial populations, then at least one evolved epoch per island (those carry the figures).
        while len(job.history()) < 4:
            assert time.monotonic() < deadline, cluster.log("worker")
            time.sleep(0.5)
        with dashboard_server(cluster.gene_pool_url, tmp_path / "dashboard.log") as base:
            with urllib.request.urlopen(f"{base}/api/runs/{job.id}") as answer:
                detail = json.load(answer)
            assert detail["kind"] == "job" and detail["status"] == "running" and detail["live"]
            with urllib.request.urlopen(f"{base}/api/runs") as answer:
                listed = {r["id"]: r for r in json.load(answer)["runs"]}
            assert listed[job.id]["kind"] == "job" and listed[job.id]["live"]
            assert {p["island"] for p in detail["points"]} <= {0, 1} and detail["points"]
            # Each evolved epoch carries its stillborn rate and pGC layer figures, so all five plots show.
            assert set(detail["figures"]) == {"fitness", "rate", "stillborn", "pgc_share", "pgc_evolvability"}
            evolved = [p for p in detail["points"] if p["stillborn_rate"] is not None]
            assert evolved and all(0.0 <= p["stillborn_rate"] <= 1.0 for p in evolved)
            assert all(len(p["pgc"]) == 4 and all(len(f) == 3 for f in p["pgc"]) for p in evolved)
            with browser_page(ARTEFACTS / "dashboard") as page:
                page.page.goto(f"{base}/runs/{job.id}")
                page.page.wait_for_selector("#plot-fitness .main-svg")
                cell = page.page.locator('#summary [data-field="evaluations"]')
                before = cell.inner_text()
                traces_before = page.page.locator("#plot-fitness .scatterlayer .trace .points path").count()
                page.page.wait_for_function(
                    "before => document.querySelector('#summary [data-field=\"evaluations\"]').textContent"
                    " !== before",
                    arg=before,
                    timeout=60_000,
                )
                assert int(page.page.evaluate("document.body.dataset.updates")) >= 1
                page.page.wait_for_function(
                    "n => document.querySelectorAll('#plot-fitness .scatterlayer .trace .points path')"
                    ".length > n",
                    arg=traces_before,
                    timeout=60_000,
                )
                for name in ("stillborn", "pgc_share", "pgc_evolvability"):
                    points = page.page.locator(f"#plot-{name} .scatterlayer .trace .points path").count()
                    assert points > 0, name
                page.shot("job-live")
                assert page.errors == []
    finally:
        job.cancel()
    assert job.wait(timeout=120) in (JobStatus.CANCELLED, JobStatus.FINISHED)
    # The ended job's report carries the same plots, its pGC and stillborn ones included.
    html = html_report(run_page(SQLGenePool(cluster.gene_pool_url), job.id), cluster.gene_pool_url)
    for name in ("fitness", "rate", "stillborn", "pgc_share", "pgc_evolvability"):
        assert f'id="plot-{name}"' in html, name
