"""Docker without an engine: Compose validates both files, and every service runs natively.

Each combination of the option prompts (python_version aside: natively it is this
machine's Python) is brought up once, from one of the two compose files chosen by the
parity of its answers: 16 runs rather than 32, and still, for either file, every
combination of any three options (a 2^(5-1) design of resolution V). Each stack starts
from its own commands, environments and healthchecks: Redis services as redis-server with
the service's arguments, PostgreSQL as the machine's server, Django services as their
commands. Web must answer its healthcheck, each worker service must answer tasks_ping for
its own queues, every healthcheck must pass.
"""

import itertools
import json
import re
import subprocess
import sys

import pytest
from compose_native import NativeStack, compose_config, validate

from conftest import BIN, PYTHON, run

COMBINATIONS = list(
    itertools.product(["postgresql", "sqlite"], [True, False], [True, False], [True, False])
)
FILES = ("compose.yaml", "compose.prod.yaml")
RUNS = [
    (
        FILES[(database == "sqlite") ^ results ^ prometheus ^ admin],
        database,
        results,
        prometheus,
        admin,
    )
    for database, results, prometheus, admin in COMBINATIONS
]
PING_LINE = re.compile(r"^(\S+)\s+ok\s+[\d.]+ s\s+\(pid (\d+) on ")


def seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)(ms|h|m|s)", duration))


def parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def effective_config(project, environment) -> dict:
    out = run([PYTHON, "manage.py", "taskconfig"], cwd=project, env=environment)
    return json.loads(out.stdout)


def check_ha_layout(project) -> None:
    """compose.ha.yaml over compose.prod.yaml: every service that runs Django reaches Redis
    through the sentinels (and its config accepts that), none waits on the single servers."""
    out = run(
        [
            BIN / "docker-compose",
            "-f",
            "compose.prod.yaml",
            "-f",
            "compose.ha.yaml",
            "config",
            "--format",
            "json",
        ],
        cwd=project,
    )
    services = json.loads(out.stdout)["services"]
    assert "redis-broker" not in services and "redis-cache" not in services  # profile only
    sentinels = [name for name in services if name.startswith("sentinel-")]
    assert len(sentinels) == 3
    master = " ".join(services["redis-master"]["command"])
    assert "--min-replicas-to-write 1" in master and "--appendonly yes" in master
    for replica in ("redis-replica-1", "redis-replica-2"):
        assert "--replicaof redis-master 6379" in " ".join(services[replica]["command"])
    django = [n for n, s in services.items() if "DJANGO_ENV" in s.get("environment", {})]
    assert {"web", "migrate"} <= set(django)
    for name in django:
        environment = {k: str(v) for k, v in services[name]["environment"].items()}
        assert environment["REDIS_SENTINELS"].count(":26379") == 3, name
        assert environment["REDIS_WAIT_REPLICAS"] == "1", name
        waits_on = set(services[name].get("depends_on", {}))
        assert set(sentinels) <= waits_on and not waits_on & {"redis-broker", "redis-cache"}
    redis = effective_config(project, environment)["redis"]  # the last service's
    assert redis["sentinel_master"] == project.name and redis["password"] == "**********"


def check_production_layout(project) -> None:
    """What compose.prod.yaml promises beyond valid syntax."""
    config = compose_config(project, "compose.prod.yaml")
    services = config["services"]
    worker_env = {k: str(v) for k, v in services["web"]["environment"].items()}
    workers = effective_config(project, worker_env)["tasks"]["dramatiq"]
    worker_services = {n: s for n, s in services.items() if "worker" in (s.get("command") or [])}
    consumed = [s["command"][s["command"].index("--queues") + 1] for s in worker_services.values()]
    assert sorted(consumed) == sorted(workers["queues"]), "one worker service per queue"
    for name, service in worker_services.items():
        grace = seconds(service["stop_grace_period"])
        assert grace * 1000 > workers["worker_shutdown_timeout"], f"{name}: grace too short"
    broker = " ".join(services["redis-broker"]["command"])
    assert "--appendonly yes" in broker and "--maxmemory-policy noeviction" in broker
    assert "--requirepass" in broker
    cache = " ".join(services["redis-cache"]["command"])
    assert "--maxmemory-policy allkeys-lru" in cache and "--requirepass" in cache
    for name, service in services.items():
        if name.startswith(("redis", "postgres")):
            assert not service.get("ports"), f"{name} publishes a port"
        if name != "migrate":
            assert service.get("restart") == "unless-stopped", f"{name}: no restart policy"
            assert "pgrep" not in json.dumps(service.get("healthcheck", {}))


def smoke(project, compose_file, tmp_path) -> dict:
    """Bring the file's services up natively and prove each one; returns what answered."""
    stack = NativeStack(project, compose_config(project, compose_file), tmp_path)
    services = stack.config["services"]
    try:
        stack.start_infrastructure()
        for name, service in services.items():
            if "build" not in service:
                stack.healthcheck(name)
        stack.run_once("migrate")
        long_running = [n for n in stack.django_services() if n != "migrate"]
        for name in long_running:
            stack.start(name, stack.command(name), stack.environment(name))
        stack.healthcheck("web")
        ping = subprocess.run(
            [PYTHON, "manage.py", "tasks_ping", "--timeout", "90"],
            cwd=project,
            env={**stack.environment("web")},
            capture_output=True,
            text=True,
        )
        logs = {name: stack.log_text(name) for name in long_running}
        assert ping.returncode == 0, f"{ping.stdout}\n{ping.stderr}\n{logs}"
        # Each queue was answered by a worker process of a service that consumes it.
        masters = {stack.processes[n].pid: n for n in stack.worker_services()}
        answered = {}
        for line in ping.stdout.splitlines():
            if match := PING_LINE.match(line):
                queue, pid = match.group(1), int(match.group(2))
                service = masters.get(parent_pid(pid))
                command = stack.command(service)
                queues = command[command.index("--queues") + 1 :] if "--queues" in command else None
                assert queues is None or queue in queues, f"{queue} answered by {service}"
                answered[queue] = service
        for name in stack.worker_services():
            stack.healthcheck(name)
        if "scheduler" in services:  # firing or standing by on the lock
            stack.healthcheck("scheduler")
        return answered
    finally:
        stack.stop()


@pytest.mark.parametrize(
    ("compose_file", "database", "use_results", "prometheus", "admin"),
    RUNS,
    ids=["-".join(map(str, run)) for run in RUNS],
)
def test_stack_runs_natively(
    bake, tmp_path, compose_file, database, use_results, prometheus, admin
):
    project = bake(
        database=database,
        use_results=use_results,
        prometheus_enabled=prometheus,
        admin_enabled=admin,
        use_scheduler=not prometheus,  # both values, as in the bake matrix
    )
    validate(project, compose_file)
    if compose_file == "compose.prod.yaml":
        check_production_layout(project)
        check_ha_layout(project)
    answered = smoke(project, compose_file, tmp_path / "native")
    assert sorted(answered) == ["background", "critical", "default"]
    print(
        f"{compose_file} {database} results={use_results} prometheus={prometheus} "
        f"admin={admin}: {answered}",
        file=sys.stderr,
    )


def test_a_broken_compose_file_fails_validation(bake):
    project = bake()
    validate(project, "compose.prod.yaml")
    broken = (
        (project / "compose.prod.yaml")
        .read_text()
        .replace(
            "    redis-cache:\n      condition: service_healthy\n",
            "    redis-cache:\n      condition: service_healthy\n"
            "    redis-replica:\n      condition: service_healthy\n",
            1,
        )
    )
    (project / "compose.prod.yaml").write_text(broken)
    with pytest.raises(AssertionError, match="redis-replica"):
        validate(project, "compose.prod.yaml")


def test_the_runs_cover_every_combination_and_every_triple_per_file():
    assert sorted(run[1:] for run in RUNS) == sorted(COMBINATIONS)
    for file in FILES:
        options = [run[1:] for run in RUNS if run[0] == file]
        for triple in itertools.combinations(range(4), 3):
            assert len({tuple(o[i] for i in triple) for o in options}) == 8, (file, triple)
