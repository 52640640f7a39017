"""compose.yaml is valid against the compose spec and keeps our invariants (no Docker engine needed)."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from egp.celery_config import Queue

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "compose.yaml"


def compose_problems(compose: dict[str, Any]) -> list[str]:
    """Return every broken invariant of a loaded compose file (an empty list when it is sound)."""
    problems: list[str] = []
    services: dict[str, Any] = compose["services"]
    shared_image = compose["x-egp-app"]["image"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        for target, spec in depends_on.items():
            if target not in services:
                problems.append(f"{name} depends on missing service {target}")
            elif spec.get("condition") == "service_healthy" and "healthcheck" not in services[target]:
                problems.append(f"{name} waits for {target} to be healthy, but {target} has no healthcheck")
        command = service.get("command", [])
        words = command if isinstance(command, list) else command.split()
        words = [str(word) for word in words]
        if "celery" in words or "egp" in " ".join(words):
            if service.get("image") != shared_image:
                problems.append(f"{name} runs EGP code but does not use the shared image {shared_image}")
            for i, word in enumerate(words):
                if word in ("-Q", "--queues"):
                    for queue in words[i + 1].split(","):
                        if queue not in {str(q) for q in Queue}:
                            problems.append(f"{name} consumes unknown queue {queue!r}")
                elif m := re.match(r"--queues=(.*)", word):
                    problems.extend(
                        f"{name} consumes unknown queue {q!r}"
                        for q in m.group(1).split(",")
                        if q not in {str(x) for x in Queue}
                    )
        long_running = service.get("restart", "no") != "no"
        if long_running and "healthcheck" not in service:
            problems.append(f"{name} runs for long but has no healthcheck")
    return problems


@pytest.fixture
def compose() -> dict[str, Any]:
    """The compose file, loaded with its anchors resolved."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def test_compose_matches_the_compose_spec() -> None:
    """check-jsonschema accepts compose.yaml against its built-in compose-spec schema."""
    executable = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which(
        "check-jsonschema"
    )
    assert executable, "check-jsonschema is not installed (it is in the dev extra)"
    result = subprocess.run(
        [executable, "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_keeps_our_invariants(compose: dict[str, Any]) -> None:
    """Targets exist, waited-on services have healthchecks, queues exist, app services share one image."""
    assert compose_problems(compose) == []


def test_compose_has_every_process(compose: dict[str, Any]) -> None:
    """The stack has every process of the architecture, each celery pool on its own queue."""
    services = compose["services"]
    expected = {"redis", "genepool-db", "library-db", "migrate", "worker", "executor", "dbmanager", "beat"}
    assert expected | {"flower"} <= set(services)
    assert services["dbmanager"]["command"][services["dbmanager"]["command"].index("-c") + 1] == "1"
    assert services["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    assert "noeviction" in services["redis"]["command"]


def test_a_renamed_depends_on_target_is_caught(compose: dict[str, Any]) -> None:
    """Renaming the service a dependency points at breaks the invariants."""
    broken = copy.deepcopy(compose)
    broken["services"]["genepool"] = broken["services"].pop("genepool-db")
    assert "migrate depends on missing service genepool-db" in compose_problems(broken)


def test_waiting_for_health_without_a_healthcheck_is_caught(compose: dict[str, Any]) -> None:
    """Waiting for service_healthy on a service with no healthcheck breaks the invariants."""
    broken = copy.deepcopy(compose)
    del broken["services"]["redis"]["healthcheck"]
    assert "worker waits for redis to be healthy, but redis has no healthcheck" in compose_problems(broken)


def test_a_mistyped_queue_is_caught(compose: dict[str, Any]) -> None:
    """A celery -Q naming a queue that is not in the Queue enum breaks the invariants."""
    broken = copy.deepcopy(compose)
    command = broken["services"]["executor"]["command"]
    command[command.index("-Q") + 1] = "fitnes"
    assert "executor consumes unknown queue 'fitnes'" in compose_problems(broken)


def test_an_app_service_with_its_own_image_is_caught(compose: dict[str, Any]) -> None:
    """A celery service that does not use the shared image breaks the invariants."""
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["image"] = "python:3.11"
    assert any("worker runs EGP code but does not use" in p for p in compose_problems(broken))


def test_operations_defaults(compose: dict[str, Any]) -> None:
    """Rotated logs everywhere; memory limits and a grace period on the long-running EGP services."""
    services = compose["services"]
    for name, service in services.items():
        assert service.get("logging", {}).get("options", {}).get("max-size"), f"{name} logs are not rotated"
        if service.get("restart", "no") != "no":
            assert service["deploy"]["resources"]["limits"]["memory"], f"{name} has no memory limit"
    for name in ("worker", "executor", "dbmanager", "beat", "flower"):
        assert services[name].get("stop_grace_period"), f"{name} has no stop_grace_period"


def test_pool_healthchecks_do_not_import_the_app(compose: dict[str, Any]) -> None:
    """`celery --broker … inspect ping` (0.65 s), not `celery -A <app> …` (1.9 s CPU per check)."""
    for name in ("worker", "executor", "dbmanager"):
        test = " ".join(compose["services"][name]["healthcheck"]["test"])
        assert "inspect ping" in test and "-A" not in test.split() and "--broker" in test, name


def test_executor_is_opt_in_and_flower_waits_only_for_redis(compose: dict[str, Any]) -> None:
    """The executor runs with the remote-fitness profile; Flower needs the broker only, and workers.flower."""
    services = compose["services"]
    assert services["executor"]["profiles"] == ["remote-fitness"]
    assert set(services["flower"]["depends_on"]) == {"redis"}
    assert services["flower"]["command"][:3] == ["celery", "-A", "workers.flower"]


def test_override_example_publishes_to_localhost_only(compose: dict[str, Any]) -> None:
    """compose.override.example.yaml binds Postgres and Redis to 127.0.0.1, on services that exist."""
    override = yaml.safe_load((COMPOSE_FILE.parent / "compose.override.example.yaml").read_text())
    assert set(override["services"]) <= set(compose["services"])
    ports = [port for service in override["services"].values() for port in service["ports"]]
    assert ports and all(port.startswith("127.0.0.1:") for port in ports)
