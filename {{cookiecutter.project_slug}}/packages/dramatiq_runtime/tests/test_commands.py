"""The project's commands and start-up, run as a user runs them."""

import json

import pytest
import redis
from django.conf import settings
from dramatiq_runtime import worker_start
from dramatiq_runtime.management.commands.taskconfig import (
    running_middleware,
)
from dramatiq_runtime.testing import wait_until

from .helpers import manage, start_worker, stop_worker

CONFIG = settings.CONFIG
QUEUES = CONFIG.tasks.dramatiq.queues


def test_tasks_ping_answers_on_every_queue(worker, shared_db):
    proc = manage("tasks_ping", "--timeout", "30", env=shared_db)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"all {len(QUEUES)} queues answered" in proc.stdout
    lines = proc.stdout.splitlines()
    for queue in QUEUES:
        assert [line for line in lines if line.split()[:2] == [queue, "ok"]], (
            proc.stdout
        )


def test_tasks_ping_names_silent_queues(redis_client, shared_db):
    # A namespace no worker listens on: every queue stays silent.
    namespace = f"{CONFIG.tasks.namespace}-silent"
    env = {**shared_db, "TASKS_NAMESPACE": namespace}
    proc = manage("tasks_ping", "--timeout", "1", env=env)
    broker = redis.Redis.from_url(CONFIG.tasks.broker_url)
    unanswered = list(broker.scan_iter(f"{namespace}:*"))
    if unanswered:
        broker.delete(*unanswered)
    assert proc.returncode == 1
    assert f"no answer within 1 s from: {', '.join(QUEUES)}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert unanswered, "the pings were not left waiting in the broker"


def test_worker_refuses_a_queue_not_in_the_config():
    proc = manage("worker", "--queues", "default", "not-configured")
    assert proc.returncode == 1
    assert "--queues not-configured: not in the config" in proc.stderr


def test_worker_takes_rundramatiqs_own_flags(redis_client, shared_db, tmp_path):
    """A flag of rundramatiq's (here --pid-file) reaches the dramatiq master."""
    pid_file = tmp_path / "master.pid"
    process = start_worker(
        "--pid-file", str(pid_file), "--processes", "1", env=shared_db
    )
    try:
        wait_until(pid_file.exists, 60, "the master's pid file")
        # The command is the master.
        assert int(pid_file.read_text().strip()) == process.pid
    finally:
        output = stop_worker(process)
    assert "--pid-file" in output and "--processes 1 " in output
    assert "Worker processes start by fork." in output  # the master runs one thread


@pytest.mark.parametrize(
    ("spawn", "default", "threads", "method"),
    [
        (False, "forkserver", 1, "fork"),  # 3.14, a master of one thread: fork it
        (False, "forkserver", 2, "forkserver"),  # a thread that could hold a lock
        (False, "fork", 2, "fork"),  # before 3.14: the platform's fork, as Dramatiq's
        (True, "fork", 1, "spawn"),  # --use-spawn
    ],
)
def test_worker_processes_are_forked_unless_the_master_runs_threads(
    spawn, default, threads, method
):
    assert worker_start.start_method(spawn, default, threads) == method


def test_worker_validates_overrides():
    proc = manage("worker", "--processes", "100")
    assert proc.returncode == 1
    assert "--processes=100: Input should be less than or equal to 32" in proc.stderr


def test_worker_refuses_when_tasks_are_disabled():
    proc = manage("worker", env={"TASKS_ENABLED": "false"})
    assert proc.returncode == 1
    assert "tasks are disabled (TASKS_ENABLED=false)" in proc.stderr


def test_disabled_tasks_use_a_stub_broker():
    proc = manage(
        "shell",
        "-c",
        "import dramatiq; print(type(dramatiq.get_broker()).__name__)",
        env={"TASKS_ENABLED": "false", "REDIS_URL": "redis://127.0.0.1:1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "StubBroker"


def test_taskconfig_prints_json_with_passwords_masked():
    proc = manage("taskconfig", env={"REDIS_URL": "redis://:hunter2@localhost:6379"})
    assert proc.returncode == 0, proc.stderr
    assert "hunter2" not in proc.stdout
    dumped = json.loads(proc.stdout)
    assert dumped["tasks"]["dramatiq"]["queues"] == QUEUES
    assert dumped["cache_default"]["redis_url"] == "redis://:********@localhost:6379"
    assert dumped["tasks"]["broker_url"].startswith("redis://:********@localhost:6379/")


def test_taskconfig_prints_the_stack_that_runs():
    """Every middleware of the running broker, ours and django_dramatiq's Results too."""
    proc = manage("taskconfig")
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)["tasks"]["dramatiq"]["running_middleware"]
    assert printed == running_middleware()  # this process's broker, the same stack
    names = [path.rsplit(".", 1)[1] for path in printed]
    assert "RequeuePrefetched" in names and "Retries" in names
    assert ("LivenessFile" in names) == bool(CONFIG.tasks.dramatiq.liveness_file)
    assert "Results" in names  # always: store_results imports with results off too


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"DRAMATIQ_PROCESSES": "100"},
            "DRAMATIQ_PROCESSES='100': Input should be less",
        ),
        (
            {"DRAMATIQ_THREADS": "many"},
            "DRAMATIQ_THREADS='many': Input should be a valid",
        ),
        (
            {"DRAMATIQ_QUEUES": "critical"},
            "DRAMATIQ_QUEUES='critical': the queues must",
        ),
        ({"DJANGO_ENV": "staging"}, "DJANGO_ENV='staging': must be one of"),
        (
            {"REDIS_URL": "localhost:6379"},
            "REDIS_URL='localhost:6379': must be a Redis URL",
        ),
        (
            {"DATABASE_URL": "mysql://db/x"},
            "DATABASE_URL='mysql://db/x': must be postgres",
        ),
        (
            {"DATABASE_URL": "postgres://db:5432"},
            "DATABASE_URL='postgres://db:5432': must name the database",
        ),
        ({"DRAMATIQ_MAX_RETRIES": "-1"}, "DRAMATIQ_MAX_RETRIES='-1': Input should be"),
        ({"DRAMATIQ_MIN_BACKOFF": "5"}, "DRAMATIQ_MIN_BACKOFF='5': Input should be"),
        (
            {"DRAMATIQ_MIN_BACKOFF": "5000", "DRAMATIQ_MAX_BACKOFF": "2000"},
            "DRAMATIQ_MAX_BACKOFF='2000': must be >= min_backoff (5000)",
        ),
        ({"DRAMATIQ_MAX_AGE": "soon"}, "DRAMATIQ_MAX_AGE='soon': Input should be"),
        ({"DRAMATIQ_TIME_LIMIT": "0"}, "DRAMATIQ_TIME_LIMIT='0': Input should be"),
        (
            {"DRAMATIQ_PROMETHEUS_ENABLED": "maybe"},
            "DRAMATIQ_PROMETHEUS_ENABLED='maybe': Input should be a valid boolean",
        ),
        (
            {"DRAMATIQ_MIDDLEWARE": "nowhere.Middleware"},
            "DRAMATIQ_MIDDLEWARE='nowhere.Middleware': 'nowhere.Middleware': module",
        ),
        (
            {"REDIS_BROKER_DB": "16"},
            "REDIS_BROKER_DB='16': Input should be less than or equal to 15",
        ),
        (
            {"REDIS_CACHE_DB": str(CONFIG.tasks.broker_db)},
            f"REDIS_CACHE_DB={CONFIG.tasks.broker_db}: Redis database "
            f"{CONFIG.tasks.broker_db} is also the broker's",
        ),
        (
            {"REDIS_URL": "redis://:hunter2@localhost:6379/99"},
            "REDIS_URL='redis://:********@localhost:6379/99': the database in",
        ),
    ],
)
def test_bad_environment_stops_start_up_with_one_line(env, line):
    proc = manage("check", env=env)
    assert proc.returncode == 1
    heading, *problems = proc.stderr.strip().splitlines()
    assert heading == "Configuration error:"
    assert [problem for problem in problems if problem.startswith(line)], proc.stderr
    assert "hunter2" not in proc.stderr


def test_a_redis_collision_names_both_variables():
    db = CONFIG.tasks.broker_db
    proc = manage("check", env={"REDIS_CACHE_DB": str(db)})
    assert proc.returncode == 1
    also = f"REDIS_CACHE_DB={db}: Redis database {db} is also the broker's"
    already = f"REDIS_BROKER_DB={db} (the TestConfig default): Redis database {db} is "
    assert also in proc.stderr
    assert already in proc.stderr


@pytest.mark.django_db
def test_health_endpoint_ok(client):
    response = client.get("/healthz/")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
    }


@pytest.mark.django_db
def test_health_endpoint_names_what_failed(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.get("/healthz/")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["cache"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "failed: ConnectionError"
    # The endpoint is public: what failed, not where (the address stays in the log).
    assert "127.0.0.1" not in response.content.decode()
