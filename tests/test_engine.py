"""`docker compose up` on a real Docker engine: the dev and prod stacks of two option sets.

Required where CI asks (``REQUIRE_DOCKER=1``: no engine is then a failure); skipped on a
machine without Docker otherwise. The dev stacks run Python 3.14 (Django 6.1) and 3.11
(Django 5.2), the prod stacks 3.13 (Django 6.1), on the stand-ins for those images
(``../shared/tools/docker-engine/up python:3.14-slim python:3.13-slim``).
"""

import contextlib
import functools
import json
import os
import signal
import time

import pytest
from engine import Stack, engine_problem, figure, image_size_mb
from kubernetes_checks import build, command_problems, commands_in

from conftest import run, wait_until

OPTION_SETS = {
    # PostgreSQL, task admin and results: the defaults' shape.
    "pg": {
        "project_name": "Engine Pg",
        "database": "postgresql",
        "admin_enabled": True,
        "use_results": True,
    },
    # SQLite, Prometheus and queues of other names.
    "lite": {
        "project_name": "Engine Lite",
        "database": "sqlite",
        "prometheus_enabled": True,
        "task_queues": "default,emails,reports_2",
    },
}
pytestmark = pytest.mark.engine


@pytest.fixture(scope="session")
def engine():
    problem = engine_problem()
    if problem and os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail(f"REQUIRE_DOCKER=1 but no Docker engine with Compose answers: {problem}")
    if problem:
        pytest.skip(f"no Docker engine: {problem}")


@pytest.fixture
def baked(bake, engine):
    def _baked(option_set: str, python_version: str):
        project = bake(python_version=python_version, **OPTION_SETS[option_set])
        # As on a developer's machine: the checkout belongs to uid 1000, the dev image's
        # default DEV_UID, so the container can write where it is mounted.
        run(["chown", "-R", "1000:1000", str(project)])
        return project

    return _baked


@pytest.fixture
def stacks():
    made: list[Stack] = []
    yield made
    for stack in made:
        stack.down()


def dev_stack(project, stacks) -> Stack:
    stack = Stack(project, "dev", "compose.yaml", env_file=False)
    stacks.append(stack)
    return stack


def prod_stack(project, stacks) -> Stack:
    stack = Stack(project, "prod", "compose.prod.yaml", env_file=True)
    stacks.append(stack)
    return stack


def queues_of(option_set: str) -> list[str]:
    return OPTION_SETS[option_set].get("task_queues", "critical,default,background").split(",")


# The dev stacks: each Django the project offers, on its newest and its oldest Python.
DEV_PYTHON = {"pg": "3.14", "lite": "3.11"}
PROD_PYTHON = "3.13"
VERSIONS = (
    "import json, sys, django; print(json.dumps([sys.version.split()[0], django.get_version()]))"
)


# How the worker container's processes were started: forked from manage.py worker, on
# 3.14 too (a forkserver only where the master runs threads: THREADED_WORKER).
WORKER_PROCESSES = """
import os, pathlib
cmdlines = []
for process in pathlib.Path("/proc").glob("[0-9]*"):
    if process.name != str(os.getpid()):  # not this one's: its code names both
        try:
            cmdlines.append((process / "cmdline").read_bytes())
        except OSError:  # gone meanwhile
            pass
forkserver = sum(b"multiprocessing.forkserver" in line for line in cmdlines)
# Forked workers keep their parent's command line: manage.py worker's, or the fork server's.
worker = sum(b"manage.py\\x00worker" in line for line in cmdlines) + forkserver
print(worker, forkserver)
"""

# A one-process worker whose master runs a thread before it starts, stopped after 40 s.
THREADED_WORKER = """timeout -s INT 40 python -c '
import runpy, sys, threading, time
threading.Thread(target=time.sleep, args=(120,), daemon=True, name="probe").start()
sys.argv = ["manage.py", "worker", "--processes", "1", "--threads", "1"]
runpy.run_path("manage.py", run_name="__main__")
' 2>&1"""

# Which of the modules django.setup() imports from /app have no bytecode in the image for
# their very source (a .pyc records its source's mtime and size).
COMPILED = """
import importlib.util, json, os, sys, django
django.setup()
mine = [m.__file__ for m in list(sys.modules.values())
        if (getattr(m, "__file__", None) or "").startswith("/app/")]
def stale(source):
    try:
        header = open(importlib.util.cache_from_source(source), "rb").read(16)
    except OSError:
        return True
    stat = os.stat(source)
    return (int.from_bytes(header[8:12], "little"), int.from_bytes(header[12:16], "little")) != (
        int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF)
print(json.dumps([len(mine), [s for s in mine if stale(s)]]))
"""


def versions(stack: Stack, option_set: str, kind: str) -> list[str]:
    """Python's and Django's versions inside the web container, recorded as a figure."""
    found = stack.python(VERSIONS)
    figure(f"{option_set} {kind}: Python {found[0]}, Django {found[1]}")
    return found


@pytest.mark.parametrize("option_set", OPTION_SETS)
def test_dev_stack(baked, stacks, option_set):
    project = baked(option_set, DEV_PYTHON[option_set])
    stack = dev_stack(project, stacks)
    seconds = stack.up()
    figure(f"{option_set} dev: up --build --wait to all healthy {seconds:.0f} s")
    python, django = versions(stack, option_set, "dev")
    assert python.startswith(DEV_PYTHON[option_set])
    assert django.startswith("5.2." if DEV_PYTHON[option_set] == "3.11" else "6.1.")

    out = stack.exec("worker", "python", "-c", WORKER_PROCESSES).stdout
    worker, forkserver = map(int, out.split())
    figure(f"{option_set} dev: worker container: {worker} processes of manage.py worker, "
           f"{forkserver} of them multiprocessing's forkserver or started by it")  # fmt: skip
    assert worker >= 2, out  # the master and at least one worker process
    # A master with no thread but its main one forks its workers, on 3.14 as before it.
    assert forkserver == 0, out
    if DEV_PYTHON[option_set] >= "3.14":
        # One that runs a thread hands them to 3.14's default, the forkserver.
        out = stack.exec("worker", "sh", "-c", THREADED_WORKER, check=False).stdout
        assert "Worker processes start by forkserver (other threads here: probe)." in out
        assert "Worker process is ready for action." in out, out[-3000:]
        figure(f"{option_set} dev: a master running a thread: its workers from a forkserver")

    ping = stack.manage("tasks_ping", "--timeout", "60")
    queues = queues_of(option_set)
    assert f"all {len(queues)} queues answered" in ping.stdout, ping.stdout
    for queue in queues:
        assert f"{queue} " in ping.stdout

    status, _, body = stack.get("/healthz/")
    assert status == 200, body
    assert '"failed": []' in body

    # The project's own suite in the dev image, against the compose Redis and database.
    tests = stack.compose("run", "--rm", "-T", "web", "pytest", "-q", timeout=900, check=False)
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-2000:]
    summary = tests.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary
    figure(f"{option_set} dev: pytest in the web container: {summary}")
    if option_set == RUNTIME_SUITE_STACK:
        runtime_suite(stack, option_set)


# The runtime package's own suite runs natively on the host's Python (scripts/test.sh
# package); here it runs on the default Python and Django (its traced workers from a
# forkserver: their master runs the span exporter's thread), in this
# stack's dev container against its Redis and PostgreSQL (a database of its own).
RUNTIME_SUITE_STACK = "pg"
RUNTIME_SUITE = (
    'export DATABASE_URL="${DATABASE_URL%/*}/runtime_tests" && '
    "uv pip install -q --python /opt/venv/bin/python "
    '-e ".[scheduler,prometheus,opentelemetry,sentry]" '
    "--group test && python -m pytest -p no:cacheprovider -n 2 --dist loadgroup "
    "--maxschedchunk 1 -q -rA tests"
)


def runtime_suite(stack: Stack, option_set: str) -> None:
    # As root: the test dependencies go into the image's venv, which root owns.
    run_args = ["run", "--rm", "-T", "--user", "0", "-w", "/app/packages/dramatiq_runtime"]
    settings = ["-e", "DJANGO_SETTINGS_MODULE=testproject.settings"]  # not the project's
    tests = stack.compose(
        *run_args, *settings, "web", "sh", "-c", RUNTIME_SUITE, timeout=900, check=False
    )
    # -rA prints every test's line after the failures: show the failures' own section.
    failures = tests.stdout.partition("= FAILURES =")[2].partition("short test summary")[0]
    assert tests.returncode == 0, failures[-12000:] + tests.stdout[-3000:] + tests.stderr[-2000:]
    summary = tests.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary
    # -rA: a PASSED line per test, and each passed test's printed lines (the signals seen).
    lines = tests.stdout.splitlines()
    signal_tests = [line for line in lines if "::test_receivers_see" in line]
    assert len(signal_tests) == 2, signal_tests
    assert all(line.startswith("PASSED ") for line in signal_tests), signal_tests
    figure(f"{option_set} dev: the runtime package's suite in the web container: {summary}")
    for line in signal_tests + [line for line in lines if line.startswith("Django ")]:
        figure(f"{option_set} dev: {line}")


@pytest.mark.parametrize("option_set", OPTION_SETS)
def test_prod_stack(baked, stacks, option_set):
    project = baked(option_set, PROD_PYTHON)
    stack = prod_stack(project, stacks)
    started = time.monotonic()
    stack.compose("build", timeout=900)
    built = time.monotonic() - started
    seconds = stack.up(build=False)
    slug = project.name
    figure(
        f"{option_set} prod: build {built:.0f} s, image {image_size_mb(f'{slug}:latest'):.0f} MB, "
        f"up --wait to all healthy {seconds:.0f} s"
    )
    python, django = versions(stack, option_set, "prod")
    assert python.startswith(PROD_PYTHON) and django.startswith("6.1.")
    # Every command and probe of the Kubernetes manifests is there in the production image.
    commands = commands_in(build(project))
    in_the_image = functools.partial(stack.exec, "web", check=False)
    assert command_problems(commands, in_the_image) == []
    figure(f"{option_set} prod: {len(commands)} commands and probes of deploy/kubernetes "
           "found in the image")  # fmt: skip

    containers = stack.containers()
    services = {c["Service"]: c for c in containers}
    workers = [f"worker-{queue.replace('_', '-')}" for queue in queues_of(option_set)]
    for name in ["web", *workers, "scheduler"]:  # both option sets keep use_scheduler
        assert services[name]["State"] == "running", services[name]
        assert stack.health(name) == "healthy"
        uid = stack.exec(name, "id", "-u").stdout.strip()
        assert uid != "0", f"{name} runs as root"
    scheduler_log = stack.compose("logs", "scheduler").stdout
    assert "Lock taken" in scheduler_log and "clear_expired_sessions" in scheduler_log
    databases = {"redis-broker", "redis-cache", "postgres"}
    for container in containers:
        published = [p for p in container.get("Publishers") or [] if p.get("PublishedPort")]
        if container["Service"] == "web":
            assert {p["TargetPort"] for p in published} == {8000}  # IPv4 and IPv6
        else:
            assert published == [], f"{container['Service']} publishes {published}"
    assert set(services) - {"web", "migrate", "scheduler", *workers} <= databases

    # TLS ends at a proxy: plain HTTP is sent to HTTPS, the proxy's header is trusted.
    status, headers, _ = stack.get("/", {"Host": "example.com"})
    assert (status, headers.get("Location")) == (301, "https://example.com/")
    status, headers, body = stack.get(
        "/healthz/", {"Host": "example.com", "X-Forwarded-Proto": "https"}
    )
    assert status == 200 and '"failed": []' in body, body
    # /healthz/ is answered before SecurityMiddleware (container checks speak plain HTTP);
    # a page behind it gets HSTS when the proxy says the request came over HTTPS.
    status, headers, _ = stack.get(
        "/admin/login/", {"Host": "example.com", "X-Forwarded-Proto": "https"}
    )
    assert status == 200
    assert "max-age=31536000" in headers.get("Strict-Transport-Security", "")

    # Every module of the project and the runtime that a worker imports comes from
    # bytecode compiled in the image, for that very source (no compile at each start).
    imported, stale = json.loads(stack.exec(workers[0], "python", "-c", COMPILED).stdout)
    assert imported > 30 and stale == [], stale
    figure(f"{option_set} prod: {imported} modules of /app imported by django.setup(), "
           "each from the image's bytecode")  # fmt: skip

    time.sleep(5)  # idle: workers started, nothing running
    memory = stack.memory_mib()
    for name in workers:
        figure(f"{option_set} prod: idle memory {name} {memory[name]:.0f} MiB")
    figure(f"{option_set} prod: idle memory web {memory['web']:.0f} MiB")

    # The database survives `down` and `up` (its volume stays; down -v is the cleanup).
    stack.python(
        "import json; from django.contrib.auth.models import Group; "
        "Group.objects.create(name='survivor'); print(json.dumps(1))"
    )
    stack.compose("down", "-t", "30")
    stack.up(build=False)
    count = stack.python(
        "import json; from django.contrib.auth.models import Group; "
        "print(json.dumps(Group.objects.filter(name='survivor').count()))"
    )
    assert count == 1


class Probe:
    """``record`` messages sent and counted by message id from inside the web container."""

    def __init__(self, stack: Stack, slug: str):
        self.stack = stack
        self.slug = slug

    def send(self, count: int, seconds: float, queue: str = "default") -> tuple[str, list[str]]:
        run_id, ids = self.stack.python(
            "import json; from dramatiq_runtime.probes import send_records; "
            f"print(json.dumps(send_records({count}, seconds={seconds}, queue={queue!r})))"
        )
        return run_id, ids

    def tally(self, run_id: str, ids: list[str]) -> dict[str, int]:
        return self.stack.python(
            "import json; from dramatiq_runtime.probes import tally; "
            f"print(json.dumps(tally({run_id!r}, {ids!r})))"
        )

    def finish(self, fault: str, run_id: str, ids: list[str], timeout: float) -> dict:
        """Wait until all are done (or time is up); print and record the counts."""
        counts: dict = {}
        started = time.monotonic()

        def all_done() -> bool:
            counts.update(self.tally(run_id, ids))
            return counts["completed"] == counts["sent"]

        with contextlib.suppress(AssertionError):  # the counts then say how many were lost
            wait_until(all_done, timeout, f"{fault}: every message done", interval=2)
        figure(
            f"fault {fault}: {counts['sent']} sent / {counts['completed']} completed / "
            f"{counts['lost']} lost ({counts['duplicates']} run twice; "
            f"{time.monotonic() - started:.0f} s from the fault to the last)"
        )
        return counts


def liveness_window(project, deployment_suffix: str) -> int:
    """Seconds a Deployment's liveness probe allows, from the bake's manifests."""
    for obj in build(project):
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].endswith(deployment_suffix):
            probe = obj["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
            return probe["periodSeconds"] * probe["failureThreshold"]
    raise AssertionError(f"no Deployment *{deployment_suffix} in {project}")


def test_prod_faults(baked, stacks):
    """Kill, stop and restart in production; count every message by its id."""
    project = baked("pg", PROD_PYTHON)
    # Production registers no probe actors unless told to: this test sends them.
    with (project / ".env").open("a") as env_file:
        env_file.write("TASKS_PROBES=true\n")
    stack = prod_stack(project, stacks)
    stack.up()
    probe = Probe(stack, project.name)

    # SIGKILL to the worker's main process (the dramatiq master, PID 1) mid-run. As for the
    # stop below, 1,000 of 2 s (~16 s on 128 threads): a 400 x 1 s run (~3 s) once ended
    # before the first tally through `manage.py shell` came back, so nothing was mid-run.
    run_id, ids = probe.send(1000, seconds=2.0)
    wait_until(lambda: probe.tally(run_id, ids)["completed"] > 0, 60, "some completed", interval=1)
    os.kill(stack.main_pid("worker-default"), signal.SIGKILL)
    at_kill = probe.tally(run_id, ids)["completed"]
    assert at_kill < len(ids), "the run ended before the kill: nothing was mid-run"
    wait_until(lambda: stack.health("worker-default") == "healthy", 180, "worker back by restart")
    assert int(stack.inspect("worker-default", "{{.RestartCount}}")) >= 1
    counts = probe.finish("SIGKILL worker-default", run_id, ids, timeout=420)
    assert counts["lost"] == 0

    # `compose stop` (SIGTERM, inside the grace period) mid-run, then start again. 128
    # tasks run at once (8 x 16): 1,000 of 2 s take ~16 s, longer than a stop (a 400 x 1 s
    # run once ended while `compose stop` was returning).
    run_id, ids = probe.send(1000, seconds=2.0)
    wait_until(lambda: probe.tally(run_id, ids)["completed"] > 0, 60, "some completed", interval=1)
    stack.compose("stop", "worker-default", timeout=700)
    at_stop = probe.tally(run_id, ids)["completed"]
    assert at_stop < len(ids), "the run ended before the stop"
    stack.up("worker-default", build=False)
    counts = probe.finish("compose stop worker-default", run_id, ids, timeout=300)
    assert counts["lost"] == 0 and counts["duplicates"] == 0

    # The broker's Redis restarted while messages wait (no worker consuming them).
    stack.compose("stop", "worker-default", timeout=700)
    run_id, ids = probe.send(300, seconds=0.0)
    stack.compose("restart", "redis-broker", timeout=120)
    wait_until(lambda: stack.health("redis-broker") == "healthy", 60, "broker Redis healthy")
    stack.up("worker-default", build=False)
    counts = probe.finish("broker Redis restart", run_id, ids, timeout=300)
    assert counts["lost"] == 0

    # What the Kubernetes manifests rely on (issue 25): a scale-down from three replicas of
    # one queue's worker to one, mid-run, each removed replica stopped with SIGTERM inside
    # its grace period (compose's stop_grace_period, as terminationGracePeriodSeconds).
    scale = ("up", "-d", "--wait", "--no-build", "--no-recreate", "--scale")
    stack.compose(*scale, "worker-default=3", "worker-default", timeout=300)
    # 3,000 of 4 s on 384 threads (~31 s): the scale-down is ordered mid-run. The count it is
    # ordered at is the poll's own: each tally is a `manage.py shell` in the web container,
    # and on CI's loaded engine a second tally after the first one once took longer than a
    # 16 s run (3,000 of 2 s had all completed before the scale-down was ordered).
    run_id, ids = probe.send(3000, seconds=4.0)
    at_scale_down = wait_until(
        lambda: probe.tally(run_id, ids)["completed"], 60, "some completed", interval=1
    )
    stack.compose(*scale, "worker-default=1", "worker-default", timeout=700)
    assert at_scale_down < len(ids), "the run ended before the scale-down"
    counts = probe.finish("scale-down 3 -> 1 worker-default", run_id, ids, timeout=420)
    assert counts["lost"] == 0 and counts["duplicates"] == 0

    # The broker unreachable: the worker's healthcheck (the liveness probe's command) fails
    # within the probe's window, and passes again once the broker is back.
    window = liveness_window(project, "-worker-default")
    check = ("exec", "-T", "worker-default", "python", "-m", "dramatiq_runtime.healthcheck")
    assert stack.compose(*check, check=False).returncode == 0
    stack.compose("pause", "redis-broker")
    paused = time.monotonic()
    try:
        wait_until(
            lambda: stack.compose(*check, check=False, timeout=60).returncode != 0,
            window,
            "the worker's healthcheck failed with the broker unreachable",
            interval=2,
        )
        failed_after = time.monotonic() - paused
    finally:
        stack.compose("unpause", "redis-broker")
    wait_until(lambda: stack.compose(*check, check=False).returncode == 0, 120, "healthy again")
    figure(
        f"fault broker unreachable: the worker's healthcheck failed after {failed_after:.0f} s "
        f"(the liveness probe's window {window} s), passed again after unpause"
    )


def test_a_broken_compose_file_fails_the_engine_test(baked, stacks):
    """A worker healthcheck that can never pass makes `up --wait` (and so the tests) fail."""
    project = baked("lite", DEV_PYTHON["lite"])
    compose = project / "compose.yaml"
    text = compose.read_text()
    check = '["CMD", "python", "-m", "dramatiq_runtime.healthcheck"]'
    assert check in text
    broken = text.replace(check, '["CMD", "false"]')
    compose.write_text(broken.replace("start_period: 30s", "start_period: 1s"))
    stack = dev_stack(project, stacks)
    with pytest.raises(AssertionError, match="up --wait failed") as failure:
        stack.up(timeout=240)
    assert "worker" in str(failure.value)


def test_ha_stack_fails_over_without_losing_a_message(baked, stacks):
    """compose.ha.yaml: the Redis master paused mid-run (a freeze Docker's restart policy
    does not undo), replaced by the sentinels, then resumed as a stale master and demoted;
    sends made while it is paused wait the failover out.
    """
    project = baked("pg", PROD_PYTHON)
    password = next(
        line.split("=", 1)[1]
        for line in (project / ".env").read_text().splitlines()
        if line.startswith("REDIS_PASSWORD=")
    )
    with (project / ".env").open("a") as env_file:
        # The probes' trace on the single cache server, off the Redis set that fails over.
        env_file.write("TASKS_PROBES=true\n")
        env_file.write(f"TASKS_PROBE_TRACE_URL=redis://:{password}@redis-cache:6379/5\n")
    stack = Stack(project, "ha", "compose.prod.yaml", env_file=True)
    stack.base += ["-f", "compose.ha.yaml", "--profile", "single-redis"]
    stacks.append(stack)
    stack.up()
    probe = Probe(stack, project.name)
    sentinel = ("exec", "-T", "sentinel-1", "redis-cli", "-p", "26379", "--no-auth-warning")

    def master() -> str:
        out = stack.compose(*sentinel, "sentinel", "get-master-addr-by-name", project.name)
        return out.stdout.split()[0]

    assert master() == "redis-master"
    run_id, ids = probe.send(2000, seconds=1.0)  # ~16 s on 128 threads
    wait_until(lambda: probe.tally(run_id, ids)["completed"] > 0, 60, "some completed", interval=1)
    stack.compose("pause", "redis-master")
    paused = time.monotonic()
    try:
        # On an idle queue (the default one is busy with the run): the first completion
        # is the failover's own delay, not a backlog's.
        during, during_ids = probe.send(200, seconds=0.0, queue="critical")
        sent_after = time.monotonic() - paused
        new_master = master()
        wait_until(lambda: probe.tally(during, during_ids)["completed"] > 0, 120, "a task after")
        first_after = time.monotonic() - paused
    finally:
        stack.compose("unpause", "redis-master")
    counts = probe.finish("HA: Redis master paused mid-run", run_id, ids, timeout=300)
    during_counts = probe.finish("HA: sent during the failover", during, during_ids, timeout=120)
    figure(
        f"fault HA Redis master paused: sentinels chose {new_master}; the first of 200 sends "
        f"made during the failover returned after {sent_after:.1f} s; the first of them "
        f"completed {first_after:.1f} s after the pause"
    )
    assert new_master != "redis-master"
    assert counts["lost"] == 0 and during_counts["lost"] == 0
    # The stale master, resumed, refuses writes until the sentinels make it a replica.
    role = ("exec", "-T", "redis-master", "redis-cli", "--no-auth-warning", "role")
    wait_until(
        lambda: stack.compose(*role, check=False).stdout.startswith("slave"),
        120,
        "the old master back as a replica",
        interval=2,
    )
    assert stack.health("worker-default") == "healthy"
