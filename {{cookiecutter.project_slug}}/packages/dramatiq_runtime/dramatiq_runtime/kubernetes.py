"""Kubernetes manifests made from a loaded config: a kustomize base, and a first overlay.

Queues, processes, threads, the shutdown wait, Redis key names and probes come from the
config the workers run with, so the manifests cannot say something else:
``manage.py kubernetes`` rewrites ``deploy/kubernetes/base`` from the production config,
``--check`` fails when the files there differ. Pydantic and PyYAML only (no Django): the
template's hook writes them at bake time from the same models.

Redis and PostgreSQL are not here: use managed services or an operator, and give their
URLs in the overlay's Secret.
"""

from pathlib import Path
from typing import Any

import yaml

from .config import DjangoConfig, Environments
from .config.loading import variables_source
from .config.stand_ins import PRODUCTION_STAND_INS

BASE = Path("deploy") / "kubernetes" / "base"
PRODUCTION = Path("deploy") / "kubernetes" / "overlays" / "production"
HEADER = (
    "# Made by `python manage.py kubernetes` from the production config: change the config\n"
    "# (config/environments.py) and run it again; a test fails when this file drifts.\n"
)
# What the Secret holds (the overlay's secrets.env): what production's config reads.
SECRET_KEYS = (
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "TASKS_BROKER_URL",
    "REDIS_BROKER_ADDRESS",
    "REDIS_PASSWORD",
)
PORT = 8000
APP_UID = 10001  # the image's runtime user (Dockerfile)
# Measured start of a worker to its first task: 1.4-1.5 s (benchmarks/results/pythons.md).
# The startup probe allows 20 times that before liveness takes over.
STARTUP_PERIOD_SECONDS = 3
STARTUP_FAILURES = 10


def manifest_config(environments: Environments) -> DjangoConfig:
    """The production environment as committed: its class's values, nothing from this
    machine's environment or .env (secrets are stand-ins: the Secret carries real ones)."""
    production = environments["production"]
    stand_ins = variables_source(PRODUCTION_STAND_INS).data
    return production.model_validate(stand_ins, context={"check_imports": False})


def names(config: DjangoConfig) -> dict[str, str]:
    slug = config.project_slug.replace("_", "-")
    return {
        "app": slug,
        "config": f"{slug}-config",
        "secret": f"{slug}-secrets",
        "auth": f"{slug}-redis",
        "image": config.kubernetes.image or f"{config.project_slug}:latest",
    }


def worker_name(config: DjangoConfig, queue: str) -> str:
    return f"{names(config)['app']}-worker-{queue.replace('_', '-')}"


def queue_keys(config: DjangoConfig, queue: str) -> tuple[str, str]:
    """The Redis lists a queue's messages wait in: ready, and delayed (retries too)."""
    namespace = config.tasks.namespace
    return f"{namespace}:{queue}", f"{namespace}:{queue}.DQ"


def labels(config: DjangoConfig, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": names(config)["app"],
        "app.kubernetes.io/component": component,
    }


def security(read_only: bool = True) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": APP_UID,
        "runAsGroup": APP_UID,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def exec_probe(command: list[str], period: int, failures: int) -> dict[str, Any]:
    return {
        "exec": {"command": command},
        "periodSeconds": period,
        "timeoutSeconds": 10,
        "failureThreshold": failures,
    }


def pod(
    config: DjangoConfig,
    component: str,
    container: dict[str, Any],
    grace: int | None = None,
    restart: str | None = None,
) -> dict[str, Any]:
    """A pod template: the env from the ConfigMap and Secret, /tmp writable, spread."""
    n = names(config)
    container = {
        "image": n["image"],
        "envFrom": [
            {"configMapRef": {"name": n["config"]}},
            {"secretRef": {"name": n["secret"]}},
        ],
        "securityContext": security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        **container,
    }
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "fsGroup": APP_UID},
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
    }
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    if restart:
        spec["restartPolicy"] = restart
    else:
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": labels(config, component)},
            }
        ]
    return {"metadata": {"labels": labels(config, component)}, "spec": spec}


def deployment(
    config: DjangoConfig, name: str, component: str, replicas: int | None, template
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels(config, component)},
        "template": template,
    }
    if replicas is not None:  # KEDA owns the worker Deployments' replica count
        spec = {"replicas": replicas, **spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels(config, component)},
        "spec": spec,
    }


def disruption_budget(config: DjangoConfig, name: str, component: str):
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "labels": labels(config, component)},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": labels(config, component)},
        },
    }


def resources(millicores: int, mebibytes: int) -> dict[str, Any]:
    """Requests equal to limits: the pod gets what its process count was sized for."""
    amount = {"cpu": f"{millicores}m", "memory": f"{mebibytes}Mi"}
    return {"requests": dict(amount), "limits": dict(amount)}


def worker_objects(config: DjangoConfig, queue: str) -> list[dict[str, Any]]:
    workers = config.tasks.dramatiq
    kube = config.kubernetes
    name = worker_name(config, queue)
    component = f"worker-{queue}"
    healthcheck = ["python", "-m", "dramatiq_runtime.healthcheck"]
    command = ["python", "manage.py", "worker", "--queues", queue]
    command += [
        "--processes",
        str(workers.processes),
        "--threads",
        str(workers.threads),
    ]
    command += ["--worker-shutdown-timeout", str(workers.worker_shutdown_timeout)]
    container = {
        "name": "worker",
        "command": command,
        # The process count is the config's, matched by the CPU limit below: a count taken
        # from the node's cores would be wrong inside a pod.
        "env": [{"name": "DRAMATIQ_PROCESSES", "value": str(workers.processes)}],
        "resources": resources(
            workers.processes * kube.cpu_per_process,
            kube.worker_memory_mib(workers.processes),
        ),
        # Fresh while the worker's broker heartbeat is: it is consuming.
        "startupProbe": exec_probe(
            healthcheck, STARTUP_PERIOD_SECONDS, STARTUP_FAILURES
        ),
        "livenessProbe": exec_probe(healthcheck, 30, 3),
        "readinessProbe": exec_probe(healthcheck, 15, 2),
    }
    grace = kube.grace_seconds(workers.worker_shutdown_timeout)
    template = pod(config, component, container, grace=grace)
    return [
        deployment(config, name, component, None, template),
        disruption_budget(config, name, component),
        scaled_object(config, queue, name),
    ]


def scaled_object(config: DjangoConfig, queue: str, target: str) -> dict[str, Any]:
    scaling = config.kubernetes.for_queue(queue)
    triggers = [
        {
            "type": "redis",
            "metadata": {
                "addressFromEnv": "REDIS_BROKER_ADDRESS",
                "databaseIndex": str(config.tasks.broker_db),
                "listName": key,
                "listLength": str(scaling.target_length),
                "activationListLength": str(scaling.activation_length),
            },
            "authenticationRef": {"name": names(config)["auth"]},
        }
        for key in queue_keys(config, queue)
    ]
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": target, "labels": labels(config, f"worker-{queue}")},
        "spec": {
            "scaleTargetRef": {"name": target},
            "minReplicaCount": scaling.min_replicas,
            "maxReplicaCount": scaling.max_replicas,
            "cooldownPeriod": scaling.cooldown_seconds,
            "triggers": triggers,
        },
    }


def trigger_authentication(config: DjangoConfig) -> dict[str, Any]:
    n = names(config)
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {"name": n["auth"]},
        "spec": {
            "secretTargetRef": [
                {"parameter": "password", "name": n["secret"], "key": "REDIS_PASSWORD"}
            ]
        },
    }


def web_objects(config: DjangoConfig) -> list[dict[str, Any]]:
    n = names(config)
    name = f"{n['app']}-web"
    # HealthCheckMiddleware answers before Django checks the Host (the kubelet's is the
    # pod's address, not in ALLOWED_HOSTS).
    health = {"httpGet": {"path": "/healthz/", "port": PORT}, "timeoutSeconds": 5}
    container = {
        "name": "web",
        "ports": [{"name": "http", "containerPort": PORT}],
        "resources": resources(500, 512),
        "startupProbe": {**health, "periodSeconds": 3, "failureThreshold": 20},
        "livenessProbe": {**health, "periodSeconds": 30, "failureThreshold": 3},
        "readinessProbe": {**health, "periodSeconds": 10, "failureThreshold": 2},
    }
    template = pod(config, "web", container, grace=30)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels(config, "web")},
        "spec": {
            "selector": labels(config, "web"),
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "labels": labels(config, "web")},
        "spec": {
            "rules": [
                {
                    "host": config.domain_name,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {"name": name, "port": {"name": "http"}}
                                },
                            }
                        ]
                    },
                }
            ]
        },
    }
    return [
        deployment(config, name, "web", config.kubernetes.web_replicas, template),
        service,
        ingress,
        disruption_budget(config, name, "web"),
    ]


def scheduler_objects(config: DjangoConfig) -> list[dict[str, Any]]:
    name = f"{names(config)['app']}-scheduler"
    check = ["python", "-m", "dramatiq_runtime.healthcheck", "scheduler"]
    container = {
        "name": "scheduler",
        "command": ["python", "manage.py", "scheduler"],
        "resources": resources(250, 256),
        "startupProbe": exec_probe(check, 5, 12),
        "livenessProbe": exec_probe(check, 30, 3),
    }
    template = pod(config, "scheduler", container, grace=30)
    # Two replicas: the lock lets one fire, the other stands by to take over.
    return [
        deployment(config, name, "scheduler", 2, template),
        disruption_budget(config, name, "scheduler"),
    ]


def migrate_job(config: DjangoConfig) -> dict[str, Any]:
    container = {
        "name": "migrate",
        "command": ["python", "manage.py", "migrate", "--no-input"],
        "resources": resources(250, 256),
    }
    template = pod(config, "migrate", container, restart="Never")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"{names(config)['app']}-migrate",
            "labels": labels(config, "migrate"),
        },
        "spec": {"backoffLimit": 2, "template": template},
    }


def config_map(config: DjangoConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": names(config)["config"]},
        "data": {"DJANGO_ENV": "production"},
    }


def base_files(config: DjangoConfig) -> dict[str, list[dict[str, Any]]]:
    """Each file of the base and its objects (the kustomization last)."""
    files: dict[str, list[dict[str, Any]]] = {
        "config.yaml": [config_map(config)],
        "web.yaml": web_objects(config),
        "migrate.yaml": [migrate_job(config)],
        "keda.yaml": [trigger_authentication(config)],
    }
    for queue in config.tasks.dramatiq.queues:
        files[f"worker-{queue}.yaml"] = worker_objects(config, queue)
    if config.tasks.scheduler.enabled:
        files["scheduler.yaml"] = scheduler_objects(config)
    files["kustomization.yaml"] = [
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": sorted(files),
            "labels": [
                {
                    "pairs": {"app.kubernetes.io/part-of": names(config)["app"]},
                    "includeSelectors": False,
                }
            ],
        }
    ]
    return files


def render(objects: list[dict[str, Any]]) -> str:
    return HEADER + yaml.safe_dump_all(objects, sort_keys=False, width=100)


def rendered_base(config: DjangoConfig) -> dict[str, str]:
    """Each base file's name and text, as ``write`` writes and ``drift`` compares them."""
    return {name: render(objects) for name, objects in base_files(config).items()}


def overlay_files(config: DjangoConfig) -> dict[str, str]:
    """The production overlay: the project's own, written once (never rewritten)."""
    n = names(config)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": n["app"],
        "resources": ["../../base"],
        "images": [{"name": n["image"].split(":")[0], "newTag": "latest"}],
        # secrets.env is never committed (.gitignore); secrets.env.example lists its keys.
        "secretGenerator": [
            {"name": n["secret"], "envs": ["secrets.env"], "type": "Opaque"}
        ],
        # KEDA's TriggerAuthentication names the Secret: a fixed name it can find.
        "generatorOptions": {"disableNameSuffixHash": True},
    }
    example = "".join(f"{key}=\n" for key in SECRET_KEYS)
    return {
        "kustomization.yaml": "# Yours: patches, image tag, namespace.\n"
        + yaml.safe_dump(kustomization, sort_keys=False),
        "secrets.env.example": "# Copy to secrets.env (never committed) and fill in:\n"
        "# REDIS_BROKER_ADDRESS is host:port of the broker's Redis, for KEDA.\n"
        + example,
        ".gitignore": "secrets.env\n",
    }


def write(project: Path, config: DjangoConfig) -> list[Path]:
    """Rewrite the base; write the overlay's files that do not exist yet."""
    base = project / BASE
    base.mkdir(parents=True, exist_ok=True)
    expected = rendered_base(config)
    for stale in base.glob("*.yaml"):
        if stale.name not in expected:
            stale.unlink()
    written = []
    for name, text in expected.items():
        (base / name).write_text(text)
        written.append(base / name)
    overlay = project / PRODUCTION
    overlay.mkdir(parents=True, exist_ok=True)
    for name, text in overlay_files(config).items():
        if not (overlay / name).exists():
            (overlay / name).write_text(text)
            written.append(overlay / name)
    return written


def drift(project: Path, config: DjangoConfig) -> list[str]:
    """One line per base file that differs from what the config makes."""
    base = project / BASE
    expected = rendered_base(config)
    found = {path.name for path in base.glob("*.yaml")} if base.is_dir() else set()
    lines = [f"{BASE / name}: missing" for name in sorted(set(expected) - found)]
    lines += [
        f"{BASE / name}: not made from the config"
        for name in sorted(found - set(expected))
    ]
    lines += [
        f"{BASE / name}: differs from the config"
        for name in sorted(set(expected) & found)
        if (base / name).read_text() != expected[name]
    ]
    return lines
