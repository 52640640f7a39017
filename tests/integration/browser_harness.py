"""Real-browser checks of the dashboard: `egp dashboard` as a subprocess and Debian's chromium driven by
Playwright (through `executable_path`: no browser is downloaded). Screenshots are kept as artefacts under
ARTEFACTS (a tmp dir), to look at after a run."""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

EGP = str(Path(sys.executable).parent / "egp")
ARTEFACTS = Path(os.environ.get("EGP_TEST_ARTEFACTS", Path(tempfile.gettempdir()) / "egp-test-artefacts"))


def chromium_path() -> str:
    """The chromium binary (EGP_TEST_CHROMIUM, else chromium on PATH); skips the test with the reason when
    there is none or Playwright is not installed."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[dev]')")
    found = (
        os.environ.get("EGP_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not found:
        pytest.skip("no chromium binary found: apt-get install chromium (or set EGP_TEST_CHROMIUM)")
    return found


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def dashboard_server(url: str, log: Path) -> Iterator[str]:
    """`egp dashboard` on `url` at a free local port; yields its base URL, and stops it at the end."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [EGP, "dashboard", "--gene-pool", url, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/runs", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"egp dashboard did not start: {log.read_text()}") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Page:
    """A Playwright page that records console errors and uncaught exceptions, and saves screenshots."""

    def __init__(self, page: Any, artefacts: Path) -> None:
        self.page = page
        self.artefacts = artefacts
        self.errors: list[str] = []
        page.on("console", lambda message: self._console(message))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def shot(self, name: str) -> Path:
        """Save a full-page screenshot as ARTEFACTS/…/NAME.png."""
        path = self.artefacts / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@contextmanager
def browser_page(artefacts: Path) -> Iterator[Page]:
    """A headless chromium page (Debian's binary through Playwright)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    artefacts.mkdir(parents=True, exist_ok=True)
    # Chromium reserves a large address space (V8's cage) and dies with SIGTRAP under a capped RLIMIT_AS,
    # which it would inherit from this process: say so rather than fail obscurely.
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    assert soft == hard, f"this process's address space is capped at {soft} bytes; chromium cannot start"
    with sync_playwright() as driver:
        # --no-sandbox: tests run as root here, where Chromium's sandbox refuses to start.
        browser = driver.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1300, "height": 900})
            yield Page(context.new_page(), artefacts)
        finally:
            browser.close()
