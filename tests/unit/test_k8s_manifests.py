"""deploy/k8s renders with kustomize, validates against the Kubernetes and KEDA schemas, keeps our invariants.

Offline: `kubectl kustomize` renders each overlay, kubernetes-validate checks every core object against the
Kubernetes JSON schemas it bundles, and the KEDA objects are checked against the schemas in tests/data/keda.
`manifest_problems` lists every broken invariant of a rendered overlay; the tests below break one thing at
a time in a copy of the render and check that it is named, so no invariant passes vacuously.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from egp.celery_config import Queue
from egp.config import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
KEDA_SCHEMA_DIR = ROOT / "tests" / "data" / "keda"
SECRET_NAME = "egp-secrets"
# The oldest Kubernetes the manifests are checked against (README), and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.25.0", kubernetes_validate.utils.latest_version())
# The Celery pools: Deployment name -> (app, queue), as compose.yaml runs them.
POOLS = {
    "worker": ("workers.app", Queue.EVOLUTION),
    "executor": ("executors.app", Queue.FITNESS),
    "dbmanager": ("dbmanager.app", Queue.DBMANAGER),
}
SINGLETONS = ("dbmanager", "beat")
POD_KINDS = ("Deployment", "StatefulSet", "Job")

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(
    KUBECTL is None,
    reason="kubectl is not installed: it renders the kustomize overlays (`kubectl kustomize`)",
)

Obj = dict[str, Any]


@functools.cache
def _render(overlay: str) -> tuple[Obj, ...]:
    """The objects `kubectl kustomize` renders for an overlay (cached: the tests copy what they change)."""
    assert KUBECTL is not None
    result = subprocess.run(
        [KUBECTL, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize overlays/{overlay} failed:\n{result.stderr}"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(doc for doc in yaml.load_all(result.stdout, Loader=loader) if doc)


def render(overlay: str) -> list[Obj]:
    """A fresh copy of an overlay's rendered objects."""
    return copy.deepcopy(list(_render(overlay)))


@functools.cache
def compose() -> Obj:
    """compose.yaml, loaded with its anchors resolved."""
    loaded: Obj = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


@functools.cache
def project_version() -> str:
    """The version in pyproject.toml, which the image tag must be."""
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return version


@functools.cache
def keda_schemas() -> dict[str, Obj]:
    """The KEDA CRD schemas by kind (tests/data/keda/README.md says where they come from)."""
    return {
        "ScaledObject": json.loads((KEDA_SCHEMA_DIR / "scaledobject.schema.json").read_text()),
        "TriggerAuthentication": json.loads(
            (KEDA_SCHEMA_DIR / "triggerauthentication.schema.json").read_text()
        ),
    }


def example_secrets(overlay: str) -> dict[str, str]:
    """The keys and placeholder values of an overlay's secrets.env.example."""
    pairs: dict[str, str] = {}
    for line in (K8S / "overlays" / overlay / "secrets.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{overlay}/secrets.env.example: {line!r} is not KEY=VALUE"
            pairs[key] = value
    return pairs


# --- reading rendered objects -------------------------------------------------------------------------


def objects_of(objects: list[Obj], kind: str) -> dict[str, Obj]:
    """The objects of one kind, by name."""
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def pod_specs(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    """(`Kind/name`, pod spec) of every object that runs pods."""
    for obj in objects:
        if obj["kind"] in POD_KINDS:
            yield f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"]


def containers(pod: Obj) -> list[Obj]:
    """Every container of a pod spec, init containers first."""
    return [*pod.get("initContainers", []), *pod["containers"]]


def main_container(pod: Obj) -> Obj:
    """The container that runs the process (EGP's are named `egp`; others have one container)."""
    named = [c for c in pod["containers"] if c["name"] == "egp"]
    return named[0] if named else pod["containers"][0]


def is_egp_image(image: str) -> bool:
    """True for the EGP image (kustomize's `images` sets its tag; a registry prefix may come first)."""
    return image.rsplit("/", 1)[-1].split(":", 1)[0] == "egp"


def option(command: list[str], flag: str) -> str | None:
    """The value after `flag` in a command, or None."""
    return command[command.index(flag) + 1] if flag in command else None


def env_names(objects: list[Obj], container: Obj) -> set[str]:
    """Environment variable names a container gets, its ConfigMaps' keys included."""
    names = {item["name"] for item in container.get("env", [])}
    config_maps = objects_of(objects, "ConfigMap")
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            names |= set(config_maps.get(source["configMapRef"]["name"], {}).get("data", {}))
    return names


def egp_config(objects: list[Obj]) -> dict[str, str]:
    """The data of the generated egp-config ConfigMap (its name carries a hash suffix)."""
    found = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("egp-config")
    ]
    assert len(found) == 1, "expected one egp-config ConfigMap"
    data: dict[str, str] = found[0].get("data", {})
    return data


def task_hard_time_limit_s(config: dict[str, str]) -> int:
    """The hard time limit of a task under the ConfigMap's settings (Settings' own rule, its defaults)."""
    fields = Settings.model_fields
    visibility = int(config.get("EGP_VISIBILITY_TIMEOUT_S", fields["visibility_timeout_s"].default))
    limit = config.get("EGP_TASK_TIME_LIMIT_S")
    return Settings(
        visibility_timeout_s=visibility, task_time_limit_s=int(limit) if limit else None
    ).task_hard_time_limit_s


def secret_refs(objects: list[Obj]) -> Iterator[tuple[str, str, str]]:
    """(where, secret name, key) of every reference to a Secret key: env, volumes and KEDA's."""
    for where, pod in pod_specs(objects):
        for container in containers(pod):
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    yield f"{where} {container['name']} {item['name']}", ref["name"], ref["key"]
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    yield f"{where} {container['name']} envFrom", source["secretRef"]["name"], "*"
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                yield f"{where} volume {volume['name']}", volume["secret"]["secretName"], "*"
    for name, auth in objects_of(objects, "TriggerAuthentication").items():
        for ref in auth["spec"].get("secretTargetRef", []):
            yield f"TriggerAuthentication/{name} {ref['parameter']}", ref["name"], ref["key"]


# --- the invariants ---------------------------------------------------------------------------------


def security_problems(where: str, pod: Obj) -> list[str]:
    """A pod runs as a non-root user, with no privileges, no capabilities and the default seccomp profile."""
    problems: list[str] = []
    pod_security = pod.get("securityContext", {})
    for container in containers(pod):
        name = f"{where} container {container['name']}"
        security = {**pod_security, **container.get("securityContext", {})}
        if security.get("runAsNonRoot") is not True:
            problems.append(f"{name} does not set runAsNonRoot")
        if not isinstance(security.get("runAsUser"), int) or security["runAsUser"] == 0:
            problems.append(f"{name} does not run as a non-root user id")
        if security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name} does not use the RuntimeDefault seccomp profile")
        own = container.get("securityContext", {})
        if own.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name} allows privilege escalation")
        if own.get("privileged"):
            problems.append(f"{name} is privileged")
        if "ALL" not in own.get("capabilities", {}).get("drop", []) or own.get("capabilities", {}).get("add"):
            problems.append(f"{name} does not drop all capabilities")
        if own.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name} has a writable root filesystem")
    if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
        problems.append(f"{where} shares a host namespace")
    return problems


def resource_problems(where: str, pod: Obj) -> list[str]:
    """Every container requests and limits CPU and memory."""
    problems: list[str] = []
    for container in containers(pod):
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(bound, {}):
                    problems.append(f"{where} container {container['name']} has no {resource} {bound[:-1]}")
    return problems


def probe_problems(where: str, pod: Obj) -> list[str]:
    """The process of a long-running pod has a liveness and a readiness probe."""
    container = main_container(pod)
    return [
        f"{where} has no {probe}"
        for probe in ("livenessProbe", "readinessProbe")
        if not any(key in container.get(probe, {}) for key in ("exec", "httpGet", "tcpSocket", "grpc"))
    ]


def pool_problems(objects: list[Obj]) -> list[str]:
    """Each Celery pool consumes its queue of egp.celery_config with its app; probes ping that node."""
    problems: list[str] = []
    deployments = objects_of(objects, "Deployment")
    for name, (app, queue) in POOLS.items():
        if name not in deployments:
            problems.append(f"Deployment/{name} is missing")
            continue
        container = main_container(deployments[name]["spec"]["template"]["spec"])
        command = [str(word) for word in container.get("command", [])]
        if command[:4] != ["celery", "-A", app, "worker"]:
            problems.append(f"Deployment/{name} does not run `celery -A {app} worker`")
        queues = (option(command, "-Q") or "").split(",")
        if queues != [str(queue)]:
            problems.append(f"Deployment/{name} consumes {queues}, not the {queue} queue")
        problems.extend(
            f"Deployment/{name} consumes unknown queue {q!r}"
            for q in queues
            if q not in {str(x) for x in Queue}
        )
        node = (option(command, "-n") or "").replace("%h", "$HOSTNAME")
        for probe in ("livenessProbe", "readinessProbe"):
            probe_command = " ".join(container.get(probe, {}).get("exec", {}).get("command", []))
            if "inspect ping" not in probe_command or f"-d {node}" not in probe_command:
                problems.append(f"Deployment/{name} {probe} does not ping its node {node}")
            if "-A" in probe_command.split():
                problems.append(f"Deployment/{name} {probe} imports the app (-A): slow")
    return problems


def singleton_problems(objects: list[Obj]) -> list[str]:
    """The DB manager and beat run exactly once: one replica, Recreate, never autoscaled."""
    problems: list[str] = []
    deployments = objects_of(objects, "Deployment")
    scaled = {so["spec"]["scaleTargetRef"]["name"] for so in objects_of(objects, "ScaledObject").values()}
    for name in SINGLETONS:
        spec = deployments.get(name, {}).get("spec", {})
        if spec.get("replicas") != 1:
            problems.append(f"Deployment/{name} does not have exactly 1 replica")
        if spec.get("strategy", {}).get("type") != "Recreate":
            problems.append(f"Deployment/{name} does not use the Recreate strategy")
        if name in scaled:
            problems.append(f"Deployment/{name} is autoscaled")
    return problems


def grace_problems(objects: list[Obj]) -> list[str]:
    """A Celery pool's warm shutdown outlasts the longest task, so a scale-down lets the epoch finish."""
    limit = task_hard_time_limit_s(egp_config(objects))
    problems: list[str] = []
    for name, deployment in objects_of(objects, "Deployment").items():
        grace = deployment["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        if name in POOLS and grace <= limit:
            problems.append(
                f"Deployment/{name} terminationGracePeriodSeconds is below the {limit} s"
                " hard time limit of a task"
            )
    return problems


def keda_problems(objects: list[Obj]) -> list[str]:
    """Worker and executor scale on their own queue's Redis list, to zero, with the password by reference."""
    problems: list[str] = []
    deployments = objects_of(objects, "Deployment")
    auths = objects_of(objects, "TriggerAuthentication")
    scaled_objects = objects_of(objects, "ScaledObject")
    limit = task_hard_time_limit_s(egp_config(objects))
    for name in ("worker", "executor"):
        targets = [so for so in scaled_objects.values() if so["spec"]["scaleTargetRef"]["name"] == name]
        if len(targets) != 1:
            problems.append(f"Deployment/{name} has {len(targets)} ScaledObjects, not 1")
            continue
        spec = targets[0]["spec"]
        deployment = deployments.get(name)
        if deployment is None:
            problems.append(f"ScaledObject scales missing Deployment/{name}")
            continue
        if "replicas" in deployment["spec"]:
            problems.append(f"Deployment/{name} sets replicas, which every apply would reset under KEDA")
        if spec.get("minReplicaCount") != 0:
            problems.append(f"ScaledObject for {name} does not scale to zero (minReplicaCount)")
        if spec.get("cooldownPeriod", 300) < limit:
            problems.append(f"ScaledObject for {name} cools down faster than a task's {limit} s limit")
        window = (
            spec.get("advanced", {})
            .get("horizontalPodAutoscalerConfig", {})
            .get("behavior", {})
            .get("scaleDown", {})
            .get("stabilizationWindowSeconds", 300)
        )
        if window < limit:
            problems.append(f"ScaledObject for {name} scales down within a task's {limit} s limit")
        container = main_container(deployment["spec"]["template"]["spec"])
        command = [str(word) for word in container.get("command", [])]
        for trigger in spec["triggers"]:
            metadata = trigger["metadata"]
            if trigger["type"] != "redis":
                problems.append(f"ScaledObject for {name} has a {trigger['type']} trigger, not redis (lists)")
                continue
            if metadata.get("listName") != option(command, "-Q"):
                problems.append(
                    f"ScaledObject for {name} watches list {metadata.get('listName')!r},"
                    f" not its queue {option(command, '-Q')!r}"
                )
            if metadata.get("listLength") != option(command, "-c"):
                problems.append(f"ScaledObject for {name} listLength is not the pool's concurrency (-c)")
            address_env = metadata.get("addressFromEnv")
            if address_env is None or address_env not in env_names(objects, container):
                problems.append(f"ScaledObject for {name} reads its Redis address from no env of {name}")
            if "password" in metadata or "passwordFromEnv" in metadata:
                problems.append(f"ScaledObject for {name} takes the Redis password from its metadata")
            auth = auths.get(trigger.get("authenticationRef", {}).get("name", ""))
            if auth is None:
                problems.append(f"ScaledObject for {name} has no TriggerAuthentication")
            elif not any(ref["parameter"] == "password" for ref in auth["spec"].get("secretTargetRef", [])):
                problems.append(f"TriggerAuthentication for {name} takes no password from a Secret")
    return problems


def image_problems(objects: list[Obj]) -> list[str]:
    """One EGP image, tagged with the project version; every other image pinned to a tag too."""
    problems: list[str] = []
    egp_images: set[str] = set()
    for where, pod in pod_specs(objects):
        for container in containers(pod):
            image = container["image"]
            repository, _, tag = image.rpartition(":")
            if not repository or "/" in tag or tag in ("", "latest"):
                problems.append(f"{where} container {container['name']} image {image} is not pinned to a tag")
            if is_egp_image(image):
                egp_images.add(image)
    if len(egp_images) != 1:
        problems.append(f"the EGP containers use {len(egp_images)} images, not one: {sorted(egp_images)}")
    elif not next(iter(egp_images)).endswith(f":{project_version()}"):
        problems.append(f"the EGP image {next(iter(egp_images))} is not tagged {project_version()}")
    return problems


def disruption_problems(objects: list[Obj]) -> list[str]:
    """Every Deployment has exactly one PodDisruptionBudget, and none blocks a drain of a single replica."""
    problems: list[str] = []
    budgets = list(objects_of(objects, "PodDisruptionBudget").values())
    for name, deployment in objects_of(objects, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [
            pdb for pdb in budgets if pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        if len(matching) != 1:
            problems.append(f"Deployment/{name} has {len(matching)} PodDisruptionBudgets, not 1")
        elif deployment["spec"].get("replicas", 0) == 1 and "minAvailable" in matching[0]["spec"]:
            problems.append(f"Deployment/{name} has one replica and a minAvailable budget: drains would hang")
    return problems


def service_problems(objects: list[Obj]) -> list[str]:
    """Each Service selects pods of the overlay and targets a port they declare."""
    problems: list[str] = []
    templates = [
        (obj["spec"]["template"]["metadata"].get("labels", {}), obj["spec"]["template"]["spec"])
        for obj in objects
        if obj["kind"] in ("Deployment", "StatefulSet")
    ]
    for name, service in objects_of(objects, "Service").items():
        selector = service["spec"].get("selector", {})
        pods = [pod for labels, pod in templates if selector and selector.items() <= labels.items()]
        if not pods:
            problems.append(f"Service/{name} selects no pods")
            continue
        ports = {p.get("name") for pod in pods for c in pod["containers"] for p in c.get("ports", [])}
        ports |= {p["containerPort"] for pod in pods for c in pod["containers"] for p in c.get("ports", [])}
        problems.extend(
            f"Service/{name} targets port {port['targetPort']!r}, which its pods do not declare"
            for port in service["spec"]["ports"]
            if port.get("targetPort", port["port"]) not in ports
        )
    return problems


def secret_problems(objects: list[Obj], keys: set[str]) -> list[str]:
    """No Secret is rendered (they are referenced only), and every reference is to a documented key."""
    problems = [
        f"Secret/{o['metadata']['name']} is in the manifests" for o in objects if o["kind"] == "Secret"
    ]
    for where, secret, key in secret_refs(objects):
        if secret != SECRET_NAME:
            problems.append(f"{where} reads Secret {secret}, not {SECRET_NAME}")
        elif key not in keys:
            problems.append(f"{where} reads key {key} of {SECRET_NAME}, which secrets.env.example lacks")
    for name, config_map in objects_of(objects, "ConfigMap").items():
        for key in config_map.get("data", {}):
            if re.search(r"PASSWORD|_URLS?$|AUTH", key):
                problems.append(f"ConfigMap/{name} holds {key}, which belongs in {SECRET_NAME}")
    return problems


def compose_problems(objects: list[Obj]) -> list[str]:
    """Each EGP process runs compose's command with compose's environment variable names."""
    problems: list[str] = []
    services = compose()["services"]
    shared_env = set(compose()["x-egp-environment"])
    workloads = {**objects_of(objects, "Deployment"), **objects_of(objects, "Job")}
    for name, workload in workloads.items():
        pod = workload["spec"]["template"]["spec"]
        container = main_container(pod)
        if not is_egp_image(container["image"]):
            continue
        service = services.get(name)
        if service is None:
            problems.append(f"{workload['kind']}/{name} runs EGP code but compose.yaml has no service {name}")
            continue
        expected = [
            re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(word)).replace("$$", "$")
            for word in service["command"]
        ]
        if [str(word) for word in container.get("command", [])] != expected:
            problems.append(f"{workload['kind']}/{name} command differs from compose's {name}")
        if "healthcheck" in service:
            problems.extend(f"{workload['kind']}/{name} {p}" for p in _probe_drift(service, container))
        wanted = shared_env | set(service.get("environment", {}))
        missing = wanted - env_names(objects, container)
        if missing:
            problems.append(f"{workload['kind']}/{name} lacks compose's variables {sorted(missing)}")
    return problems


def _probe_drift(service: Obj, container: Obj) -> list[str]:
    """How a container's probes differ from its compose service's healthcheck (the same check, or HTTP)."""
    test = [str(word) for word in service["healthcheck"]["test"]]
    if test[0] == "CMD-SHELL":
        expected = ["sh", "-c", test[1].replace("$$", "$")]
    else:
        expected = [word.replace("$$", "$") for word in test[1:]]
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/[^'\"]*)", " ".join(test))
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    drift: list[str] = []
    for probe_name in ("livenessProbe", "readinessProbe"):
        probe = container.get(probe_name, {})
        if url and "httpGet" in probe:
            port = probe["httpGet"]["port"]
            if (str(ports.get(port, port)), probe["httpGet"]["path"]) != (url.group(1), url.group(2)):
                drift.append(f"{probe_name} checks another URL than compose's healthcheck")
        elif probe.get("exec", {}).get("command") != expected:
            drift.append(f"{probe_name} runs another check than compose's healthcheck")
    return drift


def manifest_problems(objects: list[Obj], secret_keys: set[str]) -> list[str]:
    """Every broken invariant of a rendered overlay (an empty list when it is sound)."""
    problems: list[str] = []
    for where, pod in pod_specs(objects):
        problems += security_problems(where, pod) + resource_problems(where, pod)
        if not where.startswith("Job/"):
            problems += probe_problems(where, pod)
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{where} mounts a service account token it does not use")
    problems += pool_problems(objects) + singleton_problems(objects) + grace_problems(objects)
    problems += keda_problems(objects) + image_problems(objects) + disruption_problems(objects)
    problems += service_problems(objects) + secret_problems(objects, secret_keys) + compose_problems(objects)
    if not any(o["kind"] == "Job" and o["metadata"]["name"] == "migrate" for o in objects):
        problems.append("there is no migrate Job")
    return problems


def schema_problems(objects: list[Obj], kubernetes_version: str) -> list[str]:
    """Each object's failures against the Kubernetes schemas (strict: unknown fields too) or KEDA's."""
    problems: list[str] = []
    for obj in objects:
        what = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        if str(obj.get("apiVersion", "")).startswith("keda.sh/"):
            schema = keda_schemas().get(obj["kind"])
            if schema is None:
                problems.append(f"{what}: no KEDA schema for this kind")
                continue
            validator = jsonschema.Draft202012Validator(schema)
            problems.extend(
                f"{what}: {'.'.join(map(str, error.absolute_path))}: {error.message}"
                for error in validator.iter_errors(obj)
            )
            continue
        try:
            kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{what}: {'.'.join(map(str, error.path))}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{what}: {error.message}")
    return problems


# --- rendering and validation ----------------------------------------------------------------------


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_every_part(overlay: str) -> None:
    """`kubectl kustomize` renders the overlay into the whole stack, in the egp namespace."""
    objects = render(overlay)
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    expected = {
        ("Deployment", name) for name in ("worker", "executor", "dbmanager", "beat", "flower", "dashboard")
    }
    expected |= {("Job", "migrate"), ("Service", "flower"), ("Service", "dashboard"), ("Namespace", "egp")}
    expected |= {
        ("ScaledObject", "worker"),
        ("ScaledObject", "executor"),
        ("TriggerAuthentication", "egp-redis"),
    }
    assert expected <= kinds
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {"egp"}


@needs_kubectl
def test_dev_runs_postgres_and_redis_in_the_cluster() -> None:
    """dev: StatefulSets with volume claims for both databases and Redis, under compose's names and images."""
    objects = render("dev")
    stateful_sets = objects_of(objects, "StatefulSet")
    assert set(stateful_sets) == {"redis", "genepool-db", "library-db"}
    services = compose()["services"]
    for name, stateful_set in stateful_sets.items():
        assert stateful_set["spec"]["volumeClaimTemplates"], name
        assert stateful_set["spec"]["serviceName"] in objects_of(objects, "Service"), name
        assert main_container(stateful_set["spec"]["template"]["spec"])["image"] == services[name]["image"]
    # The example Secret's URLs name these Services.
    hosts = {urlsplit(v).hostname for k, v in example_secrets("dev").items() if k.endswith("_URL")}
    assert hosts <= set(objects_of(objects, "Service"))


@needs_kubectl
def test_prod_runs_no_database() -> None:
    """prod: no StatefulSet; managed Postgres and Redis come only through the Secret."""
    objects = render("prod")
    assert not objects_of(objects, "StatefulSet")
    assert not {"redis", "genepool-db", "library-db"} & set(objects_of(objects, "Service"))


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("kubernetes_version", KUBERNETES_VERSIONS)
def test_every_object_matches_its_schema(overlay: str, kubernetes_version: str) -> None:
    """Core objects against Kubernetes' schemas (kubernetes-validate, strict), KEDA's against its CRDs."""
    assert schema_problems(render(overlay), kubernetes_version) == []


def _deployment(objects: list[Obj], name: str) -> Obj:
    return objects_of(objects, "Deployment")[name]


def _pod(objects: list[Obj], name: str) -> Obj:
    pod: Obj = _deployment(objects, name)["spec"]["template"]["spec"]
    return pod


def _container(objects: list[Obj], name: str) -> Obj:
    return main_container(_pod(objects, name))


def _set_option(objects: list[Obj], name: str, flag: str, value: str) -> None:
    command = _container(objects, name)["command"]
    command[command.index(flag) + 1] = value


def _trigger(objects: list[Obj], name: str) -> Obj:
    trigger: Obj = objects_of(objects, "ScaledObject")[name]["spec"]["triggers"][0]
    return trigger


# (change to a rendered dev overlay, the problem schema_problems must report)
SCHEMA_BREAKAGES: list[tuple[Callable[[list[Obj]], None], str]] = [
    (
        lambda o: _container(o, "worker").update(livenesProbe={}),
        "Deployment/worker: spec.template.spec.containers.0: Additional properties are not allowed"
        " ('livenesProbe' was unexpected)",
    ),
    (
        lambda o: _deployment(o, "beat")["spec"].update(revisionHistoryLimit="three"),
        "Deployment/beat: spec.revisionHistoryLimit: 'three' is not of type 'integer'",
    ),
    (
        lambda o: objects_of(o, "Service")["flower"]["spec"]["ports"][0].update(port="5555"),
        "Service/flower: spec.ports.0.port: '5555' is not of type 'integer'",
    ),
    (
        lambda o: objects_of(o, "StatefulSet")["redis"]["spec"]["volumeClaimTemplates"][0]["spec"].update(
            accessModes="ReadWriteOnce"
        ),
        "StatefulSet/redis: spec.volumeClaimTemplates.0.spec.accessModes: 'ReadWriteOnce'"
        " is not of type 'array'",
    ),
    (
        lambda o: _trigger(o, "executor")["metadata"].update(listLength=2),
        "ScaledObject/executor: spec.triggers.0.metadata.listLength: 2 is not of type 'string'",
    ),
    (
        lambda o: objects_of(o, "ScaledObject")["worker"]["spec"].update(minReplicaCont=0),
        "ScaledObject/worker: spec: Additional properties are not allowed ('minReplicaCont' was unexpected)",
    ),
    (
        lambda o: objects_of(o, "ScaledObject")["worker"]["spec"]["scaleTargetRef"].pop("name"),
        "ScaledObject/worker: spec.scaleTargetRef: 'name' is a required property",
    ),
    (
        lambda o: objects_of(o, "TriggerAuthentication")["egp-redis"]["spec"]["secretTargetRef"][0].pop(
            "key"
        ),
        "TriggerAuthentication/egp-redis: spec.secretTargetRef.0: 'key' is a required property",
    ),
]


@needs_kubectl
@pytest.mark.parametrize(
    ("breakage", "expected"), SCHEMA_BREAKAGES, ids=[b[1][:40] for b in SCHEMA_BREAKAGES]
)
def test_schema_validation_catches_mistakes(breakage: Callable[[list[Obj]], None], expected: str) -> None:
    """A misspelt field, a wrong type, a missing required field: each is reported, for core and KEDA kinds."""
    objects = render("dev")
    breakage(objects)
    # Only the changed object (validating one takes ~0.1 s: the schema files are read per object).
    changed = [o for o in objects if f"{o['kind']}/{o['metadata']['name']}" == expected.partition(":")[0]]
    problems = schema_problems(changed, KUBERNETES_VERSIONS[-1])
    assert any(problem.startswith(expected) for problem in problems), problems


@needs_kubectl
def test_an_unknown_kind_is_not_skipped() -> None:
    """An object no schema knows is a problem, not silently accepted."""
    objects = [
        *render("prod"),
        {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob", "metadata": {"name": "x"}},
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "y"}},
    ]
    problems = schema_problems(objects, KUBERNETES_VERSIONS[-1])
    assert "ScaledJob/x: no KEDA schema for this kind" in problems
    assert any(p.startswith("Widget/y: ") for p in problems)


# --- the invariants hold, and each one can fail -----------------------------------------------------


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_keeps_our_invariants(overlay: str) -> None:
    """Probes, limits, non-root, queues, singletons, grace, KEDA, images, budgets, Secrets, compose."""
    assert manifest_problems(render(overlay), set(example_secrets(overlay))) == []


# (description, change to a rendered overlay, a fragment of the problem it must cause)
BREAKAGES: list[tuple[str, Callable[[list[Obj]], None], str]] = [
    (
        "worker without liveness probe",
        lambda o: _container(o, "worker").pop("livenessProbe"),
        "Deployment/worker has no livenessProbe",
    ),
    (
        "dashboard without readiness probe",
        lambda o: _container(o, "dashboard").pop("readinessProbe"),
        "Deployment/dashboard has no readinessProbe",
    ),
    (
        "executor without memory limit",
        lambda o: _container(o, "executor")["resources"]["limits"].pop("memory"),
        "Deployment/executor container egp has no memory limit",
    ),
    (
        "init container without CPU request",
        lambda o: _pod(o, "worker")["initContainers"][0]["resources"]["requests"].pop("cpu"),
        "Deployment/worker container wait-for-schema has no cpu request",
    ),
    (
        "flower may run as root",
        lambda o: _pod(o, "flower")["securityContext"].pop("runAsNonRoot"),
        "Deployment/flower container egp does not set runAsNonRoot",
    ),
    (
        "beat runs as uid 0",
        lambda o: _pod(o, "beat")["securityContext"].update(runAsUser=0),
        "Deployment/beat container egp does not run as a non-root user id",
    ),
    (
        "dbmanager keeps its capabilities",
        lambda o: _container(o, "dbmanager")["securityContext"].pop("capabilities"),
        "Deployment/dbmanager container egp does not drop all capabilities",
    ),
    (
        "worker without seccomp",
        lambda o: _pod(o, "worker")["securityContext"].pop("seccompProfile"),
        "does not use the RuntimeDefault seccomp profile",
    ),
    (
        "writable root filesystem",
        lambda o: _container(o, "executor")["securityContext"].update(readOnlyRootFilesystem=False),
        "Deployment/executor container egp has a writable root filesystem",
    ),
    (
        "mistyped queue",
        lambda o: _set_option(o, "executor", "-Q", "fitnes"),
        "Deployment/executor consumes unknown queue 'fitnes'",
    ),
    (
        "worker on the wrong queue",
        lambda o: _set_option(o, "worker", "-Q", "fitness"),
        "Deployment/worker consumes ['fitness'], not the evolution queue",
    ),
    (
        "probe pings another node",
        lambda o: _container(o, "worker")["readinessProbe"]["exec"]["command"].__setitem__(
            2, 'celery --broker "$EGP_BROKER_URL" inspect ping -d executor@$HOSTNAME'
        ),
        "Deployment/worker readinessProbe does not ping its node worker@$HOSTNAME",
    ),
    (
        "KEDA watches the wrong list",
        lambda o: _trigger(o, "worker")["metadata"].update(listName="evolutions"),
        "ScaledObject for worker watches list 'evolutions', not its queue 'evolution'",
    ),
    (
        "KEDA never scales to zero",
        lambda o: objects_of(o, "ScaledObject")["executor"]["spec"].update(minReplicaCount=1),
        "ScaledObject for executor does not scale to zero",
    ),
    (
        "KEDA password in plain metadata",
        lambda o: _trigger(o, "worker")["metadata"].update(password="hunter2"),
        "ScaledObject for worker takes the Redis password from its metadata",
    ),
    (
        "scaled worker with fixed replicas",
        lambda o: _deployment(o, "worker")["spec"].update(replicas=3),
        "Deployment/worker sets replicas",
    ),
    (
        "two DB managers",
        lambda o: _deployment(o, "dbmanager")["spec"].update(replicas=2),
        "Deployment/dbmanager does not have exactly 1 replica",
    ),
    (
        "beat rolling update",
        lambda o: _deployment(o, "beat")["spec"].update(strategy={"type": "RollingUpdate"}),
        "Deployment/beat does not use the Recreate strategy",
    ),
    (
        "short grace period",
        lambda o: _pod(o, "worker").update(terminationGracePeriodSeconds=120),
        "Deployment/worker terminationGracePeriodSeconds is below",
    ),
    (
        "unpinned image",
        lambda o: _container(o, "flower").update(image="egp:latest"),
        "image egp:latest is not pinned to a tag",
    ),
    (
        "two EGP images",
        lambda o: _container(o, "beat").update(image="egp:0.0.9"),
        "the EGP containers use 2 images, not one",
    ),
    (
        "missing PodDisruptionBudget",
        lambda o: o.remove(objects_of(o, "PodDisruptionBudget")["executor"]),
        "Deployment/executor has 0 PodDisruptionBudgets, not 1",
    ),
    (
        "literal Secret",
        lambda o: o.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {}}),
        "Secret/x is in the manifests",
    ),
    (
        "undocumented secret key",
        lambda o: _container(o, "flower")["env"][0]["valueFrom"]["secretKeyRef"].update(key="FLOWER_PW"),
        "reads key FLOWER_PW of egp-secrets, which secrets.env.example lacks",
    ),
    (
        "command drifts from compose",
        lambda o: _container(o, "beat")["command"].__setitem__(-1, "/tmp/beat.pid"),
        "Deployment/beat command differs from compose's beat",
    ),
    (
        "probe drifts from compose",
        lambda o: _container(o, "beat")["livenessProbe"]["exec"]["command"].__setitem__(0, "python3"),
        "Deployment/beat livenessProbe runs another check than compose's healthcheck",
    ),
    (
        "HTTP probe on another path",
        lambda o: _container(o, "dashboard")["readinessProbe"]["httpGet"].update(path="/"),
        "Deployment/dashboard readinessProbe checks another URL than compose's healthcheck",
    ),
    (
        "Service on an undeclared port",
        lambda o: objects_of(o, "Service")["flower"]["spec"]["ports"][0].update(targetPort="web"),
        "Service/flower targets port 'web'",
    ),
    (
        "no migrate Job",
        lambda o: o.remove(objects_of(o, "Job")["migrate"]),
        "there is no migrate Job",
    ),
]


@needs_kubectl
@pytest.mark.parametrize(("description", "breakage", "expected"), BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_each_broken_invariant_is_named(
    description: str, breakage: Callable[[list[Obj]], None], expected: str
) -> None:
    """Breaking one invariant in a copy of the dev render makes manifest_problems name it."""
    objects = render("dev")
    breakage(objects)
    problems = manifest_problems(objects, set(example_secrets("dev")))
    assert any(expected in problem for problem in problems), (description, problems)


SECURITY_FIELDS = [
    ("pod", "runAsNonRoot"),
    ("pod", "runAsUser"),
    ("pod", "seccompProfile"),
    ("container", "allowPrivilegeEscalation"),
    ("container", "capabilities"),
    ("container", "readOnlyRootFilesystem"),
]


@needs_kubectl
@settings(max_examples=60, deadline=None)
@given(
    overlay=st.sampled_from(OVERLAYS),
    field=st.sampled_from(SECURITY_FIELDS),
    data=st.data(),
)
def test_removing_any_security_setting_from_any_pod_is_caught(
    overlay: str, field: tuple[str, str], data: st.DataObject
) -> None:
    """Whichever pod (Postgres and Redis included) loses whichever hardening setting, a problem names it."""
    objects = render(overlay)
    pods = dict(pod_specs(objects))
    where = data.draw(st.sampled_from(sorted(pods)))
    pod = pods[where]
    level, key = field
    if level == "pod":
        pod["securityContext"].pop(key)
    else:
        container = data.draw(st.sampled_from(containers(pod)))
        container["securityContext"].pop(key)
    problems = manifest_problems(objects, set(example_secrets(overlay)))
    assert any(problem.startswith(where) for problem in problems), (where, field)


@needs_kubectl
def test_egp_config_changes_reach_the_grace_invariant() -> None:
    """A longer visibility timeout in egp-config raises the hard time limit above the 600 s grace period."""
    objects = render("prod")
    egp_config(objects)["EGP_VISIBILITY_TIMEOUT_S"] = "3600"
    problems = manifest_problems(objects, set(example_secrets("prod")))
    assert (
        "Deployment/worker terminationGracePeriodSeconds is below the 3240 s hard time limit of a task"
        in problems
    )
    assert "ScaledObject for worker cools down faster than a task's 3240 s limit" in problems


# --- no secret values in the repository -------------------------------------------------------------


def test_no_secret_with_data_is_in_the_repository() -> None:
    """No YAML under deploy/ is a Secret, and no kustomization generates one from literals or files."""
    for path in sorted((ROOT / "deploy").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict):
                assert doc.get("kind") != "Secret", f"{path} holds a Secret"
                assert "secretGenerator" not in doc, f"{path} generates a Secret"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_example_secrets_hold_placeholders_only(overlay: str) -> None:
    """Every password in secrets.env.example (plain, in a URL, in user:password) is a placeholder."""
    secrets = example_secrets(overlay)
    assert secrets, f"{overlay}/secrets.env.example is empty"
    for key, value in secrets.items():
        passwords: list[str | None] = []
        if key.endswith("PASSWORD"):
            passwords.append(value)
        if key.endswith("BASIC_AUTH"):
            passwords.append(value.partition(":")[2])
        if key.endswith("_URL"):
            passwords.append(urlsplit(value).password)
        if key.endswith("_URLS"):
            passwords.extend(urlsplit(url).password for url in json.loads(value))
        for password in passwords:
            assert password and password.startswith("CHANGE-ME"), (
                f"{overlay} {key} holds a real-looking password"
            )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_example_secrets_agree_with_keda(overlay: str) -> None:
    """The broker URL uses the Redis database KEDA watches, and REDIS_ADDRESS is the broker's host:port."""
    secrets = example_secrets(overlay)
    broker = urlsplit(secrets["EGP_BROKER_URL"])
    assert f"{broker.hostname}:{broker.port}" == secrets["REDIS_ADDRESS"].lower()
    assert broker.password == secrets["REDIS_PASSWORD"]
    keda = yaml.safe_load_all((K8S / "base" / "keda.yaml").read_text())
    indexes = {
        t["metadata"]["databaseIndex"]
        for d in keda
        if d["kind"] == "ScaledObject"
        for t in d["spec"]["triggers"]
    }
    assert indexes == {broker.path.lstrip("/")}


def test_real_secret_files_are_ignored_by_git() -> None:
    """A secrets.env is never committed (.gitignore) nor sent to an image build (.dockerignore)."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: .gitignore cannot be asked")
    for overlay in OVERLAYS:
        path = f"deploy/k8s/overlays/{overlay}/secrets.env"
        result = subprocess.run([git, "check-ignore", "-q", path], cwd=ROOT, check=False, timeout=30)
        assert result.returncode == 0, f"{path} is not ignored by git"
    assert "deploy/k8s/**/secrets.env" in (ROOT / ".dockerignore").read_text().splitlines()
