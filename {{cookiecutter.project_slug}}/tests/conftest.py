"""Fixtures that run the real thing: Redis at REDIS_URL and a ``manage.py worker`` process."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

from {{ cookiecutter.project_slug }}.tasks.ping import send_pings, wait_for_answers

PROJECT = Path(__file__).resolve().parents[1]
CONFIG = settings.CONFIG


def manage(*args, env=None, timeout=60):
    """Run ``python manage.py ARGS`` in the test environment; return the finished process."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env={**os.environ, "DJANGO_ENV": "test", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_worker(*args, env=None, stdout=subprocess.PIPE):
    """A real worker: the dramatiq master (rundramatiq execs it) in its own process group.

    Give ``stdout`` a file when the worker logs a lot and nobody reads the pipe.
    """
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", *args],
        cwd=PROJECT,
        env={**os.environ, "DJANGO_ENV": "test", **(env or {})},
        stdout=stdout,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop_worker(process):
    """SIGTERM to the master only (it forwards it to its children), then wait."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.stdout.read() if process.stdout else ""


def delete_keys(client, pattern: str) -> None:
    for key in client.scan_iter(pattern):
        client.delete(key)


def worker_database_url():
    """DATABASE_URL for the database pytest-django created, for a worker to share."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(name).resolve()}"
    return urlsplit(CONFIG.database_url)._replace(path=f"/{name}").geturl()


@pytest.fixture(scope="session")
def redis_client():
    """The Redis server at REDIS_URL (no database chosen): the tests need a real one."""
    client = redis.Redis.from_url(CONFIG.cache_default.redis_url)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"no Redis at REDIS_URL={CONFIG.cache_default.redis_url!r}: {exc}")
    yield client
    # This run's keys only: its namespaces (with the -silent and -metrics ones of single
    # tests) in the broker and results databases, its prefix in the cache's.
    patterns = {
        CONFIG.cache_default.effective_db: f"{CONFIG.cache_default.key_prefix}:*",
        CONFIG.tasks.broker_db: f"{CONFIG.tasks.namespace}*",
        CONFIG.tasks.results_db: f"{CONFIG.tasks.namespace}-results:*",
    }
    server = CONFIG.cache_default.redis_url
    for db, pattern in patterns.items():
        delete_keys(redis.Redis.from_url(server, db=db), pattern)


@pytest.fixture(scope="session")
def shared_db(django_db_setup):
    """Environment for a subprocess to use the test database (AdminMiddleware writes)."""
    return {"DATABASE_URL": worker_database_url()}


@pytest.fixture(scope="session")
def worker(redis_client, shared_db, django_db_blocker):
    """One real worker for the session, on every queue, sharing the test database."""
    process = start_worker(env=shared_db)
    queues = CONFIG.tasks.dramatiq.queues
    with django_db_blocker.unblock():
        token, _ = send_pings(queues)
        answers = wait_for_answers(token, queues, timeout=60)
    if len(answers) < len(queues):
        output = stop_worker(process)
        pytest.fail(
            f"the worker did not answer on {sorted(set(queues) - set(answers))}:\n{output}"
        )
    yield process
    stop_worker(process)
