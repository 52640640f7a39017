"""The dashboard in a real headless Chromium (Debian's, via Playwright), served by `egp dashboard` on a
SQLite Gene Pool filled by real runs: every page loads without console errors, the plots render with data
points, the lineage view navigates to a parent, and a running run's pages update without a reload.
Screenshots are saved under browser_harness.ARTEFACTS/dashboard."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_harness import ARTEFACTS, Page, browser_page, chromium_path, dashboard_server
from sqlalchemy import text

from egp.api import evolve
from egp.db import get_engine
from egp.migrations import upgrade

from .conftest import FilledPool, fill

SHOTS = ARTEFACTS / "dashboard"
PLOTS = ("fitness", "rate", "stillborn", "pgc_share", "pgc_evolvability")


@pytest.fixture(scope="module")
def sqlite_pool(tmp_path_factory: pytest.TempPathFactory) -> FilledPool:
    """A SQLite Gene Pool filled by real runs."""
    chromium_path()  # skip before the runs when there is no browser
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'pool.db'}"
    upgrade(url)
    return fill(url)


@pytest.fixture(scope="module")
def base_url(sqlite_pool: FilledPool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of `egp dashboard` serving the filled Gene Pool."""
    with dashboard_server(sqlite_pool.url, tmp_path_factory.mktemp("server") / "dashboard.log") as base:
        yield base


@pytest.fixture
def page() -> Iterator[Page]:
    """A fresh headless chromium page."""
    with browser_page(SHOTS) as opened:
        yield opened


def plotted_points(page: Page, name: str) -> int:
    """How many data points plot NAME drew (SVG marker paths inside its scatter traces)."""
    count = page.page.locator(f"#plot-{name} .scatterlayer .trace .points path").count()
    return int(count)


def test_every_page_loads_without_console_errors(page: Page, base_url: str, sqlite_pool: FilledPool) -> None:
    first = sqlite_pool.runs[0]
    pages = {
        "runs": "/",
        "run": f"/runs/{first.run_id}",
        "run-parity": f"/runs/{sqlite_pool.runs[1].run_id}",
        "lineage": f"/gc/{first.best_signature}",
        "pool": "/pool",
    }
    for name, path in pages.items():
        answer = page.page.goto(base_url + path)
        assert answer is not None and answer.status == 200, path
        page.page.wait_for_load_state("networkidle")
        page.shot(name)
    assert page.errors == []


def test_the_plots_render_with_data_points(page: Page, base_url: str, sqlite_pool: FilledPool) -> None:
    """Each plot of a two-island run is an SVG with traces and points: 12 generations × 2 islands × (best,
    mean) points on the fitness plot."""
    page.page.goto(f"{base_url}/runs/{sqlite_pool.runs[0].run_id}")
    page.page.wait_for_selector("#plot-fitness .main-svg")
    for name in PLOTS:
        assert page.page.locator(f"#plot-{name} svg.main-svg").count() > 0, name
        assert plotted_points(page, name) > 0, name
    assert plotted_points(page, "fitness") == 12 * 2 * 2
    assert page.page.locator("#program pre.formula").inner_text().startswith("f(i0) = ")
    page.shot("run-plots")
    assert page.errors == []


def test_the_lineage_view_navigates_to_a_parent(page: Page, base_url: str, sqlite_pool: FilledPool) -> None:
    signature = sqlite_pool.runs[0].best_signature
    page.page.goto(f"{base_url}/gc/{signature}")
    parent_link = page.page.locator("#ancestors ul.tree > li > ul > li > a.gc").first
    parent = parent_link.get_attribute("data-signature")
    assert parent and parent != signature
    parent_link.click()
    page.page.wait_for_url(f"{base_url}/gc/{parent}")
    assert parent in page.page.locator("h1").inner_text()
    assert page.page.locator("#ancestors a.gc").first.get_attribute("data-signature") == parent
    page.shot("lineage-parent")
    assert page.errors == []


def test_unknown_and_malformed_ids_show_error_pages(page: Page, base_url: str) -> None:
    for path, status, name in (
        ("/runs/0123456789abcdef", 404, "error-404"),
        ("/gc/nothex", 400, "error-400"),
    ):
        answer = page.page.goto(base_url + path)
        assert answer is not None and answer.status == status
        assert page.page.locator("#error-message").inner_text()
        page.shot(name)
    # Chromium logs each error document's status as a failed load; nothing else may appear.
    assert page.errors and all("the server responded with a status of 40" in e for e in page.errors)


def test_a_running_run_updates_without_reload(page: Page, base_url: str, sqlite_pool: FilledPool) -> None:
    """While a run evolves (in this process, on the Gene Pool the dashboard serves), its page's figures and
    the runs list change without a reload."""
    done = threading.Event()

    def run() -> None:
        try:
            evolve(
                "koza-quartic",
                population=150,
                generations=10_000,
                wall_seconds=20,
                stop_when_solved=False,
                seed=9,
                gene_pool=sqlite_pool.url,
            )
        finally:
            done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        run_id = wait_for_running_run(sqlite_pool.url)
        page.page.goto(base_url + "/")
        row = page.page.locator(f'#runs tr[data-id="{run_id}"] td.status')
        assert row.inner_text() == "running"
        page.page.wait_for_function("Number(document.body.dataset.updates || 0) >= 2", timeout=15_000)
        page.page.goto(f"{base_url}/runs/{run_id}")
        page.page.wait_for_selector("#plot-fitness .main-svg")
        evaluations = page.page.locator('#summary [data-field="evaluations"]')
        before, points_before = evaluations.inner_text(), plotted_points(page, "fitness")
        page.page.wait_for_function("Number(document.body.dataset.updates || 0) >= 2", timeout=15_000)
        page.page.wait_for_function(
            "before => document.querySelector('#summary [data-field=\"evaluations\"]').textContent"
            " !== before",
            arg=before,
            timeout=15_000,
        )
        assert plotted_points(page, "fitness") > points_before
        page.shot("run-live")
    finally:
        done.wait(60)
    assert page.errors == []


def wait_for_running_run(url: str, timeout_s: float = 30.0) -> str:
    """The id of the run on `url` that is running and has recorded generations."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with get_engine(url).connect() as connection:
            row = connection.execute(
                text("SELECT id FROM runs WHERE status = 'running' AND generations > 0")
            ).first()
        if row is not None:
            return str(row.id)
        time.sleep(0.2)
    raise AssertionError("no run started recording")


def test_screenshots_were_saved() -> None:
    """The artefacts are there to look at (the earlier tests of this module wrote them)."""
    chromium_path()
    assert SHOTS.exists() and any(Path(p).suffix == ".png" for p in SHOTS.iterdir())
