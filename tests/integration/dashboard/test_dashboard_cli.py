"""`egp report` and `egp dashboard` from the command line: the self-contained HTML report (opened offline in
chromium), PNG plots, and one-line errors with exit code 2 for bad arguments, unknown runs and a missing
`dashboard` extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from browser_harness import ARTEFACTS, browser_page, chromium_path

from .conftest import FilledPool

EGP = str(Path(sys.executable).parent / "egp")


def egp(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the `egp` command; its exit code and output."""
    return subprocess.run([EGP, *arguments], capture_output=True, text=True, timeout=180)


def one_line_error(done: subprocess.CompletedProcess[str], code: int, fragment: str) -> None:
    """The command failed with `code` and one line on stderr naming `fragment`, no traceback."""
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], done.stderr


def test_a_report_is_one_self_contained_html_file(filled_pool: FilledPool, tmp_path: Path) -> None:
    """The file carries Plotly.js, the figures and the best program, loads nothing from elsewhere, and its
    plots render in chromium with every request to the network refused."""
    result = filled_pool.runs[0]
    assert result.run_id is not None
    out = tmp_path / "report.html"
    done = egp("report", result.run_id, "--html", str(out), "--gene-pool", filled_pool.url)
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert result.best_source in html.replace("&#34;", '"').replace("&#39;", "'")
    assert 'src="http' not in html and "<link" not in html and 'id="plot-fitness"' in html
    if not filled_pool.url.startswith("sqlite"):
        return  # the browser check once is enough
    chromium_path()
    with browser_page(ARTEFACTS / "dashboard") as page:
        page.page.route("http*://**", lambda route: route.abort())
        page.page.goto(out.as_uri())
        page.page.wait_for_selector("#plot-fitness .main-svg")
        assert page.page.locator("#plot-fitness .scatterlayer .trace .points path").count() == 12 * 2 * 2
        page.shot("report")
        assert page.errors == []


def test_report_png_writes_each_plot(filled_pool: FilledPool, tmp_path: Path) -> None:
    if not filled_pool.url.startswith("sqlite"):
        pytest.skip("the PNG export is checked once, on SQLite")
    chromium_path()  # kaleido drives the machine's chromium
    run_id = filled_pool.runs[0].run_id
    assert run_id is not None
    done = egp("report", run_id, "--png", str(tmp_path / "png"), "--gene-pool", filled_pool.url)
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "png").iterdir())
    names = ("fitness", "pgc_evolvability", "pgc_share", "rate", "stillborn")
    assert written == [f"{run_id[:12]}-{name}.png" for name in names]
    assert all((tmp_path / "png" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in written)


def test_report_errors_are_one_line(filled_pool: FilledPool, tmp_path: Path) -> None:
    pool = ("--gene-pool", filled_pool.url)
    run_id = filled_pool.runs[0].run_id
    assert run_id is not None
    one_line_error(egp("report", run_id, *pool), 2, "needs --html FILE, --png DIR or both")
    html = ("--html", str(tmp_path / "r.html"))
    one_line_error(egp("report", "0" * 32, *html, *pool), 2, "no run or job")
    one_line_error(egp("report", "no such/run", *html, *pool), 2, "malformed run or job id")
    missing = ("--gene-pool", f"sqlite:///{tmp_path / 'nothing.db'}")
    one_line_error(egp("report", run_id, *html, *missing), 2, "no Gene Pool at")
    one_line_error(
        egp("report", run_id, "--html", str(tmp_path / "no" / "dir.html"), *pool), 2, "cannot write"
    )


def test_dashboard_argument_errors_are_usage_errors(filled_pool: FilledPool) -> None:
    done = egp("dashboard", "--port", "0", "--gene-pool", filled_pool.url)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "--port" in done.stderr


def test_a_missing_dashboard_extra_is_one_line() -> None:
    """Without the web stack installed (here: hidden from the import system), `egp dashboard` and
    `egp report` name the extra to install."""
    hide = (
        "import sys; sys.modules['starlette'] = None; from egp.cli import main; sys.argv = {argv!r}; main()"
    )
    for argv in (["egp", "dashboard"], ["egp", "report", "abc", "--html", "x.html"]):
        done = subprocess.run(
            [sys.executable, "-c", hide.format(argv=argv)], capture_output=True, text=True, timeout=60
        )
        one_line_error(done, 2, "pip install 'egp[dashboard]'")


def test_basic_auth_guards_every_page_but_the_health_check(filled_pool: FilledPool) -> None:
    """With credentials (compose passes Flower's), a request without or with wrong ones is a 401."""
    from starlette.testclient import TestClient

    from egp.dashboard.app import create_app

    client = TestClient(create_app(filled_pool.url, ("admin", "s3cret")))
    assert client.get("/").status_code == 401
    assert client.get("/api/runs", auth=("admin", "wrong")).status_code == 401
    assert client.get("/api/runs", auth=("admin", "s3cret")).status_code == 200
    assert client.get("/", headers={"Authorization": "Basic !!!"}).status_code == 401
    assert client.get("/healthz").text == "ok"


def test_malformed_basic_auth_setting_is_one_line(filled_pool: FilledPool) -> None:
    done = subprocess.run(
        [EGP, "dashboard", "--gene-pool", filled_pool.url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "EGP_DASHBOARD_BASIC_AUTH": "no-colon"},
    )
    one_line_error(done, 2, "EGP_DASHBOARD_BASIC_AUTH must be user:password")
