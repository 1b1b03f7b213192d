"""What a bake's Kubernetes manifests must hold, checked without a cluster.

``build`` runs ``kubectl kustomize`` on the production overlay; ``schema_problems``
validates every Kubernetes object strictly (PyPI kubernetes-validate) and every KEDA object
against typed models of KEDA's documented fields; ``consistency_problems`` compares the
objects with the config the workers run with. Each returns one line per problem.
"""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Literal

import kubernetes_validate
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conftest import PYTHON, run

KUBERNETES_VERSION = "1.33"  # a recent release the validator ships schemas for
OVERLAY = Path("deploy") / "kubernetes" / "overlays" / "production"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# KEDA 2.x, keda.sh/v1alpha1 (docs: concepts/scaling-deployments, scalers/redis-lists,
# concepts/authentication). Metadata values are strings, as KEDA reads them.
class RedisListMetadata(Strict):
    address: str | None = None
    addressFromEnv: str | None = None
    host: str | None = None
    hostFromEnv: str | None = None
    port: str | None = None
    portFromEnv: str | None = None
    username: str | None = None
    usernameFromEnv: str | None = None
    passwordFromEnv: str | None = None
    listName: str
    listLength: str | None = None
    activationListLength: str | None = None
    databaseIndex: str | None = None
    enableTLS: Literal["true", "false"] | None = None
    unsafeSsl: Literal["true", "false"] | None = None


class AuthenticationRef(Strict):
    name: str
    kind: Literal["TriggerAuthentication", "ClusterTriggerAuthentication"] | None = None


class Trigger(Strict):
    type: Literal["redis"]
    name: str | None = None
    metadata: RedisListMetadata
    authenticationRef: AuthenticationRef | None = None
    metricType: Literal["AverageValue", "Value", "Utilization"] | None = None
    useCachedMetrics: bool | None = None


class ScaleTargetRef(Strict):
    name: str
    apiVersion: str | None = None
    kind: str | None = None
    envSourceContainerName: str | None = None


class ScaledObjectSpec(Strict):
    scaleTargetRef: ScaleTargetRef
    pollingInterval: int | None = Field(default=None, ge=1)
    cooldownPeriod: int | None = Field(default=None, ge=0)
    initialCooldownPeriod: int | None = Field(default=None, ge=0)
    idleReplicaCount: int | None = Field(default=None, ge=0)
    minReplicaCount: int | None = Field(default=None, ge=0)
    maxReplicaCount: int | None = Field(default=None, ge=1)
    fallback: dict[str, Any] | None = None
    advanced: dict[str, Any] | None = None
    triggers: list[Trigger] = Field(min_length=1)


class ObjectMeta(Strict):
    name: str
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class ScaledObject(Strict):
    apiVersion: Literal["keda.sh/v1alpha1"]
    kind: Literal["ScaledObject"]
    metadata: ObjectMeta
    spec: ScaledObjectSpec


class SecretTargetRef(Strict):
    parameter: str
    name: str
    key: str


class TriggerAuthenticationSpec(Strict):
    secretTargetRef: list[SecretTargetRef] = Field(default_factory=list)
    env: list[dict[str, str]] | None = None
    podIdentity: dict[str, Any] | None = None


class TriggerAuthentication(Strict):
    apiVersion: Literal["keda.sh/v1alpha1"]
    kind: Literal["TriggerAuthentication"]
    metadata: ObjectMeta
    spec: TriggerAuthenticationSpec


KEDA = {"ScaledObject": ScaledObject, "TriggerAuthentication": TriggerAuthentication}


def build(project: Path) -> list[dict[str, Any]]:
    """The production overlay as kustomize builds it (secrets.env from its example)."""
    import yaml

    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with kustomize) is needed: .ci/run's machine has it"
    overlay = project / OVERLAY
    secrets = overlay / "secrets.env"
    if not secrets.exists():
        shutil.copy(overlay / "secrets.env.example", secrets)
    out = run([kubectl, "kustomize", overlay], timeout=120).stdout
    return [document for document in yaml.safe_load_all(out) if document]


def schema_problems(objects: list[dict[str, Any]]) -> list[str]:
    problems = []
    for obj in objects:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        model = KEDA.get(obj.get("kind", ""))
        try:
            if model is not None:
                model.model_validate(obj)
            else:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except ValidationError as exc:
            problems.append(f"{where}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{where}: {exc.message} at {list(exc.path)}")
    return problems


CONFIG_FACTS = """
import json, sys
sys.path[:0] = ["packages/dramatiq_runtime", "."]
from dramatiq_runtime import kubernetes
from SLUG.config import ENVIRONMENTS
config = kubernetes.manifest_config(ENVIRONMENTS)
workers = config.tasks.dramatiq
print(json.dumps({
    "queues": workers.queues,
    "processes": workers.processes,
    "threads": workers.threads,
    "shutdown_ms": workers.worker_shutdown_timeout,
    "broker_db": config.tasks.broker_db,
    "keys": {queue: kubernetes.queue_keys(config, queue) for queue in workers.queues},
    "deployments": {queue: kubernetes.worker_name(config, queue) for queue in workers.queues},
    "scaling": {q: config.kubernetes.for_queue(q).model_dump() for q in workers.queues},
    "cpu_per_process": config.kubernetes.cpu_per_process,
    "worker_memory": f"{config.kubernetes.worker_memory_mib(workers.processes)}Mi",
    "scheduler": config.tasks.scheduler.enabled,
}))
"""


def config_facts(project: Path) -> dict[str, Any]:
    """What the manifests must agree with, from the bake's own production config."""
    code = CONFIG_FACTS.replace("SLUG", project.name)
    out = subprocess.run(
        [PYTHON, "-c", code], cwd=project, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def flag(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


def consistency_problems(objects: list[dict[str, Any]], facts: dict[str, Any]) -> list[str]:
    """Each way the objects say something the config does not."""
    problems = []
    by_kind: dict[str, dict[str, dict]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    deployments = by_kind.get("Deployment", {})
    scaled = {
        obj["spec"]["scaleTargetRef"]["name"]: obj
        for obj in by_kind.get("ScaledObject", {}).values()
    }
    shutdown_s = facts["shutdown_ms"] / 1000
    for queue in facts["queues"]:
        name = facts["deployments"][queue]
        deployment = deployments.get(name)
        if deployment is None:
            problems.append(f"queue {queue}: no Deployment {name}")
            continue
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        command = container["command"]
        if flag(command, "--queues") != queue:
            problems.append(f"{name}: consumes {flag(command, '--queues')!r}, not {queue!r}")
        if flag(command, "--worker-shutdown-timeout") != str(facts["shutdown_ms"]):
            problems.append(f"{name}: its shutdown timeout is not the config's")
        processes = flag(command, "--processes")
        env = {item["name"]: item.get("value") for item in container.get("env", [])}
        cpu = container["resources"]["limits"]["cpu"]
        paid = int(cpu.removesuffix("m")) // facts["cpu_per_process"]
        if not processes == env.get("DRAMATIQ_PROCESSES") == str(facts["processes"]) == str(paid):
            problems.append(
                f"{name}: --processes {processes}, DRAMATIQ_PROCESSES "
                f"{env.get('DRAMATIQ_PROCESSES')}, CPU limit {cpu} for "
                f"{facts['processes']} processes in the config"
            )
        memory = container["resources"]["limits"]["memory"]
        if memory != facts["worker_memory"]:
            problems.append(f"{name}: memory limit {memory}, the config's {facts['worker_memory']}")
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if grace <= shutdown_s:
            problems.append(
                f"{name}: terminationGracePeriodSeconds {grace} is not longer than the "
                f"worker shutdown timeout ({shutdown_s:g} s): a scale-down kills tasks"
            )
        if "replicas" in deployment["spec"]:
            problems.append(f"{name}: sets replicas, which KEDA owns")
        obj = scaled.get(name)
        if obj is None:
            problems.append(f"queue {queue}: no ScaledObject for {name}")
            continue
        lists = sorted(t["metadata"]["listName"] for t in obj["spec"]["triggers"])
        if lists != sorted(facts["keys"][queue]):
            waiting = facts["keys"][queue]
            problems.append(f"{name}: KEDA watches {lists}, messages wait in {waiting}")
        dbs = {t["metadata"].get("databaseIndex") for t in obj["spec"]["triggers"]}
        if dbs != {str(facts["broker_db"])}:
            broker = facts["broker_db"]
            problems.append(f"{name}: KEDA reads Redis database {dbs}, the broker's is {broker}")
        scaling = facts["scaling"][queue]
        spec = obj["spec"]
        pairs = (
            ("minReplicaCount", "min_replicas"),
            ("maxReplicaCount", "max_replicas"),
            ("cooldownPeriod", "cooldown_seconds"),
        )
        for field, key in pairs:
            if spec.get(field) != scaling[key]:
                problems.append(f"{name}: {field} {spec.get(field)}, the config's {scaling[key]}")
    for name in scaled:
        if name not in deployments:
            problems.append(f"ScaledObject for {name}: no such Deployment")
    scheduler = any(name.endswith("-scheduler") for name in deployments)
    if facts["scheduler"] != scheduler:
        problems.append(f"a scheduler Deployment: {scheduler}; scheduler enabled: {not scheduler}")
    problems += security_problems(objects)
    return problems


def security_problems(objects: list[dict[str, Any]]) -> list[str]:
    problems = []
    for obj in objects:
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        pod = obj["spec"]["template"]["spec"]
        name = obj["metadata"]["name"]
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: mounts a service-account token")
        for container in pod["containers"]:
            context = container.get("securityContext", {})
            if not (
                context.get("runAsNonRoot")
                and context.get("readOnlyRootFilesystem")
                and context.get("allowPrivilegeEscalation") is False
                and context.get("capabilities", {}).get("drop") == ["ALL"]
            ):
                problems.append(f"{name}: container {container['name']} is not locked down")
            if "limits" not in container.get("resources", {}):
                problems.append(f"{name}: container {container['name']} has no limits")
            if obj["kind"] == "Deployment" and "livenessProbe" not in container:
                problems.append(f"{name}: container {container['name']} has no liveness probe")
    return problems


def commands_in(objects: list[dict[str, Any]]) -> list[list[str]]:
    """Every container command and exec probe in the objects, once each."""
    found: list[list[str]] = []
    for obj in objects:
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        for container in obj["spec"]["template"]["spec"]["containers"]:
            probes = [container.get(name, {}) for name in ("startupProbe", "livenessProbe")]
            commands = [container.get("command")]
            commands += [probe.get("exec", {}).get("command") for probe in probes]
            found += [command for command in commands if command and command not in found]
    return found


FINDS = "import importlib.util, sys; assert importlib.util.find_spec(sys.argv[1]), sys.argv[1]"


def command_problems(commands: list[list[str]], python) -> list[str]:
    """Each command whose program, manage.py command, flag or module is not there.

    ``python(*args)`` runs ``python ARGS`` where the pods would (a bake, an image) and
    returns the CompletedProcess; the web container runs the image's CMD (gunicorn).
    """
    problems = []
    for command in commands:
        if command[0] != "python":
            problems.append(f"{command}: not python")
        elif command[1] == "manage.py":
            usage = python("python", "manage.py", command[2], "--help")
            flags = [word for word in command[3:] if word.startswith("--")]
            missing = [flag for flag in flags if flag not in usage.stdout]
            if usage.returncode or missing:
                problems.append(f"{' '.join(command)}: {missing or usage.stderr[-300:]}")
        elif command[1] == "-m":
            found = python("python", "-c", FINDS, command[2])
            if found.returncode:
                problems.append(f"{' '.join(command)}: no module {command[2]}")
        else:
            problems.append(f"{command}: neither manage.py nor -m")
    return problems
