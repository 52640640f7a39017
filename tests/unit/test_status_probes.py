"""`egp status` health probes expire: stuck behind long epochs, they are dropped instead of piling up."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import TimeoutError as CeleryTimeoutError

from egp import status
from egp.config import load_settings


class _Result:
    """A probe's AsyncResult that never answers (the pool is busy with epochs)."""

    def get(self, timeout: float) -> Any:
        raise CeleryTimeoutError()

    def forget(self) -> None:
        pass


class _App:
    """Stands in for the Celery app: every queue has a live worker; records what is sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.conf = type("Conf", (), {})()

        class Inspect:
            def active_queues(self) -> dict[str, list[dict[str, str]]]:
                return {f"{q}@host": [{"name": q}] for q in ("evolution", "fitness", "dbmanager")}

        class Control:
            def inspect(self, timeout: float) -> Inspect:
                return Inspect()

        self.control = Control()

    def send_task(self, name: str, **options: Any) -> _Result:
        self.sent.append((name, options))
        return _Result()

    def close(self) -> None:
        pass


def test_health_probes_expire_with_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each probe carries `expires` no later than the status timeout, so a late worker discards it."""
    app = _App()
    monkeypatch.setattr(status, "make_app", lambda *args, **kwargs: app)
    settings = load_settings(broker_url="redis://127.0.0.1:6379/9")
    report = status.workers_report(settings, timeout=1.5, probe=True)
    assert len(app.sent) == 3
    for name, options in app.sent:
        assert name.endswith(".health")
        assert options.get("expires") is not None and 0 < options["expires"] <= 1.5
    assert all("busy" in entry["health"]["error"] for entry in report.values())
